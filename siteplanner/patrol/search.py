"""The orienteering search behind every patrol circuit, on matrices only.

:func:`solve_orienteering` takes a travel-time matrix (row and column 0 the depot, the start and
end of the tour), a service time and a prize per task and a time budget, and returns the tour
of the highest prize found within the budget (:class:`Tour`). It knows nothing of streets:
:mod:`siteplanner.patrol.plan` builds the matrix from the street graph and expands the tour back to
a street path.

Method: an iterated local search in the manner of Vansteenwegen et al. (2009, "Iterated local
search for the team orienteering problem with time windows", *Computers & OR* 36(12)): greedy
insertion by the ratio ``prizeᵏ / added time`` (Tsiligirides 1984, *J. Oper. Res. Soc.* 35(9);
k = 2, then 1, 3, 1.5 in later restarts), 2-opt, relocation, replacement of a visit by a better
unvisited task, and drop-one-and-refill; perturbed by removing ``S`` consecutive visits from
position ``R`` and refilling without them first (a one-step tabu); the restarts after the first
use a seeded randomised greedy construction (GRASP, Feo & Resende 1995). Oriented tasks (a hot
segment walked one way or the other) come in twin pairs of which at most one is visited.

Everything is deterministic for a given ``seed``: the search runs for a fixed number of
iterations, never against a clock.

Before the search, :func:`distinct_places` merges the prizes that stand closer than the stops'
least spacing into one place each, so that no tour collects two prizes at the same place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from siteplanner._errors import report_problems

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


class _ILS:
    """Iterated local search for the single-tour orienteering problem (see module docstring)."""

    def __init__(
        self, T: np.ndarray, s: np.ndarray, p: np.ndarray, twin: np.ndarray, budget: float
    ) -> None:
        self.T = T
        self.Tl = T.tolist()
        self.s = s
        self.sl = s.tolist()
        self.p = p
        self.pl = p.tolist()
        self.twin = twin.tolist()
        self.group = np.minimum(np.arange(len(p)), twin)
        self.budget = budget + _EPS
        n = len(p)
        # tasks worth visiting and able to fit alone in the budget
        alone = T[0, :] + s + T[:, 0]
        self.active = np.array(
            [k for k in range(1, n) if p[k] > 0 and alone[k] <= self.budget], dtype=np.int64
        )
        self.groupl = self.group.tolist()
        self.active_group = self.group[self.active]
        self.power = 2.0  # insertion ratio prize**power / added time; varied between restarts
        # groups kept out of the tour for one refill after a perturbation
        self.tabu: set[int] = set()

    # -- evaluation ------------------------------------------------------------------------------
    def duration(self, route: list[int]) -> float:
        T, s = self.Tl, self.sl
        t, prev = 0.0, 0
        for k in route:
            t += T[prev][k] + s[k]
            prev = k
        return t + T[prev][0]

    def prize(self, route: list[int]) -> float:
        # exact sum, the same in any visiting order: with prizes of 1e6 a plain sum differs
        # between orders of the same stops, and the search took that noise for gains, endlessly
        return math.fsum(self.pl[k] for k in route)

    def key(self, route: list[int]) -> tuple[float, float]:
        return (round(self.prize(route), 9), -round(self.duration(route), 9))

    # -- moves -----------------------------------------------------------------------------------
    def _free(self, route: list[int], skip: int | None = None) -> np.ndarray:
        if not self.active.size:
            return self.active
        blocked = np.zeros(len(self.p), dtype=bool)
        group = self.groupl
        blocked[[group[k] for i, k in enumerate(route) if i != skip]] = True
        if self.tabu:
            blocked[list(self.tabu)] = True
        return self.active[~blocked[self.active_group]]

    def _deltas(self, route: list[int], cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cheapest insertion position and added time of each candidate."""
        a = np.array([0, *route], dtype=np.int64)
        b = np.array([*route, 0], dtype=np.int64)
        T = self.T
        delta = T[a[None, :], cand[:, None]]
        delta += self.s[cand][:, None] + T[cand[:, None], b[None, :]] - T[a, b][None, :]
        pos = delta.argmin(axis=1)
        return pos, delta[np.arange(len(cand)), pos]

    def insert(
        self, route: list[int], rng: np.random.Generator | None = None, rcl: int = 1
    ) -> list[int]:
        """Greedy insertion by prize² / added time until nothing more fits."""
        route = list(route)
        t = self.duration(route)
        while True:
            cand = self._free(route)
            if not cand.size:
                return route
            pos, dmin = self._deltas(route, cand)
            ok = t + dmin <= self.budget
            if not ok.any():
                return route
            ratio = np.where(ok, self.p[cand] ** self.power / np.maximum(dmin, 1e-9), -np.inf)
            if rng is not None and rcl > 1:
                top = np.argsort(-ratio, kind="stable")[: min(rcl, int(ok.sum()))]
                j = int(top[rng.integers(len(top))])
            else:
                j = int(np.argmax(ratio))
            route.insert(int(pos[j]), int(cand[j]))
            t += float(dmin[j])

    def two_opt(self, route: list[int]) -> list[int]:
        """2-opt (segment reversal, flipping oriented tasks to their twin) until no gain."""
        T, tw = self.Tl, self.twin
        r = [0, *route, 0]
        improved = True
        while improved:
            improved = False
            for i in range(1, len(r) - 1):
                a, ri = r[i - 1], r[i]
                for j in range(i, len(r) - 1):
                    rj, b = r[j], r[j + 1]
                    d = T[a][tw[rj]] + T[tw[ri]][b] - T[a][ri] - T[rj][b]
                    if d < -1e-9:
                        r[i : j + 1] = [tw[x] for x in reversed(r[i : j + 1])]
                        improved = True
                        ri = r[i]
        return r[1:-1]

    def relocate(self, route: list[int]) -> list[int]:
        """Move single visits to their cheapest position while that shortens the tour."""
        improved = True
        while improved and len(route) > 2:
            improved = False
            for i in range(len(route)):
                k = route[i]
                rest = route[:i] + route[i + 1 :]
                saving = self._removal_saving(route, i)
                pos, d = self._deltas(rest, np.array([k]))
                if d[0] < saving - 1e-9:
                    route = rest
                    route.insert(int(pos[0]), k)
                    improved = True
                    break
        return route

    def _removal_saving(self, route: list[int], i: int) -> float:
        T = self.Tl
        a = route[i - 1] if i > 0 else 0
        b = route[i + 1] if i + 1 < len(route) else 0
        k = route[i]
        return T[a][k] + self.sl[k] + T[k][b] - T[a][b]

    def replace(self, route: list[int]) -> list[int] | None:
        """Best swap of one visit for one unvisited task of higher prize that fits; None if none."""
        if not route:
            return None
        t = self.duration(route)
        best_gain, best = 1e-9, None
        for i, v in enumerate(route):
            cand = self._free(route, skip=i)
            cand = cand[self.p[cand] > self.pl[v] + 1e-9]
            if not cand.size:
                continue
            rest = route[:i] + route[i + 1 :]
            t_rest = t - self._removal_saving(route, i)
            pos, dmin = self._deltas(rest, cand)
            ok = t_rest + dmin <= self.budget
            if not ok.any():
                continue
            gain = np.where(ok, self.p[cand] - self.pl[v], -np.inf)
            j = int(np.argmax(gain))
            if gain[j] > best_gain:
                best_gain = float(gain[j])
                new = list(rest)
                new.insert(int(pos[j]), int(cand[j]))
                best = new
        return best

    def refill(self, route: list[int]) -> list[int] | None:
        """Drop one visit, shorten and refill greedily; the first better tour, or None."""
        key = self.key(route)
        for i in range(len(route)):
            new = self.insert(self.two_opt(route[:i] + route[i + 1 :]))
            if self.key(new) > key:
                return new
        return None

    def local_search(
        self, route: list[int], rng: np.random.Generator | None = None, rcl: int = 1
    ) -> list[int]:
        route = self.insert(self.two_opt(route), rng, rcl)
        while True:
            route = self.insert(self.relocate(self.two_opt(route)))
            new = self.replace(route)
            if new is None:
                new = self.refill(route)
            if new is None:
                return route
            route = new

    # -- driver ----------------------------------------------------------------------------------
    def run(self, *, seed: int, max_iter: int, stall: int, restarts: int) -> list[int]:
        rng = np.random.default_rng(seed)
        best: list[int] = []
        best_key = self.key(best)
        for restart in range(max(1, restarts)):
            self.power = _POWERS[restart % len(_POWERS)]
            current = self.local_search([], rng if restart else None, 1 if restart == 0 else 3)
            if self.key(current) > best_key:
                best, best_key = current, self.key(current)
            size_s, start_r, idle = 1, 0, 0
            for _ in range(max_iter):
                m = len(current)
                if m == 0:
                    break
                if size_s > max(1, m // 2 + 1):
                    size_s = 1
                start_r %= m
                removed = {(start_r + q) % m for q in range(size_s)}
                shaken = [k for i, k in enumerate(current) if i not in removed]
                self.tabu = {int(self.group[current[i]]) for i in removed}
                # refill without the removed visits first
                shaken = self.insert(self.two_opt(shaken))
                self.tabu = set()
                current = self.local_search(shaken)
                key = self.key(current)
                if key > best_key:
                    best, best_key = current, key
                    size_s, idle = 1, 0
                else:
                    size_s += 1
                    idle += 1
                start_r += size_s
                if idle >= stall:
                    break
                if idle and idle % max(1, stall // 3) == 0:
                    current = list(best)
        return best


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
) -> Tour:
    """Solve a single-tour orienteering problem given as matrices.

    Iterated local search (Vansteenwegen et al. 2009) with Tsiligirides' insertion ratio and
    seeded GRASP restarts; see :mod:`siteplanner.patrol.plan` for the formulation.

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
        Perturbations per restart.
    stall
        Stop a restart after this many perturbations without improvement.
    restarts
        Number of constructions (the first greedy, the others randomised).

    Returns
    -------
    Tour
        The best tour found (``order`` as matrix indices ``1..n``).
    """
    T = np.asarray(travel_min, dtype=float)
    s = np.asarray(service_min, dtype=float)
    p = np.asarray(prizes, dtype=float)
    problems = []
    if T.ndim != 2 or T.shape[0] != T.shape[1]:
        problems.append(
            f"travel_min has shape {T.shape}; accepted: a square (n + 1, n + 1) matrix, "
            "row 0 the depot"
        )
    else:
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
        if twins is not None and len(twins) != n + 1:
            problems.append(
                f"twins has {len(twins)} entries; accepted: {n + 1}, one per matrix row"
            )
    if not (math.isfinite(budget_min) and budget_min >= 0):
        problems.append(f"budget_min = {budget_min!r}; accepted: a finite number of minutes >= 0")
    report_problems(problems, source="solve_orienteering")
    n = T.shape[0] - 1
    tw = np.arange(n + 1) if twins is None else np.asarray(twins, dtype=np.int64)
    solver = _ILS(T, np.concatenate([[0.0], s]), np.concatenate([[0.0], p]), tw, float(budget_min))
    route = solver.run(seed=seed, max_iter=max_iter, stall=stall, restarts=restarts)
    return Tour(
        order=tuple(int(k) for k in route),
        prize=solver.prize(route),
        duration_min=solver.duration(route),
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
