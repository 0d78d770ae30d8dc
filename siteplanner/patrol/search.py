"""The orienteering search behind every patrol circuit, on matrices only.

:func:`solve_orienteering` takes a travel-time matrix (row and column 0 the depot, the start and
end of the tour), a service time and a prize per task and a time budget, and returns the tour
of the highest prize found within the budget (:class:`Tour`). It knows nothing of streets:
:mod:`siteplanner.patrol.plan` builds the matrix from the street graph and expands the tour back to
a street path.

Method: a destroy-and-repair search (adaptive large neighbourhood search without the adaptive
weights, Ropke & Pisinger 2006, *Transportation Science* 40(4)) around the operators of EA4OP
(Kobeaga, Merino & Lozano 2018, *Computers & OR* 90): greedy insertion by the ratio
``prizeᵏ / added time`` (Tsiligirides 1984, *J. Oper. Res. Soc.* 35(9); k = 2, then 1, 3, 1.5 in
later restarts), 2-opt, or-opt (moving stretches of 1-3 visits), and an exchange of one visit
for one unvisited task of a higher prize, or of the same prize in less time. Each iteration
removes some visits (a stretch, at random, the worst prize per saved minute, or the nearest to
a random visit; up to 40 % of them), refills without them first (a one-step tabu, with noisy
ratios), then runs the local search to its optimum. A new route is kept when it is better, or
within a band of the best (record-to-record travel, Dueck 1993) counting the time it leaves
free, the band shrinking to 0 over the run. Restarts after the first begin at a random task.
Oriented tasks (a hot segment walked one way or the other) come in twin pairs of which at most
one is visited; every move is evaluated exactly, also on asymmetric matrices. The inner loops
are compiled with numba (:mod:`siteplanner.patrol._kernels`).

Everything is deterministic for a given ``seed``: the search runs for a fixed number of
iterations, never against a clock, unless ``time_limit_s`` is given.

Before the search, :func:`distinct_places` merges the prizes that stand closer than the stops'
least spacing into one place each, so that no tour collects two prizes at the same place.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from siteplanner._errors import report_problems
from siteplanner.patrol import _kernels as _k

__all__ = ["Tour", "distinct_places", "solve_orienteering"]

_EPS = 1e-9  # minutes: tolerance of the budget test against float round-off


@dataclass(frozen=True)
class Tour:
    """A solution of :func:`solve_orienteering`.

    Attributes
    ----------
    order
        Visited tasks as matrix indices ``1..n`` in visiting order (the depot ``0`` omitted).
    prize
        Sum of the visited tasks' prizes.
    duration_min
        Travel plus service time from the depot back to it.
    """

    order: tuple[int, ...]
    prize: float
    duration_min: float


_POWERS = (2.0, 1.0, 3.0, 1.5)  # Tsiligirides-style ratio exponents, one per restart in turn
_DEVIATION = 0.05  # record-to-record travel: accept within 5 % of the best, shrinking to 0
_DESTROY = 0.4  # remove up to this share of the visits (and 2) per iteration
_SLACK = 1.0  # weight of the time left in the acceptance test, at the best's prize per minute
_CHUNK = 64  # iterations per kernel call, between checks of the clock


def _route(r: np.ndarray, m: int) -> list[int]:
    return [int(k) for k in r[1 : m + 1]]


def _search(
    T: np.ndarray,
    s: np.ndarray,
    p: np.ndarray,
    tw: np.ndarray,
    budget: float,
    *,
    seed: int,
    max_iter: int,
    stall: int,
    restarts: int,
    time_limit_s: float | None,
) -> list[int]:
    """Destroy-and-repair search (see module docstring) on the compiled kernels."""
    size = len(p)
    grp = np.minimum(np.arange(size), tw).astype(np.int64)
    budget = budget + _EPS
    alone = T[0, :] + s + T[:, 0]
    cand = np.array([k for k in range(1, size) if p[k] > 0 and alone[k] <= budget], dtype=np.int64)
    if not cand.size:
        return []
    _k.seed_rng(seed)
    rng = np.random.default_rng(seed)
    tol = 1e-10 * float(p.sum())  # prizes equal up to round-off of the sum
    restarts = max(1, restarts)
    per_restart = None if time_limit_s is None else time_limit_s / restarts
    best: list[int] = []
    best_key = (0.0, 0.0)
    for restart in range(restarts):
        t0 = time.perf_counter()
        power = _POWERS[restart % len(_POWERS)]
        r = np.zeros(size + 2, dtype=np.int64)
        used = np.zeros(size, dtype=bool)
        blocked = np.zeros(size, dtype=bool)
        m = 0
        if restart:  # start from a random task, so that restarts explore other parts of the map
            first = int(cand[rng.integers(len(cand))])
            r[1], m, used[grp[first]] = first, 1, True
        m = _k.insert_greedy(
            r, m, T, s, p, grp, used, blocked, cand, budget, power, 0.0 if restart == 0 else 0.5
        )
        m = _k.improve(
            r, m, T, s, p, tw, grp, used, blocked, cand, budget, power, np.empty(4, np.int64), tol
        )
        cur = r.copy()
        rbest = r.copy()
        st = np.array([m, m, 0], dtype=np.int64)
        fs = np.array([_k.route_prize(r, m, p), _k.route_length(r, m, T, s)] * 2)
        done = 0
        while done < max_iter and st[2] < stall:
            progress = done / max_iter
            if per_restart is not None:
                progress = max(progress, (time.perf_counter() - t0) / per_restart)
            if progress >= 1.0:
                break
            chunk = min(_CHUNK, max_iter - done)
            if per_restart is not None:  # about 20 clock checks per restart
                rate = done / max(time.perf_counter() - t0, 1e-6)
                chunk = max(1, min(chunk, int(rate * per_restart / 20) if done else 2))
            done += _k.search_chunk(
                T,
                s,
                p,
                tw,
                grp,
                cand,
                budget,
                power,
                tol,
                _DEVIATION * (1.0 - progress),
                _DESTROY,
                _SLACK,
                chunk,
                stall,
                max(1, stall // 3),
                cur,
                rbest,
                used,
                st,
                fs,
            )
            if st[0] == 0:
                break
        route = _route(rbest, int(st[1]))
        key = (float(fs[2]), -float(fs[3]))
        if key[0] > best_key[0] + tol or (
            key[0] >= best_key[0] - tol and key[1] > best_key[1] + 1e-9
        ):
            best, best_key = route, key
    return best


def matrix_problems(T: np.ndarray, s: np.ndarray, p: np.ndarray) -> list[str]:
    """The problems of an orienteering instance (travel matrix, service times, prizes) that every
    solver refuses (this search and :mod:`siteplanner.patrol.exact`), each naming what is
    accepted."""
    problems = []
    if T.ndim != 2 or T.shape[0] != T.shape[1] or T.shape[0] < 1:
        return [
            f"travel_min has shape {T.shape}; accepted: a square (n + 1, n + 1) matrix, "
            "row 0 the depot"
        ]
    n = T.shape[0] - 1
    if s.shape != (n,):
        problems.append(f"service_min has shape {s.shape}; accepted: ({n},), one per task")
    if p.shape != (n,):
        problems.append(f"prizes has shape {p.shape}; accepted: ({n},), one per task")
    if np.isnan(T).any() or (T < 0).any():
        problems.append("travel_min has NaN or negative entries; accepted: minutes >= 0 or inf")
    if s.shape == (n,) and (~np.isfinite(s) | (s < 0)).any():
        problems.append("service_min has entries that are not finite numbers >= 0")
    if p.shape == (n,) and (~np.isfinite(p) | (p < 0)).any():
        problems.append("prizes has entries that are not finite numbers >= 0")
    return problems


def _problems(
    T: np.ndarray,
    s: np.ndarray,
    p: np.ndarray,
    twins: Sequence[int] | None,
    budget_min: float,
    time_limit_s: float | None,
) -> list[str]:
    """Every problem with :func:`solve_orienteering`'s arguments, each naming what is accepted."""
    problems = matrix_problems(T, s, p)
    square = T.ndim == 2 and T.shape[0] == T.shape[1] and T.shape[0] >= 1
    if square and twins is not None and len(twins) != T.shape[0]:
        problems.append(
            f"twins has {len(twins)} entries; accepted: {T.shape[0]}, one per matrix row"
        )
    if time_limit_s is not None and not (math.isfinite(time_limit_s) and time_limit_s > 0):
        problems.append(f"time_limit_s = {time_limit_s!r}; accepted: None or seconds > 0")
    if not (math.isfinite(budget_min) and budget_min >= 0):
        problems.append(f"budget_min = {budget_min!r}; accepted: a finite number of minutes >= 0")
    return problems


