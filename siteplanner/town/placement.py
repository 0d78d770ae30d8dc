"""Where a camera mast can stand: on a surface street's side, outside buildings, in the commune.

The référent sûreté moves a site by writing its new position in ``review.csv``. A position is
refused when it stands inside a building footprint, on an underground or indoor way only
(:func:`siteplanner.vocab.underground`: no surface street within a few metres), or outside the
study area: :func:`check_position` says why, and :func:`nearest_valid_point` gives the nearest
point of a surface street, outside buildings and inside the study area, to suggest instead.
:func:`attach_to_streets` inserts each accepted position on the walking network (the street
split where the position projects onto it), so that a moved site has its own cable trench and
network reach, not those of the intersection it came from.

Pure functions of the town's layers (projected metres); they read no file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from shapely import ops
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry


log = logging.getLogger(__name__)

__all__ = [
    "attach_to_streets",
    "check_position",
    "nearest_valid_point",
    "underground_streets",
]

#: A position this close to an underground way is on it (metres; the shared audit's rule).
ON_WAY_M = 1.5
#: A surface street this close makes a position a street-level one (metres).
SURFACE_M = 3.0


def underground_streets(edges: gpd.GeoDataFrame) -> np.ndarray:
    """Which street edges are below ground or indoors (one flag per row of ``edges``): the
    ``underground`` column :func:`siteplanner.town.load.edges_gdf` computes once with
    :func:`siteplanner.vocab.underground`."""
    return edges["underground"].to_numpy(bool)


def _street_label(edges: gpd.GeoDataFrame, j: int) -> str:
    name = edges["name"].iloc[j] if "name" in edges else None
    if isinstance(name, str) and name:
        return name
    return f"a {str(edges['highway'].iloc[j]).strip('[]').replace(chr(39), '')} without a name"


def check_position(
    xy: tuple[float, float],
    *,
    area: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame,
    below: np.ndarray,
    area_name: str = "the study area",
) -> list[str]:
    """What is wrong with a mast at ``xy`` (empty when nothing is).

    Parameters
    ----------
    xy
        The position, in the layers' projected CRS.
    area
        The study area (the commune): a position outside it is refused.
    buildings
        Building footprints with ``osm_id`` and ``name``: a position inside one is refused.
    edges
        Street edges with ``name`` and ``highway``.
    below
        :func:`underground_streets` of ``edges``: a position within :data:`ON_WAY_M` of an
        underground way and farther than :data:`SURFACE_M` from every surface one is refused.
    area_name
        The study area's name, for the message.
    """
    p = Point(xy)
    out = []
    if not area.contains(p):
        out.append(f"is outside the study area ({area_name})")
    if len(buildings):
        hit = buildings.sindex.query(p, predicate="within")
        if len(hit):
            b = buildings.iloc[int(sorted(hit)[0])]
            name = f", {b['name']}" if isinstance(b.get("name"), str) and b["name"] else ""
            out.append(f"is inside a building ({b['osm_id']}{name})")
    if len(edges) and below.any():
        near = edges.sindex.query(p, predicate="dwithin", distance=SURFACE_M)
        on = [j for j in near if below[j] and edges.geometry.iloc[j].distance(p) <= ON_WAY_M]
        if on and not any(not below[j] for j in near):
            out.append(
                f"is on an underground or indoor way only ({_street_label(edges, int(min(on)))}: "
                "tunnel, layer or level below 0, or indoor)"
            )
    return out


def nearest_valid_point(
    xy: tuple[float, float],
    *,
    area: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame,
    below: np.ndarray,
    clearance_m: float = 1.0,
    radii_m: Sequence[float] = (60.0, 250.0, 1000.0, 5000.0),
) -> tuple[Point, str] | None:
    """The nearest point of a surface street, outside buildings, inside the study area.

    The street lines are kept ``clearance_m`` away from every building footprint and from the
    study area's edge. Searched within growing radii around ``xy``.

    Returns
    -------
    (shapely.Point, str) or None
        The point and the name of its street ("a footway without a name" when it has none), or None
        when no surface street of the study area lies within the largest radius.
    """
    p = Point(xy)
    inner = area.buffer(-clearance_m)
    surface = np.flatnonzero(~below)
    if not len(surface) or inner.is_empty:
        return None
    for r in radii_m:
        idx = edges.sindex.query(p.buffer(r))
        idx = np.intersect1d(idx, surface)
        if not len(idx):
            continue
        lines = shapely.union_all(edges.geometry.values[idx]).intersection(inner)
        if len(buildings):
            b = buildings.sindex.query(p.buffer(r + clearance_m))
            if len(b):
                blocks = shapely.union_all(buildings.geometry.values[b]).buffer(clearance_m)
                lines = lines.difference(blocks)
        if lines.is_empty:
            continue
        q = ops.nearest_points(lines, p)[0]
        if q.distance(p) > r:
            continue
        j = idx[int(np.argmin(shapely.distance(edges.geometry.values[idx], q)))]
        return q, _street_label(edges, int(j))
    return None


def _remove_street(g: nx.MultiDiGraph, u: int, v: int, k: int) -> dict:
    """Remove the street ``(u, v, k)`` in both directions; return its attributes."""
    data = dict(g.edges[u, v, k])
    g.remove_edge(u, v, k)
    if g.has_edge(v, u, k):
        g.remove_edge(v, u, k)
    return data


def attach_to_streets(
    graph: nx.MultiDiGraph,
    points_xy: np.ndarray,
    edges: gpd.GeoDataFrame,
    usable: np.ndarray,
    *,
    snap_m: float = 0.5,
) -> tuple[nx.MultiDiGraph, list[int], np.ndarray]:
    """Insert each point on its nearest usable street: the street is split where it projects.

    Parameters
    ----------
    graph
        Projected walking network (edges with ``length`` and ``geometry``).
    points_xy
        ``(n, 2)`` positions, in the graph's CRS.
    edges
        The graph's street edges (``u``, ``v``, ``key``, geometry), e.g.
        :func:`siteplanner.town.load.edges_gdf`.
    usable
        Which rows of ``edges`` a point may be attached to (the surface streets).
    snap_m
        A point that projects this close to a street's end is attached to that node.

    Returns
    -------
    (networkx.MultiDiGraph, list of int, numpy.ndarray)
        A copy of the graph with the new nodes (negative ids, ``x``, ``y``,
        ``street_count=2``), each point's node, and each point's distance to it (the stub
        from the street to the mast, metres).
    """
    g = graph.copy()
    pts = np.asarray(points_xy, float).reshape(-1, 2)
    rows = np.flatnonzero(usable)
    nodes: list[int] = [0] * len(pts)
    stub = np.zeros(len(pts))
    if not len(pts):
        return g, nodes, stub
    if not len(rows):
        raise ValueError("no usable street to attach the points to")
    tree = shapely.STRtree(edges.geometry.values[rows])
    hits: dict[int, list[tuple[float, int]]] = {}
    for i, (x, y) in enumerate(pts):
        j = int(rows[int(tree.nearest(Point(x, y)))])
        hits.setdefault(j, []).append((edges.geometry.iloc[j].project(Point(x, y)), i))
    next_id = min(0, min(g.nodes)) - 1
    for j in sorted(hits):
        u, v, k = int(edges["u"].iloc[j]), int(edges["v"].iloc[j]), int(edges["key"].iloc[j])
        line = edges.geometry.iloc[j]
        chain: list[tuple[float, int]] = [(0.0, u)]
        for t, i in sorted(hits[j]):
            if t <= snap_m:
                nodes[i] = u
            elif t >= line.length - snap_m:
                nodes[i] = v
            elif chain[-1][1] < 0 and t - chain[-1][0] <= snap_m:
                nodes[i] = chain[-1][1]
            else:
                q = line.interpolate(t)
                g.add_node(next_id, x=q.x, y=q.y, street_count=2)
                chain.append((t, next_id))
                nodes[i] = next_id
                next_id -= 1
            stub[i] = float(
                Point(pts[i]).distance(Point(g.nodes[nodes[i]]["x"], g.nodes[nodes[i]]["y"]))
            )
        if len(chain) == 1:
            continue
        chain.append((line.length, v))
        data = _remove_street(g, u, v, k) if g.has_edge(u, v, k) else _remove_street(g, v, u, k)
        total = float(data.get("length", line.length))
        attrs = {a: b for a, b in data.items() if a not in ("geometry", "length", "reversed")}
        for (ta, a), (tb, b) in zip(chain[:-1], chain[1:]):
            seg = ops.substring(line, ta, tb)
            length = total * (tb - ta) / line.length if line.length > 0 else 0.0
            g.add_edge(a, b, **attrs, length=length, geometry=seg, reversed=False)
            g.add_edge(b, a, **attrs, length=length, geometry=seg.reverse(), reversed=True)
    log.info("attach_to_streets: %d point(s) on %d street(s)", len(pts), len(hits))
    return g, nodes, np.round(stub, 1)
