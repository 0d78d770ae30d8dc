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
count the *new* sites only: fixed sites are already paid for or committed. The spacing
holds between every two sites of the plan, fixed ones included (a référent refuses two
masts a few metres apart), except between an existing camera and a new camera head on an
existing camera's support (``reuse_support``). A demand point an existing camera already
sees adds nothing to a new site (only ``β`` of its weight, as backup). The
objective is monotone submodular for 0 ≤ β ≤ 1, which the greedy bound relies on (the
bound leaves the spacing rows out: it bounds a relaxation, so it stays proven).

Two solvers, each in its module:

- :func:`greedy` (:mod:`siteplanner.optimise.greedy`) — lazy greedy (CELF, Leskovec et
  al. 2007) with the data-dependent bound of Minoux (1978) / Leskovec et al.: for any set
  ``S``, ``OPT ≤ f(S) + Σ_{k largest} δ_j(S)`` (a fractional knapsack of the ``δ_j(S)``
  under a budget), minimised along the greedy path; it certifies how far from optimal the
  plan can be. Under a budget both the cost-benefit and the unit-cost greedy run and the
  better plan is kept (CELF). Optionally polished by 1-swaps.
- :func:`solve_milp` (:mod:`siteplanner.optimise.exact`) — the exact MILP solved by HiGHS
  (``highspy``), warm-started from the greedy plan, with a time limit, reporting the proven
  gap. Only what can matter enters the model: demand already saturated by fixed sites
  drops out, demand seen by a single candidate folds into that site's objective
  coefficient, sites whose demand is all seen by another site no dearer are dropped (plain
  coverage, no spacing), demand points seen by exactly the same candidates are merged into
  one. Rows: ``y_g (+ z_g) ≤ Σ_{j sees g} x_j`` with ``y`` the first and ``z`` the backup
  coverage of merged demand ``g``.

Both validate their arguments and build the instance in :mod:`siteplanner.optimise.instance`,
which also holds the :class:`Plan`. :func:`solve` picks one (``method="exact" | "fast" |
"auto"``); :func:`siteplanner.optimise.setcover.set_cover` answers the covering question the other
way round: the fewest or cheapest sites that see every required point, and
:func:`siteplanner.optimise.setcover.p_median` the ``p`` sites nearest to the demand in total.
:func:`plan_phases` chains the phases of a multi-year plan, :func:`coverage_curve` /
:func:`curve_table` show where adding cameras stops paying and :func:`plan_table` lists
each proposed site's marginal gain.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd
import scipy.sparse as sp

from siteplanner._errors import InfeasibleError, InputError, report_problems
from siteplanner.optimise.exact import milp_plan
from siteplanner.optimise.greedy import celf, greedy_plan
from siteplanner.optimise.instance import Plan, log_plan, objective_of, prepare
from siteplanner.optimise.milp import as_index_array

logger = logging.getLogger(__name__)

__all__ = [
    "CoverageProblem",
    "Phase",
    "PhasePlan",
    "coverage_arrays",
    "coverage_curve",
    "curve_table",
    "funded_eur",
    "load_coverage",
    "plan_phases",
    "plan_table",
    "solve",
]

METHODS = ("auto", "exact", "fast")


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
        Its plan (``plan.fixed`` holds every site of the earlier phases and the accepted
        ones; ``plan.selected`` the new sites).
    cost_eur
        Cost of the phase's sites (:attr:`sites`), in euros.
    funded_eur
        Part paid by State funds (FIPD, DETR, DSIL): the sum of its sites' :func:`funded_eur`.
    town_eur
        Part left to the town.
    coverage_share
        Share of the total demand weight seen once the phase is installed.
    accepted
        Sites the référent sûreté accepted, fixed in this phase (the first one only).
    """

    phase: Phase
    plan: Plan
    cost_eur: float
    funded_eur: float
    town_eur: float
    coverage_share: float
    accepted: tuple[int, ...] = ()

    @property
    def sites(self) -> tuple[int, ...]:
        """The phase's sites: the accepted ones, then the new ones in rank order."""
        return self.accepted + tuple(self.plan.selected)


