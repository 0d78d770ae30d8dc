r"""The fewest (or cheapest) sites that see every required demand point: set covering.

The planner's question "the fewest cameras that see every school entrance" is the set
covering problem (Toregas et al. 1971, the location set covering problem; Beasley's
OR-Library instances are its benchmark). With ``x_j`` = 1 when site ``j`` is chosen,
``F`` the fixed sites (already there, cost nothing), ``E`` the excluded ones, ``R`` the
required demand points and ``c_j`` the cost of site ``j`` (1 to count sites):

.. math::

    \min \sum_{j \notin F} c_j x_j
    \quad\text{s.t.}\quad \sum_{j \text{ sees } i} x_j \ge 1 \;(i \in R),\quad
    x_j = 1\;(j \in F),\quad x_j = 0\;(j \in E).

Two solvers, as for the maximal covering form in :mod:`siteplanner.optimise.phases`, sharing
its HiGHS reader and certificate rules (:mod:`siteplanner.optimise.milp`):

- ``method="fast"``: Chvátal's greedy (most newly covered points per euro first), then
  redundant sites dropped (dearest first). Its proven lower bound is the best of the
  greedy's ``H(d)`` guarantee (Chvátal 1979: greedy ≤ H(d) · OPT, ``d`` the most
  required points one site sees) and the dearest "cheapest site that sees point i".
- ``method="exact"``: the MILP solved by HiGHS, warm-started from the greedy plan. The
  plan is certified optimal only when HiGHS's status is Optimal, the chosen sites cover
  every required point (checked on ``A``), their cost equals HiGHS's primal value and
  HiGHS's dual bound is within the gap (integer costs: within 1).
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siteplanner._errors import InfeasibleError, InputError, report_problems
from siteplanner.optimise.milp import (
    EPS,
    as_index_array,
    checked_cost,
    highs_answer,
    match_tol,
    new_highs,
)

logger = logging.getLogger(__name__)

__all__ = ["CoverPlan", "MedianPlan", "p_median", "set_cover"]

COVER_METHODS = ("exact", "fast")


@dataclass(frozen=True)
class CoverPlan:
    """The sites that see every required demand point, and how far from the fewest they can be.

    Attributes
    ----------
    selected
        New sites chosen (sorted).
    fixed
        Sites counted as already there (sorted).
    cost
        Objective: number of new sites, or their cost in euros when costs were given.
    lower_bound
        Proven lower bound on the best cost any cover can have.
    gap
        ``(cost - lower_bound) / cost`` (0 for an empty plan).
    optimal
        True only when the plan is proven to cost the least (see ``status``).
    status
        ``"optimal"``, ``"feasible"`` (a cover within ``gap`` of the least cost) or
        ``"solver_failed"`` (HiGHS failed; the plan is the greedy one, with its bound).
    solver
        ``"greedy"`` or ``"milp"`` (HiGHS).
    solver_message
        What the solver said, or why its answer was not trusted.
    n_required
        Number of required demand points (those already seen by fixed sites included).
    """

    selected: tuple[int, ...]
    fixed: tuple[int, ...]
    cost: float
    lower_bound: float
    gap: float
    optimal: bool
    status: str
    solver: str
    solver_message: str
    n_required: int


@dataclass(frozen=True, eq=False)
class _Cover:
    B: sp.csr_matrix  # candidate × demand left to cover (binary)
    sites: np.ndarray  # site index of each row of B
    cost: np.ndarray  # cost of each row of B
    fixed: np.ndarray
    n_required: int
    integral: bool  # every cost is a whole number: a bound may be rounded up


def _prepare_cover(A, required, cost_eur, fixed, excluded) -> _Cover:
    problems: list[str] = []
    A = sp.csr_matrix(A, copy=True)
    A.eliminate_zeros()
    n_s, n_d = A.shape
    A = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape)
    if required is None:
        req = np.arange(n_d)
    else:
        req = as_index_array(required, "required", n_d, problems)
    cost = checked_cost(cost_eur, n_s, problems, default=1.0)  # no costs: the fewest sites
    fixed_idx = as_index_array(fixed, "fixed", n_s, problems)
    excl_idx = as_index_array(excluded, "excluded", n_s, problems)
    both = np.intersect1d(fixed_idx, excl_idx)
    if both.size:
        problems.append(
            f"sites {both[:10].tolist()} are both fixed and excluded; "
            "a site is either kept or rejected"
        )
    report_problems(problems, source="set_cover()")
    left = np.zeros(n_d, dtype=bool)
    left[req] = True
    if fixed_idx.size:
        left[A[fixed_idx].indices] = False
    allowed = np.ones(n_s, dtype=bool)
    allowed[fixed_idx] = False
    allowed[excl_idx] = False
    seen = np.asarray(A[allowed].sum(axis=0)).ravel() > 0
    unseen = np.flatnonzero(left & ~seen)
    if unseen.size:
        raise InfeasibleError(
            f"demand points {unseen[:10].tolist()}{' …' if unseen.size > 10 else ''} "
            f"({unseen.size} in all) must be seen but no allowed site sees them; "
            "accepted: required points that some site not excluded sees"
        )
    B = A[:, np.flatnonzero(left)].tocsr()
    useful = allowed & (np.diff(B.indptr) > 0)
    sites = np.flatnonzero(useful)
    integral = bool(np.all(cost[sites] == np.round(cost[sites])))
    return _Cover(
        B=B[sites],
        sites=sites,
        cost=cost[sites],
        fixed=fixed_idx,
        n_required=int(req.size),
        integral=integral,
    )


def _greedy_cover(cv: _Cover) -> tuple[list[int], float]:
    """Chvátal's greedy then redundant rows dropped; returns (rows of B, proven lower bound)."""
    B = cv.B
    m = B.shape[1]
    if m == 0:
        return [], 0.0
    indptr, indices = B.indptr, B.indices
    covered = np.zeros(m, dtype=bool)
    size = np.diff(indptr).astype(np.int64)

    def key(r: int, n_new: int) -> float:
        return -(n_new / cv.cost[r]) if cv.cost[r] > 0 else -math.inf

    heap = [(key(r, int(size[r])), r) for r in range(B.shape[0])]
    heapq.heapify(heap)
    chosen: list[int] = []
    left = m
    while left and heap:
        k, r = heapq.heappop(heap)
        n_new = int((~covered[indices[indptr[r] : indptr[r + 1]]]).sum())
        if n_new == 0:
            continue
        if key(r, n_new) != k:  # stale: gains only shrink, push back with the fresh one
            heapq.heappush(heap, (key(r, n_new), r))
            continue
        chosen.append(r)
        row = indices[indptr[r] : indptr[r + 1]]
        left -= int((~covered[row]).sum())
        covered[row] = True
    greedy_cost = float(cv.cost[chosen].sum())
    # drop redundant rows, dearest first
    count = np.bincount(
        np.concatenate([indices[indptr[r] : indptr[r + 1]] for r in chosen]), minlength=m
    )
    for r in sorted(chosen, key=lambda r: (-cv.cost[r], -r)):
        row = indices[indptr[r] : indptr[r + 1]]
        if np.all(count[row] >= 2):
            count[row] -= 1
            chosen.remove(r)
    harmonic = float(np.sum(1.0 / np.arange(1, int(size.max()) + 1)))
    # each required point needs one of its sites: the dearest of the cheapest
    cheapest = np.full(m, np.inf)
    np.minimum.at(cheapest, indices, np.repeat(cv.cost, np.diff(indptr)))
    bound = max(greedy_cost / harmonic, float(cheapest.max()))
    return sorted(chosen), bound