def solve_orienteering(
    travel_min: np.ndarray,
    service_min: Sequence[float] | np.ndarray,
    prizes: Sequence[float] | np.ndarray,
    *,
    budget_min: float,
    twins: Sequence[int] | None = None,
    seed: int = 0,
    max_iter: int = 300,
    stall: int = 60,
    restarts: int = 4,
    time_limit_s: float | None = None,
) -> Tour:
    """Solve a single-tour orienteering problem given as matrices.

    Destroy-and-repair search with 2-opt, or-opt, insertion by Tsiligirides' ratio and
    exchange, on compiled kernels (see the module docstring); see
    :mod:`siteplanner.patrol.plan` for the formulation.

    Parameters
    ----------
    travel_min
        ``(n + 1, n + 1)`` travel times in minutes, row/column 0 the depot (start = end),
        ``inf`` where unreachable.
    service_min
        ``n`` service times, minutes (dwell at a stop, walk along a segment).
    prizes
        ``n`` prizes >= 0.
    budget_min
        Maximum tour duration (travel plus service), minutes.
    twins
        ``n + 1`` matrix indices: ``twins[i]`` is the other orientation of an oriented task
        (a segment walked one way or the other; at most one of the two is visited), ``i`` for a
        plain stop. ``None``: every task is a plain stop.
    seed
        Seed of the randomised restarts.
    max_iter
        Destroy-and-repair iterations per restart.
    stall
        Stop a restart after this many iterations without a better route (and go back to
        the best route after every third of them).
    restarts
        Number of constructions (the first greedy, the others randomised).
    time_limit_s
        Stop each restart after its share of this many seconds, whichever of this and
        ``max_iter`` / ``stall`` comes first. ``None`` (default): no clock, the result depends
        only on the inputs and ``seed``; with a limit it also depends on the machine's speed.

    Returns
    -------
    Tour
        The best tour found (``order`` as matrix indices ``1..n``).
    """
    T = np.asarray(travel_min, dtype=float)
    s = np.asarray(service_min, dtype=float)
    p = np.asarray(prizes, dtype=float)
    report_problems(
        _problems(T, s, p, twins, budget_min, time_limit_s), source="solve_orienteering"
    )
    n = T.shape[0] - 1
    tw = np.arange(n + 1) if twins is None else np.asarray(twins, dtype=np.int64)
    s_all = np.concatenate([[0.0], s])
    p_all = np.concatenate([[0.0], p])
    route = _search(
        np.ascontiguousarray(T),
        s_all,
        p_all,
        tw,
        float(budget_min),
        seed=seed,
        max_iter=max_iter,
        stall=stall,
        restarts=restarts,
        time_limit_s=time_limit_s,
    )
    points = [0, *route, 0]
    duration = math.fsum(T[a, b] for a, b in zip(points[:-1], points[1:])) + math.fsum(
        s_all[k] for k in route
    )
    return Tour(
        order=tuple(route),
        prize=math.fsum(p_all[k] for k in route),
        duration_min=float(duration),
    )


