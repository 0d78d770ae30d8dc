r"""The p-median with a proven bound: Lagrangian relaxation, fast interchange, branching.

The p-median (Hakimi 1964; ReVelle & Swain 1970) chooses ``p`` sites minimising the total
weighted distance of the demand to its nearest chosen site. With ``y_j`` = 1 when site ``j`` is
open and ``x_ij`` = 1 when demand point ``i`` is served by site ``j``:

.. math::

    \min \sum_{i,j} w_i d_{ij} x_{ij}
    \quad\text{s.t.}\quad \sum_j x_{ij} = 1 \;(i),\quad x_{ij} \le y_j,\quad
    \sum_j y_j = p,\quad x, y \in \{0, 1\}.

:func:`pmedian_lower_bound` relaxes the assignment rows ``Σ_j x_ij = 1`` with multipliers
``λ_i`` (Beasley 1993, "Lagrangean heuristics for location problems", EJOR 65:383-399). For
any ``λ`` the relaxed problem splits by site: ``ρ_j = Σ_i min(0, w_i d_ij - λ_i)`` and

.. math::

    L(\lambda) = \sum_i \lambda_i + \text{(sum of the p smallest } \rho_j)

is a lower bound on every p-median: a feasible plan has ``Σ_j x_ij = 1``, so its relaxed
objective is its cost, and the relaxed minimum is at most that. Subgradient optimisation
(numpy, one ``n × m`` pass per step) raises ``L`` towards the LP bound.

:func:`solve` pairs it with an upper bound: greedy add, then the fast interchange of Whitaker
(1983) in the vectorised form of Resende & Werneck (2007) (best swap over all ``(out, in)``
pairs from one ``n × m`` pass), started again from the sites each Lagrangian relaxation picks
(the Lagrangian heuristic). Beasley's reduction tests fix, at every step, the sites that no plan
cheaper than the incumbent can open (or close). When the bound does not reach the plan's cost
(the LP relaxation has a gap, as on many OR-Library instances with p = 5 or 10), a depth-first
branch and bound on the sites closes it (Beasley 1993), each node bounded by a short
subgradient run from its parent's multipliers; stopped by the time limit, the bound is the
least over the nodes left.

Everything here is a pure function of arrays.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siteplanner._errors import report_problems
from siteplanner.optimise.milp import match_tol

logger = logging.getLogger(__name__)

__all__ = ["LagrangianBound", "MedianSolution", "pmedian_lower_bound", "proven_gap", "solve"]


@dataclass(frozen=True)
class LagrangianBound:
    """The best Lagrangian bound found, and what it came from.

    Attributes
    ----------
    lower_bound
        Proven lower bound on the least total any ``p`` sites can reach (rounded up to a
        whole number when every distance and weight is whole).
    multipliers
        The ``λ_i`` (one per demand point) that gave it.
    site_cost
        ``ρ_j`` for those multipliers (one per site).
    iterations
        Subgradient steps taken.
    seconds
        Wall time spent.
    """

    lower_bound: float
    multipliers: np.ndarray
    site_cost: np.ndarray
    iterations: int
    seconds: float


@dataclass(frozen=True)
class MedianSolution:
    """A p-median plan and how far from the optimum it can be.

    Attributes
    ----------
    selected
        Chosen sites (sorted).
    cost
        Total weighted distance of the demand to its nearest chosen site, recomputed from ``D``.
    lower_bound
        Proven lower bound on the least total any ``p`` sites can reach.
    gap
        Proven gap ``(cost - lower_bound) / cost`` (0 when ``cost`` is 0).
    proven_optimal
        The bound reaches the cost, to 1e-6 relative (the rounding margin kept off the bound
        when the data are not whole numbers): no ``p`` sites do better.
    how
        What proved the bound: ``"lagrangian"``, ``"lagrangian+branching"`` or ``"trivial"``.
    message
        One line on the run (subgradient steps, interchange restarts, branch-and-bound nodes).
    seconds
        Wall time.
    """

    selected: tuple[int, ...]
    cost: float
    lower_bound: float
    gap: float
    proven_optimal: bool
    how: str
    message: str
    seconds: float


def proven_gap(cost: float, lower_bound: float) -> float:
    """``(cost - lower_bound) / cost``: the share of the cost the optimum may still be below it.

    0 when ``cost`` is 0 (the bound is then 0 too); never negative (a bound above the cost is
    an error, raised as such).
    """
    if lower_bound > cost + match_tol(cost, lower_bound):
        raise ValueError(f"lower bound {lower_bound!r} above the cost {cost!r}: not a valid bound")
    if cost <= 0:
        return 0.0
    return max(0.0, (cost - lower_bound) / cost)


def _check(D, p, weight, time_limit) -> tuple[np.ndarray, np.ndarray, int]:
    D = np.asarray(D, dtype=np.float64)
    problems = []
    if D.ndim != 2 or D.size == 0 or not np.all(np.isfinite(D)) or np.any(D < 0):
        problems.append("dist: accepted a non-empty demand × sites matrix of finite distances ≥ 0")
    elif isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 1 <= p <= D.shape[1]:
        problems.append(
            f"p: {p!r}; accepted a whole number from 1 to {D.shape[1]} (the number of sites)"
        )
    n_c = D.shape[0] if D.ndim == 2 else 0
    w = np.ones(n_c) if weight is None else np.asarray(weight, dtype=np.float64).ravel()
    if D.ndim == 2 and (w.shape != (n_c,) or not np.all(np.isfinite(w)) or np.any(w < 0)):
        problems.append(f"weight: accepted {n_c} finite values ≥ 0, one per demand point")
    if not isinstance(time_limit, (int, float)) or not time_limit > 0:
        problems.append(f"time_limit: {time_limit!r}; accepted a number of seconds > 0")
    report_problems(problems, source="p-median")
    return D, w, int(p)


def _integral(D: np.ndarray, w: np.ndarray) -> bool:
    return bool(np.all(D == np.round(D)) and np.all(w == np.round(w)))


def _safe(bound: float, integral: bool) -> float:
    """The bound less a rounding margin, then rounded up when every cost is whole."""
    if not math.isfinite(bound):
        return bound
    bound -= 1e-9 * max(1.0, abs(bound))
    return float(math.ceil(bound - 1e-6)) if integral else bound


def _relaxed(WD: np.ndarray, lam: np.ndarray, p: int, fixed: np.ndarray, buf: np.ndarray):
    """``L(λ)``, ``ρ`` and the ``p`` sites of the relaxed optimum, the ``fixed`` sites kept
    (1 open, -1 closed, 0 free); ``L`` is +inf when too few sites are left to open ``p``.
    ``buf`` is scratch space of ``WD``'s shape."""
    np.subtract(WD, lam[:, None], out=buf)
    rho = np.minimum(buf, 0.0, out=buf).sum(axis=0)
    opened, free = np.flatnonzero(fixed == 1), np.flatnonzero(fixed == 0)
    k = p - opened.size
    if k > free.size:
        return math.inf, rho, opened
    if 0 < k < free.size:
        free = free[np.argpartition(rho[free], k - 1)[:k]]
    S = np.concatenate([opened, free[:k]])
    return float(lam.sum() + rho[S].sum()), rho, S


