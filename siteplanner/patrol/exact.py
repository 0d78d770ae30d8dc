"""The patrol circuit solved exactly: an orienteering MILP on matrices, with HiGHS.

:func:`solve_orienteering_exact` takes the same matrices as
:func:`siteplanner.patrol.search.solve_orienteering` (row and column 0 the depot, the police
station) and returns the tour of the highest prize within the budget, with HiGHS's dual bound
and whether optimality was proven. It is the yardstick of the patrol search (see
``benchmarks/patrol_vs_ortools.py``), not a step of the pipeline.

Formulation (orienteering, a single tour from the depot back to it; Fischetti, Salazar González
& Toth 1998, *INFORMS J. Comput.* 10(2), with the subtours cut by a time flow in the manner of
Gavish & Graves 1978). Tasks ``i = 1..n``, prize ``p_i``, service time ``s_i`` (``s_0 = 0``),
travel time ``t_ij``, budget ``B``; binaries ``y_i`` (task ``i`` visited) and ``x_ij`` (the tour
goes straight from ``i`` to ``j``); continuous ``f_ij`` = the time elapsed when the tour leaves
``i`` for ``j`` (service at ``i`` done)::

    maximise    Σ_i p_i y_i
    subject to  Σ_j x_0j = Σ_j x_j0 ≤ 1                         (the depot, left at most once)
                Σ_j x_ij = Σ_j x_ji = y_i            for i ≥ 1   (degree)
                Σ_j f_ij = Σ_{k≥1} f_ki + Σ_k (t_ki + s_i) x_ki
                                                     for i ≥ 1   (time flow; f_0j = 0)
                (d_0i + s_i) x_ij ≤ f_ij ≤ (B − t_ij − s_j − d_j0) x_ij     (time windows)
                Σ_ij (t_ij + s_j) x_ij ≤ B                      (the budget, travel + stops)

The flow strictly grows along every arc (``t_ki + s_i > 0``), so a cycle that avoids the depot
cannot carry it: subtours are excluded, and the tour that leaves the depot at time 0 returns
within ``B``; ``d`` are the shortest paths of the matrix (its entries need not obey the triangle
inequality). Arcs that cannot be on any tour within the budget (``d_0i + s_i + t_ij + s_j + d_j0
> B``) and tasks that cannot be visited alone are left out before the model is built. With
zero service times the flow needs ``t_ki > 0``; a cycle of zero travel and service time is the
only case the formulation does not exclude, and the route read back then says so (``proven``
false).

``proven`` is true only when HiGHS's status is Optimal with ``mip_rel_gap = mip_abs_gap = 0``
(so its dual bound equals the prize up to HiGHS's own tolerances, ``bound`` reports it), the
arcs chosen form one tour from the depot, and that tour, re-timed from the matrix, is within
the budget.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from siteplanner._errors import report_problems

logger = logging.getLogger(__name__)

__all__ = ["ExactTour", "solve_orienteering_exact"]

_EPS = 1e-9  # minutes: tolerance of the budget test against float round-off (as in search.py)
_GAP = 1e-9  # relative: a dual bound this close to the prize counts as equal


@dataclass(frozen=True)
class ExactTour:
    """A solution of :func:`solve_orienteering_exact`.

    Attributes
    ----------
    order
        Visited tasks as matrix indices ``1..n`` in visiting order (the depot ``0`` omitted).
    prize
        Sum of the visited tasks' prizes.
    duration_min
        Travel plus service time from the depot back to it, re-timed from the matrix.
    bound
        HiGHS's dual bound: no tour within the budget collects more (``inf`` when HiGHS gave
        none).
    proven
        The tour is proven optimal (see the module docstring); never true otherwise.
    status
        HiGHS's model status, or why the answer is not proven.
    seconds
        Wall time of the HiGHS run.
    """

    order: tuple[int, ...]
    prize: float
    duration_min: float
    bound: float
    proven: bool
    status: str
    seconds: float


def _validate(T: np.ndarray, s: np.ndarray, p: np.ndarray, budget_min: float) -> None:
    problems = []
    if T.ndim != 2 or T.shape[0] != T.shape[1] or T.shape[0] < 1:
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


def _model(T, s, p, budget, least, keep, ai, aj):
    """Column costs, bounds, integrality and the rows (CSR) of the MILP."""
    n_arc, n_task = len(ai), len(keep)
    pos = np.full(T.shape[0], -1)
    pos[keep] = np.arange(n_task)
    X, Y = 0, n_arc  # column offsets: x (arcs), y (tasks), f (arcs leaving a task)
    flow = np.flatnonzero(ai != 0)
    F = n_arc + n_task
    fcol = np.full(n_arc, -1)
    fcol[flow] = F + np.arange(len(flow))
    n_col = F + len(flow)
    cost = np.zeros(n_col)
    cost[Y : Y + n_task] = -p[keep]
    upper = np.ones(n_col)
    upper[F:] = budget
    integer = np.zeros(n_col, dtype=bool)
    integer[: n_arc + n_task] = True
    rows: list[tuple[float, float, list[int], list[float]]] = []
    arcs = np.arange(n_arc)
    out0, in0 = arcs[ai == 0], arcs[aj == 0]
    rows.append((-math.inf, 1.0, out0.tolist(), [1.0] * len(out0)))
    rows.append((0.0, 0.0, [*out0.tolist(), *in0.tolist()], [1.0] * len(out0) + [-1.0] * len(in0)))
    travel = T[ai, aj]
    for t, k in enumerate(keep):
        out_k, in_k = arcs[ai == k], arcs[aj == k]
        y = Y + t
        rows.append((0.0, 0.0, [*out_k.tolist(), y], [1.0] * len(out_k) + [-1.0]))
        rows.append((0.0, 0.0, [*in_k.tolist(), y], [1.0] * len(in_k) + [-1.0]))
        in_f = in_k[ai[in_k] != 0]
        idx = [*fcol[out_k].tolist(), *fcol[in_f].tolist(), *in_k.tolist()]
        val = [1.0] * len(out_k) + [-1.0] * len(in_f) + (-(travel[in_k] + s[k])).tolist()
        rows.append((0.0, 0.0, idx, val))
    d, d_back = least
    earliest = d[ai] + s[ai]
    latest = budget - travel - s[aj] - d_back[aj]
    for a in flow:
        rows.append((-math.inf, 0.0, [int(fcol[a]), int(a)], [1.0, -float(latest[a])]))
        rows.append((0.0, math.inf, [int(fcol[a]), int(a)], [1.0, -float(earliest[a])]))
    rows.append((-math.inf, budget, arcs.tolist(), (travel + s[aj]).tolist()))
    return cost, upper, integer, rows, X, Y


def _route(x: np.ndarray, ai: np.ndarray, aj: np.ndarray) -> tuple[list[int], bool]:
    """The tour the chosen arcs draw from the depot; False when some chosen arc is off it."""
    succ = {int(i): int(j) for i, j in zip(ai[x > 0.5], aj[x > 0.5])}
    route, node = [], succ.pop(0, None)
    while node is not None and node != 0:
        route.append(node)
        node = succ.pop(node, None)
    return route, not succ and (node == 0 or not route)


def solve_orienteering_exact(
    travel_min: np.ndarray,
    service_min: Sequence[float] | np.ndarray,
    prizes: Sequence[float] | np.ndarray,
    *,
    budget_min: float,
    time_limit_s: float = 600.0,
) -> ExactTour:
    """Solve a single-tour orienteering problem exactly (MILP, HiGHS).

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
        Wall-clock limit of the HiGHS run; when it is hit, the best tour found comes back with
        ``proven`` false.

    Returns
    -------
    ExactTour
        The best tour found, HiGHS's bound, and whether it is proven optimal.
    """
    import highspy

    T = np.asarray(travel_min, dtype=float)
    s = np.asarray(service_min, dtype=float)
    p = np.asarray(prizes, dtype=float)
    _validate(T, s, p, budget_min)
    budget = float(budget_min)
    s0 = np.concatenate([[0.0], s])
    p0 = np.concatenate([[0.0], p])
    least, keep, ai, aj = _arcs(T, s0, p0, budget)
    t0 = time.perf_counter()
    if not len(keep):  # no task fits alone: the empty tour is optimal, nothing to prove
        return ExactTour((), 0.0, 0.0, 0.0, True, "no task fits in the budget", 0.0)
    cost, upper, integer, rows, X, Y = _model(T, s0, p0, budget, least, keep, ai, aj)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    h.setOptionValue("random_seed", 0)
    n_col = len(cost)
    h.addVars(n_col, np.zeros(n_col), upper)
    h.changeColsCost(n_col, np.arange(n_col, dtype=np.int32), cost)
    ints = np.flatnonzero(integer).astype(np.int32)
    h.changeColsIntegrality(len(ints), ints, np.array([highspy.HighsVarType.kInteger] * len(ints)))
    lower = np.array([r[0] for r in rows])
    upper_r = np.array([r[1] for r in rows])
    starts = np.cumsum([0] + [len(r[2]) for r in rows[:-1]]).astype(np.int32)
    index = np.concatenate([np.asarray(r[2], dtype=np.int32) for r in rows])
    value = np.concatenate([np.asarray(r[3], dtype=float) for r in rows])
    h.addRows(len(rows), lower, upper_r, len(index), starts, index, value)
    h.run()
    seconds = time.perf_counter() - t0
    status = h.getModelStatus()
    info = h.getInfo()
    status_txt = f"HiGHS: {h.modelStatusToString(status)}"
    dual = float(info.mip_dual_bound)
    bound = -dual if math.isfinite(dual) else math.inf
    if info.primal_solution_status != 2:  # no feasible solution: keep the empty tour
        return ExactTour((), 0.0, 0.0, bound, False, status_txt + ", no tour", seconds)
    values = np.asarray(h.getSolution().col_value)
    route, whole = _route(values[X : X + len(ai)], ai, aj)
    order = tuple(int(k) for k in route)
    prize = math.fsum(p0[k] for k in order)
    duration = _duration(T, s0, order)
    proven = status == highspy.HighsModelStatus.kOptimal and bound - prize <= _GAP * max(
        1.0, abs(prize)
    )
    if not whole:
        status_txt += "; the chosen arcs do not form one tour from the depot"
        proven = False
    if duration > budget + 1e-6:
        status_txt += f"; the tour takes {duration:.9g} min > budget {budget:g}"
        proven = False
    logger.info(
        "exact orienteering: %d tasks, %d arcs, prize %.9g, bound %.9g, %s, %.2f s",
        len(keep),
        len(ai),
        prize,
        bound,
        status_txt,
        seconds,
    )
    return ExactTour(order, prize, duration, bound, proven, status_txt, seconds)


def _duration(T: np.ndarray, s0: np.ndarray, order: Sequence[int]) -> float:
    t, prev = 0.0, 0
    for k in order:
        t += T[prev, k] + s0[k]
        prev = k
    return float(t + T[prev, 0])
