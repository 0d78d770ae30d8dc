"""The fast optimiser: lazy greedy (CELF) with a proven bound, polished by 1-swaps.

Lazy greedy (CELF, Leskovec et al. 2007) picks, again and again, the site that adds the
most (or the most per euro under a budget), re-evaluating a site's gain only when it reaches
the top of the heap: gains only shrink as sites are placed, so a stale gain is an upper
bound. Along the way it keeps the data-dependent bound of Minoux (1978) / Leskovec et al.:
for any set ``S``, ``OPT ≤ f(S) + Σ_{k largest} δ_j(S)`` (a fractional knapsack of the
``δ_j(S)`` under a budget), which certifies how far from optimal the plan can be. 1-swaps
(:func:`_swap_improve`) then replace a chosen site by a better one while it pays.

Under a spacing rule (``min_spacing_m``: no two sites of the plan closer than it) a site that
conflicts with a chosen one is skipped. The bound stays proven: ``f(T) ≤ f(S) + Σ_{j ∈ T∖S}
δ_j(S)`` follows from ``f`` being monotone and submodular, whatever the constraints, and ``T``
(an optimal plan under spacing) is still at most ``k`` sites or within the budget, so the
bound is that of the problem without the spacing rows, a relaxation: proven, but looser. The
greedy's a-priori guarantee (within ``1 - 1/e`` of the optimum under a count) does not hold
under spacing conflicts; only the data-dependent bound, checked on each plan, is claimed.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from siteplanner.optimise.instance import (
    Instance,
    Plan,
    log_plan,
    make_plan,
    objective_of,
    prepare,
    rows_of,
    value_left,
)

logger = logging.getLogger(__name__)

__all__ = ["celf", "greedy", "greedy_plan", "order_by_gain"]


def _bound(inst: Instance, f_s: float, gains: np.ndarray) -> float:
    """Minoux / Leskovec online bound: f(S) + best feasible sum of marginal gains.

    ``gains`` are upper bounds on the marginal gains δ_j(S) of the candidate sites (0
    for sites that are not candidates or already in S). Any optimal set adds at most
    ``k`` sites, or sites costing at most the budget, so the k largest gains, or a
    fractional knapsack of them, bound what it can add to f(S). Sites in spacing conflict
    with S keep their gains here: the bound ignores the spacing rows (a relaxation).
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


def celf(
    inst: Instance, *, cost_benefit: bool, limit_k: int | None = None
) -> tuple[list[int], list[float], float]:
    """One lazy-greedy run; returns (selected, gains, best online bound).

    ``cost_benefit`` ranks sites by gain per euro; ``limit_k`` stops after that many
    picks and skips the bound (for a coverage curve: the bound is then inf).
    """
    A, indptr, indices = inst.A, inst.A.indptr, inst.A.indices
    counts = inst.counts0.copy()
    value = value_left(inst, counts)
    f_s = objective_of(inst, counts)[0]
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
        value[row] = w[row] * table[c_row]  # value_left on the row
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


def order_by_gain(inst: Instance, sites: Iterable[int]) -> tuple[list[int], list[float]]:
    """Rank a chosen set greedily (best marginal gain first, ties by lowest index).

    Lazy evaluation (CELF) over the chosen sites: a site's gain only shrinks as others
    are placed (and so does its float sum, rounding being monotone), so a stale gain
    is an upper bound and the pick is the one an eager argmax would make.
    """
    left = sorted(set(int(s) for s in sites))
    indptr, indices = inst.A.indptr, inst.A.indices
    w, table = inst.w, inst.table
    counts = inst.counts0.copy()
    value = value_left(inst, counts)
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


def _swap_improve(inst: Instance, selected: Sequence[int], *, max_passes: int = 3) -> list[int]:
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
        rows_of(inst, np.asarray(chosen, dtype=np.int64)), minlength=inst.counts0.size
    )
    value = w * table[np.minimum(counts, 2)]  # value_left(inst, counts), kept up to date row by row
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
    inst: Instance,
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
    cols = rows_of(inst, ch)
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


def greedy_plan(inst: Instance, *, polish: bool = False) -> Plan:
    """The greedy plan of a prepared instance, with its proven bound.

    Under a budget both the cost-benefit and the unit-cost greedy run and the better plan
    is kept (its bound the tighter of the two); ``polish`` then tries 1-swaps.
    """
    if inst.budget is None:
        sel, gains, bound = celf(inst, cost_benefit=False)
    else:
        runs = [celf(inst, cost_benefit=True), celf(inst, cost_benefit=False)]
        bound = min(r[2] for r in runs)
        best = max(runs, key=lambda r: (sum(r[1]), -len(r[0])))
        sel, gains = best[0], best[1]
    if polish and sel:
        better = _swap_improve(inst, sel)
        if set(better) != set(sel):
            sel, gains = order_by_gain(inst, better)
    message = "lazy greedy, Minoux bound"
    if inst.conflicts is not None:
        message += " (the spacing rule left out of the bound: a relaxation's bound, looser)"
    return make_plan(inst, sel, gains, bound, "celf", message=message)


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
    existing: Iterable[int] | np.ndarray = (),
    reuse_support: Iterable[int] | np.ndarray = (),
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
        Minimum distance between two sites of the plan, fixed sites included (a new site
        closer than it to a fixed one is not a candidate); needs ``site_xy``. None or 0:
        no spacing rule.
    site_xy
        Site coordinates in a projected metric CRS (n_sites × 2).
    backup_share
        Share of a demand point's weight counted again when a second site sees it
        (0 = plain coverage, at most 1).
    polish
        Then try 1-swaps (replace a chosen site by a better one, constraints kept)
        while they pay; the bound stays the greedy's, so the gap can only shrink.
    existing
        The fixed sites that are existing cameras (indices or boolean mask).
    reuse_support
        New sites that reuse an existing camera's support (a camera head added on its
        mast or bracket): they may stand closer than ``min_spacing_m`` to an existing
        camera, never to another new or accepted site.

    Returns
    -------
    Plan
        ``solver="celf"``; ``upper_bound`` is the Minoux / Leskovec online bound, so
        ``gap`` is a proven bound on the distance to the optimum. The greedy stops
        early when no site adds anything.
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
        source="greedy()",
        existing=existing,
        reuse_support=reuse_support,
    )
    plan = greedy_plan(inst, polish=polish)
    log_plan("greedy", plan)
    return plan
