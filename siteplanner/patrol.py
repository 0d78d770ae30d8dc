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
graph (``scipy.sparse.csgraph``), then the solver only sees arrays (:func:`solve_orienteering`):
an iterated local search in the manner of Vansteenwegen et al. (2009, "Iterated local search for
the team orienteering problem with time windows", *Computers & OR* 36(12)): greedy insertion by
the ratio ``prizeᵏ / added time`` (Tsiligirides 1984, *J. Oper. Res. Soc.* 35(9); k = 2, then
1, 3, 1.5 in later restarts), 2-opt, relocation, replacement of a visit by a better unvisited
task, and drop-one-and-refill; perturbed by removing ``S`` consecutive visits from position ``R``
and refilling without them first (a one-step tabu); the restarts after the first use a seeded
randomised greedy construction (GRASP, Feo & Resende 1995). The result is expanded back to the
street path along edge geometries. On the default town (50 candidates, 60–120 min on foot)
it reaches the prize of OR-Tools' guided local search in about a tenth of its time
(``benchmarks/patrol_vs_ortools.py``).
Several teams of one shift are planned one after the other, each on what the previous teams left
(sequential team orienteering), so that no stop is repeated within a shift unless allowed.

Everything is deterministic for a given ``seed``: the search runs for a fixed number of
iterations, never against a clock.
"""

from __future__ import annotations

import logging
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from siteplanner._errors import InputError, report_problems

__all__ = [
    "BIKE_KMH",
    "FOOT_KMH",
    "UNNAMED_STREET",
    "Circuit",
    "Shift",
    "Stop",
    "Tour",
    "distance_matrix",
    "itinerary",
    "plan_circuit",
    "plan_circuits",
    "solve_orienteering",
    "to_gpx",
    "uncovered_prizes",
    "variants",
]

log = logging.getLogger(__name__)

FOOT_KMH = 4.5
"""Walking speed of a foot patrol (*patrouille pédestre*, *îlotage*), km/h."""
BIKE_KMH = 12.0
"""Riding speed of a bike patrol (*patrouille VTT*), km/h."""
UNNAMED_STREET = "unnamed street"
"""Street name used in itineraries where OSM has none."""

_EPS = 1e-9  # minutes: tolerance of the budget test against float round-off


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stop:
    """A dwell stop of a circuit.

    Attributes
    ----------
    node
        Graph node where the team stops.
    x, y
        Its coordinates in the graph's projected CRS.
    order
        1 for the first stop after leaving the start, 2 for the next...
    eta_min
        Minutes after departure at which the team arrives.
    dwell_min
        Minutes spent there.
    prize
        The stop's prize (uncovered hotspot intensity).
    name
        Where the team stops, in words: the nearest named street and, when one is near, the
        nearest named place (school, gare, square...), e.g. ``"Boulevard de la République, near
        École du Centre"``; empty until :func:`name_stops`.
    """

    node: int
    x: float
    y: float
    order: int
    eta_min: float
    dwell_min: float
    prize: float
    name: str = ""


@dataclass(frozen=True)
class Circuit:
    """A patrol circuit from the start node back to it.

    Attributes
    ----------
    name
        Circuit name (shift, team, variant).
    nodes
        Full street path as graph nodes, ``nodes[0] == nodes[-1]`` (the start).
    stops
        Dwell stops in visiting order.
    geometry
        The path in the graph's projected CRS, following the edges' geometries.
    length_m
        Walked (ridden) length in metres.
    duration_min
        Travel time plus dwell time, minutes; never above ``budget_min``.
    prize
        Prize collected: stops' prizes plus the prizes of the hot segments walked (each once).
    budget_min
        The shift's time budget, minutes.
    speed_kmh
        Speed used, km/h.
    method
        How the circuit was found (method, references, seed).
    segment_prize
        Part of ``prize`` that comes from hot segments walked along.
    segments
        Hot segments walked along, as ``(u, v)`` with ``u < v``, in walking order.
    """

    name: str
    nodes: tuple[int, ...]
    stops: tuple[Stop, ...]
    geometry: LineString
    length_m: float
    duration_min: float
    prize: float
    budget_min: float
    speed_kmh: float
    method: str
    segment_prize: float = 0.0
    segments: tuple[tuple[int, int], ...] = ()

    @property
    def stop_nodes(self) -> tuple[int, ...]:
        """Nodes of the stops in visiting order."""
        return tuple(s.node for s in self.stops)


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
    """

    name: str
    budget_min: float
    speed_kmh: float = FOOT_KMH
    dwell_min: float = 12.0
    teams: int = 1
    prizes: tuple[float, ...] | None = None
    segment_prize: Mapping[tuple[int, int], float] | None = None
    allow_repeat: bool = False

    def __post_init__(self) -> None:
        if self.prizes is not None:
            object.__setattr__(self, "prizes", tuple(float(p) for p in self.prizes))


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


# ---------------------------------------------------------------------------------------------
# prizes
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
            f"intensity has shape {inten.shape} but covered has {cov.shape}; give one value per candidate in both"
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
# the street network as a matrix
# ---------------------------------------------------------------------------------------------


class _Network:
    """The graph as an undirected CSR matrix, with cached single-source Dijkstra results."""

    def __init__(self, G: nx.MultiDiGraph) -> None:
        if not isinstance(G, nx.MultiDiGraph) and not isinstance(G, nx.MultiGraph):
            raise InputError(
                f"G is a {type(G).__name__}; accepted: an osmnx MultiDiGraph projected with ox.project_graph"
            )
        self.G = G
        self.nodes = sorted(G.nodes)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        self.edge: dict[tuple[int, int], tuple[float, int, int, object]] = {}
        problems = []
        for u, v, k, data in G.edges(keys=True, data=True):
            if u == v:
                continue
            length = data.get("length")
            try:
                length = float(length)
            except (TypeError, ValueError):
                length = float("nan")
            if not math.isfinite(length) or length < 0:
                problems.append(
                    f"edge ({u}, {v}, {k}) has length {data.get('length')!r}; accepted: a finite number of metres >= 0"
                )
                continue
            key = (u, v) if self.index[u] < self.index[v] else (v, u)
            old = self.edge.get(key)
            if old is None or length < old[0]:
                self.edge[key] = (length, u, v, k)
        for n in self.nodes[:1]:
            if "x" not in G.nodes[n] or "y" not in G.nodes[n]:
                problems.append(
                    f"node {n} has no 'x'/'y'; accepted: a graph projected with ox.project_graph"
                )
        report_problems(problems, source="G")
        crs = G.graph.get("crs")
        if crs is not None:
            try:
                import pyproj

                if pyproj.CRS.from_user_input(crs).is_geographic:
                    raise InputError(
                        f"G has the geographic CRS {crs}; accepted: a projected metric CRS (ox.project_graph(G))"
                    )
            except pyproj.exceptions.CRSError:
                pass
        n = len(self.nodes)
        if self.edge:
            pairs = np.array([(self.index[a], self.index[b]) for a, b in self.edge], dtype=np.int64)
            w = np.array(
                [max(e[0], 1e-6) for e in self.edge.values()]
            )  # csgraph drops explicit zeros
            rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
            cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
            self.csr = csr_matrix((np.concatenate([w, w]), (rows, cols)), shape=(n, n))
        else:
            self.csr = csr_matrix((n, n))
        self._dist: dict[int, np.ndarray] = {}
        self._pred: dict[int, np.ndarray] = {}

    def run(self, sources: Iterable[int]) -> None:
        """Run Dijkstra from every source node not cached yet."""
        todo = sorted({s for s in sources if s not in self._dist}, key=self.index.__getitem__)
        if not todo:
            return
        dist, pred = dijkstra(
            self.csr,
            directed=False,
            indices=[self.index[s] for s in todo],
            return_predecessors=True,
        )
        for s, d, p in zip(todo, dist, pred):
            self._dist[s] = d
            self._pred[s] = p

    def dist(self, src: int, dst: int) -> float:
        return float(self._dist[src][self.index[dst]])

    def path(self, src: int, dst: int) -> list[int]:
        """Node path src → dst (both included) from the cached predecessors of ``src``."""
        pred = self._pred[src]
        i, target = self.index[dst], self.index[src]
        out = [i]
        while i != target:
            i = pred[i]
            if i < 0:
                raise RuntimeError(
                    f"no path from {src} to {dst}"
                )  # pragma: no cover - callers check reachability
            out.append(i)
        return [self.nodes[j] for j in reversed(out)]

    def best_edge(self, u: int, v: int) -> tuple[float, int, int, object]:
        key = (u, v) if self.index[u] < self.index[v] else (v, u)
        return self.edge[key]

    def edge_geometry(self, u: int, v: int) -> list[tuple[float, float]]:
        """Coordinates of the shortest edge between u and v, oriented from u to v."""
        _, a, b, k = self.best_edge(u, v)
        data = self.G.edges[a, b, k]
        nu, nv = self.G.nodes[u], self.G.nodes[v]
        geom = data.get("geometry")
        if geom is None:
            return [(nu["x"], nu["y"]), (nv["x"], nv["y"])]
        coords = list(geom.coords)
        d0 = (coords[0][0] - nu["x"]) ** 2 + (coords[0][1] - nu["y"]) ** 2
        d1 = (coords[-1][0] - nu["x"]) ** 2 + (coords[-1][1] - nu["y"]) ** 2
        return coords if d0 <= d1 else coords[::-1]

    def edge_name(self, u: int, v: int) -> str:
        _, a, b, k = self.best_edge(u, v)
        name = self.G.edges[a, b, k].get("name")
        if isinstance(name, (list, tuple)):
            name = " / ".join(str(x) for x in name if isinstance(x, str) and x)
        if not isinstance(name, str) or not name:
            return UNNAMED_STREET
        return name


def distance_matrix(G: nx.MultiDiGraph, nodes: Sequence[int]) -> np.ndarray:
    """Shortest-path distances between nodes on the street graph taken as undirected.

    Parameters
    ----------
    G
        Projected osmnx graph (edge attribute ``length`` in metres).
    nodes
        Graph nodes, e.g. ``[start, *candidates]``.

    Returns
    -------
    np.ndarray
        ``(len(nodes), len(nodes))`` metres, symmetric, ``inf`` where unreachable.
    """
    net = _Network(G)
    _check_nodes(net, nodes, "nodes")
    net.run(nodes)
    idx = [net.index[n] for n in nodes]
    return np.vstack([net._dist[n][idx] for n in nodes]) if len(nodes) else np.zeros((0, 0))


def _check_nodes(net: _Network, nodes: Iterable[int], name: str) -> None:
    report_problems(
        (
            f"{name}[{i}] = {n!r} is not a node of G; accepted: node ids of the projected graph"
            for i, n in enumerate(nodes)
            if n not in net.index
        ),
        source=name,
    )


# ---------------------------------------------------------------------------------------------
# the solver: iterated local search on the matrix
# ---------------------------------------------------------------------------------------------


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
        self.tabu: set[int] = (
            set()
        )  # groups kept out of the tour for one refill after a perturbation

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
                shaken = self.insert(
                    self.two_opt(shaken)
                )  # refill without the removed visits first
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
    seeded GRASP restarts; see the module docstring for the formulation.

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
            f"travel_min has shape {T.shape}; accepted: a square (n + 1, n + 1) matrix, row 0 the depot"
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


# ---------------------------------------------------------------------------------------------
# from the graph to circuits
# ---------------------------------------------------------------------------------------------


def _method(seed: int) -> str:
    return (
        "orienteering ILS (Vansteenwegen et al. 2009; Tsiligirides 1984 insertion ratio; 2-opt, relocate, "
        f"replace; GRASP restarts) on undirected shortest-path travel times, seed={seed}"
    )


def _validate(
    net, start_node, candidates, prizes, budget_min, speed_kmh, dwell_min, segment_prize
) -> tuple[list[int], list[float], dict]:
    problems = []
    cands = list(candidates)
    prz = list(prizes)
    if start_node not in net.index:
        problems.append(
            f"start_node = {start_node!r} is not a node of G; accepted: a node id of the projected graph"
        )
    if len(cands) != len(prz):
        problems.append(
            f"candidates has {len(cands)} entries but prizes has {len(prz)}; accepted: one prize per candidate"
        )
    seen: dict[int, int] = {}
    for i, c in enumerate(cands):
        if c not in net.index:
            problems.append(
                f"candidates[{i}] = {c!r} is not a node of G; accepted: node ids of the projected graph"
            )
        elif c in seen:
            problems.append(
                f"candidates[{i}] = {c!r} repeats candidates[{seen[c]}]; accepted: each node once (sum their prizes)"
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


def _plan(
    net: _Network,
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
) -> Circuit:
    cands, prz, seg = _validate(
        net, start_node, candidates, prizes, budget_min, speed_kmh, dwell_min, segment_prize
    )
    excluded = set(exclude)
    m_per_min = speed_kmh * 1000.0 / 60.0

    # tasks: (entry node, exit node, service min, prize, stop index or -1)
    net.run([start_node])
    d0 = net._dist[start_node]
    tasks: list[tuple[int, int, float, float, int]] = []
    unreachable = []
    for i, (c, p) in enumerate(zip(cands, prz)):
        if c in excluded or p <= 0:
            continue
        if not math.isfinite(d0[net.index[c]]):
            unreachable.append(c)
            continue
        tasks.append((c, c, float(dwell_min), p, i))
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

    # matrix: travel from the exit node of row task to the entry node of column task
    entries = [start_node] + [t[0] for t in tasks]
    exits = [start_node] + [t[1] for t in tasks]
    net.run(exits)
    ent_idx = np.array([net.index[x] for x in entries], dtype=np.int64)
    uniq = sorted(set(exits), key=net.index.__getitem__)
    rows = {x: net._dist[x][ent_idx] for x in uniq}
    T = np.vstack([rows[x] for x in exits]) / m_per_min
    service = np.array([t[2] for t in tasks])
    tprize = np.array([t[3] for t in tasks])

    tour = solve_orienteering(
        T,
        service,
        tprize,
        budget_min=float(budget_min),
        twins=twins,
        seed=seed,
        max_iter=max(1, int(300 * effort)),
        stall=max(1, int(60 * effort)),
        restarts=max(1, int(round(4 * effort))),
    )
    order = list(tour.order)
    if not order:
        if any(t[4] >= 0 for t in tasks) or seg_items:
            warnings.warn(
                f"plan_circuit {name!r}: a budget of {budget_min} min at {speed_kmh} km/h with {dwell_min} min stops "
                f"leaves no stop reachable and back from start node {start_node}; the circuit stays at the start",
                UserWarning,
                stacklevel=3,
            )
        else:
            warnings.warn(
                f"plan_circuit {name!r}: no candidate with a prize > 0 is reachable; the circuit stays at the start",
                UserWarning,
                stacklevel=3,
            )

    # expand to the street path
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
                )
            )
            clock += service_k
        else:
            path.append(b)
            length_m += net.best_edge(a, b)[0]
            clock += service_k
        prev = b

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
    )
    log.log(
        log_level,
        "plan_circuit %r: %d stop(s), %.0f m, %.1f of %.0f min, prize %.3g (segments %.3g) from %d candidate(s) and %d hot segment(s)",
        name,
        len(stops),
        length_m,
        duration,
        budget_min,
        circuit.prize,
        seg_total,
        n_stops,
        len(seg_items),
    )
    return circuit


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
) -> Circuit:
    """Plan one patrol circuit from ``start_node`` back to it within a time budget.

    The street graph is taken as undirected (a patrol on foot may walk a one-way street both
    ways). Candidates unreachable from the start are dropped with a log line. When the budget is
    too small to reach any stop and come back, the circuit stays at the start, with a warning.

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

    Returns
    -------
    Circuit
        The circuit; ``duration_min <= budget_min``.
    """
    net = _Network(G)
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
                f"shifts[{i}].prizes has {len(sh.prizes)} entries; accepted: {len(candidates)}, one per candidate"
            )
    report_problems(problems, source="shifts")
    net = _Network(G)
    out: list[Circuit] = []
    for sh in shifts:
        shift_prizes = list(sh.prizes) if sh.prizes is not None else list(prizes)
        seg = dict(sh.segment_prize if sh.segment_prize is not None else (segment_prize or {}))
        used = set(exclude)
        for team in range(sh.teams):
            name = sh.name if sh.teams == 1 else f"{sh.name}-team{team + 1}"
            c = _plan(
                net,
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
    G, start_node, candidates, prizes, budget_min, speed_kmh, dwell_min, segment_prize, exclude, max_segments
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
        Up to ``n`` circuits, the best first.
    """
    problems = []
    if not (isinstance(n, int) and n >= 1):
        problems.append(f"n = {n!r}; accepted: an integer >= 1")
    if not (0.0 < within_share <= 1.0):
        problems.append(f"within_share = {within_share!r}; accepted: a share in (0, 1]")
    report_problems(problems, source="variants")
    net = _Network(G)
    common = dict(
        budget_min=budget_min,
        speed_kmh=speed_kmh,
        dwell_min=dwell_min,
        segment_prize=segment_prize,
        exclude=exclude,
        max_segments=max_segments,
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
        noise = rng.uniform(0.4, 1.6, size=max(1, n_tasks))
        left_out = set(common["exclude"])
        for k in out:  # a random half (rounded up) of each kept circuit's stops
            stops = sorted(set(k.stop_nodes))
            left_out |= set(rng.permutation(stops)[: math.ceil(len(stops) / 2)].tolist())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            c = _plan(
                net,
                start_node,
                candidates,
                prizes,
                seed=seed + 1 + attempt,
                name=f"{name}-{len(out) + 1}",
                prize_noise=noise,
                effort=0.25,
                log_level=logging.DEBUG,
                **{**common, "exclude": left_out},
            )
        if c.prize >= threshold and all(differs(c, k) for k in out):
            out.append(c)
    if len(out) < n:
        warnings.warn(
            f"variants: found {len(out)} different circuit(s) within {within_share:.0%} of the best prize "
            f"({attempts} searches), {n} asked",
            UserWarning,
            stacklevel=2,
        )
    log.info(
        "variants: %d circuit(s), prizes %s (best %.3g)",
        len(out),
        [round(c.prize, 3) for c in out],
        best.prize,
    )
    return out


# ---------------------------------------------------------------------------------------------
# outputs for the report and the teams' phones
# ---------------------------------------------------------------------------------------------

#: kinds of points of interest a stop may be named after (``io.classify_pois`` kinds)
PLACE_KINDS = (
    "school",
    "station",
    "bus_station",
    "townhall",
    "police",
    "park",
    "public_building",
    "square",
)
PLACE_WORDS = {
    "school": "school",
    "station": "gare",
    "bus_station": "gare routière",
    "townhall": "mairie",
    "police": "police",
    "park": "park",
    "public_building": "public building",
    "square": "square",
}


def name_stops(
    circuits: Sequence[Circuit],
    G: nx.MultiDiGraph,
    places: Any = None,
    *,
    place_radius_m: float = 150.0,
) -> list[Circuit]:
    """The circuits with each stop named after the nearest named street and place.

    Parameters
    ----------
    circuits
        Circuits planned on ``G``.
    G
        The projected street graph (edges' ``name`` and ``geometry``).
    places
        Points of interest (a GeoDataFrame with ``kind``, ``name`` and point geometry in ``G``'s
        CRS, as ``Town.pois``); named ones of :data:`PLACE_KINDS` are used. Squares are found
        among the streets too (a pedestrian way named "Place ...").
    place_radius_m
        A place farther than this from the stop is not named.

    Returns
    -------
    list[Circuit]
        New circuits; stop names read ``"<street>"`` or ``"<street>, near <place> (<kind>)"``,
        :data:`UNNAMED_STREET` when no named street is within 200 m.
    """
    import dataclasses

    import shapely

    names, geoms = [], []
    for u, v, d in G.edges(data=True):
        name = d.get("name")
        if isinstance(name, (list, tuple)):
            name = " / ".join(str(x) for x in name if isinstance(x, str) and x)
        if not isinstance(name, str) or not name:
            continue
        geom = d.get("geometry")
        if geom is None:
            geom = shapely.LineString(
                [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
            )
        names.append(name)
        geoms.append(geom)
    streets = shapely.STRtree(geoms) if geoms else None
    pl_names, pl_geoms = [], []
    if places is not None and len(places):
        named = places[
            places["kind"].isin(PLACE_KINDS)
            & places["name"].map(lambda n: isinstance(n, str) and bool(n))
        ]
        pl_names = [f"{n} ({PLACE_WORDS.get(k, k)})" for n, k in zip(named["name"], named["kind"])]
        pl_geoms = list(named.geometry)
    place_tree = shapely.STRtree(pl_geoms) if pl_geoms else None
    out = []
    for c in circuits:
        stops = []
        for st in c.stops:
            pt = shapely.Point(st.x, st.y)
            street = UNNAMED_STREET
            if streets is not None:
                j = streets.nearest(pt)
                if j is not None and geoms[int(j)].distance(pt) <= 200.0:
                    street = names[int(j)]
            label = street
            if place_tree is not None:
                j = place_tree.nearest(pt)
                if j is not None and pl_geoms[int(j)].distance(pt) <= place_radius_m:
                    label = f"{street}, near {pl_names[int(j)]}"
            stops.append(dataclasses.replace(st, name=label))
        out.append(dataclasses.replace(c, stops=tuple(stops)))
    return out


def itinerary(G: nx.MultiDiGraph, circuit: Circuit) -> list[tuple[str, float]]:
    """Street-by-street itinerary of a circuit, for the report.

    Parameters
    ----------
    G
        The graph the circuit was planned on.
    circuit
        The circuit.

    Returns
    -------
    list[tuple[str, float]]
        ``(street name, metres)`` with consecutive edges of the same name merged; OSM ways
        without a name read :data:`UNNAMED_STREET`.
    """
    net = _Network(G)
    _check_nodes(net, circuit.nodes, "circuit.nodes")
    out: list[tuple[str, float]] = []
    for u, v in zip(circuit.nodes[:-1], circuit.nodes[1:]):
        if u == v:
            continue
        try:
            length = net.best_edge(u, v)[0]
        except KeyError:
            raise InputError(
                f"circuit.nodes: {u} → {v} is not an edge of G; accepted: a circuit planned on this graph"
            ) from None
        street = net.edge_name(u, v)
        if out and out[-1][0] == street:
            out[-1] = (street, out[-1][1] + length)
        else:
            out.append((street, length))
    return out


def itinerary_lines(G: nx.MultiDiGraph, circuit: Circuit) -> list[str]:
    """The itinerary as the team reads it: streets walked, with each stop where it comes.

    Returns
    -------
    list[str]
        ``"<street> — <m> m"`` lines (consecutive edges of one street merged) and, where the
        path reaches a stop, ``"STOP <order>: <stop name> — arrive at <eta> min, stay <dwell> min"``.
    """
    net = _Network(G)
    _check_nodes(net, circuit.nodes, "circuit.nodes")
    lines: list[str] = []
    run: list = []  # [street, metres] of the street being walked

    def flush() -> None:
        if run:
            lines.append(f"{run[0]} — {run[1]:.0f} m")
            run.clear()

    stops = list(circuit.stops)
    k = 0
    for u, v in zip(circuit.nodes[:-1], circuit.nodes[1:]):
        if u != v:
            street = net.edge_name(u, v)
            if run and run[0] == street:
                run[1] += net.best_edge(u, v)[0]
            else:
                flush()
                run.extend([street, net.best_edge(u, v)[0]])
        if k < len(stops) and v == stops[k].node:
            flush()
            st = stops[k]
            lines.append(
                f"STOP {st.order}: {st.name or 'stop'} — arrive at {st.eta_min:.0f} min, "
                f"stay {st.dwell_min:.0f} min"
            )
            k += 1
    flush()
    return lines


def to_gpx(circuit: Circuit, crs: object) -> str:
    """GPX document of a circuit for the team's phones (WGS84).

    Parameters
    ----------
    circuit
        The circuit.
    crs
        The projected CRS of the circuit's coordinates (the graph's ``G.graph["crs"]``).

    Returns
    -------
    str
        GPX 1.1 XML: one waypoint per stop (``"<order>. <stop name>"``, ETA, dwell and prize in
        the description) and one track following the path.
    """
    import gpxpy.gpx
    import pyproj

    try:
        src = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise InputError(
            f"crs = {crs!r} is not a CRS; accepted: the graph's projected CRS, e.g. 'EPSG:32632'"
        ) from exc
    to_wgs84 = pyproj.Transformer.from_crs(src, "EPSG:4326", always_xy=True)
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "siteplanner"
    gpx.name = circuit.name
    gpx.description = (
        f"{circuit.length_m:.0f} m, {circuit.duration_min:.0f} of {circuit.budget_min:.0f} min "
        f"at {circuit.speed_kmh:g} km/h, {len(circuit.stops)} stop(s)"
    )
    for s in circuit.stops:
        lon, lat = to_wgs84.transform(s.x, s.y)
        gpx.waypoints.append(
            gpxpy.gpx.GPXWaypoint(
                latitude=round(lat, 7),
                longitude=round(lon, 7),
                name=f"{s.order}. {s.name or 'stop'}",
                description=f"arrive at +{s.eta_min:.0f} min, stay {s.dwell_min:.0f} min, prize {s.prize:.3g}",
            )
        )
    track = gpxpy.gpx.GPXTrack(name=circuit.name)
    segment = gpxpy.gpx.GPXTrackSegment()
    xs, ys = np.asarray(circuit.geometry.coords).T
    lons, lats = to_wgs84.transform(xs, ys)
    for lon, lat in zip(np.atleast_1d(lons), np.atleast_1d(lats)):
        segment.points.append(
            gpxpy.gpx.GPXTrackPoint(latitude=round(float(lat), 7), longitude=round(float(lon), 7))
        )
    track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml()
