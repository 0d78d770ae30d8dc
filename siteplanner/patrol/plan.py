"""Patrol circuits a municipal police team can walk (or ride) tonight.

A circuit leaves a start node (the police station, or *poste de police municipale*), visits
chosen hot spots where the team stops for a stated dwell time, and comes back to the start
within the shift's time budget, on the real walking (or cycling) network at a stated speed
(*patrouille pédestre* ≈ 4.5 km/h, *patrouille VTT* ≈ 12 km/h). The prize of a stop is the
hotspot intensity of the shift's time window that the cameras do not already cover (see
:func:`uncovered_prizes`); hot street segments walked along count too, once per circuit.

Formulation (orienteering problem, Vansteenwegen, Souffriau & Van Oudheusden 2011)
-----------------------------------------------------------------------------------
Tasks ``i = 1..n`` (stops, and hot segments in both orientations), depot ``0``:

.. math::

    \\max \\sum_i p_i y_i \\quad\\text{s.t.}\\quad
    \\sum_{(i,j)} (t_{ij} + s_j) x_{ij} \\le B,\\;
    \\text{a single tour from } 0 \\text{ back to } 0 \\text{ through the tasks with } y_i = 1,\\;
    y_i + y_{\\bar i} \\le 1

where ``t_ij`` is the shortest-path walking time from the exit node of ``i`` to the entry node of
``j`` (metres / speed), ``s_j`` the service time (the dwell at a stop, the walk along a segment),
``B`` the budget and ``ī`` the other orientation of segment ``i``.

Method
------
The graph becomes a matrix once: one Dijkstra per distinct task node on the undirected street
graph (``scipy.sparse.csgraph``), then the solver only sees arrays (:func:`solve_orienteering`,
a destroy-and-repair search on compiled kernels around the EA4OP operators: its module docstring
says how). On the default town's 60 candidates it finds the optimum that the patrol MILP
(:mod:`siteplanner.patrol.exact`) proves at 60, 90 and 120 minutes on foot
(``benchmarks/patrol_vs_ortools.py`` measures it and OR-Tools against that optimum).
Several teams of one shift are planned one after the other, each on what the previous teams left
(sequential team orienteering), so that no stop is repeated within a shift unless allowed.

A stop is a distinct place: prizes closer than the shift's least stop spacing (100 m on foot,
200 m by bike by default) are merged into one stop before the search
(:func:`~siteplanner.patrol.search.distinct_places`), so that two stops of a circuit are never
the same place twice. A bike patrol rides only the ways a bike may ride (no steps, no
``bicycle=no`` or ``dismount``: :func:`~siteplanner.patrol.network.rideable`).

Everything is deterministic for a given ``seed``: the search runs for a fixed number of
iterations, never against a clock.

Modules
-------
This module plans circuits (:func:`plan_circuit`, :func:`plan_circuits`, :func:`variants`); the
search on matrices is :mod:`siteplanner.patrol.search`, the street graph as a matrix and the
circuit types are :mod:`siteplanner.patrol.network`, and stop names, itineraries and GPX are
:mod:`siteplanner.patrol.itinerary`.
"""

from __future__ import annotations

import logging
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from shapely.geometry import LineString

from siteplanner._errors import report_problems
from siteplanner.patrol.network import (
    FOOT_KMH,
    STOP_SPACING_M,
    Circuit,
    Network,
    Stop,
)
from siteplanner.patrol.search import distinct_places, solve_orienteering

