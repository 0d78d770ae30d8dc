"""The patrol circuit solved exactly: an orienteering MILP on matrices, with HiGHS.

:func:`solve_orienteering_exact` takes the same matrices as
:func:`siteplanner.patrol.search.solve_orienteering` (row and column 0 the depot, the police
station) and returns the tour of the highest prize within the budget, with HiGHS's dual bound
and whether optimality was proven. It is the yardstick of the patrol search (see
``benchmarks/patrol_vs_ortools.py``), not a step of the pipeline.

Formulation (orienteering, a single tour from the depot back to it; Fischetti, Salazar González
& Toth 1998, *INFORMS J. Comput.* 10(2)). Tasks ``i = 1..n``, prize ``p_i``, service time ``s_i``
(``s_0 = 0``), travel time ``t_ij``, budget ``B``; binaries ``y_i`` (task ``i`` visited) and
``x_ij`` (the tour goes straight from ``i`` to ``j``)::

    maximise    Σ_i p_i y_i
    subject to  Σ_j x_0j = Σ_j x_j0 ≤ 1                         (the depot, left at most once)
                Σ_j x_ij = Σ_j x_ji = y_i            for i ≥ 1   (degree)
                y_i ≤ Σ_j x_0j                       for i ≥ 1
                Σ_ij (t_ij + s_j) x_ij ≤ B                      (the budget, travel + stops)
                x_ij + x_ji ≤ y_i,  x_ij + x_ji ≤ y_j            (no 2-cycle)
                Σ_{i,j ∈ S} x_ij ≤ Σ_{i ∈ S∖{k}} y_i  for S ∌ 0, k ∈ S  (subtours, added lazily)

The subtour cuts (generalised subtour elimination constraints) are added in a loop: solve,
find the cycles of the solution that miss the depot, add one cut per task of each, solve again,
until the solution is one tour. Every cut is valid for every tour, so the last model is a
relaxation whose optimum is a tour: that tour is optimal.

``formulation="flow"`` adds a time flow (Gavish & Graves 1978 style): ``f_ij``, the time elapsed
when the tour leaves ``i`` for ``j``, grows along every arc, which no cycle that misses the depot
can carry, so the first solution is usually already one tour (the cut loop stays as a safety
net for cycles of zero duration). Neither dominates (2 cores, loaded; times noisy): on the
benchmark's 60 hotspot candidates the cuts prove the three optima in 1-8 s and the flow in
11-33 s; on its 50 seeded candidates spread over 1.5 km the flow proves 60 and 90 min in 9-34 s
while the cuts need 27 s and then more than 300 s (14 rounds, still a subtour).

Arcs that cannot be on any tour within the budget (``d_0i + s_i + t_ij + s_j + d_j0 > B``,
``d`` the shortest paths of the matrix, whose entries need not obey the triangle inequality)
and tasks that cannot be visited alone are left out before the model is built.

``proven`` is true only when the last HiGHS run's status is Optimal with ``mip_rel_gap =
mip_abs_gap = 0`` (its dual bound equals the prize up to HiGHS's own tolerances, ``bound``
reports it), the chosen arcs form one tour from the depot, and that tour, re-timed from the
matrix, is within the budget. When the time limit stops a round, or a round's solution still
has subtours when time is up, the best tour seen comes back with ``proven`` false.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from siteplanner._errors import report_problems
from siteplanner.patrol.search import Tour, matrix_problems

logger = logging.getLogger(__name__)

__all__ = ["ExactTour", "solve_orienteering_exact"]

_EPS = 1e-9  # minutes: tolerance of the budget test against float round-off (as in search.py)
_GAP = 1e-9  # relative: a dual bound this close to the prize counts as equal


@dataclass(frozen=True)
class ExactTour(Tour):
    """A solution of :func:`solve_orienteering_exact`: a :class:`~siteplanner.patrol.search.Tour`
    (``duration_min`` re-timed from the matrix) and what HiGHS proved of it.

    Attributes
    ----------
    bound
        HiGHS's dual bound: no tour within the budget collects more (``inf`` when HiGHS gave
        none).
    proven
        The tour is proven optimal (see the module docstring); never true otherwise.
    status
        HiGHS's model status, or why the answer is not proven.
    seconds
        Wall time of the HiGHS runs.
    rounds
        HiGHS runs (one per round of subtour cuts).
    """

    bound: float
    proven: bool
    status: str
    seconds: float
    rounds: int


def _validate(
    T: np.ndarray, s: np.ndarray, p: np.ndarray, budget_min: float, formulation: str
) -> None:
    problems = matrix_problems(T, s, p)
    if formulation not in ("cuts", "flow"):
        problems.append(f"formulation = {formulation!r}; accepted: 'cuts' or 'flow'")
    if not (isinstance(budget_min, (int, float)) and math.isfinite(budget_min) and budget_min >= 0):
        problems.append(f"budget_min = {budget_min!r}; accepted: a finite number of minutes >= 0")
    report_problems(problems, source="solve_orienteering_exact")


def _arcs(T: np.ndarray, s: np.ndarray, p: np.ndarray, budget: float):
    """Least travel times, the tasks worth a visit and the arcs that fit on a tour in the budget.

    The bounds use the shortest paths ``d`` of the matrix (its own entries need not obey the
    triangle inequality, e.g. ``inf`` where a task is reached only through another one): a tour
    through ``i`` then ``j`` takes at least ``d_0i + s_i + t_ij + s_j + d_j0``.
    """
    from scipy.sparse.csgraph import csgraph_from_dense, shortest_path

    d = shortest_path(csgraph_from_dense(T, null_value=np.inf), method="D", indices=[0])[0]
    d_back = shortest_path(csgraph_from_dense(T.T, null_value=np.inf), method="D", indices=[0])[0]
    alone = d + s + d_back
    keep = np.flatnonzero((alone <= budget + _EPS) & (p > 0))
    keep = keep[keep > 0]
    nodes = np.concatenate([[0], keep])
    i, j = np.meshgrid(nodes, nodes, indexing="ij")
    i, j = i.ravel(), j.ravel()
    tight = d[i] + s[i] + T[i, j] + s[j] + d_back[j]
    ok = (i != j) & np.isfinite(T[i, j]) & (tight <= budget + _EPS)
    return (d, d_back), keep, i[ok], j[ok]


class _Model:
    """The MILP in a ``highspy.Highs``: columns ``x`` (one per arc) then ``y`` (one per task)."""

    def __init__(self, T, s, p, budget, keep, ai, aj, time_limit_s, least=None):
        import highspy

        self.highspy, self.ai, self.aj = highspy, ai, aj
        n_arc, n_task = len(ai), len(keep)
        self.Y = n_arc
        self.pos = np.full(T.shape[0], -1)
        self.pos[keep] = np.arange(n_task)
        h = self.h = highspy.Highs()
        for name, value in (
            ("output_flag", False),
            ("time_limit", float(time_limit_s)),
            ("mip_rel_gap", 0.0),
            ("mip_abs_gap", 0.0),
            ("random_seed", 0),
        ):
            h.setOptionValue(name, value)
        n_col = n_arc + n_task
        cols = np.arange(n_col, dtype=np.int32)
        h.addVars(n_col, np.zeros(n_col), np.ones(n_col))
        h.changeColsCost(n_col, cols, np.concatenate([np.zeros(n_arc), -p[keep]]))
        h.changeColsIntegrality(n_col, cols, np.array([highspy.HighsVarType.kInteger] * n_col))
        arcs = np.arange(n_arc)
        out0, in0 = arcs[ai == 0], arcs[aj == 0]
        self.row(-math.inf, 1.0, out0, np.ones(len(out0)))
        self.row(0.0, 0.0, np.r_[out0, in0], np.r_[np.ones(len(out0)), -np.ones(len(in0))])
        for t, k in enumerate(keep):
            for a in (arcs[ai == k], arcs[aj == k]):  # out- and in-degree = y_k
                self.row(0.0, 0.0, np.r_[a, self.Y + t], np.r_[np.ones(len(a)), -1.0])
            self.row(-math.inf, 0.0, np.r_[self.Y + t, out0], np.r_[1.0, -np.ones(len(out0))])
        self.row(-math.inf, budget, arcs, T[ai, aj] + s[aj])
        back = {(int(i), int(j)): a for a, (i, j) in enumerate(zip(ai, aj))}
        for (i, j), a in back.items():
            b = back.get((j, i))
            if i and j and b is not None and i < j:
                for k in (i, j):
                    self.row(-math.inf, 0.0, [a, b, self.Y + self.pos[k]], [1.0, 1.0, -1.0])
        if least is not None:
            self._time_flow(T, s, budget, keep, least)

    def _time_flow(self, T, s, budget, keep, least) -> None:
        """Columns ``f_ij`` (time elapsed when the tour leaves ``i`` for ``j``) and their rows.

        ``Σ_j f_kj = Σ_{i ≥ 1} f_ik + Σ_i (t_ik + s_k) x_ik`` for each task ``k``, and
        ``(d_0i + s_i) x_ij ≤ f_ij ≤ (B − t_ij − s_j − d_j0) x_ij``: the time grows along the
        tour, so no cycle of positive duration can miss the depot (Gavish & Graves 1978 style).
        """
        ai, aj, h = self.ai, self.aj, self.h
        d, d_back = least
        legs = np.flatnonzero(ai != 0)
        first = h.getNumCol()
        fcol = np.full(len(ai), -1)
        fcol[legs] = first + np.arange(len(legs))
        h.addVars(len(legs), np.zeros(len(legs)), np.full(len(legs), float(budget)))
        travel = T[ai, aj]
        arcs = np.arange(len(ai))
        for k in keep:
            out_k, in_k = arcs[ai == k], arcs[aj == k]
            in_f = in_k[ai[in_k] != 0]
            self.row(
                0.0,
                0.0,
                np.r_[fcol[out_k], fcol[in_f], in_k],
                np.r_[np.ones(len(out_k)), -np.ones(len(in_f)), -(travel[in_k] + s[k])],
            )
        earliest = d[ai] + s[ai]
        latest = budget - travel - s[aj] - d_back[aj]
        for a in legs:
            self.row(-math.inf, 0.0, [fcol[a], a], [1.0, -latest[a]])
            self.row(0.0, math.inf, [fcol[a], a], [1.0, -earliest[a]])

    def row(self, lower: float, upper: float, index, value) -> None:
        index = np.asarray(index, dtype=np.int32)
        self.h.addRow(lower, upper, len(index), index, np.asarray(value, dtype=float))

    def cut_subtour(self, cycle: list[int]) -> None:
        """Σ_{i,j ∈ S} x_ij ≤ Σ_{i ∈ S∖{k}} y_i for each task k of the cycle S."""
        members = np.zeros(max(self.pos.size, 1), dtype=bool)
        members[cycle] = True
        inside = np.flatnonzero(members[self.ai] & members[self.aj])
        ys = self.Y + self.pos[cycle]
        for y_k in ys:
            others = ys[ys != y_k]
            self.row(
                -math.inf,
                0.0,
                np.r_[inside, others],
                np.r_[np.ones(len(inside)), -np.ones(len(others))],
            )

    def run(self, time_left: float):
        """One HiGHS run: (status, dual bound on the prize, arc values or None)."""
        h = self.h
        h.setOptionValue("time_limit", max(float(time_left), 0.0))
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        dual = float(info.mip_dual_bound)
        bound = -dual if math.isfinite(dual) else math.inf
        if info.primal_solution_status != 2:  # no feasible solution
            return status, bound, None
        return status, bound, np.asarray(h.getSolution().col_value)[: self.Y]


def _cycles(x: np.ndarray, ai: np.ndarray, aj: np.ndarray) -> tuple[list[int], list[list[int]]]:
    """The tour the chosen arcs draw from the depot, and the cycles that miss the depot."""
    succ = {int(i): int(j) for i, j in zip(ai[x > 0.5], aj[x > 0.5])}
    route, node = [], succ.pop(0, None)
    while node is not None and node != 0:
        route.append(node)
        node = succ.pop(node, None)
    cycles = []
    while succ:
        start, nxt = succ.popitem()
        cycle = [start]
        while nxt != start and nxt in succ:
            cycle.append(nxt)
            nxt = succ.pop(nxt)
        cycles.append(cycle)
    return route, cycles


def solve_orienteering_exact(
    travel_min: np.ndarray,
    service_min: Sequence[float] | np.ndarray,
    prizes: Sequence[float] | np.ndarray,
    *,
    budget_min: float,
    time_limit_s: float = 600.0,
    formulation: str = "cuts",
) -> ExactTour:
    """Solve a single-tour orienteering problem exactly (MILP, HiGHS, subtour cuts in a loop).

    Parameters
    ----------
    travel_min
        ``(n + 1, n + 1)`` travel times in minutes, row/column 0 the depot (start = end),
        ``inf`` where unreachable; need not be symmetric.
    service_min
        ``n`` service times, minutes (dwell at a stop).
    prizes
        ``n`` prizes >= 0.
    budget_min
        Maximum tour duration (travel plus service), minutes.
    time_limit_s
        Wall-clock limit of all the HiGHS runs together; when it is hit, the best tour found
        comes back with ``proven`` false.
    formulation
        ``"cuts"`` (subtour cuts in a loop) or ``"flow"`` (a time flow as well); see the module
        docstring for which is faster where.

    Returns
    -------
    ExactTour
        The best tour found, HiGHS's bound, and whether it is proven optimal.
    """
    T = np.asarray(travel_min, dtype=float)
    s = np.asarray(service_min, dtype=float)
    p = np.asarray(prizes, dtype=float)
    _validate(T, s, p, budget_min, formulation)
    budget = float(budget_min)
    s0 = np.concatenate([[0.0], s])
    p0 = np.concatenate([[0.0], p])
    least, keep, ai, aj = _arcs(T, s0, p0, budget)
    if not len(keep):  # no task fits alone: the empty tour is optimal, nothing to prove
        return ExactTour((), 0.0, 0.0, 0.0, True, "no task fits in the budget", 0.0, 0)
    t0 = time.perf_counter()
    model = _Model(
        T, s0, p0, budget, keep, ai, aj, time_limit_s, least if formulation == "flow" else None
    )
    optimal = model.highspy.HighsModelStatus.kOptimal
    best: tuple[int, ...] = ()  # the best tour within the budget seen in any round
    rounds, closed = 0, False
    while not closed:
        rounds += 1
        status, bound, x = model.run(time_limit_s - (time.perf_counter() - t0))
        status_txt = f"HiGHS: {model.h.modelStatusToString(status)}"
        if x is None:
            status_txt += ", no tour"
            break
        route, cycles = _cycles(x, ai, aj)
        tour = tuple(int(k) for k in route)
        within = _duration(T, s0, tour) <= budget + 1e-6
        if within and math.fsum(p0[list(tour)]) >= math.fsum(p0[list(best)]):
            best = tour
        closed = status == optimal and not cycles and within and best == tour
        if closed:
            break
        if status != optimal:
            status_txt += f"; {len(cycles)} subtour(s) left" if cycles else ""
            break
        if not cycles:  # optimal, one tour, yet not within the budget once re-timed
            status_txt += "; the tour re-timed from the matrix exceeds the budget"
            break
        for cycle in cycles:
            model.cut_subtour(cycle)
    seconds = time.perf_counter() - t0
    prize = math.fsum(p0[k] for k in best)
    duration = _duration(T, s0, best)
    proven = closed and bound - prize <= _GAP * max(1.0, abs(prize))
    logger.info(
        "exact orienteering: %d tasks, %d arcs, prize %.9g, bound %.9g, %s, %d round(s), %.2f s",
        len(keep),
        len(ai),
        prize,
        bound,
        status_txt,
        rounds,
        seconds,
    )
    return ExactTour(best, prize, duration, bound, proven, status_txt, seconds, rounds)


def _duration(T: np.ndarray, s0: np.ndarray, order: Sequence[int]) -> float:
    t, prev = 0.0, 0
    for k in order:
        t += T[prev, k] + s0[k]
        prev = k
    return float(t + T[prev, 0])
