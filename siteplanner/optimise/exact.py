"""The exact optimiser: the maximal covering MILP solved by HiGHS, with a checked certificate.

Only what can matter enters the model (:func:`_reduce`): demand already saturated by fixed
sites drops out, demand seen by a single candidate folds into that site's objective
coefficient, sites whose demand is all seen by another site no dearer are dropped (plain
coverage, no spacing), demand points seen by exactly the same candidates are merged into
one. Rows: ``y_g (+ z_g) ≤ Σ_{j sees g} x_j`` with ``y`` the first and ``z`` the backup
coverage of merged demand ``g``, then the count or budget row and one ``x_a + x_b ≤ 1`` row
per pair of candidate sites closer than the spacing (a candidate closer than it to a fixed
site is not in the model). The certificate is HiGHS's bound on this model, spacing rows
included: a plan called optimal is optimal under the spacing rule.

The run is warm-started from the greedy plan and has a time limit. Its plan is certified
optimal only when HiGHS says Optimal, its primal value equals the objective of the returned
sites recomputed from ``A`` and the weights, and its dual bound (plus the fixed sites'
objective the reduction took out) is within the gap (see :mod:`siteplanner.optimise.milp`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siteplanner._errors import report_problems
from siteplanner.optimise.greedy import greedy_plan, order_by_gain
from siteplanner.optimise.instance import (
    Instance,
    Plan,
    counts_of,
    log_plan,
    make_plan,
    objective_of,
    prepare,
    value_left,
)
from siteplanner.optimise.milp import HighsAnswer, highs_answer, match_tol, new_highs

logger = logging.getLogger(__name__)

__all__ = ["milp_plan", "solve_milp"]


@dataclass(frozen=True, eq=False)
class _Model:
    sites: np.ndarray  # candidate site index of each x column
    site_coef: np.ndarray  # objective of x_j (demand only this site can add)
    groups: sp.csc_matrix  # candidate × merged demand group (degree ≥ 2)
    v1: np.ndarray  # value of a group's first new coverage
    v2: np.ndarray  # value of its second new coverage (backup)
    constant: float  # objective of the fixed sites


def _reduce(inst: Instance) -> _Model:
    """Keep only what can matter, fold single-site demand, merge identical demand columns."""
    counts0 = inst.counts0
    v1_all = value_left(inst, counts0)
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
    constant = objective_of(inst, counts0)[0]
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
    # j ⊆ j'; j' dominates when cheaper, or strictly bigger at equal cost, or identical with a
    # lower index
    better = (cost[jp] < cost[j]) | ((cost[jp] == cost[j]) & ((size[jp] > size[j]) | (jp < j)))
    better &= cost[jp] <= cost[j]
    keep[np.unique(j[better])] = False
    return keep


def _run_highs(
    inst: Instance,
    model: _Model,
    *,
    time_limit_s: float,
    warm: Sequence[int] | None,
    rel_gap: float,
) -> HighsAnswer:
    """Solve the reduced MILP with HiGHS; its answer, mapped back to the full instance."""
    import highspy

    n_x = model.sites.size
    G = model.groups
    n_g = G.shape[1]
    z_of = np.flatnonzero(model.v2 > 0)
    n_col = n_x + n_g + z_of.size
    ar_start, ar_index, ar_value, lo, hi = _model_rows(inst, model)
    # presolve off: the reduction already did the useful part, faster
    h = new_highs(time_limit_s, rel_gap=rel_gap, mip_abs_gap=1e-12, presolve="off")
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = lo.size
    lp.col_cost_ = np.concatenate([model.site_coef, model.v1, model.v2[z_of]])
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
        n_col - n_x
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
    return highs_answer(h, n_x, model.sites, model.constant)


def _model_rows(
    inst: Instance, model: _Model
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The MILP's rows, row-wise: (start, index, value, lower, upper).

    Columns are the ``x`` of the model's sites, then ``y`` per merged demand group, then
    ``z`` per group with a backup value. No ``z_g ≤ y_g`` row is needed: a second coverage
    is worth β ≤ 1 times the first, so an optimal solution fills ``y_g`` before ``z_g``.
    """
    n_x = model.sites.size
    G = model.groups
    n_g = G.shape[1]
    has_z = model.v2 > 0
    z_of = np.flatnonzero(has_z)
    n_z = z_of.size
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
    return (
        np.concatenate(starts).astype(np.int32),
        np.concatenate(rows_idx).astype(np.int32),
        np.concatenate(rows_val),
        np.concatenate(row_lo),
        np.concatenate(row_hi),
    )


