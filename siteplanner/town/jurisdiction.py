"""The commune is the jurisdiction: what must stay inside the study area.

The study area is the commune (or the scenario's polygon); the margin around it only serves
lines of sight and context. Patrol circuits and their stops stay inside the area; the patrol
starts at a police station inside it, else at the town hall inside it, else at the
scenario's ``patrol.start``; cable trenches end at a CSU (police station) or town hall inside
it, or at the scenario's ``candidates.csu``. Sensitive sites in the margin may raise demand
inside the area but are flagged as outside.

Every function here is cheap (no coverage computation), so that ``validate`` and the start
of ``plan`` find a missing patrol start before any heavy work.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from siteplanner._errors import InputError

log = logging.getLogger(__name__)

EDGE_TOLERANCE_M = 1.0  # a street drawn along the boundary stays in when within this distance


@dataclass(frozen=True)
class Anchor:
    """A point of the study area the plan is tied to (patrol start or trench end)."""

    x: float
    y: float
    label: str


def _lonlat_point(lonlat: tuple[float, float], crs: str) -> shapely.Point:
    return gpd.GeoSeries.from_xy([lonlat[0]], [lonlat[1]], crs="EPSG:4326").to_crs(crs).iloc[0]


def _inside(pois: gpd.GeoDataFrame, kind: str, area: BaseGeometry) -> gpd.GeoDataFrame:
    p = pois[pois["kind"] == kind]
    return p[shapely.covers(area, p.geometry.values)] if len(p) else p


def patrol_start(
    pois: gpd.GeoDataFrame,
    area: BaseGeometry,
    crs: str,
    *,
    start: tuple[float, float] | None,
    source: str,
) -> Anchor:
    """Where the patrols start and end.

    The scenario's ``patrol.start`` when given (it must lie in the study area); else the
    police station inside the area nearest its town hall; else the town hall inside it.

    Raises
    ------
    InputError
        ``patrol.start`` outside the area, or neither a police station nor a town hall
        inside it (the message says to set ``patrol.start``).
    """
    if start is not None:
        p = _lonlat_point(start, crs)
        if not area.buffer(EDGE_TOLERANCE_M).covers(p):
            raise InputError(
                f"{source}: patrol.start = [{start[0]}, {start[1]}] lies "
                f"{area.distance(p):.0f} m outside the study area; accepted: [lon, lat] of a "
                "point inside the commune (patrols stay in the commune)"
            )
        return Anchor(p.x, p.y, "scenario patrol.start")
    police = _inside(pois, "police", area)
    townhall = _inside(pois, "townhall", area)
    if len(police):
        ref = townhall.geometry.iloc[0] if len(townhall) else area.representative_point()
        police = police.assign(_d=police.distance(ref)).sort_values(["_d", "osm_id"], kind="stable")
        p = police.geometry.iloc[0]
        return Anchor(p.x, p.y, f"police station {police['osm_id'].iloc[0]}")
    if len(townhall):
        t = townhall.sort_values("osm_id", kind="stable")
        p = t.geometry.iloc[0]
        log.warning(
            "no police station (amenity=police) inside the study area: "
            "the patrols start at the town hall %s",
            t["osm_id"].iloc[0],
        )
        return Anchor(
            p.x, p.y, f"town hall {t['osm_id'].iloc[0]} (no police station in the study area)"
        )
    outside = int((pois["kind"] == "police").sum())
    margin = f" ({outside} police station(s) in the margin, outside the commune)" if outside else ""
    raise InputError(
        f"{source}: no police station (amenity=police) and no town hall (amenity=townhall) "
        f"inside the study area{margin}; "
        "set [patrol] start = [lon, lat] to the point the patrols start from"
    )


def trench_ends(
    pois: gpd.GeoDataFrame,
    area: BaseGeometry,
    crs: str,
    *,
    csu: tuple[float, float] | None,
    source: str,
) -> list[Anchor]:
    """Where the camera fibre may end: the scenario's ``candidates.csu``, else the police
    stations and town halls inside the study area (empty when there is none: trenches then
    run to the nearest existing camera only)."""
    if csu is not None:
        p = _lonlat_point(csu, crs)
        if not area.buffer(EDGE_TOLERANCE_M).covers(p):
            raise InputError(
                f"{source}: candidates.csu = [{csu[0]}, {csu[1]}] "
                f"lies {area.distance(p):.0f} m outside "
                "the study area; accepted: [lon, lat] of the CSU inside the commune"
            )
        return [Anchor(p.x, p.y, "scenario candidates.csu")]
    out = []
    for kind in ("police", "townhall"):
        inside = _inside(pois, kind, area).sort_values("osm_id", kind="stable")
        out += [
            Anchor(g.x, g.y, f"{kind} {oid}") for g, oid in zip(inside.geometry, inside["osm_id"])
        ]
    if not out:
        log.warning(
            "%s: no police station or town hall inside the study area; "
            "cable trenches run to the nearest "
            "existing camera (set [candidates] csu = [lon, lat] to give the CSU)",
            source,
        )
    return out


def area_subgraph(
    graph: nx.MultiDiGraph, area: BaseGeometry, *, keep: int | None = None
) -> nx.MultiDiGraph:
    """The streets of ``graph`` inside ``area``: nodes inside, and edges that stay inside.

    An edge is kept when its geometry (or its straight line) lies within ``area`` (to 1 cm).
    With ``keep``, only the connected part holding that node.
    """
    ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    xs = np.fromiter((d["x"] for _, d in graph.nodes(data=True)), float, len(ids))
    ys = np.fromiter((d["y"] for _, d in graph.nodes(data=True)), float, len(ids))
    inside = set(ids[shapely.contains_xy(area, xs, ys)].tolist())
    if keep is not None:
        inside.add(int(keep))
    # edges: strictly inside (to rounding), so that no patrol leg runs along the outer side of a
    # boundary street; the tolerance above is only for points (a start given on the boundary)
    zone_geom = area.buffer(0.01)
    shapely.prepare(zone_geom)
    edges, geoms = [], []
    for u, v, k, d in graph.edges(keys=True, data=True):
        if u in inside and v in inside:
            edges.append((u, v, k))
            g = d.get("geometry")
            geoms.append(
                g
                if g is not None
                else shapely.LineString(
                    [
                        (graph.nodes[u]["x"], graph.nodes[u]["y"]),
                        (graph.nodes[v]["x"], graph.nodes[v]["y"]),
                    ]
                )
            )
    ok = shapely.covers(zone_geom, np.array(geoms, dtype=object)) if geoms else np.zeros(0, bool)
    kept = {e for e, o in zip(edges, ok) if o}
    ends: set = set()
    for e in kept:  # as networkx's edge_subgraph gathers them
        ends.update(e[:2])
    sub = _view_copy(graph, set(ends), kept)  # graph.edge_subgraph(kept).copy()
    if keep is not None:
        if keep not in sub:
            sub.add_node(keep, **graph.nodes[keep])
        comp = nx.node_connected_component(sub.to_undirected(as_view=True), keep)
        sub = _view_copy(sub, {n for n in comp if n in sub._adj})  # sub.subgraph(comp).copy()
    sub.graph.update(graph.graph)
    log.info(
        "streets inside the study area: %d of %d nodes, %d of %d edges",
        sub.number_of_nodes(),
        graph.number_of_nodes(),
        sub.number_of_edges(),
        graph.number_of_edges(),
    )
    return sub


def _view_copy(g: nx.MultiDiGraph, nodes: set, edges: set | None = None) -> nx.MultiDiGraph:
    """``g``'s subgraph view on ``nodes`` (and, when given, only ``edges``), copied: networkx's
    ``subgraph_view(...).copy()`` without its views, with the same nodes and edges in the same
    order (that of ``nodes`` where it is less than half of what it filters, as networkx does).
    """

    def shown(atlas: Mapping) -> list:
        if 2 * len(nodes) < len(atlas):
            return [n for n in nodes if n in atlas]
        return [n for n in atlas if n in nodes]

    h = g.__class__()
    h.graph.update(g.graph)
    order = shown(g._node)
    h.add_nodes_from((n, g._node[n].copy()) for n in order)
    for u in order:  # add_edge, not add_edges_from: the same graph, twice as fast
        for v in shown(g._adj[u]):
            for k, d in g._adj[u][v].items():
                if edges is None or (u, v, k) in edges:
                    h.add_edge(u, v, key=k, **d)
    return h


def inside_flags(points: gpd.GeoSeries, area: BaseGeometry) -> np.ndarray:
    """True for the points inside the study area (sensitive sites in the margin are False)."""
    return np.asarray(shapely.covers(area, points.values), dtype=bool)