def _reduce(L: float, rho: np.ndarray, p: int, upper: float, integral: bool, fixed: np.ndarray):
    """Beasley's (1993) tests: fix the sites every plan cheaper than ``upper`` opens, or closes.

    With ``k`` free sites to open in the relaxed optimum, opening a free site ``j`` outside it
    costs at least ``L - ρ_(k) + ρ_j``; closing one inside it, at least ``L - ρ_j + ρ_(k+1)``
    (``ρ_(k)`` the k-th smallest among the free sites). A site whose bound reaches ``upper``
    (rounded up when every cost is whole) is fixed. Returns the new ``fixed``.
    """
    free = np.flatnonzero(fixed == 0)
    k = p - int((fixed == 1).sum())
    if not 0 < k < free.size or not math.isfinite(L):
        return fixed
    order = free[np.argsort(rho[free], kind="stable")]
    inside, outside = order[:k], order[k:]
    flip = np.concatenate([L - rho[inside] + rho[order[k]], L - rho[order[k - 1]] + rho[outside]])
    flip = flip - 1e-9 * np.maximum(1.0, np.abs(flip))
    reaches = (np.ceil(flip - 1e-6) if integral else flip) >= upper
    out = fixed.copy()
    out[inside[reaches[:k]]] = 1
    out[outside[reaches[k:]]] = -1
    return out