def _check_warm(inst: Instance, warm: Plan) -> None:
    sites = np.asarray(warm.selected, dtype=np.int64)
    problems = []
    if sites.size and (sites.min() < 0 or sites.max() >= inst.n_sites):
        report_problems([f"selected sites out of range 0..{inst.n_sites - 1}"], source="warm_start")
    if sites.size and not inst.candidate[sites].all():
        problems.append(
            f"sites {sites[~inst.candidate[sites]][:10].tolist()} are fixed, excluded, "
            "too close to a fixed site or above the budget; accepted a plan of candidate sites"
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


def milp_plan(
    inst: Instance, *, time_limit_s: float, warm_start: Plan | None, trust_bound: bool = False
) -> Plan:
    """MILP warm-started by ``warm_start``; its upper bound is used only when ``trust_bound``.

    The plan is certified optimal only when HiGHS says Optimal, its primal value equals
    the objective of the returned sites recomputed from ``A`` and the weights, and its
    dual bound (plus the fixed sites' objective the reduction took out) is within the gap.
    """
    if warm_start is None:
        warm_start, trust_bound = greedy_plan(inst, polish=True), True
    else:
        _check_warm(inst, warm_start)
    warm_sites = list(warm_start.selected)
    warm_bound = warm_start.upper_bound if trust_bound else math.inf
    model = _reduce(inst)
    if trust_bound and warm_start.optimal:  # the greedy bound already proves optimality
        sel, gains = order_by_gain(inst, warm_sites)
        return make_plan(
            inst, sel, gains, warm_bound, warm_start.solver, message=warm_start.solver_message
        )
    if model.sites.size == 0 or inst.k == 0:
        # nothing left to decide: no candidate adds anything, or no site may be added
        sel, gains = order_by_gain(inst, [s for s in warm_sites if model.sites.size])
        bound = objective_of(inst, counts_of(inst, sel))[0]
        return make_plan(
            inst, sel, gains, bound, "milp", message="no candidate site can add anything"
        )
    run = _run_highs(inst, model, time_limit_s=time_limit_s, warm=warm_sites, rel_gap=1e-9)
    if run.failed or run.chosen is None:
        sel, gains = order_by_gain(inst, warm_sites)
        return make_plan(
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
    objective = objective_of(inst, counts_of(inst, chosen))[0]
    certified = run.optimal
    if abs(objective - run.primal) > match_tol(objective, run.primal):
        certified = False
        message += (
            f"; its primal value {run.primal:.9g} is not the plan's objective {objective:.9g}"
        )
        logger.warning(
            "HiGHS primal value %.9g differs from the plan's recomputed objective %.9g",
            run.primal,
            objective,
        )
    if objective < objective_of(inst, counts_of(inst, warm_sites))[0]:
        chosen, certified = warm_sites, False  # never worse than the warm start
        message += "; the warm start is better than HiGHS's plan"
        objective = objective_of(inst, counts_of(inst, chosen))[0]
    sel, gains = order_by_gain(inst, chosen)
    # drop sites that add nothing (the MILP may switch on useless ones when k allows)
    keep = [n for n, g in enumerate(gains) if g > 0]
    sel, gains = [sel[n] for n in keep], [gains[n] for n in keep]
    bound = run.bound
    if bound < objective - match_tol(objective, bound):
        logger.warning(
            "HiGHS dual bound %.9g is below the plan's objective %.9g; bound discarded",
            bound,
            objective,
        )
        message += f"; its dual bound {bound:.9g} is below the plan's objective, discarded"
        bound, certified = math.inf, False
    return make_plan(
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
    existing: Iterable[int] | np.ndarray = (),
    reuse_support: Iterable[int] | np.ndarray = (),
) -> Plan:
    """Solve the plan exactly as a MILP with HiGHS.

    Parameters
    ----------
    A, weight, k, budget_eur, cost_eur, fixed, excluded, min_spacing_m, site_xy, backup_share
        As in :func:`greedy`.
    existing, reuse_support
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
        source="solve_milp()",
        existing=existing,
        reuse_support=reuse_support,
    )
    plan = milp_plan(inst, time_limit_s=time_limit_s, warm_start=warm_start)
    log_plan("solve_milp", plan)
    return plan
