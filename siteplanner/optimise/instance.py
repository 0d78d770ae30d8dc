"""The maximal covering instance both optimisers solve, its objective and the :class:`Plan`.

:func:`prepare` checks the arguments of :func:`siteplanner.optimise.phases.solve` and its kin where
they enter (every problem listed in one error) and builds the :class:`Instance`: the binary
sites × demand matrix, the weights, which sites may still be chosen, the count or budget, the
spacing conflicts and how many fixed sites already see each demand point. The greedy
(:mod:`siteplanner.optimise.greedy`) and the exact MILP (:mod:`siteplanner.optimise.exact`)
both read it, and both return their answer through :func:`make_plan`, which recomputes the
objective from the data and decides what the plan may claim (optimal, feasible, failed).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from siteplanner._errors import InfeasibleError, report_problems
from siteplanner.optimise.milp import EPS, as_index_array, checked_cost, match_tol

logger = logging.getLogger(__name__)

__all__ = [
    "Instance",
    "Plan",
    "counts_of",
    "log_plan",
    "make_plan",
    "objective_of",
    "prepare",
    "rows_of",
    "value_left",
]


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


@dataclass(frozen=True, eq=False)
class Instance:
    """A validated maximal covering instance, as the solvers read it.

    Attributes
    ----------
    A
        Sites × demand points, binary float64 CSR with sorted indices.
    w
        Weight of each demand point.
    fixed
        Fixed sites, sorted unique indices.
    candidate
        Per site: may be chosen (not fixed, excluded, too close to a fixed site or too dear).
    k, budget
        The number of new sites or their budget (one of them; both None for a curve).
    cost
        Cost of each site (zeros when no cost was given).
    beta
        The backup share.
    conflicts
        Symmetric site × site matrix, 1 where two sites are closer than the spacing, except
        an existing camera and a site reusing an existing camera's support; None when no
        pair conflicts.
    counts0
        Number of fixed sites seeing each demand point, capped at 2.
    """

    A: sp.csr_matrix
    w: np.ndarray
    fixed: np.ndarray
    candidate: np.ndarray
    k: int | None
    budget: float | None
    cost: np.ndarray
    beta: float
    conflicts: sp.csr_matrix | None
    counts0: np.ndarray = field(repr=False)

    @property
    def n_sites(self) -> int:
        """Number of sites (rows of ``A``)."""
        return int(self.A.shape[0])

    @property
    def table(self) -> np.ndarray:
        """Value per unit weight of the next coverage of a demand point seen by 0, 1, 2+ sites."""
        table = self.__dict__.get("_table")
        if table is None:
            table = np.array([1.0, self.beta, 0.0])
            object.__setattr__(self, "_table", table)
        return table


def prepare(
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
    existing: Iterable[int] | np.ndarray = (),
    reuse_support: Iterable[int] | np.ndarray = (),
) -> Instance:
    """Check the arguments of a solver and build its instance.

    Parameters
    ----------
    A, weight, k, budget_eur, cost_eur, fixed, excluded, min_spacing_m, site_xy, backup_share
        As in :func:`siteplanner.optimise.greedy.greedy`.
    existing, reuse_support
        As in :func:`siteplanner.optimise.greedy.greedy`.
    source
        The calling function, named in the error.
    need_limit
        Whether exactly one of ``k`` and ``budget_eur`` is required (not for a curve).

    Returns
    -------
    Instance
        The instance.

    Raises
    ------
    InputError
        Listing every malformed argument.
    InfeasibleError
        ``k`` above the number of candidate sites, or a budget below the cheapest site.
    """
    problems: list[str] = []
    A = _binary_matrix(A, source, problems)
    n_s, n_d = A.shape
    w = _checked_weight(weight, n_d, problems)
    _check_limit(k, budget_eur, cost_eur, need_limit, problems)
    cost = checked_cost(cost_eur, n_s, problems, default=0.0)
    if not (0.0 <= backup_share <= 1.0):
        problems.append(f"backup_share: {backup_share!r}; accepted a share between 0 and 1")
    fixed_idx = as_index_array(fixed, "fixed", n_s, problems)
    excl_idx = as_index_array(excluded, "excluded", n_s, problems)
    both = np.intersect1d(fixed_idx, excl_idx)
    if both.size:
        problems.append(
            f"sites {both[:10].tolist()} are both fixed and excluded; "
            "a site is either kept or rejected"
        )
    xy = _checked_xy(min_spacing_m, site_xy, n_s, problems)
    existing_idx = as_index_array(existing, "existing", n_s, problems)
    reuse_idx = as_index_array(reuse_support, "reuse_support", n_s, problems)
    _check_existing(existing_idx, reuse_idx, fixed_idx, problems)
    report_problems(problems, source=source)

    candidate = np.ones(n_s, dtype=bool)
    candidate[fixed_idx] = False
    candidate[excl_idx] = False
    conflicts = None
    if xy is not None and min_spacing_m and n_s > 1:
        conflicts = _spacing_conflicts(xy, float(min_spacing_m), existing_idx, reuse_idx)
        _warn_fixed_conflicts(conflicts, fixed_idx, existing_idx, float(min_spacing_m))
        if conflicts.nnz == 0:
            conflicts = None
    if conflicts is not None:
        if fixed_idx.size:
            near_fixed = np.asarray(conflicts[fixed_idx].sum(axis=0)).ravel() > 0
            candidate &= ~near_fixed
    if need_limit:
        near = (
            f", others closer than {min_spacing_m} m to a fixed site"
            if conflicts is not None
            else ""
        )
        candidate = _room_left(candidate, cost, k, budget_eur, fixed_idx, excl_idx, near)
    counts0 = np.zeros(n_d, dtype=np.int64)
    if fixed_idx.size:
        counts0 = np.asarray(A[fixed_idx].sum(axis=0)).ravel().astype(np.int64)
    counts0 = np.minimum(counts0, 2)
    return Instance(
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


def _binary_matrix(A, source: str, problems: list[str]) -> sp.csr_matrix:
    """``A`` as binary float64 CSR with sorted indices; entries other than 0 or 1 are a problem."""
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
    return A


def _checked_weight(weight: np.ndarray, n_d: int, problems: list[str]) -> np.ndarray:
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
    return w


def _check_limit(
    k: int | None,
    budget_eur: float | None,
    cost_eur: np.ndarray | None,
    need_limit: bool,
    problems: list[str],
) -> None:
    if need_limit and (k is None) == (budget_eur is None):
        problems.append(
            "give exactly one of k (number of new sites) or budget_eur; "
            f"got k={k}, budget_eur={budget_eur}"
        )
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0):
        problems.append(f"k: {k!r} is not a whole number ≥ 0")
    if budget_eur is not None and not (math.isfinite(budget_eur) and budget_eur >= 0):
        problems.append(f"budget_eur: {budget_eur!r}; accepted a finite amount ≥ 0")
    if budget_eur is not None and cost_eur is None:
        problems.append("cost_eur: a budget needs each site's cost (cost_eur, one value per site)")


def _checked_xy(
    min_spacing_m: float | None, site_xy: np.ndarray | None, n_s: int, problems: list[str]
) -> np.ndarray | None:
    """The site coordinates when a spacing is asked and they are usable, else None."""
    if min_spacing_m is None:
        return None
    if not (math.isfinite(min_spacing_m) and min_spacing_m >= 0):
        problems.append(f"min_spacing_m: {min_spacing_m!r}; accepted a distance ≥ 0 in metres")
    elif min_spacing_m == 0 and site_xy is None:
        return None  # 0: no spacing rule
    if site_xy is None:
        problems.append(
            "site_xy: min_spacing_m needs the site coordinates (n_sites × 2, projected metres)"
        )
        return None
    xy = np.asarray(site_xy, dtype=np.float64)
    if xy.shape != (n_s, 2) or not np.all(np.isfinite(xy)):
        problems.append(
            f"site_xy: shape {xy.shape}, expected ({n_s}, 2) finite projected coordinates"
        )
        return None
    return xy


def _check_existing(
    existing_idx: np.ndarray, reuse_idx: np.ndarray, fixed_idx: np.ndarray, problems: list[str]
) -> None:
    """An existing camera is fixed; a site reusing a support is a new site, not an existing one."""
    loose = np.setdiff1d(existing_idx, fixed_idx)
    if loose.size:
        problems.append(
            f"existing: sites {loose[:10].tolist()} are not fixed; accepted existing cameras "
            "among the fixed sites (they are in place)"
        )
    both = np.intersect1d(existing_idx, reuse_idx)
    if both.size:
        problems.append(
            f"sites {both[:10].tolist()} are both existing and reuse_support; a camera head "
            "added on an existing camera's support is a new site"
        )


def _spacing_conflicts(
    xy: np.ndarray,
    min_spacing_m: float,
    existing_idx: np.ndarray | None = None,
    reuse_idx: np.ndarray | None = None,
) -> sp.csr_matrix:
    """Symmetric site × site matrix, 1 where two sites are closer than ``min_spacing_m``.

    A pair of an existing camera (``existing_idx``) and a site reusing an existing camera's
    support (``reuse_idx``) is no conflict: the new head stands on the old camera's support.
    Two new sites, a reusing one included, always conflict when too close.
    """
    n_s = xy.shape[0]
    pairs = cKDTree(xy).query_pairs(r=min_spacing_m, output_type="ndarray")
    if len(pairs):
        d = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
        pairs = pairs[d < min_spacing_m]
    if len(pairs) and existing_idx is not None and reuse_idx is not None:
        is_existing = np.zeros(n_s, dtype=bool)
        is_existing[existing_idx] = True
        is_reuse = np.zeros(n_s, dtype=bool)
        is_reuse[reuse_idx] = True
        a, b = pairs[:, 0], pairs[:, 1]
        exempt = (is_existing[a] & is_reuse[b]) | (is_reuse[a] & is_existing[b])
        pairs = pairs[~exempt]
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]]) if len(pairs) else np.zeros(0, dtype=np.int64)
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]]) if len(pairs) else np.zeros(0, dtype=np.int64)
    conflicts = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_s, n_s))
    conflicts.sort_indices()
    return conflicts


def _warn_fixed_conflicts(
    conflicts: sp.csr_matrix, fixed_idx: np.ndarray, existing_idx: np.ndarray, spacing_m: float
) -> None:
    """Log the fixed sites closer than the spacing (other than two existing cameras).

    Accepted or moved by the référent sûreté, or installed in an earlier phase, they stay:
    the optimiser cannot undo them, the log says so.
    """
    if fixed_idx.size < 2:
        return
    sub = sp.triu(conflicts[fixed_idx][:, fixed_idx], k=1).tocoo()
    is_existing = np.isin(fixed_idx, existing_idx)
    keep = ~(is_existing[sub.row] & is_existing[sub.col])
    if keep.any():
        pairs = [
            (int(fixed_idx[a]), int(fixed_idx[b])) for a, b in zip(sub.row[keep], sub.col[keep])
        ]
        logger.warning(
            "%d pair(s) of fixed sites stand closer than min_spacing_m=%g m (kept as fixed): %s",
            len(pairs),
            spacing_m,
            pairs[:10],
        )


def _room_left(
    candidate: np.ndarray,
    cost: np.ndarray,
    k: int | None,
    budget_eur: float | None,
    fixed_idx: np.ndarray,
    excl_idx: np.ndarray,
    near: str,
) -> np.ndarray:
    """The candidates within the budget; raises when ``k`` or the budget cannot be met."""
    n_open = int(candidate.sum())
    if k is not None and k > n_open:
        raise InfeasibleError(
            f"k={k} new sites asked but only {n_open} candidate sites remain "
            f"({candidate.size} sites, {fixed_idx.size} fixed, {excl_idx.size} excluded"
            f"{near}); accepted k ≤ {n_open}"
        )
    if budget_eur is not None:
        affordable = candidate & (cost <= budget_eur)
        if n_open and not affordable.any():
            raise InfeasibleError(
                f"budget_eur={budget_eur:,.0f} is below the cheapest candidate site "
                f"({cost[candidate].min():,.0f} €); accepted a budget ≥ that amount"
            )
        candidate = affordable
    return candidate


def value_left(inst: Instance, counts: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Objective each demand point (or those in ``rows``) adds when one more site sees it."""
    w = inst.w if rows is None else inst.w[rows]
    return w * inst.table[np.minimum(counts, 2)]