def funded_eur(cost_eur: np.ndarray, funded_share: float) -> np.ndarray:
    """Each site's part paid by State funds, rounded to the euro: the plan's one rounding.

    A phase's funded part is the sum of its sites' (so every output that lists the sites
    and every one that gives the phase, the log included, state the same euros).

    Parameters
    ----------
    cost_eur
        Cost of each site, euros.
    funded_share
        Share of the cost paid by State funds, in [0, 1].

    Returns
    -------
    numpy.ndarray
        ``round(funded_share × cost_eur)`` per site (halves to even), euros.
    """
    return np.round(np.asarray(cost_eur, dtype=np.float64) * funded_share, 0)


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
    existing: Iterable[int] | np.ndarray = (),
    reuse_support: Iterable[int] | np.ndarray = (),
) -> Plan:
    """Plan the new sites: maximise the demand weight seen, under a count or a budget.

    Parameters
    ----------
    A, weight, k, budget_eur, cost_eur, fixed, excluded, min_spacing_m, site_xy, backup_share
        As in :func:`greedy`.
    existing, reuse_support
        As in :func:`greedy`.
    method
        ``"fast"``: lazy greedy (CELF) polished by 1-swaps, with the greedy's proven gap.
        ``"exact"``: the HiGHS MILP warm-started from the greedy plan. ``"auto"``: the
        greedy plan when its bound already proves it optimal, otherwise the MILP (its plan
        when it proves optimality within the time limit, else the better plan with the
        tighter bound).
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
    inst = prepare(
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
        existing=existing,
        reuse_support=reuse_support,
    )
    plan = greedy_plan(inst, polish=True)
    if method == "exact" or (method == "auto" and not plan.optimal):
        plan = milp_plan(inst, time_limit_s=time_limit_s, warm_start=plan, trust_bound=True)
    log_plan(f"solve({method})", plan)
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
    min_spacing_m: float | None = None,
    site_xy: np.ndarray | None = None,
    existing: Iterable[int] | np.ndarray = (),
    reuse_support: Iterable[int] | np.ndarray = (),
) -> np.ndarray:
    """Covered share of the demand weight after 0, 1, …, ``k_max`` greedy picks.

    Parameters
    ----------
    A, weight, fixed, excluded, min_spacing_m, site_xy, existing, reuse_support
        As in :func:`greedy` (the picks keep the spacing, as the plan does).
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
    inst = prepare(
        A,
        weight,
        k=int(k_max),
        budget_eur=None,
        cost_eur=None,
        fixed=fixed,
        excluded=excluded,
        min_spacing_m=min_spacing_m,
        site_xy=site_xy,
        backup_share=0.0,
        source="coverage_curve()",
        need_limit=False,
        existing=existing,
        reuse_support=reuse_support,
    )
    _, gains, _ = celf(inst, cost_benefit=False, limit_k=int(k_max))
    total = float(inst.w.sum())
    before = objective_of(inst, inst.counts0)[0]
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
    existing: Iterable[int] | np.ndarray = (),
    reuse_support: Iterable[int] | np.ndarray = (),
    accepted: Iterable[int] | np.ndarray = (),
) -> list[PhasePlan]:
    """Plan a multi-year deployment, one phase after the other.

    Each phase is solved with :func:`solve`; its sites are then fixed for every later
    phase, so a phase never drops a site an earlier one installed, and a later phase's
    site keeps ``min_spacing_m`` from them. The sites the référent sûreté accepted are fixed
    sites of the first phase: they count in its ``k`` (it plans ``k - len(accepted)`` new
    sites, at least one, with a log line when that makes the phase exceed ``k``) and in its
    cost: a phase of ``budget_eur`` plans its new sites with what the accepted ones leave of
    it (an :class:`InfeasibleError` when they cost more than the budget).

    Parameters
    ----------
    A, weight, cost_eur, fixed, excluded, method, time_limit_s, min_spacing_m, site_xy, backup_share
        As in :func:`solve`.
    existing, reuse_support
        As in :func:`solve`.
    phases
        The phases, in installation order (years non-decreasing), each with its
        ``k`` or ``budget_eur``.
    funded_share
        Share of each phase's cost paid by State funds (FIPD historically 50 %), rounded
        to the euro per site (:func:`funded_eur`).
    accepted
        Sites accepted by the référent sûreté (not existing cameras): fixed, in the first
        phase.

    Returns
    -------
    list of PhasePlan
        One per phase, in order.
    """
    problems = _phase_problems(phases, funded_share)
    report_problems(problems, source="plan_phases()")
    n_sites = sp.csr_matrix(A).shape[0]
    acc = tuple(as_index_array(accepted, "accepted", n_sites, problems).tolist())
    already = sorted(set(as_index_array(fixed, "fixed", n_sites, problems).tolist()) | set(acc))
    report_problems(problems, source="plan_phases()")
    cost_all = np.zeros(n_sites) if cost_eur is None else np.asarray(cost_eur, dtype=np.float64)
    out: list[PhasePlan] = []
    for n, ph in enumerate(phases):
        mine = acc if n == 0 else ()
        mine_eur = float(cost_all[list(mine)].sum())
        try:
            plan = solve(
                A,
                weight,
                k=None if ph.k is None else _new_sites(ph, len(mine)),
                budget_eur=None if ph.budget_eur is None else _budget_left(ph, len(mine), mine_eur),
                cost_eur=cost_eur,
                fixed=already,
                excluded=excluded,
                method=method,
                time_limit_s=time_limit_s,
                min_spacing_m=min_spacing_m,
                site_xy=site_xy,
                backup_share=backup_share,
                existing=existing,
                reuse_support=reuse_support,
            )
        except InfeasibleError as err:
            raise InfeasibleError(_phase_error(ph, len(mine), mine_eur, err)) from err
        sites = list(mine) + list(plan.selected)
        cost = float(cost_all[sites].sum())
        funded = float(funded_eur(cost_all[sites], funded_share).sum())
        pp = PhasePlan(ph, plan, cost, funded, cost - funded, plan.coverage_share, mine)
        out.append(pp)
        logger.info(
            "phase %r (%d): %s, %.0f € (%.0f € funded), coverage %.1f%%",
            ph.name,
            ph.year,
            f"{len(pp.sites)} sites ({len(plan.selected)} new, {len(mine)} accepted)"
            if mine
            else f"{len(plan.selected)} new sites",
            pp.cost_eur,
            pp.funded_eur,
            100 * plan.coverage_share,
        )
        already = sorted(set(already) | set(plan.selected))
    return out