__all__ = [
    "Shift",
    "describe",
    "differs",
    "plan_circuit",
    "plan_circuits",
    "uncovered_prizes",
    "variants",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shift:
    """A patrol shift: its time budget, mode and teams.

    Attributes
    ----------
    name
        Shift name, e.g. ``"soir"``; circuits are named after it.
    budget_min
        Time available for one circuit, minutes (travel plus dwell).
    speed_kmh
        Patrol speed, km/h (:data:`FOOT_KMH`, :data:`BIKE_KMH`).
    dwell_min
        Minutes spent at each stop.
    teams
        Number of teams, one circuit each.
    prizes
        The shift's own prizes (same order as the candidates), e.g. the hotspot intensity of
        its time window; ``None`` uses the prizes given to :func:`plan_circuits`.
    segment_prize
        The shift's own hot-segment prizes; ``None`` uses those given to :func:`plan_circuits`.
    allow_repeat
        Whether two teams of the shift may stop at the same place.
    mode
        ``"foot"`` or ``"bike"`` (only rideable ways, :func:`~siteplanner.patrol.network.rideable`).
    min_stop_spacing_m
        Least distance between two stops of a circuit (m); ``None``: :data:`STOP_SPACING_M` of
        the mode.
    """

    name: str
    budget_min: float
    speed_kmh: float = FOOT_KMH
    dwell_min: float = 12.0
    teams: int = 1
    prizes: tuple[float, ...] | None = None
    segment_prize: Mapping[tuple[int, int], float] | None = None
    allow_repeat: bool = False
    mode: str = "foot"
    min_stop_spacing_m: float | None = None

    def __post_init__(self) -> None:
        if self.prizes is not None:
            object.__setattr__(self, "prizes", tuple(float(p) for p in self.prizes))


# ---------------------------------------------------------------------------------------------


def uncovered_prizes(
    intensity: Sequence[float] | np.ndarray,
    covered: Sequence[float] | np.ndarray,
    *,
    discount: float = 1.0,
) -> np.ndarray:
    """Prize of a place: its hotspot intensity not already watched by cameras.

    Parameters
    ----------
    intensity
        Hotspot intensity of the shift's time window at each candidate.
    covered
        Share of each candidate watched by cameras, in [0, 1] (1 = fully in view).
    discount
        How much camera coverage discounts the prize: 1 removes covered intensity entirely,
        0.5 halves it, 0 ignores cameras.

    Returns
    -------
    np.ndarray
        ``intensity * (1 - discount * covered)``.
    """
    inten = np.asarray(intensity, dtype=float)
    cov = np.asarray(covered, dtype=float)
    problems = []
    if inten.shape != cov.shape:
        problems.append(
            f"intensity has shape {inten.shape} but covered has {cov.shape}; give one value per "
            "candidate in both"
        )
    else:
        for i in np.flatnonzero(~np.isfinite(inten) | (inten < 0)):
            problems.append(f"intensity[{i}] = {inten[i]!r}; accepted: a finite number >= 0")
        for i in np.flatnonzero(~np.isfinite(cov) | (cov < 0) | (cov > 1)):
            problems.append(f"covered[{i}] = {cov[i]!r}; accepted: a share in [0, 1]")
    if not 0.0 <= discount <= 1.0:
        problems.append(f"discount = {discount!r}; accepted: a number in [0, 1]")
    report_problems(problems, source="uncovered_prizes")
    return inten * (1.0 - discount * cov)


# ---------------------------------------------------------------------------------------------
# from the graph to circuits
# ---------------------------------------------------------------------------------------------


def _method(seed: int) -> str:
    return (
        "orienteering ILS (Vansteenwegen et al. 2009; Tsiligirides 1984 insertion ratio; "
        "2-opt, relocate, replace; GRASP restarts) on undirected shortest-path travel times, "
        f"seed={seed}"
    )


def _validate(
    net, start_node, candidates, prizes, budget_min, speed_kmh, dwell_min, segment_prize
) -> tuple[list[int], list[float], dict]:
    problems = []
    cands = list(candidates)
    prz = list(prizes)
    if start_node not in net.index:
        problems.append(
            f"start_node = {start_node!r} is not a node of G; accepted: a node id of the "
            "projected graph"
        )
    if len(cands) != len(prz):
        problems.append(
            f"candidates has {len(cands)} entries but prizes has {len(prz)}; accepted: one prize "
            "per candidate"
        )
    seen: dict[int, int] = {}
    for i, c in enumerate(cands):
        if c not in net.index:
            problems.append(
                f"candidates[{i}] = {c!r} is not a node of G; accepted: node ids of the projected "
                "graph"
            )
        elif c in seen:
            problems.append(
                f"candidates[{i}] = {c!r} repeats candidates[{seen[c]}]; accepted: each node once "
                "(sum their prizes)"
            )
        else:
            seen[c] = i
    for i, v in enumerate(prz):
        try:
            ok = math.isfinite(float(v)) and float(v) >= 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(f"prizes[{i}] = {v!r}; accepted: a finite number >= 0")
    if not (isinstance(budget_min, numbers.Real) and math.isfinite(budget_min) and budget_min >= 0):
        problems.append(f"budget_min = {budget_min!r}; accepted: a finite number of minutes >= 0")
    if not (isinstance(speed_kmh, numbers.Real) and math.isfinite(speed_kmh) and speed_kmh > 0):
        problems.append(f"speed_kmh = {speed_kmh!r}; accepted: a number > 0 (foot 4.5, bike 12)")
    if not (isinstance(dwell_min, numbers.Real) and math.isfinite(dwell_min) and dwell_min >= 0):
        problems.append(f"dwell_min = {dwell_min!r}; accepted: a number of minutes >= 0")
    seg: dict[tuple[int, int], float] = {}
    for key, v in (segment_prize or {}).items():
        try:
            u, w = key
        except (TypeError, ValueError):
            problems.append(f"segment_prize key {key!r}; accepted: a (u, v) pair of adjacent nodes")
            continue
        if (
            u not in net.index
            or w not in net.index
            or (u, w) not in net.edge
            and (w, u) not in net.edge
        ):
            problems.append(
                f"segment_prize key ({u!r}, {w!r}) is not an edge of G; accepted: (u, v) of an edge"
            )
            continue
        try:
            fv = float(v)
        except (TypeError, ValueError):
            fv = float("nan")
        if not (math.isfinite(fv) and fv >= 0):
            problems.append(f"segment_prize[({u}, {w})] = {v!r}; accepted: a finite number >= 0")
            continue
        k = (u, w) if net.index[u] < net.index[w] else (w, u)
        seg[k] = max(seg.get(k, 0.0), fv)  # both directions given: the larger counts
    report_problems(problems, source="plan_circuit")
    return cands, [float(v) for v in prz], seg


def _tasks(
    net: Network,
    start_node: int,
    cands: list[int],
    prz: list[float],
    seg: dict[tuple[int, int], float],
    *,
    excluded: set[int],
    dwell_min: float,
    m_per_min: float,
    max_segments: int,
    prize_noise: np.ndarray | None,
    name: str,
    min_spacing_m: float | None = None,
) -> tuple[list[tuple[int, int, float, float, int]], list[int], int, list, list[float]]:
    """The search's tasks, their twins, the number of stops, the hot segments and the stops'
    prizes.

    A task is ``(entry node, exit node, service min, prize, stop index or -1)``: one per
    distinct place (:func:`distinct_places` of the candidates reachable from the start with a
    prize > 0, before the ``excluded`` ones are left out, so that a place a team already
    visited stays visited), then each of the ``max_segments`` highest hot segments in both
    orientations (twins of each other). The stops' prizes are the candidates' prizes with those
    of each place merged into its kept candidate (0 for the others). ``min_spacing_m`` ``None``:
    :data:`STOP_SPACING_M` of the network's mode.
    """
    if min_spacing_m is None:
        min_spacing_m = STOP_SPACING_M[net.mode]
    net.run([start_node])
    d0 = net.distances(start_node)
    tasks: list[tuple[int, int, float, float, int]] = []
    reach = [
        i for i, (c, p) in enumerate(zip(cands, prz)) if p > 0 and math.isfinite(d0[net.index[c]])
    ]
    unreachable = [
        c
        for c, p in zip(cands, prz)
        if p > 0 and c not in excluded and not math.isfinite(d0[net.index[c]])
    ]
    xy = np.array([(net.G.nodes[cands[i]]["x"], net.G.nodes[cands[i]]["y"]) for i in reach])
    keep, merged = distinct_places(xy, [prz[i] for i in reach], min_spacing_m)
    stop_prz = [0.0] * len(prz)
    for j, p in zip(keep.tolist(), merged.tolist()):
        i = reach[j]
        stop_prz[i] = p
        if cands[i] not in excluded:
            tasks.append((cands[i], cands[i], float(dwell_min), p, i))
    if len(keep) < len(reach):
        log.debug(
            "plan_circuit %r: %d prize node(s) merged into %d place(s) at least %g m apart",
            name,
            len(reach),
            len(keep),
            min_spacing_m,
        )
    if unreachable:
        log.warning(
            "plan_circuit %r: dropped %d candidate(s) unreachable from start node %s: %s",
            name,
            len(unreachable),
            start_node,
            unreachable[:10],
        )
    seg_items = sorted(
        ((p, k) for k, p in seg.items() if p > 0 and math.isfinite(d0[net.index[k[0]]])),
        key=lambda t: (-t[0], net.index[t[1][0]], net.index[t[1][1]]),
    )
    n_stops = len(tasks)
    twins = list(range(n_stops + 1))
    for p, (u, v) in seg_items[:max_segments]:
        length = net.best_edge(u, v)[0]
        j = len(tasks) + 1
        tasks.append((u, v, length / m_per_min, p, -1))
        tasks.append((v, u, length / m_per_min, p, -1))
        twins += [j + 1, j]
    if prize_noise is not None:
        tasks = [
            (a, b, s, p * float(prize_noise[i % len(prize_noise)]), si)
            for i, (a, b, s, p, si) in enumerate(tasks)
        ]
    return tasks, twins, n_stops, seg_items, stop_prz


def _travel_matrix(
    net: Network, start_node: int, tasks: list[tuple[int, int, float, float, int]], m_per_min: float
) -> np.ndarray:
    """Minutes from the exit node of each row task to the entry node of each column task."""
    entries = [start_node] + [t[0] for t in tasks]
    exits = [start_node] + [t[1] for t in tasks]
    net.run(exits)
    ent_idx = np.array([net.index[x] for x in entries], dtype=np.int64)
    uniq = sorted(set(exits), key=net.index.__getitem__)
    rows = {x: net.distances(x)[ent_idx] for x in uniq}
    return np.vstack([rows[x] for x in exits]) / m_per_min


def _expand(
    net: Network,
    start_node: int,
    order: list[int],
    tasks: list[tuple[int, int, float, float, int]],
    *,
    prz: list[float],
    dwell_min: float,
    m_per_min: float,
) -> tuple[list[int], list[Stop], float]:
    """The tour as a street path from the start back to it: (nodes, stops, metres)."""
    path = [start_node]
    stops: list[Stop] = []
    clock = 0.0
    length_m = 0.0
    prev = start_node
    for k in [*order, 0]:
        a, b = (start_node, start_node) if k == 0 else tasks[k - 1][:2]
        leg = net.path(prev, a)
        length_m += net.dist(prev, a)
        clock += net.dist(prev, a) / m_per_min
        path.extend(leg[1:])
        if k == 0:
            break
        _, _, service_k, _, si = tasks[k - 1]
        if si >= 0:
            node = a
            stops.append(
                Stop(
                    node=int(node),
                    x=float(net.G.nodes[node]["x"]),
                    y=float(net.G.nodes[node]["y"]),
                    order=len(stops) + 1,
                    eta_min=clock,
                    dwell_min=float(dwell_min),
                    prize=prz[si],
                    path_index=len(path) - 1,
                )
            )
            clock += service_k
        else:
            path.append(b)
            length_m += net.best_edge(a, b)[0]
            clock += service_k
        prev = b
    return path, stops, length_m


def _walk(
    net: Network, start_node: int, path: list[int], seg: dict[tuple[int, int], float]
) -> tuple[list[tuple[int, int]], list[tuple[float, float]]]:
    """Hot segments walked along (each once, in walking order) and the path's coordinates."""
    walked: list[tuple[int, int]] = []
    seen_pairs = set()
    coords: list[tuple[float, float]] = []
    for u, v in zip(path[:-1], path[1:]):
        if u == v:
            continue
        key = (u, v) if net.index[u] < net.index[v] else (v, u)
        if key in seg and key not in seen_pairs:
            walked.append(key)
        seen_pairs.add(key)
        pts = net.edge_geometry(u, v)
        coords.extend(pts if not coords else pts[1:])
    if len(coords) < 2:
        xy = (float(net.G.nodes[start_node]["x"]), float(net.G.nodes[start_node]["y"]))
        coords = [xy, xy]
    return walked, coords


def _plan(
    net: Network,
    start_node: int,
    candidates: Sequence[int],
    prizes: Sequence[float],
    *,
    budget_min: float,
    speed_kmh: float,
    dwell_min: float,
    segment_prize: Mapping[tuple[int, int], float] | None,
    exclude: Iterable[int],
    seed: int,
    name: str,
    max_segments: int,
    prize_noise: np.ndarray | None = None,
    effort: float = 1.0,
    log_level: int = logging.INFO,
    min_stop_spacing_m: float | None = None,
) -> Circuit:
    cands, prz, seg = _validate(
        net, start_node, candidates, prizes, budget_min, speed_kmh, dwell_min, segment_prize
    )
    m_per_min = speed_kmh * 1000.0 / 60.0
    tasks, twins, n_stops, seg_items, prz = _tasks(
        net,
        start_node,
        cands,
        prz,
        seg,
        excluded=set(exclude),
        dwell_min=dwell_min,
        m_per_min=m_per_min,
        max_segments=max_segments,
        prize_noise=prize_noise,
        name=name,
        min_spacing_m=min_stop_spacing_m,
    )
    tour = solve_orienteering(
        _travel_matrix(net, start_node, tasks, m_per_min),
        np.array([t[2] for t in tasks]),
        np.array([t[3] for t in tasks]),
        budget_min=float(budget_min),
        twins=twins,
        seed=seed,
        max_iter=max(1, int(300 * effort)),
        stall=max(1, int(60 * effort)),
        restarts=max(1, int(round(4 * effort))),
    )
    order = list(tour.order)
    if not order:
        why = (
            f"a budget of {budget_min} min at {speed_kmh} km/h with {dwell_min} min stops leaves "
            f"no stop reachable and back from start node {start_node}"
            if any(t[4] >= 0 for t in tasks) or seg_items
            else "no candidate with a prize > 0 is reachable"
        )
        warnings.warn(
            f"plan_circuit {name!r}: {why}; the circuit stays at the start",
            UserWarning,
            stacklevel=3,
        )
    path, stops, length_m = _expand(
        net, start_node, order, tasks, prz=prz, dwell_min=dwell_min, m_per_min=m_per_min
    )
    walked, coords = _walk(net, start_node, path, seg)
    seg_total = float(sum(seg[k] for k in walked))
    stop_total = float(sum(s.prize for s in stops))
    duration = length_m / m_per_min + dwell_min * len(stops)
    circuit = Circuit(
        name=name,
        nodes=tuple(int(n) for n in path),
        stops=tuple(stops),
        geometry=LineString(coords),
        length_m=float(length_m),
        duration_min=float(duration),
        prize=stop_total + seg_total,
        budget_min=float(budget_min),
        speed_kmh=float(speed_kmh),
        method=_method(seed),
        segment_prize=seg_total,
        segments=tuple(walked),
        mode=net.mode,
    )
    log.log(
        log_level,
        "plan_circuit %r: %s from %d candidate(s) and %d hot segment(s)",
        name,
        describe(circuit),
        n_stops,
        len(seg_items),
    )
    return circuit


def describe(circuit: Circuit) -> str:
    """A circuit's own figures for a log line: stops, length, duration of budget, prize."""
    return (
        f"{len(circuit.stops)} stop(s), {circuit.length_m:.0f} m, {circuit.duration_min:.1f} of "
        f"{circuit.budget_min:.0f} min, prize {circuit.prize:.3g} "
        f"(segments {circuit.segment_prize:.3g})"
    )


def plan_circuit(
    G: nx.MultiDiGraph,
    start_node: int,
    candidates: Sequence[int],
    prizes: Sequence[float],
    *,
    budget_min: float,
    speed_kmh: float = FOOT_KMH,
    dwell_min: float = 12.0,
    segment_prize: Mapping[tuple[int, int], float] | None = None,
    exclude: Iterable[int] = (),
    seed: int = 0,
    name: str = "circuit",
    max_segments: int = 60,
    mode: str = "foot",
    min_stop_spacing_m: float | None = None,
) -> Circuit:
    """Plan one patrol circuit from ``start_node`` back to it within a time budget.

    The street graph is taken as undirected (a patrol on foot may walk a one-way street both
    ways). Candidates unreachable from the start are dropped with a log line. When the budget is
    too small to reach any stop and come back, the circuit stays at the start, with a warning.
    Candidates closer together than ``min_stop_spacing_m`` are one place: the one of highest
    prize is kept with the prizes of the others (:func:`distinct_places`).

    Parameters
    ----------
    G
        Projected osmnx walking (or cycling) graph: node ``x``, ``y``; edge ``length`` (m),
        optional ``geometry`` and ``name``.
    start_node
        The police station's node.
    candidates
        Nodes where the team may stop, each at most once.
    prizes
        One prize per candidate (uncovered hotspot intensity of the shift's window), >= 0.
    budget_min
        The shift's time for the circuit, minutes (walking plus dwell).
    speed_kmh
        Patrol speed (:data:`FOOT_KMH` 4.5, :data:`BIKE_KMH` 12).
    dwell_min
        Minutes spent at each stop.
    segment_prize
        Prize of hot street segments, keyed by ``(u, v)`` of an edge (either direction),
        collected once when the circuit walks along them. The ``max_segments`` highest are
        also targeted by the search, as tasks walked one way or the other.
    exclude
        Candidate nodes not to stop at (already visited by another team of the shift).
    seed
        Seed of the randomised restarts.
    name
        Circuit name.
    max_segments
        How many hot segments the search targets explicitly.
    mode
        ``"foot"`` (every way, steps included) or ``"bike"`` (only the ways a bike may ride:
        :func:`~siteplanner.patrol.network.rideable`).
    min_stop_spacing_m
        Least straight-line distance between two stops, metres; ``None``: 100 on foot, 200 by
        bike (:data:`~siteplanner.patrol.network.STOP_SPACING_M`).

    Returns
    -------
    Circuit
        The circuit; ``duration_min <= budget_min``; its stops at least ``min_stop_spacing_m``
        apart.
    """
    net = Network(G, mode)
    return _plan(
        net,
        start_node,
        candidates,
        prizes,
        budget_min=budget_min,
        speed_kmh=speed_kmh,
        dwell_min=dwell_min,
        segment_prize=segment_prize,
        exclude=exclude,
        seed=seed,
        name=name,
        max_segments=max_segments,
        min_stop_spacing_m=min_stop_spacing_m,
    )


def plan_circuits(
    G: nx.MultiDiGraph,
    start_node: int,
    candidates: Sequence[int],
    prizes: Sequence[float],
    *,
    shifts: Sequence[Shift],
    segment_prize: Mapping[tuple[int, int], float] | None = None,
    exclude: Iterable[int] = (),
    seed: int = 0,
    max_segments: int = 60,
) -> list[Circuit]:
    """Plan one circuit per shift and team.

    Teams of a shift are planned one after the other, each on the stops and hot segments the
    previous teams left, so no stop is repeated within a shift unless ``Shift.allow_repeat``.
    Different shifts are independent (a stop may be visited in the evening and at night).

    Parameters
    ----------
    G
        Projected osmnx graph (see :func:`plan_circuit`).
    start_node
        The police station's node.
    candidates
        Nodes where teams may stop.
    prizes
        Default prizes, one per candidate; a shift's own ``prizes`` replace them.
    shifts
        The shifts to plan.
    segment_prize
        Default hot-segment prizes; a shift's own ``segment_prize`` replaces them.
    exclude
        Candidate nodes no team may stop at.
    seed
        Seed; team ``t`` of a shift uses ``seed + t``.
    max_segments
        How many hot segments the search targets explicitly.

    Returns
    -------
    list[Circuit]
        In shift order, then team order; named ``"<shift>"`` or ``"<shift>-team<t>"``.
    """
    problems = []
    names = set()
    for i, sh in enumerate(shifts):
        if not isinstance(sh, Shift):
            problems.append(f"shifts[{i}] is a {type(sh).__name__}; accepted: a patrol.Shift")
            continue
        if sh.name in names:
            problems.append(
                f"shifts[{i}].name = {sh.name!r} repeats an earlier shift; accepted: unique names"
            )
        names.add(sh.name)
        if not (isinstance(sh.teams, int) and sh.teams >= 1):
            problems.append(f"shifts[{i}].teams = {sh.teams!r}; accepted: an integer >= 1")
        if sh.prizes is not None and len(sh.prizes) != len(candidates):
            problems.append(
                f"shifts[{i}].prizes has {len(sh.prizes)} entries; accepted: {len(candidates)}, "
                "one per candidate"
            )
    report_problems(problems, source="shifts")
    nets = {m: Network(G, m) for m in dict.fromkeys(sh.mode for sh in shifts)}
    out: list[Circuit] = []
    for sh in shifts:
        shift_prizes = list(sh.prizes) if sh.prizes is not None else list(prizes)
        seg = dict(sh.segment_prize if sh.segment_prize is not None else (segment_prize or {}))
        used = set(exclude)
        for team in range(sh.teams):
            name = sh.name if sh.teams == 1 else f"{sh.name}-team{team + 1}"
            c = _plan(
                nets[sh.mode],
                start_node,
                candidates,
                shift_prizes,
                budget_min=sh.budget_min,
                speed_kmh=sh.speed_kmh,
                dwell_min=sh.dwell_min,
                segment_prize=seg,
                exclude=used,
                seed=seed + team,
                name=name,
                max_segments=max_segments,
                min_stop_spacing_m=sh.min_stop_spacing_m,
            )
            out.append(c)
            if not sh.allow_repeat:
                used |= set(c.stop_nodes)
                for u, v in c.segments:  # a street already walked this shift earns nothing more
                    seg.pop((u, v), None)
                    seg.pop((v, u), None)
    log.info(
        "plan_circuits: %d circuit(s) for %d shift(s), total prize %.3g",
        len(out),
        len(shifts),
        sum(c.prize for c in out),
    )
    return out


def differs(circuit: Circuit, other: Circuit) -> bool:
    """True when at least half of ``circuit``'s stops are not stops of ``other``.

    A circuit with the same stops in another order (e.g. run backwards) does not differ.
    """
    mine = set(circuit.stop_nodes)
    if not mine:
        return bool(other.stop_nodes)
    return 2 * len(mine - set(other.stop_nodes)) >= len(mine)


def _check_variants(n: int, within_share: float) -> None:
    """One :class:`InputError` for a bad ``n`` or ``within_share`` of :func:`variants`."""
    problems = []
    if not (isinstance(n, int) and n >= 1):
        problems.append(f"n = {n!r}; accepted: an integer >= 1")
    if not (0.0 < within_share <= 1.0):
        problems.append(f"within_share = {within_share!r}; accepted: a share in (0, 1]")
    report_problems(problems, source="variants")


def _variant(
    net: Network,
    start_node: int,
    candidates: Sequence[int],
    prizes: Sequence[float],
    *,
    kept: Sequence[Circuit],
    rng: np.random.Generator,
    n_tasks: int,
    seed: int,
    name: str,
    common: dict,
) -> Circuit:
    """One perturbed search of :func:`variants`, its warnings silenced.

    Each task's prize is multiplied by seeded noise in [0.4, 1.6], and a seeded random half
    (rounded up) of the stops of every circuit in ``kept`` is left out.
    """
    noise = rng.uniform(0.4, 1.6, size=max(1, n_tasks))
    left_out = set(common["exclude"])
    for k in kept:  # a random half (rounded up) of each kept circuit's stops
        stops = sorted(set(k.stop_nodes))
        left_out |= set(rng.permutation(stops)[: math.ceil(len(stops) / 2)].tolist())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _plan(
            net,
            start_node,
            candidates,
            prizes,
            seed=seed,
            name=name,
            prize_noise=noise,
            effort=0.25,
            **{**common, "exclude": left_out},
        )


def variants(
    G: nx.MultiDiGraph,
    start_node: int,
    candidates: Sequence[int],
    prizes: Sequence[float],
    *,
    n: int,
    within_share: float = 0.9,
    budget_min: float,
    speed_kmh: float = FOOT_KMH,
    dwell_min: float = 12.0,
    segment_prize: Mapping[tuple[int, int], float] | None = None,
    exclude: Iterable[int] = (),
    seed: int = 0,
    name: str = "variant",
    max_segments: int = 60,
    max_attempts: int | None = None,
    mode: str = "foot",
    min_stop_spacing_m: float | None = None,
) -> list[Circuit]:
    """Seeded alternative circuits whose prize stays within a share of the best one.

    So that patrols are not predictable, the best circuit is followed by other circuits: each
    search leaves out a seeded random half of the stops of every circuit already kept and
    perturbs the prizes by seeded noise (each candidate's prize times a factor drawn uniformly
    in [0.4, 1.6]). A variant is kept when its true prize is at least ``within_share`` of the
    best and at least half of its stops are not stops of any circuit already kept (the same
    stops in another order, e.g. the best circuit run backwards, is not a variant).

    Parameters
    ----------
    G, start_node, candidates, prizes, budget_min, speed_kmh, dwell_min, segment_prize, exclude
        As for :func:`plan_circuit`.
    max_segments, mode, min_stop_spacing_m
        As for :func:`plan_circuit`.
    n
        Number of circuits wanted, the best included (first).
    within_share
        Each variant's prize is at least this share of the best prize, in (0, 1].
    seed
        Seed of the noise and the searches.
    name
        Circuits are named ``"<name>-1"`` (the best), ``"<name>-2"``...
    max_attempts
        Perturbed searches tried at most (default ``20 * n``); fewer than ``n`` circuits are
        returned, with a warning, when not enough different ones qualify.

    Returns
    -------
    list[Circuit]
        Up to ``n`` circuits, the best first; each search is a DEBUG line, the prizes one INFO.
    """
    _check_variants(n, within_share)
    net = Network(G, mode)
    common = dict(
        budget_min=budget_min,
        speed_kmh=speed_kmh,
        dwell_min=dwell_min,
        segment_prize=segment_prize,
        exclude=exclude,
        max_segments=max_segments,
        min_stop_spacing_m=min_stop_spacing_m,
        log_level=logging.DEBUG,  # the best is plan_circuit's circuit, logged by its caller
    )
    best = _plan(net, start_node, candidates, prizes, seed=seed, name=f"{name}-1", **common)
    out = [best]
    rng = np.random.default_rng(seed)
    threshold = within_share * best.prize - 1e-9
    n_tasks = len(candidates) + 2 * max_segments
    attempts = 20 * n if max_attempts is None else max_attempts
    for attempt in range(attempts):
        if len(out) >= n:
            break
        c = _variant(
            net,
            start_node,
            candidates,
            prizes,
            kept=out,
            rng=rng,
            n_tasks=n_tasks,
            seed=seed + 1 + attempt,
            name=f"{name}-{len(out) + 1}",
            common=common,
        )
        if c.prize >= threshold and all(differs(c, k) for k in out):
            out.append(c)
    if len(out) < n:
        warnings.warn(
            f"variants: found {len(out)} different circuit(s) within {within_share:.0%} of the "
            f"best prize ({attempts} searches), {n} asked",
            UserWarning,
            stacklevel=2,
        )
    log.info(
        "variants: %d circuit(s), prizes %s (best first)",
        len(out),
        [round(c.prize, 3) for c in out],
    )
    return out