def _subgradient(
    WD,
    p,
    upper,
    deadline,
    *,
    on_sites=None,
    integral=False,
    reduce=True,
    lam=None,
    fixed=None,
    f=2.0,
    max_steps=None,
):
    """Subgradient optimisation of ``L(λ)`` (Beasley 1993: step ``f (UB - L) / ‖g‖²``, ``f``
    halved after 30 steps without a better bound), fixing sites by the reduction tests as it
    goes. ``on_sites(S)`` may lower the upper bound. Stops at the deadline, when ``f`` is
    spent, or when the bound reaches the upper bound. Once sites are fixed, ``L`` bounds only
    the plans cheaper than ``upper``: the proven bound is ``min(upper, best L)``."""
    n_c, n_s = WD.shape
    lam = np.sort(WD, axis=1)[:, min(1, n_s - 1)].copy() if lam is None else lam
    fixed = np.zeros(n_s, dtype=np.int8) if fixed is None else fixed
    best, best_lam, best_rho = -math.inf, lam, np.zeros(n_s)
    stall, it, max_steps = 0, 0, max_steps or 10**9
    buf = np.empty_like(WD)
    while f > 1e-6 and it < max_steps and (it == 0 or time.perf_counter() < deadline):
        it += 1
        L, rho, S = _relaxed(WD, lam, p, fixed, buf)
        if L > best + 1e-9 * max(1.0, abs(L)):
            best, best_lam, best_rho, stall = L, lam, rho, 0
        else:
            stall += 1
            if stall >= 30:
                f, stall = f / 2, 0
        if on_sites is not None and (it % 5 == 1 or L >= upper) and S.size == p:
            upper = min(upper, on_sites(S))
        if _safe(best, integral) >= upper - match_tol(upper):
            break
        if reduce:
            fixed = _reduce(L, rho, p, upper, integral, fixed)
        g = 1.0 - (WD[:, S] < lam[:, None]).sum(axis=1)
        norm = float(g @ g)
        if norm == 0.0:  # the relaxed optimum is feasible: L(λ) is its cost, the optimum
            upper = min(upper, on_sites(S)) if on_sites is not None else upper
            break
        lam = lam + f * max(upper - L, 1e-9 * max(1.0, abs(L))) / norm * g
    return min(best, upper), best_lam, best_rho, it, upper, fixed


def pmedian_lower_bound(
    dist: np.ndarray,
    p: int,
    time_limit: float = 60.0,
    *,
    weight: np.ndarray | None = None,
    upper_bound: float | None = None,
) -> LagrangianBound:
    """A proven lower bound on the p-median by Lagrangian relaxation of the assignment rows.

    Parameters
    ----------
    dist
        Demand points × sites distances (or travel times), finite ≥ 0.
    p
        Number of sites to open, 1 ≤ p ≤ number of sites.
    time_limit
        Seconds for the subgradient steps.
    weight
        Weight of each demand point (1 by default).
    upper_bound
        A target for the step size (by default the greedy plan's cost, which also lets the
        reduction tests fix sites: the bound is then ``min(that cost, L)``).

    Returns
    -------
    LagrangianBound
        The best bound found; valid whatever the multipliers, so valid at any stop.
    """
    t0 = time.perf_counter()
    D, w, p = _check(dist, p, weight, time_limit)
    integral = _integral(D, w)
    # the reduction tests need the cost of a real plan: only the greedy one is known to be
    upper = _greedy_cost(D, w, p) if upper_bound is None else float(upper_bound)
    best, lam, rho, it, _, _ = _subgradient(
        w[:, None] * D, p, upper, t0 + time_limit, integral=integral, reduce=upper_bound is None
    )
    bound = max(_safe(best, integral), 0.0)
    return LagrangianBound(bound, lam, rho, it, time.perf_counter() - t0)


# --------------------------------------------------------------------------- #
# upper bound: greedy add, fast interchange                                   #
# --------------------------------------------------------------------------- #


def _cost(D: np.ndarray, w: np.ndarray, sites) -> float:
    return float(w @ D[:, np.asarray(sites, dtype=np.int64)].min(axis=1))