def objective_of(inst: Instance, counts: np.ndarray) -> tuple[float, float]:
    """(objective, covered weight) of coverage counts."""
    covered = float(inst.w[counts >= 1].sum())
    return covered + inst.beta * float(inst.w[counts >= 2].sum()), covered


def counts_of(inst: Instance, sites: Sequence[int] | np.ndarray) -> np.ndarray:
    counts = inst.counts0.copy()
    sites = np.asarray(sites, dtype=np.int64)
    if sites.size:
        counts += np.bincount(rows_of(inst, sites), minlength=counts.size)
    return np.minimum(counts, 2)


def rows_of(inst: Instance, sites: np.ndarray) -> np.ndarray:
    """Demand points seen by each site of ``sites``, concatenated (repeats kept)."""
    indptr, indices = inst.A.indptr, inst.A.indices
    return np.concatenate([indices[indptr[j] : indptr[j + 1]] for j in sites.tolist()])


def make_plan(
    inst: Instance,
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
    counts = counts_of(inst, selected)
    objective, covered = objective_of(inst, counts)
    before = objective_of(inst, inst.counts0)[0]
    upper_bound = float(upper_bound)
    if upper_bound < objective - match_tol(objective, upper_bound):
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
    optimal = bool(certified and not failed and gap <= EPS)
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


def log_plan(name: str, plan: Plan) -> None:
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