def _highs_cover(cv: _Cover, warm: list[int], time_limit_s: float):
    import highspy

    n_x, m = cv.B.shape
    rows = cv.B.T.tocsr()
    rows.sort_indices()
    h = new_highs(time_limit_s, rel_gap=1e-9)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_x, m
    lp.col_cost_ = cv.cost.astype(np.float64)
    lp.col_lower_, lp.col_upper_ = np.zeros(n_x), np.ones(n_x)
    lp.row_lower_, lp.row_upper_ = np.ones(m), np.full(m, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = rows.indptr.astype(np.int32)
    lp.a_matrix_.index_ = rows.indices.astype(np.int32)
    lp.a_matrix_.value_ = np.ones(rows.nnz)
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_x, m
    lp.sense_ = highspy.ObjSense.kMinimize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_x
    h.passModel(lp)
    if warm:
        sol = highspy.HighsSolution()
        x = np.zeros(n_x)
        x[warm] = 1.0
        sol.col_value = x.tolist()
        sol.value_valid = True
        h.setSolution(sol)
    return highs_answer(h, n_x, np.arange(n_x), 0.0)


def _cover_plan(
    cv: _Cover,
    rows: list[int],
    lower: float,
    solver: str,
    *,
    certified: bool,
    failed: bool = False,
    message: str = "",
) -> CoverPlan:
    cost = float(cv.cost[rows].sum())
    if cv.integral and math.isfinite(lower):
        lower = math.ceil(lower - 1e-6)  # a cover of whole-number costs costs a whole number
    if lower > cost + match_tol(cost, lower):
        logger.warning(
            "%s: lower bound %.9g above the cover's cost %.9g; bound discarded", solver, lower, cost
        )
        message += f"; bound {lower:.9g} above the cost, discarded"
        lower, certified = 0.0, False
    lower = min(lower, cost)
    gap = (cost - lower) / cost if cost > 0 else 0.0
    optimal = bool(certified and not failed and gap <= EPS)
    return CoverPlan(
        selected=tuple(sorted(int(cv.sites[r]) for r in rows)),
        fixed=tuple(int(s) for s in cv.fixed),
        cost=cost,
        lower_bound=float(lower),
        gap=gap,
        optimal=optimal,
        status="solver_failed" if failed else ("optimal" if optimal else "feasible"),
        solver=solver,
        solver_message=message,
        n_required=cv.n_required,
    )


def set_cover(
    A: sp.spmatrix | np.ndarray,
    *,
    required: Iterable[int] | np.ndarray | None = None,
    cost_eur: np.ndarray | None = None,
    fixed: Iterable[int] | np.ndarray = (),
    excluded: Iterable[int] | np.ndarray = (),
    method: str = "exact",
    time_limit_s: float = 60.0,
) -> CoverPlan:
    """The fewest new sites (or the cheapest, with ``cost_eur``) that see every required point.

    Parameters
    ----------
    A
        Sites × demand points, 1 where the site sees the point (sparse or dense).
    required
        Demand points that must be seen (indices or boolean mask); all by default.
    cost_eur
        Cost of each site in euros; without it every new site counts 1.
    fixed
        Sites already there: they cost nothing and what they see is covered.
    excluded
        Sites that may not be chosen.
    method
        ``"exact"`` (HiGHS MILP, warm-started by the greedy) or ``"fast"`` (greedy).
    time_limit_s
        Time limit of the MILP in seconds; past it the best cover found is returned
        with its proven gap.

    Returns
    -------
    CoverPlan
        The cover, its cost, its proven lower bound and status.

    Raises
    ------
    InputError
        A malformed argument.
    InfeasibleError
        A required point that no allowed site sees.
    """
    if method not in COVER_METHODS:
        raise InputError(
            f"method: {method!r} is not a set-cover solver; accepted {', '.join(COVER_METHODS)}"
        )
    if not (time_limit_s > 0):
        raise InputError(f"time_limit_s: {time_limit_s!r}; accepted a duration > 0 in seconds")
    cv = _prepare_cover(A, required, cost_eur, fixed, excluded)
    rows, lower = _greedy_cover(cv)
    plan = _cover_plan(
        cv, rows, lower, "greedy", certified=True, message="Chvátal greedy, H(d) bound"
    )
    if method == "exact" and not plan.optimal:
        plan = _exact_cover(cv, rows, lower, time_limit_s)
    logger.info(
        "set_cover(%s) chose %d new sites (%d fixed) for %d required points: "
        "cost %.6g, bound %.6g, %s",
        method,
        len(plan.selected),
        len(plan.fixed),
        plan.n_required,
        plan.cost,
        plan.lower_bound,
        plan.status,
    )
    return plan


def _exact_cover(cv: _Cover, warm: list[int], warm_lower: float, time_limit_s: float) -> CoverPlan:
    run = _highs_cover(cv, warm, time_limit_s)
    if run.failed or run.chosen is None:
        return _cover_plan(
            cv,
            warm,
            warm_lower,
            "greedy" if run.failed else "milp",
            certified=False,
            failed=run.failed,
            message=run.message,
        )
    rows, message, certified = list(run.chosen), run.message, run.optimal
    seen = np.zeros(cv.B.shape[1], dtype=bool)
    if rows:
        seen[cv.B[rows].indices] = True
    cost = float(cv.cost[rows].sum())
    if not seen.all():
        rows, certified = warm, False
        message += "; its plan leaves required points unseen, the greedy cover is kept"
        cost = float(cv.cost[rows].sum())
    elif abs(cost - run.primal) > match_tol(cost, run.primal):
        certified = False
        message += f"; its primal value {run.primal:.9g} is not the plan's cost {cost:.9g}"
    if cost > float(cv.cost[warm].sum()):
        rows, certified = warm, False  # never worse than the warm start
        message += "; the greedy cover is cheaper than HiGHS's"
    lower = max(run.bound if math.isfinite(run.bound) else 0.0, warm_lower)
    return _cover_plan(cv, rows, lower, "milp", certified=certified, message=message)


# --------------------------------------------------------------------------- #
# p-median: the k sites nearest to the demand, in total                        #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class MedianPlan:
    """The ``p`` sites minimising the total weighted distance from the demand to its nearest site.

    Attributes
    ----------
    selected
        Chosen sites (sorted).
    cost
        Total weighted distance of the demand to its nearest chosen site.
    lower_bound
        Proven lower bound on the least total any ``p`` sites can reach.
    gap
        ``(cost - lower_bound) / cost``.
    optimal, status, solver, solver_message
        As in :class:`CoverPlan`.
    """

    selected: tuple[int, ...]
    cost: float
    lower_bound: float
    gap: float
    optimal: bool
    status: str
    solver: str
    solver_message: str


def _median_cost(D: np.ndarray, w: np.ndarray, sites) -> float:
    return float(w @ D[:, list(sites)].min(axis=1)) if len(sites) else math.inf


def _median_greedy(D: np.ndarray, w: np.ndarray, p: int) -> list[int]:
    """Greedy add, then best-improvement 1-swaps (Teitz & Bart 1968) until none pays."""
    cur = np.full(D.shape[0], np.inf)
    chosen: list[int] = []
    for _ in range(p):
        total = w @ np.minimum(cur[:, None], D)
        total[chosen] = np.inf
        j = int(np.argmin(total))
        chosen.append(j)
        cur = np.minimum(cur, D[:, j])
    best = _median_cost(D, w, chosen)
    improved = True
    while improved and p < D.shape[1]:
        improved = False
        for j in list(chosen):
            rest = [s for s in chosen if s != j]
            base = D[:, rest].min(axis=1) if rest else np.full(D.shape[0], np.inf)
            total = w @ np.minimum(base[:, None], D)
            total[chosen] = np.inf
            c = int(np.argmin(total))
            if total[c] < best - 1e-9 * max(1.0, abs(best)):
                chosen[chosen.index(j)] = c
                best = float(total[c])
                improved = True
    return sorted(chosen)


def _median_model(D: np.ndarray, w: np.ndarray, p: int):
    """The covering form of the p-median (Elloumi 2010), written with nested levels.

    For client ``i`` with distinct distances ``L_1 < … < L_K``, ``u_k`` = 1 when no chosen
    site is closer than ``L_k``: ``u_2 + Σ_{d_ij = L_1} y_j ≥ 1`` and
    ``u_k - u_{k-1} + Σ_{d_ij = L_{k-1}} y_j ≥ 0``; the cost is
    ``Σ_i w_i (L_1 + Σ_k (L_k - L_{k-1}) u_k)``. Each site enters once per client, so the
    matrix has about n² entries instead of n³ for the plain covering form.
    """
    n_c, n_s = D.shape
    starts, index, value, lower, cost = [0], [], [], [], []
    constant = 0.0
    col = n_s
    for i in range(n_c):
        order = np.argsort(D[i], kind="stable")
        s = D[i][order]
        levels, first = np.unique(s, return_index=True)
        constant += float(w[i] * levels[0])
        bounds = np.append(first, n_s)
        for k in range(1, levels.size):
            sites = order[bounds[k - 1] : bounds[k]]
            cols = [col] + ([col - 1] if k > 1 else []) + sites.tolist()
            index += cols
            value += [1.0] + ([-1.0] if k > 1 else []) + [1.0] * sites.size
            starts.append(len(index))
            lower.append(1.0 if k == 1 else 0.0)
            cost.append(float(w[i] * (levels[k] - levels[k - 1])))
            col += 1
    return (
        np.array(starts),
        np.array(index),
        np.array(value),
        np.array(lower),
        np.array(cost),
        constant,
        col,
    )


def _median_highs(D, w, p, warm, time_limit_s):
    import highspy

    n_s = D.shape[1]
    starts, index, value, lower, ucost, constant, n_col = _median_model(D, w, p)
    n_row = lower.size + 1
    # presolve off: 6x faster on pmed1 (1.6 s against 10.5 s)
    h = new_highs(time_limit_s, rel_gap=1e-9, presolve="off")
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.col_cost_ = np.concatenate([np.zeros(n_s), ucost])
    lp.col_lower_, lp.col_upper_ = np.zeros(n_col), np.ones(n_col)
    lp.row_lower_ = np.append(lower, float(p))
    lp.row_upper_ = np.append(np.full(lower.size, highspy.kHighsInf), float(p))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.append(starts, starts[-1] + n_s).astype(np.int32)
    lp.a_matrix_.index_ = np.concatenate([index, np.arange(n_s)]).astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate([value, np.ones(n_s)])
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_col, n_row
    lp.sense_ = highspy.ObjSense.kMinimize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_s + [highspy.HighsVarType.kContinuous] * (
        n_col - n_s
    )
    lp.offset_ = constant
    h.passModel(lp)
    x = np.zeros(n_col)
    x[warm] = 1.0
    sol = highspy.HighsSolution()
    sol.col_value = x.tolist()  # the u follow from the y: HiGHS completes a partial start
    sol.value_valid = True
    h.setSolution(sol)
    return highs_answer(h, n_s, np.arange(n_s), 0.0)  # the offset is already in HiGHS's values


def p_median(
    D: np.ndarray,
    p: int,
    *,
    weight: np.ndarray | None = None,
    method: str = "exact",
    time_limit_s: float = 60.0,
) -> MedianPlan:
    """The ``p`` sites minimising the total (weighted) distance of the demand to its nearest site.

    Parameters
    ----------
    D
        Demand points × sites distances (or travel times), finite ≥ 0.
    p
        Number of sites to open, 1 ≤ p ≤ number of sites.
    weight
        Weight of each demand point (1 by default).
    method
        ``"exact"`` (HiGHS on the covering form, warm-started by the fast plan) or ``"fast"``
        (greedy add then 1-swaps; its lower bound is the all-sites-open distance only).
    time_limit_s
        Time limit of the MILP in seconds.

    Returns
    -------
    MedianPlan
        Certified optimal only as for :func:`set_cover`: HiGHS Optimal, its primal value
        equal to the plan's total recomputed from ``D``, its dual bound within the gap.
    """
    D = np.asarray(D, dtype=np.float64)
    problems = []
    if D.ndim != 2 or D.size == 0 or not np.all(np.isfinite(D)) or np.any(D < 0):
        problems.append("D: accepted a non-empty demand × sites matrix of finite distances ≥ 0")
    elif isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 1 <= p <= D.shape[1]:
        problems.append(
            f"p: {p!r}; accepted a whole number from 1 to {D.shape[1]} (the number of sites)"
        )
    w = np.ones(D.shape[0]) if weight is None else np.asarray(weight, dtype=np.float64).ravel()
    if D.ndim == 2 and (w.shape != (D.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0)):
        problems.append(f"weight: accepted {D.shape[0]} finite values ≥ 0, one per demand point")
    if method not in COVER_METHODS:
        problems.append(f"method: {method!r}; accepted {', '.join(COVER_METHODS)}")
    report_problems(problems, source="p_median()")
    p = int(p)
    chosen = _median_greedy(D, w, p)
    cost = _median_cost(D, w, chosen)
    lower = float(w @ D.min(axis=1))
    certified, solver, message, failed = (
        True,
        "greedy",
        "greedy add + 1-swaps, all-open bound",
        False,
    )
    if method == "exact" and cost > lower + match_tol(cost, lower):
        run = _median_highs(D, w, p, chosen, time_limit_s)
        solver, message, certified, failed = "milp", run.message, run.optimal, run.failed
        if run.chosen is not None and len(run.chosen) == p:
            got = _median_cost(D, w, run.chosen)
            if abs(got - run.primal) > match_tol(got, run.primal):
                certified = False
                message += f"; its primal value {run.primal:.9g} is not the plan's total {got:.9g}"
            if got <= cost:
                chosen, cost = sorted(run.chosen), got
            else:
                certified = False
        elif not failed:
            certified = False
        if math.isfinite(run.bound):
            lower = max(lower, run.bound)
    integral = np.all(D == np.round(D)) and np.all(w == np.round(w))
    if integral:
        lower = math.ceil(lower - 1e-6)
    if lower > cost + match_tol(cost, lower):
        message += f"; bound {lower:.9g} above the plan's total, discarded"
        lower, certified = float(w @ D.min(axis=1)), False
    lower = min(lower, cost)
    gap = (cost - lower) / cost if cost > 0 else 0.0
    optimal = bool(certified and not failed and gap <= EPS)
    return MedianPlan(
        selected=tuple(int(s) for s in chosen),
        cost=cost,
        lower_bound=float(lower),
        gap=gap,
        optimal=optimal,
        status="solver_failed" if failed else ("optimal" if optimal else "feasible"),
        solver=solver,
        solver_message=message,
    )
