"""Patrol circuits in words and for the teams' phones: stop names, itineraries and GPX.

:func:`name_stops` names each stop after the nearest named street and place, :func:`itinerary`
and :func:`itinerary_lines` give the streets walked (for the report and the itinerary sheet),
and :func:`to_gpx` writes a circuit as a GPX track with one waypoint per stop (WGS84).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np

from siteplanner._errors import InputError
from siteplanner.patrol.network import UNNAMED_STREET, Circuit, Network, check_nodes

__all__ = [
    "PLACE_KINDS",
    "PLACE_WORDS",
    "itinerary",
    "itinerary_lines",
    "name_stops",
    "stop_positions",
    "to_gpx",
]

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
    """The circuits with each stop named after its street and the nearest place, each name once.

    The street is the named street the circuit arrives or leaves by, else the nearest named
    street. A stop reads ``"<street>, near <place> (<kind>)"`` when a named place lies within
    ``place_radius_m`` and no other stop of the circuit is nearer to it (a place names one stop
    only: seven stops "near the police station" tell a team nothing). Otherwise it reads
    ``"<street>, corner of <cross street>"`` at a crossing (a street of another name meeting at
    the stop's node), else ``"<street>"``. A name already given to an earlier stop of the
    circuit gives way to the next of these, then to ``"<street>, <d> m <direction> of
    <place or earlier stop>"``: no two stops of a circuit share a name.

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
        New circuits, the stops named; the street is :data:`UNNAMED_STREET` when no named street
        is within 200 m.
    """
    import dataclasses

    streets = _Streets(G)
    pl_names, pl_geoms = [], []
    if places is not None and len(places):
        named = places[
            places["kind"].isin(PLACE_KINDS)
            & places["name"].map(lambda n: isinstance(n, str) and bool(n))
        ]
        pl_names = [f"{n} ({PLACE_WORDS.get(k, k)})" for n, k in zip(named["name"], named["kind"])]
        pl_geoms = list(named.geometry)
    nets = {m: Network(G, m) for m in dict.fromkeys(c.mode for c in circuits)}
    out = []
    for c in circuits:
        names = _circuit_names(c, nets[c.mode], streets, (pl_names, pl_geoms), place_radius_m)
        stops = tuple(dataclasses.replace(st, name=n) for st, n in zip(c.stops, names))
        out.append(dataclasses.replace(c, stops=stops))
    return out


class _Streets:
    """The named edges of a graph, for the nearest named street of a point."""

    def __init__(self, G: nx.MultiDiGraph) -> None:
        import shapely

        self.names, self.geoms = [], []
        for u, v, d in G.edges(data=True):
            name = _edge_name(d)
            if name is None:
                continue
            geom = d.get("geometry")
            if geom is None:
                geom = shapely.LineString(
                    [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
                )
            self.names.append(name)
            self.geoms.append(geom)
        self.tree = shapely.STRtree(self.geoms) if self.geoms else None

    def nearest(self, x: float, y: float, max_m: float = 200.0) -> str:
        import shapely

        if self.tree is None:
            return UNNAMED_STREET
        pt = shapely.Point(x, y)
        j = self.tree.nearest(pt)
        if j is None or self.geoms[int(j)].distance(pt) > max_m:
            return UNNAMED_STREET
        return self.names[int(j)]


def _edge_name(d: dict) -> str | None:
    name = d.get("name")
    if isinstance(name, (list, tuple)):
        name = " / ".join(str(x) for x in name if isinstance(x, str) and x)
    return name if isinstance(name, str) and name else None


def _adjacent(net: Network, a: int, b: int) -> bool:
    """Whether an edge of ``net`` joins ``a`` and ``b``."""
    return (a, b) in net.edge or (b, a) in net.edge


_COMPASS = (
    "east",
    "north-east",
    "north",
    "north-west",
    "west",
    "south-west",
    "south",
    "south-east",
)


def _from(x: float, y: float, x0: float, y0: float, what: str) -> str:
    """``"<d> m <direction> of <what>"``: where (x, y) lies from (x0, y0)."""
    sector = int(np.round(np.degrees(np.arctan2(y - y0, x - x0)) / 45.0)) % 8
    return f"{np.hypot(x - x0, y - y0):.0f} m {_COMPASS[sector]} of {what}"


def _circuit_names(
    c: Circuit, net: Network, streets: _Streets, places: tuple[list, list], radius: float
) -> list[str]:
    """One distinct name per stop of ``c`` (see :func:`name_stops`); ``net`` is the graph of
    its mode, ``places`` the named places' labels and geometries."""
    import shapely

    pl_names, pl_geoms = places
    xy = np.array([(st.x, st.y) for st in c.stops]).reshape(-1, 2)
    geoms = np.array(pl_geoms, dtype=object)
    d = shapely.distance(shapely.points(xy)[:, None], geoms[None, :])  # stops × places, metres
    d = np.asarray(d, dtype=float).reshape(len(xy), len(geoms))
    pl_xy = shapely.get_coordinates(shapely.point_on_surface(geoms)).reshape(-1, 2)
    owner = d.argmin(axis=0) if len(xy) else np.zeros(0, int)  # each place names one stop
    used: set[str] = set()
    names: list[str] = []
    G = net.G
    for i, (st, pi) in enumerate(zip(c.stops, stop_positions(c))):
        # the street the circuit arrives by, or leaves by
        pairs = ((c.nodes[pi - 1], st.node), (st.node, c.nodes[(pi + 1) % len(c.nodes)]))
        by = [net.edge_name(a, b) for a, b in pairs if a != b and _adjacent(net, a, b)]
        by = [n for n in by if n != UNNAMED_STREET]
        street = by[0] if by else streets.nearest(st.x, st.y)
        options = []
        mine = [j for j in np.argsort(d[i], kind="stable") if d[i, j] <= radius and owner[j] == i]
        if mine:
            options.append(f"{street}, near {pl_names[mine[0]]}")
        if st.node in G:
            cross = sorted(
                {n for _, _, e in G.edges(st.node, data=True) if (n := _edge_name(e))} - {street}
            )
            options += [f"{street}, corner of {n}" for n in cross[:1]]
        options.append(street)
        if d.shape[1]:
            j = int(np.argmin(d[i]))
            options.append(f"{street}, {_from(st.x, st.y, *pl_xy[j], pl_names[j])}")
        same = [k for k, n in enumerate(names) if n.startswith(street)]
        if same:
            k = same[-1]
            prev = f"stop {c.stops[k].order}"
            options.append(f"{street}, {_from(st.x, st.y, *xy[k], prev)}")
        name = next((o for o in options if o not in used), f"{street} (stop {st.order})")
        used.add(name)
        names.append(name)
    return names


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
    net = Network(G, circuit.mode)
    check_nodes(net, circuit.nodes, "circuit.nodes")
    out: list[tuple[str, float]] = []
    for u, v in zip(circuit.nodes[:-1], circuit.nodes[1:]):
        if u == v:
            continue
        try:
            length = net.best_edge(u, v)[0]
        except KeyError:
            raise InputError(
                f"circuit.nodes: {u} → {v} is not an edge of G; accepted: a circuit planned on "
                "this graph"
            ) from None
        street = net.edge_name(u, v)
        if out and out[-1][0] == street:
            out[-1] = (street, out[-1][1] + length)
        else:
            out.append((street, length))
    return out


def stop_positions(circuit: Circuit) -> list[int]:
    """Where each stop comes in the circuit's path: an index into ``circuit.nodes``.

    A stop's ``path_index`` is used when it names the stop's node; otherwise (a circuit built
    by hand) the first pass at the stop's node after the previous stop, the start included.

    Raises
    ------
    InputError
        A stop's node is not on the path after the previous stop.
    """
    nodes = circuit.nodes
    out: list[int] = []
    at = 0
    for st in circuit.stops:
        i = st.path_index
        if i is None or not (at <= i < len(nodes)) or nodes[i] != st.node:
            i = next((j for j in range(at, len(nodes)) if nodes[j] == st.node), None)
        if i is None:
            raise InputError(
                f"circuit {circuit.name!r}: stop {st.order} (node {st.node}) is not on the path "
                "after the previous stop; accepted: a circuit whose stops lie on its nodes, in "
                "order"
            )
        out.append(i)
        at = i
    return out


def itinerary_lines(G: nx.MultiDiGraph, circuit: Circuit) -> list[str]:
    """The itinerary as the team reads it: streets walked, with each stop where it comes.

    Every stop is listed, in order, at its place in the path (:func:`stop_positions`): a stop
    at the start, or in the middle of a street, too.

    Returns
    -------
    list[str]
        ``"<street> — <m> m"`` lines (consecutive edges of one street merged) and, where the
        path reaches a stop,
        ``"STOP <order>: <stop name> — arrive at <eta> min, stay <dwell> min"``.
    """
    net = Network(G, circuit.mode)
    check_nodes(net, circuit.nodes, "circuit.nodes")
    at_stop: dict[int, list] = {}
    for st, i in zip(circuit.stops, stop_positions(circuit)):
        at_stop.setdefault(i, []).append(st)
    lines: list[str] = []
    run: list = []  # [street, metres] of the street being walked

    def flush() -> None:
        if run:
            lines.append(f"{run[0]} — {run[1]:.0f} m")
            run.clear()

    for i, v in enumerate(circuit.nodes):
        u = circuit.nodes[i - 1] if i else v
        if u != v:
            street, length = net.edge_name(u, v), net.best_edge(u, v)[0]
            if run and run[0] == street:
                run[1] += length
            else:
                flush()
                run.extend([street, length])
        for st in at_stop.get(i, ()):
            flush()
            lines.append(
                f"STOP {st.order}: {st.name or 'stop'} — arrive at {st.eta_min:.0f} min, "
                f"stay {st.dwell_min:.0f} min"
            )
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
                description=(
                    f"arrive at +{s.eta_min:.0f} min, stay {s.dwell_min:.0f} min, "
                    f"prize {s.prize:.3g}"
                ),
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