def _new_sites(ph: Phase, n_accepted: int) -> int:
    """How many new sites a phase of ``k`` sites plans beside ``n_accepted`` accepted ones."""
    left = int(ph.k) - n_accepted
    if left < 1:
        logger.warning(
            "phase %r: the référent sûreté accepted %d site(s), k = %d: the phase proposes one "
            "new site more (%d sites)",
            ph.name,
            n_accepted,
            ph.k,
            n_accepted + 1,
        )
    return max(left, 1)


def _phase_error(ph: Phase, n_accepted: int, accepted_eur: float, err: Exception) -> str:
    """Why a phase has no plan, with what its accepted sites took of its budget."""
    spent = (
        f" (the {n_accepted} site(s) the référent sûreté accepted cost {accepted_eur:,.0f} € "
        f"of its budget_eur {ph.budget_eur:,.0f} €)"
        if n_accepted and ph.budget_eur is not None
        else ""
    )
    return f"phase {ph.name!r} ({ph.year}){spent}: {err}"


def _budget_left(ph: Phase, n_accepted: int, accepted_eur: float) -> float:
    """What a phase's ``budget_eur`` leaves for new sites once its accepted sites are paid."""
    left = float(ph.budget_eur) - accepted_eur
    if left < 0:
        raise InfeasibleError(
            f"phase {ph.name!r} ({ph.year}): the {n_accepted} site(s) the référent sûreté "
            f"accepted cost {accepted_eur:,.0f} €, more than its budget_eur "
            f"{ph.budget_eur:,.0f} €; accepted a budget_eur of at least {accepted_eur:,.0f} € "
            "plus the new sites, or a phase of k sites"
        )
    return left


def _phase_problems(phases: Sequence[Phase], funded_share: float) -> list[str]:
    """What is wrong with the phases of :func:`plan_phases` and their funded share."""
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
    return problems