def _greedy(D: np.ndarray, w: np.ndarray, p: int, allowed=None, opened=()) -> list[int]:
    """Greedy add: each time the ``allowed`` site that lowers the total most, ``opened`` open."""
    opened = list(opened)
    cur = D[:, opened].min(axis=1) if opened else np.full(D.shape[0], np.inf)
    banned = np.zeros(D.shape[1], dtype=bool) if allowed is None else ~allowed
    chosen: list[int] = []
    for _ in range(p):
        total = w @ np.minimum(cur[:, None], D)
        total[banned] = np.inf
        total[chosen + opened] = np.inf
        j = int(np.argmin(total))
        chosen.append(j)
        cur = np.minimum(cur, D[:, j])
    return chosen


def _greedy_cost(D: np.ndarray, w: np.ndarray, p: int) -> float:
    return _cost(D, w, _greedy(D, w, p))


def _interchange(D: np.ndarray, w: np.ndarray, sites, deadline: float) -> list[int]:
    """Best-improvement swaps until none pays (Whitaker's fast interchange, Resende & Werneck's
    matrix form): the saving of closing ``S[r]`` and opening ``j`` is
    ``gain_j - loss_r + extra_rj`` with ``gain_j = Σ_i w_i max(0, d1_i - d_ij)``,
    ``loss_r = Σ_{φ(i)=r} w_i (d2_i - d1_i)`` and
    ``extra_rj = Σ_{φ(i)=r, d_ij < d2_i} w_i (d2_i - max(d_ij, d1_i))``."""
    S = np.array(sites, dtype=np.int64)
    n_c, n_s = D.shape
    p = S.size
    if p in (0, n_s):
        return S.tolist()
    rows = np.arange(n_c)
    while time.perf_counter() < deadline:
        DS = D[:, S]
        if p > 1:
            two = np.argpartition(DS, 1, axis=1)[:, :2]
            a, b = DS[rows, two[:, 0]], DS[rows, two[:, 1]]
            phi = np.where(a <= b, two[:, 0], two[:, 1])
            d1, d2 = np.minimum(a, b), np.maximum(a, b)
        else:
            phi, d1 = np.zeros(n_c, dtype=np.int64), DS[:, 0]
            d2 = np.full(n_c, D.max() * 2 + 1.0)  # past every distance: the demand must move
        gain = w @ np.maximum(d1[:, None] - D, 0.0)
        loss = np.bincount(phi, weights=w * (d2 - d1), minlength=p)
        M = np.where(D < d2[:, None], d2[:, None] - np.maximum(D, d1[:, None]), 0.0)
        owner = sp.csr_matrix((w, (phi, rows)), shape=(p, n_c))
        saving = gain[None, :] - loss[:, None] + owner @ M
        saving[:, S] = -np.inf
        r, j = np.unravel_index(int(np.argmax(saving)), saving.shape)
        total = float(w @ d1)
        if saving[r, j] <= 1e-9 * max(1.0, total):
            break
        S[r] = j
    return S.tolist()


# --------------------------------------------------------------------------- #
# the proof: branch and bound on the sites, Lagrangian bound at each node       #
# --------------------------------------------------------------------------- #


def _trivial(D: np.ndarray, w: np.ndarray, p: int, t0: float) -> MedianSolution | None:
    """p = 1 (try every site) and p = every site: solved outright."""
    if p == D.shape[1]:
        sites = list(range(p))
    elif p == 1:
        sites = [int(np.argmin(w @ D))]
    else:
        return None
    cost = _cost(D, w, sites)
    return MedianSolution(
        tuple(sites),
        cost,
        cost,
        0.0,
        True,
        "trivial",
        "every case tried",
        time.perf_counter() - t0,
    )