def distinct_places(
    xy: np.ndarray, prizes: Sequence[float] | np.ndarray, min_spacing_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Prize points thinned to places at least ``min_spacing_m`` apart, their prizes merged.

    Points are taken by decreasing prize (then index): a point is kept when no kept point
    stands closer than ``min_spacing_m`` (straight line); each other point gives its prize to
    the nearest kept point, which is closer than ``min_spacing_m``. Any two kept points are at
    least ``min_spacing_m`` apart, and the prizes' total is unchanged.

    Parameters
    ----------
    xy
        ``(n, 2)`` coordinates in metres (a projected CRS).
    prizes
        ``n`` prizes; points with a prize <= 0 are left out.
    min_spacing_m
        Least distance between two kept points, metres (0: every point with a prize is kept).

    Returns
    -------
    tuple[np.ndarray, np.ndarray]
        The kept points' indices (ascending) and their merged prizes.
    """
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    p = np.asarray(prizes, dtype=float)
    problems = []
    if len(pts) != len(p):
        problems.append(f"xy has {len(pts)} points but prizes has {len(p)}; give one per point")
    if not (math.isfinite(min_spacing_m) and min_spacing_m >= 0):
        problems.append(f"min_spacing_m = {min_spacing_m!r}; accepted: a number of metres >= 0")
    report_problems(problems, source="distinct_places")
    on = np.flatnonzero(p > 0)
    if min_spacing_m <= 0 or len(on) < 2:
        return on, p[on]
    order = on[np.lexsort((on, -p[on]))]
    radius = min_spacing_m * (1 - 1e-9)  # exactly min_spacing_m apart is far enough
    near = cKDTree(pts[order]).query_ball_point(pts[order], r=radius)
    kept = np.zeros(len(order), dtype=bool)
    for i, nb in enumerate(near):
        kept[i] = not kept[nb].any()
    keep = order[kept]
    merged = p[keep].copy()
    rest = order[~kept]
    if len(rest):
        _, j = cKDTree(pts[keep]).query(pts[rest])
        np.add.at(merged, j, p[rest])
    by_index = np.argsort(keep, kind="stable")
    return keep[by_index], merged[by_index]
