r"""Choose the next cameras: maximal weighted coverage under a count or a budget.

The coverage step turns viewsheds into a matrix once; this module only sees arrays
(the spopt way): ``A`` (sites × demand points, 1 = the site's cameras see the point),
the demand weights (hotspot intensity × sensitive-site weight) and, when a budget is
given, each site's cost in euros. A *site* is a point d'implantation (one mast or
façade that may hold several cameras); a *phase* is one phase de déploiement of the
town's multi-year plan.

Formulation (maximal covering location problem with backup coverage, Church & ReVelle
1974; Hogan & ReVelle 1986). With ``x_j`` = 1 when site ``j`` is chosen, ``c_i`` the
number of chosen or fixed sites that see demand point ``i`` and ``β`` the backup share:

.. math::

    \max \sum_i w_i \,(\min(c_i, 1) + β\,[c_i \ge 2])
    \quad\text{s.t.}\quad \sum_{j \notin F} x_j \le k
    \;\text{or}\; \sum_{j \notin F} \text{cost}_j x_j \le B,\quad
    x_j = 1\; (j \in F),\quad x_j = 0\; (j \in E),\quad
    x_a + x_b \le 1 \;\text{if}\; d(a, b) < \text{min spacing},

where ``F`` are the fixed sites (existing cameras, sites already accepted by the
référent sûreté — the police officer who reviews every camera plan — and earlier
phases) and ``E`` the excluded ones (rejected by the référent). ``k`` and ``B``
count the *new* sites only: fixed sites are already paid for or committed. The
objective is monotone submodular for 0 ≤ β ≤ 1, which the greedy bound relies on.

Two solvers:

- :func:`greedy` — lazy greedy (CELF, Leskovec et al. 2007) with the data-dependent
  bound of Minoux (1978) / Leskovec et al.: for any set ``S``,
  ``OPT ≤ f(S) + Σ_{k largest} δ_j(S)`` (a fractional knapsack of the ``δ_j(S)`` under a
  budget), minimised along the greedy path; it certifies how far from optimal the
  plan can be. Under a budget both the cost-benefit and the unit-cost greedy run
  and the better plan is kept (CELF). Optionally polished by 1-swaps.
- :func:`solve_milp` — the exact MILP solved by HiGHS (``highspy``), warm-started
  from the greedy plan, with a time limit, reporting the proven gap. Only what can
  matter enters the model: demand already saturated by fixed sites drops out, demand
  seen by a single candidate folds into that site's objective coefficient, sites
  whose demand is all seen by another site no dearer are dropped (plain coverage,
  no spacing), demand points seen by exactly the same candidates are merged into one.
  Rows: ``y_g (+ z_g) ≤ Σ_{j sees g} x_j`` with ``y`` the first and ``z`` the backup
  coverage of merged demand ``g``.

:func:`solve` picks one (``method="exact" | "fast" | "auto"``); :func:`set_cover` (from
:mod:`siteplanner.setcover`) answers the covering question the other way round: the fewest
or cheapest sites that see every required point, and :func:`p_median` the ``p`` sites
nearest to the demand in total. :func:`plan_phases`
chains the phases of a multi-year plan, :func:`coverage_curve` / :func:`curve_table`
show where adding cameras stops paying and :func:`plan_table` lists each proposed
site's marginal gain.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from siteplanner._errors import InfeasibleError, InputError, report_problems

logger = logging.getLogger(__name__)

__all__ = [
    "CoverPlan",
    "CoverageProblem",
    "MedianPlan",
    "Phase",
    "PhasePlan",
    "Plan",
    "coverage_arrays",
    "coverage_curve",
    "curve_table",
    "greedy",
    "load_coverage",
    "p_median",
    "plan_phases",
    "plan_table",
    "set_cover",
    "solve",
    "solve_milp",
]

METHODS = ("auto", "exact", "fast")
_EPS = 1e-9  # relative tolerance under which a plan counts as optimal


# --------------------------------------------------------------------------- #
# coverage.npz: the matrix written by the pipeline and read by the benchmark   #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class CoverageProblem:
    """The coverage instance the pipeline hands to the optimiser.

    Attributes
    ----------
    A
        Sites × demand points, 1 where the site sees the point (CSR).
    demand_weight
        Weight of each demand point (hotspot intensity × sensitive-site weight), ≥ 0.
    demand_xy
        Demand point coordinates in ``crs`` (n_demand × 2, metres).
    site_id
        Stable identifier of each candidate site.
    site_cost_eur
        Installation cost of each site in euros.
    existing
        True for sites that already hold cameras.
    crs
        The projected CRS of the coordinates (e.g. ``"EPSG:32632"``).
    """

    A: sp.csr_matrix
    demand_weight: np.ndarray
    demand_xy: np.ndarray
    site_id: np.ndarray
    site_cost_eur: np.ndarray
    existing: np.ndarray
    crs: str

    @property
    def n_sites(self) -> int:
        """Number of candidate sites (rows of ``A``)."""
        return int(self.A.shape[0])

    @property
    def n_demand(self) -> int:
        """Number of demand points (columns of ``A``)."""
        return int(self.A.shape[1])


def coverage_arrays(problem: CoverageProblem) -> dict[str, np.ndarray]:
    """Return the arrays to store with ``np.savez_compressed`` (the writer's side).

    Parameters
    ----------
    problem
        The coverage instance.

    Returns
    -------
    dict
        Keys ``A_data, A_indices, A_indptr, A_shape, demand_weight, demand_xy,
        site_id, site_cost_eur, existing, crs``; no object arrays, so the file reads
        back with ``allow_pickle=False``.
    """
    A = sp.csr_matrix(problem.A)
    A.sort_indices()
    return {
        "A_data": np.asarray(A.data, dtype=np.int8),
        "A_indices": np.asarray(A.indices, dtype=np.int32),
        "A_indptr": np.asarray(A.indptr, dtype=np.int64),
        "A_shape": np.asarray(A.shape, dtype=np.int64),
        "demand_weight": np.asarray(problem.demand_weight, dtype=np.float64),
        "demand_xy": np.asarray(problem.demand_xy, dtype=np.float64).reshape(-1, 2),
        "site_id": np.asarray(problem.site_id).astype(str),
        "site_cost_eur": np.asarray(problem.site_cost_eur, dtype=np.float64),
        "existing": np.asarray(problem.existing, dtype=bool),
        "crs": np.asarray(str(problem.crs)),
    }


def load_coverage(path: str | PathLike[str]) -> CoverageProblem:
    """Read a ``coverage.npz`` written from :func:`coverage_arrays`.

    Parameters
    ----------
    path
        The ``.npz`` file.

    Returns
    -------
    CoverageProblem
        With ``A`` rebuilt as a CSR matrix.
    """
    keys = (
        "A_data",
        "A_indices",
        "A_indptr",
        "A_shape",
        "demand_weight",
        "demand_xy",
        "site_id",
        "site_cost_eur",
        "existing",
        "crs",
    )
    with np.load(path, allow_pickle=False) as z:
        missing = [key for key in keys if key not in z.files]
        report_problems(
            [f"array {key!r} is missing (expected keys: {', '.join(keys)})" for key in missing],
            source=str(path),
        )
        shape = tuple(int(s) for s in z["A_shape"])
        A = sp.csr_matrix((z["A_data"], z["A_indices"], z["A_indptr"]), shape=shape)
        problem = CoverageProblem(
            A=A,
            demand_weight=np.asarray(z["demand_weight"], dtype=np.float64),
            demand_xy=np.asarray(z["demand_xy"], dtype=np.float64),
            site_id=np.asarray(z["site_id"]).astype(str),
            site_cost_eur=np.asarray(z["site_cost_eur"], dtype=np.float64),
            existing=np.asarray(z["existing"], dtype=bool),
            crs=str(z["crs"]),
        )
    n_s, n_d = shape
    problems = []
    for name, arr, n in (
        ("demand_weight", problem.demand_weight, n_d),
        ("site_id", problem.site_id, n_s),
        ("site_cost_eur", problem.site_cost_eur, n_s),
        ("existing", problem.existing, n_s),
    ):
        if len(arr) != n:
            problems.append(f"{name} has {len(arr)} values, expected {n} (from A_shape {shape})")
    if problem.demand_xy.shape != (n_d, 2):
        problems.append(f"demand_xy has shape {problem.demand_xy.shape}, expected ({n_d}, 2)")
    report_problems(problems, source=str(path))
    logger.info(
        "load_coverage read %s: %s sites, %s demand points, %s coverage pairs",
        path,
        f"{n_s:,}",
        f"{n_d:,}",
        f"{A.nnz:,}",
    )
    return problem


# --------------------------------------------------------------------------- #
# results                                                                      #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Plan:
    """A deployment plan: which new sites, in which order, and how good it is.

    Attributes
    ----------
    selected
        New site indices in rank order (each the best next pick given those before).
    fixed
        Sites counted as already covering (existing, accepted, earlier phases), sorted.
    marginal_gain
        Objective gained by each selected site, in rank order (sums to
        ``objective - covered_before``).
    objective
        Objective reached, fixed sites included (covered weight + backup bonus).
    covered_before
        Objective of the fixed sites alone.
    total_weight
        Sum of all demand weights.
    upper_bound
        Proven upper bound on the best objective any feasible plan can reach.
    gap
        ``(upper_bound - objective) / upper_bound``: the plan reaches at least
        ``1 - gap`` of the optimum (1 when no bound is known: ``upper_bound`` is inf).
    cost_eur
        Cost of the new sites (0 when no costs were given).
    solver
        ``"celf"`` (lazy greedy) or ``"milp"`` (HiGHS).
    optimal
        True only when the plan is proven optimal: ``gap`` ≤ 1e-9 from a bound that was
        checked (see ``status``).
    covered_weight
        Weight of demand seen by at least one chosen or fixed site (no backup bonus).
    backup_share
        Extra share of a demand point's weight counted when two sites see it.
    status
        What the plan is: ``"optimal"`` (proven), ``"feasible"`` (a feasible plan whose
        distance to the optimum is at most ``gap``) or ``"solver_failed"`` (the exact
        solver failed; the plan is the greedy one, with the greedy's proven bound). A
        MILP plan is ``"optimal"`` only when HiGHS's model status is Optimal, its primal
        value equals the plan's objective recomputed from ``A`` and the weights, and its
        dual bound, mapped back through the model reductions, is within the gap.
    solver_message
        What the solver said (e.g. ``"HiGHS: Optimal"``, ``"HiGHS: Time limit reached"``,
        or why its answer was not trusted).
    """

    selected: tuple[int, ...]
    fixed: tuple[int, ...]
    marginal_gain: tuple[float, ...]
    objective: float
    covered_before: float
    total_weight: float
    upper_bound: float
    gap: float
    cost_eur: float
    solver: str
    optimal: bool
    covered_weight: float = 0.0
    backup_share: float = 0.0
    status: str = "feasible"
    solver_message: str = ""

    @property
    def coverage_share(self) -> float:
        """Share of the total demand weight seen by at least one site."""
        return self.covered_weight / self.total_weight if self.total_weight > 0 else 0.0

    @property
    def sites(self) -> tuple[int, ...]:
        """All sites of the plan: fixed then selected."""
        return self.fixed + self.selected


@dataclass(frozen=True)
class Phase:
    """One phase de déploiement (installation tranche) of a multi-year plan.

    Attributes
    ----------
    name
        How the town calls it (e.g. ``"phase 3"``).
    year
        Year of installation.
    k
        Number of new sites in the phase, or
    budget_eur
        the phase's installation budget in euros (exactly one of the two).
    """

    name: str
    year: int
    k: int | None = None
    budget_eur: float | None = None


@dataclass(frozen=True)
class PhasePlan:
    """The plan of one phase and what it costs whom.

    Attributes
    ----------
    phase
        The phase.
    plan
        Its plan (``plan.fixed`` holds every site of the earlier phases).
    cost_eur
        Cost of the phase's new sites.
    funded_eur
        Part paid by State funds (FIPD, DETR, DSIL): ``funded_share × cost_eur``.
    town_eur
        Part left to the town.
    coverage_share
        Share of the total demand weight seen once the phase is installed.
    """

    phase: Phase
    plan: Plan
    cost_eur: float
    funded_eur: float
    town_eur: float
    coverage_share: float


# --------------------------------------------------------------------------- #
# validation and the prepared instance                                         #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class _Instance:
    A: sp.csr_matrix  # binary float64, sorted indices
    w: np.ndarray
    fixed: np.ndarray  # sorted unique int
    candidate: (
        np.ndarray
    )  # bool per site: may be chosen (not fixed/excluded/too close to fixed/too dear)
    k: int | None
    budget: float | None
    cost: np.ndarray  # zeros when no cost given
    beta: float
    conflicts: sp.csr_matrix | None  # symmetric site × site, 1 = closer than the spacing
    counts0: np.ndarray = field(repr=False)  # fixed sites seeing each demand point, capped at 2

    @property
    def n_sites(self) -> int:
        return int(self.A.shape[0])

    @property
    def table(self) -> np.ndarray:
        """Value of a demand point's next coverage, by how many sites see it (0, 1, ≥ 2), per unit weight."""
        table = self.__dict__.get("_table")
        if table is None:
            table = np.array([1.0, self.beta, 0.0])
            object.__setattr__(self, "_table", table)
        return table


def _as_index_array(
    values: Iterable[int] | np.ndarray, name: str, n: int, problems: list[str]
) -> np.ndarray:
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
    if arr.dtype == bool:
        if arr.shape != (n,):
            problems.append(f"{name}: boolean mask has shape {arr.shape}, expected ({n},)")
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        problems.append(
            f"{name}: site indices must be integers or a boolean mask, got dtype {arr.dtype}"
        )
        return np.zeros(0, dtype=np.int64)
    arr = arr.astype(np.int64).ravel()
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        problems.append(
            f"{name}: site indices {sorted(set(bad.tolist()))[:10]} out of range; accepted 0..{n - 1}"
        )
        arr = arr[(arr >= 0) & (arr < n)]
    return np.unique(arr)


def _prepare(
    A: sp.spmatrix | np.ndarray,
    weight: np.ndarray,
    *,
    k: int | None,
    budget_eur: float | None,
    cost_eur: np.ndarray | None,
    fixed: Iterable[int] | np.ndarray,
    excluded: Iterable[int] | np.ndarray,
    min_spacing_m: float | None,
    site_xy: np.ndarray | None,
    backup_share: float,
    source: str,
    need_limit: bool = True,
) -> _Instance:
    problems: list[str] = []
    A = sp.csr_matrix(A, copy=True)
    if A.ndim != 2:
        report_problems(
            [f"A must be a 2-D sites × demand matrix, got shape {A.shape}"], source=source
        )
    A.sum_duplicates()
    A.eliminate_zeros()
    if A.nnz and not np.all(A.data == 1):
        problems.append(
            "A: entries must be 0 or 1 (1 = the site sees the demand point); "
            f"found values {np.unique(A.data[A.data != 1])[:5].tolist()}"
        )
    A = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape)
    A.sort_indices()
    n_s, n_d = A.shape
    w = np.asarray(weight, dtype=np.float64).ravel()
    if w.shape != (n_d,):
        problems.append(f"weight: {w.size} values for {n_d} demand points (columns of A)")
        w = np.zeros(n_d)
    elif not np.all(np.isfinite(w)) or np.any(w < 0):
        bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
        problems.append(
            f"weight: demand points {bad[:10].tolist()} have weights {w[bad[:10]].tolist()}; "
            "accepted finite values ≥ 0"
        )
    if need_limit and (k is None) == (budget_eur is None):
        problems.append(
            f"give exactly one of k (number of new sites) or budget_eur; got k={k}, budget_eur={budget_eur}"
        )
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0):
        problems.append(f"k: {k!r} is not a whole number ≥ 0")
    if budget_eur is not None and not (math.isfinite(budget_eur) and budget_eur >= 0):
        problems.append(f"budget_eur: {budget_eur!r}; accepted a finite amount ≥ 0")
    if budget_eur is not None and cost_eur is None:
        problems.append("cost_eur: a budget needs each site's cost (cost_eur, one value per site)")
    cost = np.zeros(n_s)
    if cost_eur is not None:
        cost = np.asarray(cost_eur, dtype=np.float64).ravel()
        if cost.shape != (n_s,):
            problems.append(f"cost_eur: {cost.size} values for {n_s} sites (rows of A)")
            cost = np.zeros(n_s)
        elif not np.all(np.isfinite(cost)) or np.any(cost < 0):
            bad = np.flatnonzero(~np.isfinite(cost) | (cost < 0))
            problems.append(
                f"cost_eur: sites {bad[:10].tolist()} cost {cost[bad[:10]].tolist()}; accepted finite ≥ 0"
            )
            cost = np.zeros(n_s)
    if not (0.0 <= backup_share <= 1.0):
        problems.append(f"backup_share: {backup_share!r}; accepted a share between 0 and 1")
    fixed_idx = _as_index_array(fixed, "fixed", n_s, problems)
    excl_idx = _as_index_array(excluded, "excluded", n_s, problems)
    both = np.intersect1d(fixed_idx, excl_idx)
    if both.size:
        problems.append(
            f"sites {both[:10].tolist()} are both fixed and excluded; a site is either kept or rejected"
        )
    xy = None
    if min_spacing_m is not None:
        if not (math.isfinite(min_spacing_m) and min_spacing_m >= 0):
            problems.append(f"min_spacing_m: {min_spacing_m!r}; accepted a distance ≥ 0 in metres")
        if site_xy is None:
            problems.append(
                "site_xy: min_spacing_m needs the site coordinates (n_sites × 2, projected metres)"
            )
        else:
            xy = np.asarray(site_xy, dtype=np.float64)
            if xy.shape != (n_s, 2) or not np.all(np.isfinite(xy)):
                problems.append(
                    f"site_xy: shape {xy.shape}, expected ({n_s}, 2) finite projected coordinates"
                )
                xy = None
    report_problems(problems, source=source)

    candidate = np.ones(n_s, dtype=bool)
    candidate[fixed_idx] = False
    candidate[excl_idx] = False
    conflicts = None
    if xy is not None and min_spacing_m and n_s > 1:
        pairs = cKDTree(xy).query_pairs(r=float(min_spacing_m), output_type="ndarray")
        if len(pairs):
            d = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
            pairs = pairs[d < min_spacing_m]
        rows = (
            np.concatenate([pairs[:, 0], pairs[:, 1]])
            if len(pairs)
            else np.zeros(0, dtype=np.int64)
        )
        cols = (
            np.concatenate([pairs[:, 1], pairs[:, 0]])
            if len(pairs)
            else np.zeros(0, dtype=np.int64)
        )
        conflicts = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_s, n_s))
        conflicts.sort_indices()
        if fixed_idx.size:
            near_fixed = np.asarray(conflicts[fixed_idx].sum(axis=0)).ravel() > 0
            candidate &= ~near_fixed
    n_open = int(candidate.sum())
    if k is not None and need_limit and k > n_open:
        raise InfeasibleError(
            f"k={k} new sites asked but only {n_open} candidate sites remain "
            f"({n_s} sites, {fixed_idx.size} fixed, {excl_idx.size} excluded"
            + (
                f", others closer than {min_spacing_m} m to a fixed site"
                if conflicts is not None
                else ""
            )
            + f"); accepted k ≤ {n_open}"
        )
    if budget_eur is not None and need_limit:
        affordable = candidate & (cost <= budget_eur)
        if n_open and not affordable.any():
            raise InfeasibleError(
                f"budget_eur={budget_eur:,.0f} is below the cheapest candidate site "
                f"({cost[candidate].min():,.0f} €); accepted a budget ≥ that amount"
            )
        candidate = affordable
    counts0 = np.zeros(n_d, dtype=np.int64)
    if fixed_idx.size:
        counts0 = np.asarray(A[fixed_idx].sum(axis=0)).ravel().astype(np.int64)
    counts0 = np.minimum(counts0, 2)
    return _Instance(
        A=A,
        w=w,
        fixed=fixed_idx,
        candidate=candidate,
        k=None if k is None else int(k),
        budget=None if budget_eur is None else float(budget_eur),
        cost=cost,
        beta=float(backup_share),
        conflicts=conflicts,
        counts0=counts0,
    )


