"""The street network as a matrix, and the patrol circuits planned on it.

:class:`Network` holds a projected osmnx street graph as an undirected sparse matrix with cached
single-source Dijkstra results (``scipy.sparse.csgraph``), the shortest edge between two nodes,
its geometry and its street name; a bike patrol's network leaves out the ways a bike may not
ride (:func:`rideable`). :class:`Stop` and :class:`Circuit` are the planned circuits that
:mod:`siteplanner.patrol.plan` returns and :mod:`siteplanner.patrol.itinerary` writes out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from siteplanner._errors import InputError, report_problems

__all__ = [
    "BIKE_KMH",
    "FOOT_KMH",
    "MODES",
    "STOP_SPACING_M",
    "UNNAMED_STREET",
    "Circuit",
    "Network",
    "Stop",
    "check_nodes",
    "distance_matrix",
    "ride_graph",
    "rideable",
]

FOOT_KMH = 4.5
"""Walking speed of a foot patrol (*patrouille pédestre*, *îlotage*), km/h."""
BIKE_KMH = 12.0
"""Riding speed of a bike patrol (*patrouille VTT*), km/h."""
UNNAMED_STREET = "unnamed street"
"""Street name used in itineraries where OSM has none."""
MODES = ("foot", "bike")
"""How a team patrols: on foot (*patrouille pédestre*) or by bike (*patrouille VTT*)."""
STOP_SPACING_M = {"foot": 100.0, "bike": 200.0}
"""Default least distance between two stops of one circuit, by mode (m): closer stops are the
same place twice to a référent sûreté."""
#: OSM tags of a way a bike may not ride: steps, a ban, or a footway where riders must dismount
NOT_RIDEABLE = (("highway", "steps"), ("bicycle", "no"), ("bicycle", "dismount"))


def rideable(data: Mapping) -> bool:
    """Whether a bike patrol may ride an edge with these attributes (OSM tags).

    An edge of a simplified graph may join several ways (its tags are then lists): it is
    rideable only when none of them is ``highway=steps``, ``bicycle=no`` or
    ``bicycle=dismount`` (:data:`NOT_RIDEABLE`).
    """
    for key, bad in NOT_RIDEABLE:
        val = data.get(key)
        vals = val if isinstance(val, (list, tuple)) else (val,)
        if any(isinstance(v, str) and v.strip() == bad for v in vals):
            return False
    return True


def ride_graph(G: nx.MultiDiGraph, keep: int | None = None) -> nx.MultiDiGraph:
    """The part of ``G`` a bike may ride (:func:`rideable` edges).

    With ``keep``, only the connected part holding that node (kept even when no rideable way
    reaches it).
    """
    sub = G.edge_subgraph(
        [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if rideable(d)]
    ).copy()
    if keep is not None:
        if keep not in sub:
            sub.add_node(keep, **G.nodes[keep])
        comp = nx.node_connected_component(sub.to_undirected(as_view=True), keep)
        sub = sub.subgraph(comp).copy()
    sub.graph.update(G.graph)
    return sub


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
    path_index
        Position in the circuit's ``nodes`` where the team stops (the path may pass the stop's
        node before or after); ``None`` when not known (the first pass is then taken).
    """

    node: int
    x: float
    y: float
    order: int
    eta_min: float
    dwell_min: float
    prize: float
    name: str = ""
    path_index: int | None = None


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
    mode
        ``"foot"`` or ``"bike"``: a bike circuit rides only :func:`rideable` ways.
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
    mode: str = "foot"

    @property
    def stop_nodes(self) -> tuple[int, ...]:
        """Nodes of the stops in visiting order."""
        return tuple(s.node for s in self.stops)


# ---------------------------------------------------------------------------------------------
# the street network as a matrix
# ---------------------------------------------------------------------------------------------


class Network:
    """The graph as an undirected CSR matrix, with cached single-source Dijkstra results.

    Parameters
    ----------
    G
        Projected osmnx graph: node ``x``, ``y``; edge ``length`` (m), optional ``geometry``
        and ``name``.
    mode
        ``"foot"`` (every edge) or ``"bike"`` (only :func:`rideable` edges; every node stays,
        those only reached by other ways are unreachable).

    Raises
    ------
    InputError
        ``G`` is not a (Multi)DiGraph, has a geographic CRS, unprojected nodes or edge lengths
        that are not finite numbers >= 0; ``mode`` is not one of :data:`MODES`.
    """

    def __init__(self, G: nx.MultiDiGraph, mode: str = "foot") -> None:
        if not isinstance(G, nx.MultiDiGraph) and not isinstance(G, nx.MultiGraph):
            raise InputError(
                f"G is a {type(G).__name__}; accepted: an osmnx MultiDiGraph projected with "
                "ox.project_graph"
            )
        if mode not in MODES:
            raise InputError(f"mode = {mode!r}; accepted: one of {list(MODES)}")
        self.G = G
        self.mode = mode
        self.nodes = sorted(G.nodes)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        self.edge: dict[tuple[int, int], tuple[float, int, int, object]] = {}
        problems = []
        for u, v, k, data in G.edges(keys=True, data=True):
            if u == v or (mode == "bike" and not rideable(data)):
                continue
            length = data.get("length")
            try:
                length = float(length)
            except (TypeError, ValueError):
                length = float("nan")
            if not math.isfinite(length) or length < 0:
                problems.append(
                    f"edge ({u}, {v}, {k}) has length {data.get('length')!r}; accepted: a finite "
                    "number of metres >= 0"
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
                        f"G has the geographic CRS {crs}; accepted: a projected metric CRS "
                        "(ox.project_graph(G))"
                    )
            except pyproj.exceptions.CRSError:
                pass
        n = len(self.nodes)
        if self.edge:
            pairs = np.array([(self.index[a], self.index[b]) for a, b in self.edge], dtype=np.int64)
            # csgraph drops explicit zeros
            w = np.array([max(e[0], 1e-6) for e in self.edge.values()])
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

    def distances(self, src: int) -> np.ndarray:
        """Metres from ``src`` to every node, in ``self.nodes`` order (after ``run([src])``)."""
        return self._dist[src]

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
                # callers check reachability first
                raise RuntimeError(f"no path from {src} to {dst}")  # pragma: no cover
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
    net = Network(G)
    check_nodes(net, nodes, "nodes")
    net.run(nodes)
    idx = [net.index[n] for n in nodes]
    return np.vstack([net._dist[n][idx] for n in nodes]) if len(nodes) else np.zeros((0, 0))


def check_nodes(net: Network, nodes: Iterable[int], name: str) -> None:
    """Raise one :class:`InputError` listing the entries of ``nodes`` not in ``net``'s graph.

    ``name`` names the argument in the message, e.g. ``"circuit.nodes"``.
    """
    report_problems(
        (
            f"{name}[{i}] = {n!r} is not a node of G; accepted: node ids of the projected graph"
            for i, n in enumerate(nodes)
            if n not in net.index
        ),
        source=name,
    )
