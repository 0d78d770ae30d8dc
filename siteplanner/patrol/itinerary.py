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
    net = Network(G)
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


def itinerary_lines(G: nx.MultiDiGraph, circuit: Circuit) -> list[str]:
    """The itinerary as the team reads it: streets walked, with each stop where it comes.

    Returns
    -------
    list[str]
        ``"<street> — <m> m"`` lines (consecutive edges of one street merged) and, where the
        path reaches a stop,
        ``"STOP <order>: <stop name> — arrive at <eta> min, stay <dwell> min"``.
    """
    net = Network(G)
    check_nodes(net, circuit.nodes, "circuit.nodes")
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