def _value_left(inst: _Instance, counts: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Objective each demand point (or those in ``rows``) adds when one more site sees it."""
    w = inst.w if rows is None else inst.w[rows]
    return w * inst.table[np.minimum(counts, 2)]


def _objective(inst: _Instance, counts: np.ndarray) -> tuple[float, float]:
    """(objective, covered weight) of coverage counts."""
    covered = float(inst.w[counts >= 1].sum())
    return covered + inst.beta * float(inst.w[counts >= 2].sum()), covered


def _counts_of(inst: _Instance, sites: Sequence[int] | np.ndarray) -> np.ndarray:
    counts = inst.counts0.copy()
    sites = np.asarray(sites, dtype=np.int64)
    if sites.size:
        counts += np.bincount(_rows_of(inst, sites), minlength=counts.size)
    return np.minimum(counts, 2)


def _rows_of(inst: _Instance, sites: np.ndarray) -> np.ndarray:
    """Demand points seen by each site of ``sites``, concatenated (repeats kept)."""
    indptr, indices = inst.A.indptr, inst.A.indices
    return np.concatenate([indices[indptr[j] : indptr[j + 1]] for j in sites.tolist()])


def _bound(inst: _Instance, f_s: float, gains: np.ndarray) -> float:
    """Minoux / Leskovec online bound: f(S) + best feasible sum of marginal gains.

    ``gains`` are upper bounds on the marginal gains δ_j(S) of the candidate sites (0
    for sites that are not candidates or already in S). Any optimal set adds at most
    ``k`` sites, or sites costing at most the budget, so the k largest gains, or a
    fractional knapsack of them, bound what it can add to f(S).
    """
    g = gains[gains > 0]
    if g.size == 0:
        return f_s
    if inst.k is not None:
        if inst.k == 0:
            return f_s
        if g.size <= inst.k:
            return f_s + float(g.sum())
        return f_s + float(np.partition(g, g.size - inst.k)[g.size - inst.k :].sum())
    assert inst.budget is not None
    c = inst.cost[gains > 0]
    free = c <= 0
    extra = float(g[free].sum())
    g, c = g[~free], c[~free]
    order = np.lexsort((np.arange(g.size), -(g / c)))
    cum = np.cumsum(c[order])
    full = int(np.searchsorted(cum, inst.budget, side="right"))
    extra += float(g[order[:full]].sum())
    if full < g.size:
        left = inst.budget - (cum[full - 1] if full else 0.0)
        extra += float(g[order[full]]) * max(left, 0.0) / float(c[order[full]])
    return f_s + extra


# --------------------------------------------------------------------------- #
# lazy greedy (CELF)                                                           #
# --------------------------------------------------------------------------- #


def _celf(
    inst: _Instance, *, cost_benefit: bool, limit_k: int | None = None
) -> tuple[list[int], list[float], float]:
    """One lazy-greedy run; returns (selected, gains, best online bound)."""
    A, indptr, indices = inst.A, inst.A.indptr, inst.A.indices
    counts = inst.counts0.copy()
    value = _value_left(inst, counts)
    f_s = _objective(inst, counts)[0]
    gains_ub = np.where(inst.candidate, A @ value, 0.0)  # exact at the start, upper bounds later
    k = inst.k if limit_k is None else limit_k
    budget_left = inst.budget
    cost = inst.cost
    w, table = inst.w, inst.table
    best_bound = _bound(inst, f_s, gains_ub) if limit_k is None else math.inf

    def key(j: int, g: float) -> float:
        if not cost_benefit:
            return g
        return g / cost[j] if cost[j] > 0 else (math.inf if g > 0 else 0.0)

    heap = [
        (-key(j, gains_ub[j]), j) for j in np.flatnonzero(inst.candidate & (gains_ub > 0)).tolist()
    ]
    heapq.heapify(heap)
    fresh = np.full(inst.n_sites, -1, dtype=np.int64)
    fresh[inst.candidate] = 0
    usable = inst.candidate.copy()
    selected: list[int] = []
    gains: list[float] = []
    it = 0
    while heap and (k is None or len(selected) < k):
        neg, j = heapq.heappop(heap)
        if not usable[j]:
            continue
        if budget_left is not None and cost[j] > budget_left + 1e-9:
            usable[j] = False  # the budget only shrinks
            continue
        if fresh[j] != it:
            row = indices[indptr[j] : indptr[j + 1]]
            g = float(value[row].sum())
            gains_ub[j] = g
            fresh[j] = it
            if g > 0:
                heapq.heappush(heap, (-key(j, g), j))
            continue
        g = float(gains_ub[j])
        if g <= 0:
            break
        selected.append(j)
        gains.append(g)
        f_s += g
        it += 1
        row = indices[indptr[j] : indptr[j + 1]]
        c_row = np.minimum(counts[row] + 1, 2)
        counts[row] = c_row
        value[row] = w[row] * table[c_row]  # _value_left on the row
        usable[j] = False
        gains_ub[j] = 0.0
        if budget_left is not None:
            budget_left -= cost[j]
        if inst.conflicts is not None:
            usable[
                inst.conflicts.indices[inst.conflicts.indptr[j] : inst.conflicts.indptr[j + 1]]
            ] = False
        if limit_k is None:
            best_bound = min(best_bound, _bound(inst, f_s, gains_ub))
    if limit_k is None:
        exact = np.where(inst.candidate, A @ value, 0.0)
        exact[selected] = 0.0
        best_bound = min(best_bound, _bound(inst, f_s, exact))
    return selected, gains, best_bound


def _order_by_gain(inst: _Instance, sites: Iterable[int]) -> tuple[list[int], list[float]]:
    """Rank a chosen set greedily (best marginal gain first, ties by lowest index).

    Lazy evaluation (CELF) over the chosen sites: a site's gain only shrinks as others
    are placed (and so does its float sum, rounding being monotone), so a stale gain
    is an upper bound and the pick is the one an eager argmax would make.
    """
    left = sorted(set(int(s) for s in sites))
    indptr, indices = inst.A.indptr, inst.A.indices
    w, table = inst.w, inst.table
    counts = inst.counts0.copy()
    value = _value_left(inst, counts)
    heap = [(-float(value[indices[indptr[j] : indptr[j + 1]]].sum()), j) for j in left]
    heapq.heapify(heap)
    fresh = dict.fromkeys(left, 0)
    order: list[int] = []
    gains: list[float] = []
    while heap:
        neg, j = heapq.heappop(heap)
        row = indices[indptr[j] : indptr[j + 1]]
        if fresh[j] != len(order):
            fresh[j] = len(order)
            heapq.heappush(heap, (-float(value[row].sum()), j))
            continue
        order.append(j)
        gains.append(-neg)
        if heap:
            counts[row] = np.minimum(counts[row] + 1, 2)
            value[row] = w[row] * table[counts[row]]
    return order, gains


def _swap_improve(inst: _Instance, selected: Sequence[int], *, max_passes: int = 3) -> list[int]:
    """1-swap local search: replace a chosen site by a better one while it pays.

    Keeps every constraint (count, budget, spacing); the result is at least as good.
    Each chosen site in turn is taken out and the best allowed site put in its place
    when that adds more than it did. Stops once every chosen site has been tried
    without a swap since the last one (a local optimum: further passes change
    nothing), or after ``max_passes`` passes.
    """
    chosen = [int(j) for j in selected]
    if not chosen:
        return chosen
    A, indptr, indices = inst.A, inst.A.indptr, inst.A.indices
    w, table = inst.w, inst.table
    counts = inst.counts0.astype(np.int64) + np.bincount(
        _rows_of(inst, np.asarray(chosen, dtype=np.int64)), minlength=inst.counts0.size
    )
    value = (
        w * table[np.minimum(counts, 2)]
    )  # _value_left(inst, counts), kept up to date row by row
    open_ = inst.candidate.copy()  # candidate and not in the plan
    open_[chosen] = False
    conflicts = inst.conflicts
    conflict_count = np.zeros(inst.n_sites, dtype=np.int64)
    if conflicts is not None:
        conflict_count = np.asarray(conflicts[chosen].sum(axis=0)).ravel().astype(np.int64)
    budget, cost = inst.budget, inst.cost
    spent = float(cost[chosen].sum())
    scale = max(float(w.sum()), 1.0)
    threshold = 1e-12 * scale  # a swap must add more than this
    # Screening, for all chosen sites at once: with S the plan, a site t's gain once s is
    # out is its gain now plus the value that s's demand regains where t sees it
    # (A diag(regained) Aᵀ). Computed in another float order, it proves "no swap for s"
    # when it stays below the threshold by far more than any rounding (margin); other
    # sites go through the exact test below, so the result is that of the plain search.
    At = inst.A.T.tocsr()
    margin = (1e-9 + 8.0 * w.size * np.finfo(np.float64).eps) * scale
    screened: set[int] = set()  # chosen sites proven not to swap in the current state
    stale = True
    tried: set[int] = set()  # chosen sites tried without a swap since the last swap
    for _ in range(max_passes):
        improved = False
        for s in sorted(chosen):
            if stale:
                screened = _screen_swaps(
                    inst,
                    chosen,
                    counts,
                    A @ value,
                    open_,
                    conflict_count,
                    spent,
                    At,
                    slack=margin + threshold,
                )
                stale = False
            if s in screened:
                tried.add(s)
                if len(tried) == len(chosen):
                    return chosen
                continue
            row_s = indices[indptr[s] : indptr[s + 1]]
            w_s = w[row_s]
            before = (w_s * table[np.minimum(counts[row_s] - 1, 2)]).sum()  # what s adds now
            counts[row_s] -= 1
            value[row_s] = w_s * table[np.minimum(counts[row_s], 2)]
            gains = A @ value
            allowed = open_
            if conflicts is not None:
                conflict_count[
                    conflicts.indices[conflicts.indptr[s] : conflicts.indptr[s + 1]]
                ] -= 1
                allowed = allowed & (conflict_count == 0)
            if budget is not None:
                allowed = allowed & (cost <= budget - (spent - cost[s]) + 1e-9)
            gains[~allowed] = -np.inf
            t = int(np.argmax(gains))
            swap_in = t if gains[t] > before + threshold else s
            row_t = indices[indptr[swap_in] : indptr[swap_in + 1]]
            counts[row_t] += 1
            value[row_t] = w[row_t] * table[np.minimum(counts[row_t], 2)]
            if conflicts is not None:
                conflict_count[
                    conflicts.indices[conflicts.indptr[swap_in] : conflicts.indptr[swap_in + 1]]
                ] += 1
            if swap_in != s:
                improved = True
                open_[s], open_[swap_in] = True, False
                chosen[chosen.index(s)] = swap_in
                spent += cost[swap_in] - cost[s]
                tried.clear()
                stale = True
            else:
                tried.add(s)
                if len(tried) == len(chosen):
                    return chosen
        if not improved:
            break
    return chosen


def _screen_swaps(
    inst: _Instance,
    chosen: list[int],
    counts: np.ndarray,
    gains_now: np.ndarray,
    open_: np.ndarray,
    conflict_count: np.ndarray,
    spent: float,
    At: sp.csr_matrix,
    *,
    slack: float,
) -> set[int]:
    """Chosen sites whose best 1-swap is below what they add by more than ``slack``."""
    w, table, cost, budget, conflicts = inst.w, inst.table, inst.cost, inst.budget, inst.conflicts
    ch = np.asarray(chosen, dtype=np.int64)
    indptr = inst.A.indptr
    lens = indptr[ch + 1] - indptr[ch]
    cols = _rows_of(inst, ch)
    left = w * table[np.clip(counts - 1, 0, 2)]  # what a demand point's last coverage adds
    regained = left - w * table[np.minimum(counts, 2)]
    ptr = np.concatenate([[0], np.cumsum(lens)])
    before = np.bincount(np.repeat(np.arange(ch.size), lens), weights=left[cols], minlength=ch.size)
    R = sp.csr_matrix((regained[cols], cols, ptr), shape=(ch.size, inst.A.shape[1]))
    best = gains_now[None, :] + (R @ At).toarray()
    allowed = np.broadcast_to(open_, best.shape)
    if budget is not None:
        allowed = allowed & (cost[None, :] <= (budget - (spent - cost[ch]) + 1e-9)[:, None])
    if conflicts is not None:
        allowed = allowed & (conflict_count[None, :] - conflicts[ch].toarray() == 0)
    best = np.where(allowed, best, -np.inf).max(axis=1, initial=-np.inf)
    return set(ch[best + slack <= before].tolist())


def _match_tol(*values: float) -> float:
    """Absolute tolerance under which two objective values count as equal.

    HiGHS keeps rows feasible to 1e-7 and integers to 1e-6, so its primal value may
    differ from the objective recomputed from ``A`` by about that share; a plan that
    differs by more (e.g. the greedy plan, 0.2 % below the optimum) is another plan.
    """
    return 1e-6 * max([abs(v) for v in values if math.isfinite(v)] + [1e-12])


def _make_plan(
    inst: _Instance,
    selected: Sequence[int],
    gains: Sequence[float],
    upper_bound: float,
    solver: str,
    *,
    certified: bool = True,
    failed: bool = False,
    message: str = "",
) -> Plan:
    """The plan of ``selected``, its objective recomputed from ``A`` and the weights.

    ``upper_bound`` must be a proven bound; ``certified`` says whether the solver that
    gave it may call the plan optimal (for HiGHS: its status was Optimal and its primal
    value is this plan's objective). A bound below the objective by more than rounding
    contradicts the plan: it is discarded, never lifted to the objective.
    """
    counts = _counts_of(inst, selected)
    objective, covered = _objective(inst, counts)
    before = _objective(inst, inst.counts0)[0]
    upper_bound = float(upper_bound)
    if upper_bound < objective - _match_tol(objective, upper_bound):
        logger.warning(
            "%s: upper bound %.9g is below the plan's objective %.9g; bound discarded",
            solver,
            upper_bound,
            objective,
        )
        message = (
            message + "; " if message else ""
        ) + f"bound {upper_bound:.9g} below the objective, discarded"
        upper_bound, certified = math.inf, False
    upper_bound = max(upper_bound, objective)  # within rounding of the objective
    if math.isinf(upper_bound):
        gap = 1.0
    else:
        gap = (upper_bound - objective) / upper_bound if upper_bound > 0 else 0.0
    optimal = bool(certified and not failed and gap <= _EPS)
    return Plan(
        selected=tuple(int(s) for s in selected),
        fixed=tuple(int(s) for s in inst.fixed),
        marginal_gain=tuple(float(g) for g in gains),
        objective=objective,
        covered_before=before,
        total_weight=float(inst.w.sum()),
        upper_bound=upper_bound,
        gap=gap,
        cost_eur=float(inst.cost[list(selected)].sum()) if len(selected) else 0.0,
        solver=solver,
        optimal=optimal,
        covered_weight=covered,
        backup_share=inst.beta,
        status="solver_failed" if failed else ("optimal" if optimal else "feasible"),
        solver_message=message,
    )


def _greedy(inst: _Instance, *, polish: bool = False) -> Plan:
    if inst.budget is None:
        sel, gains, bound = _celf(inst, cost_benefit=False)
    else:
        runs = [_celf(inst, cost_benefit=True), _celf(inst, cost_benefit=False)]
        bound = min(r[2] for r in runs)
        best = max(runs, key=lambda r: (sum(r[1]), -len(r[0])))
        sel, gains = best[0], best[1]
    if polish and sel:
        better = _swap_improve(inst, sel)
        if set(better) != set(sel):
            sel, gains = _order_by_gain(inst, better)
    return _make_plan(inst, sel, gains, bound, "celf", message="lazy greedy, Minoux bound")


def greedy(
    A: sp.spmatrix | np.ndarray,
    weight: np.ndarray,
    *,
    k: int | None = None,
    budget_eur: float | None = None,
    cost_eur: np.ndarray | None = None,
    fixed: Iterable[int] | np.ndarray = (),
    excluded: Iterable[int] | np.ndarray = (),
    min_spacing_m: float | None = None,
    site_xy: np.ndarray | None = None,
    backup_share: float = 0.0,
    polish: bool = False,
) -> Plan:
    """Plan new sites with the lazy greedy (CELF) and certify how far from optimal it is.

    Parameters
    ----------
    A
        Sites × demand points, 1 where the site sees the point (sparse or dense).
    weight
        Weight of each demand point, ≥ 0.
    k
        Number of new sites (exactly one of ``k`` and ``budget_eur``).
    budget_eur
        Budget for the new sites, in euros; needs ``cost_eur``.
    cost_eur
        Cost of each site in euros.
    fixed
        Sites counted as already there (indices or boolean mask).
    excluded
        Sites that may not be chosen (indices or boolean mask).
    min_spacing_m
        Minimum distance between two sites of the plan (fixed sites included); needs
        ``site_xy``.
    site_xy
        Site coordinates in a projected metric CRS (n_sites × 2).
    backup_share
        Share of a demand point's weight counted again when a second site sees it
        (0 = plain coverage, at most 1).
    polish
        Then try 1-swaps (replace a chosen site by a better one, constraints kept)
        while they pay; the bound stays the greedy's, so the gap can only shrink.

    Returns
    -------
    Plan
        ``solver="celf"``; ``upper_bound`` is the Minoux / Leskovec online bound, so
        ``gap`` is a proven bound on the distance to the optimum. The greedy stops
        early when no site adds anything.
    """
    inst = _prepare(
        A,
        weight,
        k=k,
        budget_eur=budget_eur,
        cost_eur=cost_eur,
        fixed=fixed,
        excluded=excluded,
        min_spacing_m=min_spacing_m,
        site_xy=site_xy,
        backup_share=backup_share,
        source="greedy()",
    )
    plan = _greedy(inst, polish=polish)
    _log_plan("greedy", plan)
    return plan


def _log_plan(name: str, plan: Plan) -> None:
    logger.info(
        "%s chose %d new sites (%d fixed): objective %.6g of %.6g, bound %.6g, gap %.3g%%%s",
        name,
        len(plan.selected),
        len(plan.fixed),
        plan.objective,
        plan.total_weight,
        plan.upper_bound,
        100 * plan.gap,
        " (optimal)" if plan.optimal else "",
    )


# --------------------------------------------------------------------------- #
# exact MILP (HiGHS)                                                           #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class _Model:
    sites: np.ndarray  # candidate site index of each x column
    site_coef: np.ndarray  # objective of x_j (demand only this site can add)
    groups: sp.csc_matrix  # candidate × merged demand group (degree ≥ 2)
    v1: np.ndarray  # value of a group's first new coverage
    v2: np.ndarray  # value of its second new coverage (backup)
    constant: float  # objective of the fixed sites


def _reduce(inst: _Instance) -> _Model:
    """Keep only what can matter, fold single-site demand, merge identical demand columns."""
    counts0 = inst.counts0
    v1_all = _value_left(inst, counts0)
    v2_all = np.where(counts0 == 0, inst.beta * inst.w, 0.0)
    gains = np.where(inst.candidate, inst.A @ v1_all, 0.0)
    sites = np.flatnonzero(inst.candidate & (gains > 0))
    demand = np.flatnonzero(v1_all > 0)
    B = inst.A[sites][:, demand].tocsc()
    B.sort_indices()
    deg = np.diff(B.indptr)
    v1 = v1_all[demand]
    v2 = v2_all[demand]
    # demand seen by one candidate only: its value is the site's own
    single = deg == 1
    was_single = single
    site_coef = np.zeros(sites.size)
    np.add.at(site_coef, B.indices[B.indptr[:-1][single]], v1[single])
    multi = np.flatnonzero(deg >= 2)
    if inst.beta == 0 and inst.conflicts is None and sites.size > 1:
        # a site whose demand is all seen by another site (no dearer) is never needed
        keep = _undominated(
            B[:, multi].tocsr(),
            site_coef,
            inst.cost[sites] if inst.budget is not None else np.zeros(sites.size),
        )
        if not keep.all():
            sites, site_coef = sites[keep], site_coef[keep]
            B = B[keep].tocsc()
            B.sort_indices()
            deg = np.diff(B.indptr)
            single = deg == 1
            np.add.at(
                site_coef, B.indices[B.indptr[:-1][single & ~was_single]], v1[single & ~was_single]
            )
            multi = np.flatnonzero(deg >= 2)
    # merge demand points seen by exactly the same candidates
    key_of: dict[bytes, int] = {}
    group = np.empty(multi.size, dtype=np.int64)
    for n, col in enumerate(multi.tolist()):
        key = B.indices[B.indptr[col] : B.indptr[col + 1]].tobytes()
        group[n] = key_of.setdefault(key, len(key_of))
    n_groups = len(key_of)
    first = np.full(n_groups, -1, dtype=np.int64)
    first[group[::-1]] = multi[::-1]
    gv1 = np.bincount(group, weights=v1[multi], minlength=n_groups)
    gv2 = np.bincount(group, weights=v2[multi], minlength=n_groups)
    G = B[:, first] if n_groups else sp.csc_matrix((sites.size, 0))
    constant = _objective(inst, counts0)[0]
    logger.debug(
        "MILP reduction: %d candidate sites, %d demand points → %d single-site + %d merged groups",
        sites.size,
        demand.size,
        int(single.sum()),
        n_groups,
    )
    return _Model(
        sites=sites, site_coef=site_coef, groups=sp.csc_matrix(G), v1=gv1, v2=gv2, constant=constant
    )


def _undominated(B: sp.csr_matrix, own: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Mask of the sites to keep: drop j when another site sees all j sees, costs no more.

    ``B`` is candidate × shared demand, ``own`` the value of the demand only that site
    sees. A site with such own demand is never dominated. Among identical sites the
    cheapest, then the lowest index, is kept.
    """
    n = B.shape[0]
    size = np.diff(B.indptr)
    keep = np.ones(n, dtype=bool)
    maybe = np.flatnonzero((own <= 0) & (size > 0))
    keep[(own <= 0) & (size == 0)] = False
    if maybe.size == 0:
        return keep
    overlap = (B[maybe] @ B.T).tocoo()  # |S_j ∩ S_j'| for j in maybe
    j = maybe[overlap.row]
    jp = overlap.col
    inside = (overlap.data == size[j]) & (j != jp)
    j, jp = j[inside], jp[inside]
    # j ⊆ j'; j' dominates when cheaper, or strictly bigger at equal cost, or identical with lower index
    better = (cost[jp] < cost[j]) | ((cost[jp] == cost[j]) & ((size[jp] > size[j]) | (jp < j)))
    better &= cost[jp] <= cost[j]
    keep[np.unique(j[better])] = False
    return keep


def _run_highs(
    inst: _Instance,
    model: _Model,
    *,
    time_limit_s: float,
    warm: Sequence[int] | None,
    rel_gap: float,
    options: dict | None = None,
) -> _HighsAnswer:
    """Solve the reduced MILP with HiGHS; its answer, mapped back to the full instance."""
    import highspy

    n_x = model.sites.size
    G = model.groups
    n_g = G.shape[1]
    has_z = model.v2 > 0
    z_of = np.flatnonzero(has_z)
    n_z = z_of.size
    n_col = n_x + n_g + n_z
    col_cost = np.concatenate([model.site_coef, model.v1, model.v2[z_of]])
    # rows: y_g (+ z_g) - sum_{j in N_g} x_j <= 0
    Gt = G.T.tocsr()
    Gt.sort_indices()
    deg = np.diff(Gt.indptr)
    extra = 1 + has_z.astype(np.int64)
    row_len = deg + extra
    starts = [np.concatenate([[0], np.cumsum(row_len)])]
    idx = np.empty(int(row_len.sum()), dtype=np.int64)
    val = np.empty(idx.size)
    pos = starts[0][:-1]
    # site entries
    site_pos = np.repeat(pos, deg) + (np.arange(Gt.nnz) - np.repeat(Gt.indptr[:-1], deg))
    idx[site_pos] = Gt.indices
    val[site_pos] = -1.0
    idx[pos + deg] = n_x + np.arange(n_g)
    val[pos + deg] = 1.0
    zcol = np.full(n_g, -1, dtype=np.int64)
    zcol[z_of] = n_x + n_g + np.arange(n_z)
    idx[(pos + deg + 1)[has_z]] = zcol[has_z]
    val[(pos + deg + 1)[has_z]] = 1.0
    rows_idx = [idx]
    rows_val = [val]
    row_lo = [np.full(n_g, -np.inf)]
    row_hi = [np.zeros(n_g)]
    # (z_g <= y_g is not needed: a second coverage is worth β ≤ 1 times the first, so an
    # optimal solution fills y_g before z_g)
    # count or budget
    end = starts[-1][-1]
    starts.append(np.array([end + n_x]))
    rows_idx.append(np.arange(n_x))
    if inst.k is not None:
        rows_val.append(np.ones(n_x))
        row_hi.append(np.array([float(inst.k)]))
    else:
        rows_val.append(inst.cost[model.sites].astype(np.float64))
        row_hi.append(np.array([float(inst.budget)]))
    row_lo.append(np.array([-np.inf]))
    # spacing: x_a + x_b <= 1
    if inst.conflicts is not None and n_x:
        C = inst.conflicts[model.sites][:, model.sites].tocoo()
        keep = C.row < C.col
        a, b = C.row[keep], C.col[keep]
        if a.size:
            end = starts[-1][-1]
            starts.append(end + 2 * np.arange(1, a.size + 1))
            rows_idx.append(np.column_stack([a, b]).ravel())
            rows_val.append(np.ones(2 * a.size))
            row_lo.append(np.full(a.size, -np.inf))
            row_hi.append(np.ones(a.size))
    ar_start = np.concatenate(starts).astype(np.int32)
    ar_index = np.concatenate(rows_idx).astype(np.int32)
    ar_value = np.concatenate(rows_val)
    lo = np.concatenate(row_lo)
    hi = np.concatenate(row_hi)

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    h.setOptionValue("mip_abs_gap", 1e-12)
    h.setOptionValue("random_seed", 0)
    # No "threads" option: HiGHS keeps ONE thread scheduler per process, created by the first
    # run (e.g. PuLP's or spopt's). A run asking for another thread count then fails at once
    # (status Not Set, no solution, dual bound 0), which used to be read as a proven optimum.
    h.setOptionValue("presolve", "off")  # the reduction above already did the useful part, faster
    for name, value in (options or {}).items():
        h.setOptionValue(name, value)
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = lo.size
    lp.col_cost_ = col_cost
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.ones(n_col)
    lp.row_lower_ = lo
    lp.row_upper_ = hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = ar_start
    lp.a_matrix_.index_ = ar_index
    lp.a_matrix_.value_ = ar_value
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.num_row_ = lo.size
    lp.sense_ = highspy.ObjSense.kMaximize
    integrality = [highspy.HighsVarType.kInteger] * n_x + [highspy.HighsVarType.kContinuous] * (
        n_g + n_z
    )
    lp.integrality_ = integrality
    h.passModel(lp)
    if warm is not None and n_x:
        pos_of = {int(s): n for n, s in enumerate(model.sites.tolist())}
        x = np.zeros(n_x)
        for s in warm:
            if int(s) in pos_of:
                x[pos_of[int(s)]] = 1.0
        cover = np.asarray(G.T @ x).ravel() if n_g else np.zeros(0)
        y = np.minimum(cover, 1.0)
        z = np.minimum(np.maximum(cover - 1.0, 0.0), 1.0)[z_of]
        sol = highspy.HighsSolution()
        sol.col_value = np.concatenate([x, y, z]).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    return _highs_answer(h, n_x, model.sites, model.constant)


@dataclass(frozen=True)
class _HighsAnswer:
    """What one HiGHS run said, mapped back to the full instance (constant added)."""

    chosen: list[int] | None  # sites of HiGHS's incumbent; None when it has none
    primal: float  # its objective value (nan when no incumbent)
    bound: float  # its dual bound (inf when HiGHS gave no valid bound)
    optimal: bool  # HiGHS's model status is Optimal
    failed: bool  # the run itself failed (no answer to use)
    message: str


def _highs_answer(h, n_x: int, sites: np.ndarray, constant: float) -> _HighsAnswer:
    """Run the passed model and read HiGHS's answer, trusting nothing it did not state."""
    import highspy

    run_status = h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    message = f"HiGHS: {h.modelStatusToString(status)}"
    failed = (
        run_status == highspy.HighsStatus.kError
        or not info.valid
        or status
        in (
            highspy.HighsModelStatus.kNotset,
            highspy.HighsModelStatus.kLoadError,
            highspy.HighsModelStatus.kModelError,
            highspy.HighsModelStatus.kSolveError,
            highspy.HighsModelStatus.kPresolveError,
            highspy.HighsModelStatus.kPostsolveError,
            highspy.HighsModelStatus.kUnknown,
        )
    )
    if failed:
        message = (
            f"HiGHS run failed ({run_status.name}, model status {h.modelStatusToString(status)})"
        )
        logger.warning("%s: the plan falls back to the greedy one", message)
        return _HighsAnswer(None, math.nan, math.inf, False, True, message)
    values = np.asarray(h.getSolution().col_value)
    has_primal = values.size >= n_x and info.primal_solution_status == 2  # kSolutionStatusFeasible
    chosen = sites[values[:n_x] > 0.5].tolist() if has_primal else None
    primal = constant + float(info.objective_function_value) if has_primal else math.nan
    dual = float(info.mip_dual_bound)
    bound = constant + dual if math.isfinite(dual) else math.inf
    logger.debug(
        "HiGHS: status %s, objective %.9g, dual bound %.9g, %d nodes",
        message,
        primal,
        bound,
        info.mip_node_count,
    )
    return _HighsAnswer(
        chosen, primal, bound, status == highspy.HighsModelStatus.kOptimal, False, message
    )


def _check_warm(inst: _Instance, warm: Plan) -> None:
    sites = np.asarray(warm.selected, dtype=np.int64)
    problems = []
    if sites.size and (sites.min() < 0 or sites.max() >= inst.n_sites):
        report_problems([f"selected sites out of range 0..{inst.n_sites - 1}"], source="warm_start")
    if sites.size and not inst.candidate[sites].all():
        problems.append(
            f"sites {sites[~inst.candidate[sites]][:10].tolist()} are fixed, excluded, too close to a "
            "fixed site or above the budget; accepted a plan of candidate sites"
        )
    if inst.k is not None and sites.size > inst.k:
        problems.append(f"{sites.size} sites for k={inst.k}")
    if inst.budget is not None and inst.cost[sites].sum() > inst.budget + 1e-9:
        problems.append(
            f"costs {inst.cost[sites].sum():,.0f} € above budget_eur={inst.budget:,.0f}"
        )
    if inst.conflicts is not None and sites.size and inst.conflicts[sites][:, sites].nnz:
        problems.append("two of its sites are closer than min_spacing_m")
    report_problems(problems, source="warm_start")


def _milp(
    inst: _Instance, *, time_limit_s: float, warm_start: Plan | None, trust_bound: bool = False
) -> Plan:
    """MILP warm-started by ``warm_start``; its upper bound is used only when ``trust_bound``.

    The plan is certified optimal only when HiGHS says Optimal, its primal value equals
    the objective of the returned sites recomputed from ``A`` and the weights, and its
    dual bound (plus the fixed sites' objective the reduction took out) is within the gap.
    """
    if warm_start is None:
        warm_start, trust_bound = _greedy(inst, polish=True), True
    else:
        _check_warm(inst, warm_start)
    warm_sites = list(warm_start.selected)
    warm_bound = warm_start.upper_bound if trust_bound else math.inf
    model = _reduce(inst)
    if trust_bound and warm_start.optimal:  # the greedy bound already proves optimality
        sel, gains = _order_by_gain(inst, warm_sites)
        return _make_plan(
            inst, sel, gains, warm_bound, warm_start.solver, message=warm_start.solver_message
        )
    if model.sites.size == 0 or inst.k == 0:
        # nothing left to decide: no candidate adds anything, or no site may be added
        sel, gains = _order_by_gain(inst, [s for s in warm_sites if model.sites.size])
        bound = _objective(inst, _counts_of(inst, sel))[0]
        return _make_plan(
            inst, sel, gains, bound, "milp", message="no candidate site can add anything"
        )
    run = _run_highs(inst, model, time_limit_s=time_limit_s, warm=warm_sites, rel_gap=1e-9)
    if run.failed or run.chosen is None:
        sel, gains = _order_by_gain(inst, warm_sites)
        return _make_plan(
            inst,
            sel,
            gains,
            warm_bound,
            "milp" if not run.failed else warm_start.solver,
            certified=False,
            failed=run.failed,
            message=run.message,
        )
    chosen, message = run.chosen, run.message
    objective = _objective(inst, _counts_of(inst, chosen))[0]
    certified = run.optimal
    if abs(objective - run.primal) > _match_tol(objective, run.primal):
        certified = False
        message += (
            f"; its primal value {run.primal:.9g} is not the plan's objective {objective:.9g}"
        )
        logger.warning(
            "HiGHS primal value %.9g differs from the plan's recomputed objective %.9g",
            run.primal,
            objective,
        )
    if objective < _objective(inst, _counts_of(inst, warm_sites))[0]:
        chosen, certified = warm_sites, False  # never worse than the warm start
        message += "; the warm start is better than HiGHS's plan"
        objective = _objective(inst, _counts_of(inst, chosen))[0]
    sel, gains = _order_by_gain(inst, chosen)
    # drop sites that add nothing (the MILP may switch on useless ones when k allows)
    keep = [n for n, g in enumerate(gains) if g > 0]
    sel, gains = [sel[n] for n in keep], [gains[n] for n in keep]
    bound = run.bound
    if bound < objective - _match_tol(objective, bound):
        logger.warning(
            "HiGHS dual bound %.9g is below the plan's objective %.9g; bound discarded",
            bound,
            objective,
        )
        message += f"; its dual bound {bound:.9g} is below the plan's objective, discarded"
        bound, certified = math.inf, False
    return _make_plan(
        inst, sel, gains, min(bound, warm_bound), "milp", certified=certified, message=message
    )


def solve_milp(
    A: sp.spmatrix | np.ndarray,
    weight: np.ndarray,
    *,
    k: int | None = None,
    budget_eur: float | None = None,
    cost_eur: np.ndarray | None = None,
    fixed: Iterable[int] | np.ndarray = (),
    excluded: Iterable[int] | np.ndarray = (),
    min_spacing_m: float | None = None,
    site_xy: np.ndarray | None = None,
    backup_share: float = 0.0,
    time_limit_s: float = 60.0,
    warm_start: Plan | None = None,
) -> Plan:
    """Solve the plan exactly as a MILP with HiGHS.

    Parameters
    ----------
    A, weight, k, budget_eur, cost_eur, fixed, excluded, min_spacing_m, site_xy, backup_share
        As in :func:`greedy`.
    time_limit_s
        Wall-clock limit given to HiGHS; past it the best plan found is returned
        with ``optimal=False`` and the proven gap.
    warm_start
        A feasible plan to start from (by default the greedy plan, computed here).

    Returns
    -------
    Plan
        ``solver="milp"`` (``"celf"`` when the greedy warm start computed here already
        proves optimality and no MILP was needed); the objective is never below the
        warm start's. A given ``warm_start`` must be feasible for these arguments; its
        bound is not trusted (it may come from another instance).
    """
    inst = _prepare(
        A,
        weight,
        k=k,
        budget_eur=budget_eur,
        cost_eur=cost_eur,
        fixed=fixed,
        excluded=excluded,
        min_spacing_m=min_spacing_m,
        site_xy=site_xy,
        backup_share=backup_share,
        source="solve_milp()",
    )
    plan = _milp(inst, time_limit_s=time_limit_s, warm_start=warm_start)
    _log_plan("solve_milp", plan)
    return plan


def solve(
    A: sp.spmatrix | np.ndarray,
    weight: np.ndarray,
    *,
    k: int | None = None,
    budget_eur: float | None = None,
    cost_eur: np.ndarray | None = None,
    fixed: Iterable[int] | np.ndarray = (),
    excluded: Iterable[int] | np.ndarray = (),
    method: str = "auto",
    time_limit_s: float = 60.0,
    min_spacing_m: float | None = None,
    site_xy: np.ndarray | None = None,
    backup_share: float = 0.0,
) -> Plan:
    """Plan the new sites: maximise the demand weight seen, under a count or a budget.

    Parameters
    ----------
    A, weight, k, budget_eur, cost_eur, fixed, excluded, min_spacing_m, site_xy, backup_share
        As in :func:`greedy`.
    method
        ``"fast"``: lazy greedy (CELF) polished by 1-swaps, with the greedy's proven gap. ``"exact"``: the HiGHS MILP
        warm-started from the greedy plan. ``"auto"``: the greedy plan when its bound
        already proves it optimal, otherwise the MILP (its plan when it proves
        optimality within the time limit, else the better plan with the tighter bound).
    time_limit_s
        Time limit of the MILP in seconds.

    Returns
    -------
    Plan
        The plan, its rank order and marginal gains, and its proven gap.

    Raises
    ------
    InputError
        A malformed argument (e.g. a site both fixed and excluded).
    InfeasibleError
        ``k`` above the number of candidate sites, or a budget below the cheapest site.
    """
    if method not in METHODS:
        raise InputError(
            f"method: {method!r} is not a solver choice; accepted {', '.join(METHODS)}"
        )
    if not (time_limit_s > 0):
        raise InputError(f"time_limit_s: {time_limit_s!r}; accepted a duration > 0 in seconds")
    inst = _prepare(
        A,
        weight,
        k=k,
        budget_eur=budget_eur,
        cost_eur=cost_eur,
        fixed=fixed,
        excluded=excluded,
        min_spacing_m=min_spacing_m,
        site_xy=site_xy,
        backup_share=backup_share,
        source="solve()",
    )
    plan = _greedy(inst, polish=True)
    if method == "exact" or (method == "auto" and not plan.optimal):
        plan = _milp(inst, time_limit_s=time_limit_s, warm_start=plan, trust_bound=True)
    _log_plan(f"solve({method})", plan)
    return plan


# --------------------------------------------------------------------------- #
# explanations and phases                                                      #
# --------------------------------------------------------------------------- #


def coverage_curve(
    A: sp.spmatrix | np.ndarray,
    weight: np.ndarray,
    *,
    k_max: int,
    fixed: Iterable[int] | np.ndarray = (),
    excluded: Iterable[int] | np.ndarray = (),
) -> np.ndarray:
    """Covered share of the demand weight after 0, 1, …, ``k_max`` greedy picks.

    Parameters
    ----------
    A, weight, fixed, excluded
        As in :func:`greedy`.
    k_max
        Largest number of new sites on the curve.

    Returns
    -------
    numpy.ndarray
        ``k_max + 1`` shares in [0, 1], non-decreasing; flat once no site adds anything.
        Its differences are the share each extra camera site adds — where they become
        small, adding cameras stops paying.
    """
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or k_max < 0:
        raise InputError(f"k_max: {k_max!r} is not a whole number ≥ 0")
    inst = _prepare(
        A,
        weight,
        k=int(k_max),
        budget_eur=None,
        cost_eur=None,
        fixed=fixed,
        excluded=excluded,
        min_spacing_m=None,
        site_xy=None,
        backup_share=0.0,
        source="coverage_curve()",
        need_limit=False,
    )
    _, gains, _ = _celf(inst, cost_benefit=False, limit_k=int(k_max))
    total = float(inst.w.sum())
    before = _objective(inst, inst.counts0)[0]
    covered = before + np.concatenate([[0.0], np.cumsum(gains)])
    covered = np.concatenate([covered, np.full(k_max + 1 - covered.size, covered[-1])])
    return covered / total if total > 0 else np.zeros(k_max + 1)


def curve_table(curve: np.ndarray, *, min_added_share: float = 0.005) -> pd.DataFrame:
    """The coverage-versus-cameras curve as a table, marking where adding sites stops paying.

    Parameters
    ----------
    curve
        Output of :func:`coverage_curve`.
    min_added_share
        An extra site "pays" while it adds at least this share of the total weight.

    Returns
    -------
    pandas.DataFrame
        Columns ``new_sites``, ``covered_share``, ``added_share`` (by the last site
        added) and ``pays``.
    """
    curve = np.asarray(curve, dtype=np.float64)
    added = np.diff(curve, prepend=curve[:1])
    return pd.DataFrame(
        {
            "new_sites": np.arange(curve.size),
            "covered_share": curve,
            "added_share": added,
            "pays": np.concatenate([[False], added[1:] >= min_added_share]),
        }
    )


def plan_table(
    plan: Plan,
    *,
    site_id: Sequence[str] | np.ndarray | None = None,
    cost_eur: np.ndarray | None = None,
) -> pd.DataFrame:
    """Explain a plan: one row per proposed site, in rank order, with its marginal gain.

    Parameters
    ----------
    plan
        The plan.
    site_id
        Identifier of every site (indexed by site index).
    cost_eur
        Cost of every site in euros.

    Returns
    -------
    pandas.DataFrame
        Columns ``rank``, ``site``, ``site_id`` (if given), ``marginal_gain``,
        ``gain_share`` (of the total weight), ``covered_share_after`` (objective share,
        fixed sites included) and ``cost_eur`` (if given).
    """
    sites = np.asarray(plan.selected, dtype=np.int64)
    gain = np.asarray(plan.marginal_gain, dtype=np.float64)
    total = plan.total_weight if plan.total_weight > 0 else 1.0
    table = pd.DataFrame({"rank": np.arange(1, sites.size + 1), "site": sites})
    if site_id is not None:
        table["site_id"] = np.asarray(site_id)[sites]
    table["marginal_gain"] = gain
    table["gain_share"] = gain / total
    table["covered_share_after"] = (plan.covered_before + np.cumsum(gain)) / total
    if cost_eur is not None:
        table["cost_eur"] = np.asarray(cost_eur, dtype=np.float64)[sites]
    return table


def plan_phases(
    A: sp.spmatrix | np.ndarray,
    weight: np.ndarray,
    phases: Sequence[Phase],
    *,
    cost_eur: np.ndarray | None = None,
    fixed: Iterable[int] | np.ndarray = (),
    excluded: Iterable[int] | np.ndarray = (),
    funded_share: float = 0.5,
    method: str = "auto",
    time_limit_s: float = 60.0,
    min_spacing_m: float | None = None,
    site_xy: np.ndarray | None = None,
    backup_share: float = 0.0,
) -> list[PhasePlan]:
    """Plan a multi-year deployment, one phase after the other.

    Each phase is solved with :func:`solve`; its sites are then fixed for every later
    phase, so a phase never drops a site an earlier one installed.

    Parameters
    ----------
    A, weight, cost_eur, fixed, excluded, method, time_limit_s, min_spacing_m, site_xy, backup_share
        As in :func:`solve`.
    phases
        The phases, in installation order (years non-decreasing), each with its
        ``k`` or ``budget_eur``.
    funded_share
        Share of each phase's cost paid by State funds (FIPD historically 50 %).

    Returns
    -------
    list of PhasePlan
        One per phase, in order.
    """
    problems = []
    if not (0.0 <= funded_share <= 1.0):
        problems.append(f"funded_share: {funded_share!r}; accepted a share between 0 and 1")
    if not phases:
        problems.append(
            "phases: no phase given; accepted a list of Phase(name, year, k= or budget_eur=)"
        )
    for n, ph in enumerate(phases):
        if not isinstance(ph, Phase):
            problems.append(f"phases[{n}]: {ph!r} is not a Phase")
            continue
        if (ph.k is None) == (ph.budget_eur is None):
            problems.append(f"phases[{n}] ({ph.name!r}): give exactly one of k or budget_eur")
        if n and isinstance(phases[n - 1], Phase) and ph.year < phases[n - 1].year:
            problems.append(
                f"phases[{n}] ({ph.name!r}): year {ph.year} before the previous phase's "
                f"{phases[n - 1].year}; accepted phases in installation order"
            )
    report_problems(problems, source="plan_phases()")
    n_sites = sp.csr_matrix(A).shape[0]
    already: list[int] = sorted(set(_as_index_array(fixed, "fixed", n_sites, problems).tolist()))
    report_problems(problems, source="plan_phases()")
    out: list[PhasePlan] = []
    for ph in phases:
        try:
            plan = solve(
                A,
                weight,
                k=ph.k,
                budget_eur=ph.budget_eur,
                cost_eur=cost_eur,
                fixed=already,
                excluded=excluded,
                method=method,
                time_limit_s=time_limit_s,
                min_spacing_m=min_spacing_m,
                site_xy=site_xy,
                backup_share=backup_share,
            )
        except InfeasibleError as err:
            raise InfeasibleError(f"phase {ph.name!r} ({ph.year}): {err}") from err
        cost = plan.cost_eur
        funded = funded_share * cost
        out.append(
            PhasePlan(
                phase=ph,
                plan=plan,
                cost_eur=cost,
                funded_eur=funded,
                town_eur=cost - funded,
                coverage_share=plan.coverage_share,
            )
        )
        logger.info(
            "phase %r (%d): %d new sites, %.0f € (%.0f € funded), coverage %.1f%%",
            ph.name,
            ph.year,
            len(plan.selected),
            cost,
            funded,
            100 * plan.coverage_share,
        )
        already = sorted(set(already) | set(plan.selected))
    return out


_FROM_SETCOVER = ("CoverPlan", "MedianPlan", "p_median", "set_cover")


def __getattr__(name: str):
    """``optimise.set_cover`` and ``optimise.p_median`` live in :mod:`siteplanner.setcover`.

    That module reuses this one's HiGHS reader, so it is imported on first use (PEP 562)
    rather than here, which would be a circular import.
    """
    if name in _FROM_SETCOVER:
        from siteplanner import setcover

        return getattr(setcover, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_FROM_SETCOVER])