def solve(
    dist: np.ndarray,
    p: int,
    time_limit: float = 60.0,
    *,
    weight: np.ndarray | None = None,
) -> MedianSolution:
    """The p-median: the best plan found and a proven bound, within ``time_limit`` seconds.

    Greedy add and fast interchange give the first plan; subgradient optimisation of the
    Lagrangian bound (at most half the time) restarts the interchange from each new relaxed
    optimum; if the bound does not reach the plan's cost, branch and bound on the sites in the
    time left.

    Parameters
    ----------
    dist
        Demand points × sites distances (or travel times), finite ≥ 0.
    p
        Number of sites to open, 1 ≤ p ≤ number of sites.
    time_limit
        Seconds for the whole solve (the first plan is always finished).
    weight
        Weight of each demand point (1 by default).

    Returns
    -------
    MedianSolution
        The plan (its cost recomputed from ``dist``), the proven bound and gap.
    """
    t0 = time.perf_counter()
    D, w, p = _check(dist, p, weight, time_limit)
    trivial = _trivial(D, w, p, t0)
    if trivial is not None:
        return trivial
    deadline = t0 + time_limit
    integral = _integral(D, w)
    best = {"sites": _interchange(D, w, _greedy(D, w, p), deadline)}
    best["cost"] = _cost(D, w, best["sites"])
    seen: set[frozenset] = set()
    spent = [0.0]  # seconds in interchange restarts: at most a quarter of the limit

    def restart(S: np.ndarray) -> float:  # the Lagrangian heuristic
        key = frozenset(S.tolist())
        if key in seen:
            return best["cost"]
        seen.add(key)
        sites, cost = S.tolist(), _cost(D, w, S)
        if spent[0] < time_limit / 4:
            start = time.perf_counter()
            sites = _interchange(D, w, S, deadline)
            cost = _cost(D, w, sites)
            spent[0] += time.perf_counter() - start
        if cost < best["cost"]:
            best["sites"], best["cost"] = sites, cost
        return best["cost"]

    WD = w[:, None] * D
    L, lam, rho, it, _, fixed = _subgradient(
        WD, p, best["cost"], t0 + time_limit / 2, on_sites=restart, integral=integral
    )
    lower = max(_safe(L, integral), _safe(float(w @ D.min(axis=1)), integral), 0.0)
    how = "lagrangian"
    message = (
        f"{it} subgradient steps, {len(seen)} interchange restarts in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    if lower < best["cost"] - match_tol(best["cost"]) and time.perf_counter() < deadline:

        def evaluate(S: np.ndarray) -> float:  # a relaxed optimum is a plan: keep the best
            cost = _cost(D, w, S)
            if cost < best["cost"]:
                best["sites"], best["cost"] = S.tolist(), cost
            return best["cost"]

        proven, nodes = _branch_and_bound(
            WD, p, best, fixed, lam, lower, integral, deadline, evaluate
        )
        lower, how = max(lower, proven), "lagrangian+branching"
        message += f"; branch and bound: {nodes} nodes"
    cost = best["cost"]
    lower = min(lower, cost)
    gap = proven_gap(cost, lower)
    logger.info("p-median p=%d: cost %.9g, bound %.9g (gap %.2e); %s", p, cost, lower, gap, message)
    return MedianSolution(
        tuple(sorted(int(s) for s in best["sites"])),
        cost,
        float(lower),
        gap,
        cost - lower <= match_tol(cost),
        how,
        message,
        time.perf_counter() - t0,
    )


def _branch_and_bound(WD, p, best, fixed, lam, root, integral, deadline, evaluate):
    """Depth-first branch and bound on the sites (Beasley 1993), each node bounded by a short
    subgradient run from its parent's multipliers, with the reduction tests.

    Branches on the free site of the relaxed optimum with the least ``ρ_j``: open first, then
    closed. Returns the proven bound ``min(incumbent, bounds of the nodes left)`` (the
    incumbent when the tree is exhausted), and the nodes explored.
    """
    stack = [(fixed, lam, root)]
    nodes = 0
    while stack and time.perf_counter() < deadline:
        fx, lm, _ = stack.pop()
        nodes += 1
        L, lm, rho, _, _, fx = _subgradient(
            WD,
            p,
            best["cost"],
            deadline,
            on_sites=evaluate,
            integral=integral,
            lam=lm,
            fixed=fx,
            f=0.5,
            max_steps=40,
        )
        bound = _safe(L, integral)
        if bound >= best["cost"] - match_tol(best["cost"]):
            continue
        free = np.flatnonzero(fx == 0)
        k = p - int((fx == 1).sum())
        if k <= 0 or free.size <= k:  # at most one plan left here: the relaxed optimum
            continue
        j = free[np.argmin(rho[free])]
        closed, opened = fx.copy(), fx.copy()
        closed[j], opened[j] = -1, 1
        stack += [(closed, lm, bound), (opened, lm, bound)]
    left = min((b for *_, b in stack), default=math.inf)
    return min(best["cost"], left), nodes
