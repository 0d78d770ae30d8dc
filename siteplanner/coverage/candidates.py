"""Candidate camera sites (points d'implantation) and what each would cost.

Candidates are where a camera can be mounted on public property:

- ``intersection``: walk-network intersections (a new mast at the corner);
- ``street_lamp``: mapped street lamps (``highway=street_lamp``; a pole mount);
- ``facade``: façades of public buildings — town hall, schools, police, stations,
  other public buildings — at the point of the façade nearest the street (a wall mount).

Existing cameras (OSM ``man_made=surveillance`` and the scenario's file) are sites too,
flagged ``existing``; each also gives a new candidate of its own kind, ``existing_support``: a
camera head added to the existing camera's mast or façade (no new mast, no trench).

A référent sûreté refuses a site where no mast or bracket can go, so a candidate is dropped,
for the first of these reasons (:data:`DROP_REASONS`, counted by :func:`screen_candidates`):
outside the study area, inside a building footprint, in an exclusion zone, on streets that are
all below ground or indoors (:func:`siteplanner.vocab.underground`: tunnels, negative levels,
indoor corridors; a node a surface street also uses is fine), on streets all closed to the
public (``access=private|no``), within ``existing_spacing_m`` of an existing camera (its
``existing_support`` candidate stands for it), or merged into a better-connected intersection
within ``merge_m`` (the footway and crossing junctions around one street corner are one
implantation point).

The cost of a site is the installed camera price, plus its mount (mast or façade/pole
bracket), plus the fibre trench to the nearest existing camera or to the CSU (centre de
supervision urbain, taken as the police station or the town hall) measured along the
walking network, in €/m.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from siteplanner import vocab

log = logging.getLogger(__name__)

PUBLIC_KINDS = ("townhall", "school", "police", "station", "bus_station", "public_building")


def node_xy(graph: nx.MultiDiGraph) -> tuple[np.ndarray, np.ndarray]:
    """Node ids and their coordinates (n×2) in the graph's node order."""
    ids = np.array(list(graph.nodes), dtype=np.int64)
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], dtype=float).reshape(-1, 2)
    return ids, xy


#: Why a candidate site is dropped, in the order the rules apply (a site counts once, for the
#: first reason that holds).
DROP_REASONS: tuple[str, ...] = (
    "outside_area",
    "inside_building",
    "exclusion_zone",
    "underground",
    "private",
    "near_existing",
    "merged",
)

#: The mount of a new camera head on an existing camera's mast or façade.
EXISTING_SUPPORT = "existing_support"

_ON_WAY_M, _GROUND_NEAR_M = 1.5, 3.0  # a point on a way, a surface street near it (the audit's)
_OUT_OF_WALL_M = 0.5  # a façade mount's point, out from the wall


@dataclass(frozen=True, eq=False)
class Screening:
    """Candidate sites kept and the ones dropped, with why.

    Attributes
    ----------
    sites
        Existing and kept candidate sites (:func:`candidate_sites`' table).
    dropped
        One row per dropped candidate: ``site_id, kind, mount, reason, because_of, x, y``
        (``because_of``: the site that stands for a merged one, the existing camera near one).
    raw
        How many new candidates were generated before any rule (kept + dropped).
    """

    sites: gpd.GeoDataFrame
    dropped: pd.DataFrame
    raw: int

    @property
    def counts(self) -> dict[str, Any]:
        """``raw``, ``kept`` and ``dropped`` by reason (every reason, 0 when none)."""
        by = self.dropped["reason"].value_counts()
        kept = self.sites.loc[~self.sites["existing"], "kind"].value_counts().sort_index()
        return {
            "raw": self.raw,
            "kept": int(sum(kept)),
            "kept_by_kind": {str(k): int(v) for k, v in kept.items()},
            "dropped": {r: int(by.get(r, 0)) for r in DROP_REASONS},
        }


def candidate_sites(
    graph: nx.MultiDiGraph,
    area: BaseGeometry,
    pois: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    **kwargs: Any,
) -> gpd.GeoDataFrame:
    """Candidate and existing camera sites: :func:`screen_candidates`' ``sites`` (same
    arguments), for callers that need only the table."""
    return screen_candidates(graph, area, pois, buildings, **kwargs).sites


def screen_candidates(
    graph: nx.MultiDiGraph,
    area: BaseGeometry,
    pois: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    min_street_count: int = 3,
    street_lamps: bool = True,
    public_facades: bool = True,
    exclusion: BaseGeometry | None = None,
    existing: gpd.GeoDataFrame | None = None,
    merge_m: float = 0.0,
    existing_spacing_m: float = 0.0,
    existing_support: bool = False,
    underground_ways: Sequence[BaseGeometry] = (),
) -> Screening:
    """Candidate and existing camera sites, and the candidates dropped with their reason.

    Parameters
    ----------
    graph
        Projected walking network (node attribute ``street_count``; edge tags ``highway``,
        ``tunnel``, ``layer``, ``level``, ``indoor``, ``location``, ``access``).
    area
        Study area: new candidates must lie inside.
    pois
        Points of interest with ``kind`` (``camera``, ``street_lamp``, public kinds).
    buildings
        Building footprints (sites inside one are dropped; façades are taken from them).
    min_street_count
        Intersections are nodes where at least this many streets meet.
    street_lamps, public_facades
        Whether those mounts are candidates.
    exclusion
        Polygons where no camera may be mounted.
    existing
        Extra existing cameras (points, same CRS), with an optional ``name`` and ``site_id``.
    merge_m
        Intersections this close to a better-connected one are merged into it (0: none).
    existing_spacing_m
        New candidates this close to an existing camera are dropped (0: none).
    existing_support
        Whether each existing camera gives an ``existing_support`` candidate (site id
        ``<camera id>-S``, mount :data:`EXISTING_SUPPORT`): at the camera's point, or 0.5 m
        out of the wall when the camera is mapped on or inside a building.
    underground_ways
        Underground or indoor streets beyond the graph's (see :func:`off_ground`).

    Returns
    -------
    Screening
        ``sites``: ``site_id, kind, mount, existing, name, node, geometry``, existing sites
        first, then candidates sorted by ``site_id``; ``dropped`` and ``raw``.
    """
    crs = pois.crs
    ids, xy = node_xy(graph)
    tree = cKDTree(xy)
    ex = pd.DataFrame(_existing_rows(pois, existing, crs), columns=_COLUMNS)
    if len(ex):
        ex = ex[gpd.GeoSeries.from_xy(ex["x"], ex["y"], crs=crs).within(area.buffer(50)).to_numpy()]
    rows = _intersection_rows(graph, ids, xy, min_street_count)
    if street_lamps:
        rows += _lamp_rows(pois)
    if public_facades:
        rows += _facade_rows(pois, buildings, tree, xy)
    if existing_support:
        rows += _support_rows(ex, buildings, tree, xy)
    cand = pd.DataFrame(rows, columns=_COLUMNS).drop_duplicates("site_id")
    cand = cand.sort_values("site_id", kind="stable").reset_index(drop=True)
    reason = np.full(len(cand), None, dtype=object)
    because = np.full(len(cand), None, dtype=object)
    pts = gpd.GeoSeries.from_xy(cand["x"], cand["y"], crs=crs)
    _first(reason, "outside_area", ~pts.within(area).to_numpy())
    _first(reason, "inside_building", _in_buildings(pts, buildings))
    if exclusion is not None and not exclusion.is_empty:
        _first(reason, "exclusion_zone", pts.within(exclusion).to_numpy())
    below, closed = off_ground(
        graph, cand["site_id"], cand[["x", "y"]].to_numpy(float), underground_ways
    )
    _first(reason, "underground", below)
    _first(reason, "private", closed)
    if existing_spacing_m > 0 and len(ex):
        _near_existing(cand, ex, reason, because, existing_spacing_m)
    if merge_m > 0:
        for kind in ("intersection", EXISTING_SUPPORT):  # one corner, one support: one point
            _merge(graph, cand, reason, because, merge_m, kind)
    keep = pd.isna(reason)
    dropped = cand.loc[~keep, ["site_id", "kind", "mount", "x", "y"]].assign(
        reason=reason[~keep], because_of=because[~keep]
    )
    dropped = dropped[["site_id", "kind", "mount", "reason", "because_of", "x", "y"]]
    out = _site_table(pd.concat([ex, cand[keep]], ignore_index=True), ids, tree, crs)
    screening = Screening(sites=out, dropped=dropped.reset_index(drop=True), raw=len(cand))
    _log(screening)
    return screening


def _log(screening: Screening) -> None:
    """The one log line of the screening: kept by kind, dropped by reason."""
    c = screening.counts
    log.info(
        "candidate sites: kept %d of %d (%s); dropped %s; existing cameras: %d",
        c["kept"],
        c["raw"],
        ", ".join(f"{k} {v}" for k, v in c["kept_by_kind"].items()) or "none",
        ", ".join(f"{k} {v}" for k, v in c["dropped"].items()),
        int(screening.sites["existing"].sum()),
    )


_COLUMNS = ["site_id", "kind", "mount", "existing", "name", "x", "y"]


def _first(reason: np.ndarray, why: str, mask: Any) -> None:
    """Give ``why`` to the sites ``mask`` flags that have no reason yet."""
    reason[np.asarray(mask, dtype=bool) & pd.isna(reason)] = why


def _near_existing(
    cand: pd.DataFrame, ex: pd.DataFrame, reason: np.ndarray, because: np.ndarray, spacing: float
) -> None:
    """Drop the new candidates (not an existing support) within ``spacing`` of an existing
    camera, which ``because`` names."""
    d, j = cKDTree(ex[["x", "y"]].to_numpy(float)).query(cand[["x", "y"]].to_numpy(float))
    near = (d < spacing) & cand["kind"].ne(EXISTING_SUPPORT).to_numpy()
    hit = near & pd.isna(reason)
    because[hit] = ex["site_id"].to_numpy()[j[hit]]
    _first(reason, "near_existing", near)


def _merge(
    graph: nx.MultiDiGraph,
    cand: pd.DataFrame,
    reason: np.ndarray,
    because: np.ndarray,
    merge_m: float,
    kind: str,
) -> None:
    """Merge the live candidates of one kind within ``merge_m`` (:func:`merge_close`)."""
    live = np.flatnonzero(pd.isna(reason) & cand["kind"].eq(kind).to_numpy())
    ids = cand["site_id"].to_numpy()[live]
    count = np.array(
        [
            graph.nodes[int(s[1:])].get("street_count", 0) if kind == "intersection" else 0
            for s in ids
        ]
    )
    into = merge_close(cand[["x", "y"]].to_numpy(float)[live], count, ids, merge_m)
    gone = into != np.arange(len(live))
    reason[live[gone]] = "merged"
    because[live[gone]] = ids[into[gone]]


def _in_buildings(pts: gpd.GeoSeries, buildings: gpd.GeoDataFrame) -> np.ndarray:
    inside = np.zeros(len(pts), bool)
    if len(buildings) and len(pts):
        hit = buildings.sindex.query(pts.values, predicate="within")
        inside[hit[0]] = True
    return inside


def _site_table(
    allsites: pd.DataFrame, ids: np.ndarray, tree: cKDTree, crs: object
) -> gpd.GeoDataFrame:
    """The sites as a GeoDataFrame, each with its nearest graph node."""
    _, nearest = (
        tree.query(allsites[["x", "y"]].to_numpy()) if len(allsites) else (None, np.array([], int))
    )
    allsites["node"] = ids[nearest] if len(allsites) else np.array([], np.int64)
    out = gpd.GeoDataFrame(
        allsites.drop(columns=["x", "y"]),
        geometry=gpd.points_from_xy(allsites["x"], allsites["y"]),
        crs=crs,
    )
    out["existing"] = out["existing"].astype(bool)
    return out.reset_index(drop=True)


def street_kinds(graph: nx.MultiDiGraph) -> tuple[dict[int, bool], dict[int, bool]]:
    """Which graph nodes only underground or indoor streets use, and which only streets closed
    to the public (among the streets at ground level).

    A street at ground level is one that :func:`siteplanner.vocab.underground` does not flag
    and is not a lift shaft (``highway=elevator``); a node any such open street uses is on
    public ground (a node shared by a surface street and a tunnel is fine).
    """
    below: dict[int, bool] = {}
    closed: dict[int, bool] = {}
    for n in graph.nodes:
        ground = [
            d
            for _, _, d in graph.edges(n, data=True)
            if not vocab.underground(d) and d.get("highway") != "elevator"
        ]
        below[n] = not ground
        closed[n] = bool(ground) and all(vocab.private_way(d) for d in ground)
    return below, closed


def _edge_lines(graph: nx.MultiDiGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each street once as a line, whether it is underground, and whether it is open ground."""
    lines, under, open_ground, seen = [], [], [], set()
    for u, v, k, d in graph.edges(keys=True, data=True):
        if (min(u, v), max(u, v), k) in seen:
            continue
        seen.add((min(u, v), max(u, v), k))
        g = d.get("geometry")
        if g is None:
            a, b = graph.nodes[u], graph.nodes[v]
            g = shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])
        below = vocab.underground(d)
        lines.append(g)
        under.append(below)
        open_ground.append(
            not below and not vocab.private_way(d) and d.get("highway") != "elevator"
        )
    return np.array(lines, dtype=object), np.array(under, bool), np.array(open_ground, bool)


def off_ground(
    graph: nx.MultiDiGraph,
    site_ids: Sequence[str],
    xy: np.ndarray,
    underground_ways: Sequence[BaseGeometry] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Which sites stand below ground or indoors, and which on streets closed to the public.

    An intersection (site id ``N<node>``) is judged by the streets at its node
    (:func:`street_kinds`); any other site (a lamp, a façade, an existing support) by the
    streets around it, as the audit does: it is underground when it stands on an underground
    street (within 1.5 m) with no street at ground level within 3 m, and closed when it stands
    on a street with no open street at ground level within 3 m. ``underground_ways`` are
    more underground streets (lines) than the graph holds (cut-off ones, motorway and cycle
    tunnels: ``Town.extras["underground_ways"]``).
    """
    n = len(xy)
    below, closed = np.zeros(n, bool), np.zeros(n, bool)
    node_below, node_closed = street_kinds(graph)
    sid = np.asarray(list(site_ids), dtype=object)
    is_node = np.array(
        [s.startswith("N") and s[1:].isdigit() and int(s[1:]) in node_below for s in sid], bool
    )
    for i in np.flatnonzero(is_node):
        below[i], closed[i] = node_below[int(sid[i][1:])], node_closed[int(sid[i][1:])]
    others = np.flatnonzero(~is_node)
    if not len(others) or graph.number_of_edges() == 0:
        return below, closed
    lines, under, open_ground = _edge_lines(graph)
    extra = np.asarray(list(underground_ways), dtype=object)
    lines = np.concatenate([lines, extra])
    under = np.concatenate([under, np.ones(len(extra), bool)])
    open_ground = np.concatenate([open_ground, np.zeros(len(extra), bool)])
    pts = shapely.points(xy[others])
    tree = shapely.STRtree(lines)
    on_i, on_e = tree.query(pts, predicate="dwithin", distance=_ON_WAY_M)
    near_i, near_e = tree.query(pts, predicate="dwithin", distance=_GROUND_NEAR_M)
    on_under = np.zeros(len(others), bool)
    on_under[on_i[under[on_e]]] = True
    on_any = np.zeros(len(others), bool)
    on_any[on_i] = True
    ground_near = np.zeros(len(others), bool)
    ground_near[near_i[~under[near_e]]] = True
    open_near = np.zeros(len(others), bool)
    open_near[near_i[open_ground[near_e]]] = True
    below[others] = on_under & ~ground_near
    closed[others] = on_any & ~open_near & ~below[others]
    return below, closed


def merge_close(
    xy: np.ndarray, street_count: np.ndarray, site_ids: np.ndarray, merge_m: float
) -> np.ndarray:
    """Which site stands for each one: close intersections become one implantation point.

    The best-connected site (most streets), then the most central (most sites within
    ``merge_m``, then the smallest sum of distances to them), then the smallest site id,
    stands for every site within ``merge_m`` of it not yet taken; and so on with the sites
    left. The sites that stand for others are more than ``merge_m`` apart.

    Returns
    -------
    numpy.ndarray
        For each site, the position of the site that stands for it (itself when it stays).
    """
    n = len(xy)
    into = np.arange(n)
    if n < 2:
        return into
    dist = cKDTree(xy).sparse_distance_matrix(cKDTree(xy), merge_m, output_type="coo_matrix")
    off = dist.row != dist.col
    nb = csr_matrix((dist.data[off] + 1e-9, (dist.row[off], dist.col[off])), shape=(n, n))
    degree = np.diff(nb.indptr)
    total = np.asarray(nb.sum(axis=1)).ravel()
    order = sorted(
        range(n), key=lambda i: (-street_count[i], -degree[i], round(total[i], 6), site_ids[i])
    )
    taken = np.zeros(n, bool)
    for i in order:
        if taken[i]:
            continue
        taken[i] = True
        for j in nb.indices[nb.indptr[i] : nb.indptr[i + 1]]:
            if not taken[j]:
                taken[j] = True
                into[j] = i
    return into


def _intersection_rows(
    graph: nx.MultiDiGraph, ids: np.ndarray, xy: np.ndarray, min_street_count: int
) -> list[dict]:
    """One ``intersection`` site (a mast) per node where ``min_street_count`` streets meet."""
    rows: list[dict] = []
    sc = np.array([graph.nodes[n].get("street_count", 0) for n in ids])
    for n, (x, y) in zip(ids[sc >= min_street_count], xy[sc >= min_street_count]):
        rows.append(
            {
                "site_id": f"N{n}",
                "kind": "intersection",
                "mount": "mast",
                "existing": False,
                "name": None,
                "x": x,
                "y": y,
            }
        )
    return rows


def _lamp_rows(pois: gpd.GeoDataFrame) -> list[dict]:
    """One ``street_lamp`` site (a pole mount) per mapped street lamp."""
    rows: list[dict] = []
    for r in pois[pois["kind"] == "street_lamp"].itertuples():
        rows.append(
            {
                "site_id": f"L{r.osm_id.split('/')[-1]}",
                "kind": "street_lamp",
                "mount": "pole",
                "existing": False,
                "name": None,
                "x": r.geometry.x,
                "y": r.geometry.y,
            }
        )
    return rows


def _facade_rows(
    pois: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, tree: cKDTree, xy: np.ndarray
) -> list[dict]:
    """One ``facade`` site per public building: 0.5 m out from its façade, towards the street.

    The point is on the exterior ring nearest the walk-network node closest to the
    building's representative point, moved 0.5 m towards that node.
    """
    rows: list[dict] = []
    pub = pois[pois["kind"].isin(PUBLIC_KINDS)]
    if len(pub) and len(buildings):
        hit = buildings.sindex.query(pub.geometry.values, predicate="intersects")
        seen = set()
        for pi, bi in sorted(zip(hit[0].tolist(), hit[1].tolist())):
            if bi in seen:
                continue
            seen.add(bi)
            b = buildings.iloc[bi]
            ring = (
                b.geometry.exterior
                if b.geometry.geom_type == "Polygon"
                else max(b.geometry.geoms, key=lambda g: g.area).exterior
            )
            c = b.geometry.representative_point()
            _, j = tree.query((c.x, c.y))
            street = shapely.Point(xy[j])
            on = ring.interpolate(ring.project(street))
            v = np.array([street.x - on.x, street.y - on.y])
            norm = np.hypot(*v)
            p = np.array([on.x, on.y]) + (v / norm * 0.5 if norm > 0 else 0)
            p_name = pub.iloc[pi]["name"]
            short_id = b["osm_id"].replace("/", "").replace("way", "w").replace("relation", "r")
            rows.append(
                {
                    "site_id": f"F{short_id}",
                    "kind": "facade",
                    "mount": "facade",
                    "existing": False,
                    "name": p_name if isinstance(p_name, str) else pub.iloc[pi]["kind"],
                    "x": p[0],
                    "y": p[1],
                }
            )
    return rows


def _support_rows(
    ex: pd.DataFrame, buildings: gpd.GeoDataFrame, tree: cKDTree, xy: np.ndarray
) -> list[dict]:
    """One ``existing_support`` site per existing camera: a new camera head on its support.

    At the camera's point; when the camera is mapped on a wall or inside a building (where a
    field of view would be empty), 0.5 m out of the wall nearest the camera
    (:func:`_out_of_walls`).
    """
    rows: list[dict] = []
    for r in ex.itertuples():
        x, y = _out_of_walls(float(r.x), float(r.y), buildings, tree, xy)
        label = r.name if isinstance(r.name, str) and r.name else r.site_id
        rows.append(
            {
                "site_id": f"{r.site_id}-S",
                "kind": EXISTING_SUPPORT,
                "mount": EXISTING_SUPPORT,
                "existing": False,
                "name": f"support of {label}",
                "x": x,
                "y": y,
            }
        )
    return rows


def _out_of_walls(
    x: float, y: float, buildings: gpd.GeoDataFrame, tree: cKDTree, xy: np.ndarray
) -> tuple[float, float]:
    """A point on or inside a building moved out of the walls around it (see
    :func:`_support_rows`); any other point as it is.

    The point goes to the wall nearest it (of the buildings within 50 m, joined: a terrace's
    party wall is no way out), then 0.5 m out in the direction, of 16, that stays out of every
    building and is nearest the street node closest to the camera.
    """
    p = shapely.Point(x, y)
    if not len(buildings) or not len(buildings.sindex.query(p, predicate="intersects")):
        return x, y
    near = buildings.geometry.iloc[np.sort(buildings.sindex.query(p.buffer(50.0)))]
    block = shapely.union_all(near.values)
    wall = shapely.ops.nearest_points(block.boundary, p)[0]
    street = xy[tree.query((x, y))[1]]
    angles = np.radians(np.arange(16) * 22.5)
    ring = np.column_stack(
        [wall.x + _OUT_OF_WALL_M * np.cos(angles), wall.y + _OUT_OF_WALL_M * np.sin(angles)]
    )
    free = ~shapely.intersects(block, shapely.points(ring))
    if not free.any():
        return x, y
    best = np.flatnonzero(free)[np.argmin(np.hypot(*(ring[free] - street).T))]
    return float(ring[best, 0]), float(ring[best, 1])


def _existing_rows(
    pois: gpd.GeoDataFrame, existing: gpd.GeoDataFrame | None, crs: object
) -> list[dict]:
    """The existing cameras: OSM ``man_made=surveillance`` (``E…``), then the scenario's file."""
    ex_rows = []
    cams = pois[pois["kind"] == "camera"]
    for r in cams.itertuples():
        ex_rows.append(
            {
                "site_id": f"E{r.osm_id.split('/')[-1]}",
                "kind": "existing",
                "mount": "existing",
                "existing": True,
                "name": r.name if isinstance(r.name, str) else None,
                "x": r.geometry.x,
                "y": r.geometry.y,
            }
        )
    if existing is not None:
        for i, r in enumerate(existing.to_crs(crs).itertuples()):
            nm = getattr(r, "name", None)
            sid = getattr(r, "site_id", None)
            ex_rows.append(
                {
                    "site_id": sid if isinstance(sid, str) else f"X{i + 1:04d}",
                    "kind": "existing",
                    "mount": "existing",
                    "existing": True,
                    "name": nm if isinstance(nm, str) else None,
                    "x": r.geometry.x,
                    "y": r.geometry.y,
                }
            )
    return ex_rows


def graph_csr(graph: nx.MultiDiGraph) -> tuple[csr_matrix, dict[int, int]]:
    """Undirected street-length matrix of the graph and the node → row index map."""
    ids = list(graph.nodes)
    index = {n: i for i, n in enumerate(ids)}
    best: dict[tuple[int, int], float] = {}
    for u, v, d in graph.edges(data=True):
        a, b = sorted((index[u], index[v]))
        if a == b:
            continue
        w = float(d.get("length", 0.0))
        if (a, b) not in best or w < best[(a, b)]:
            best[(a, b)] = w
    if best:
        ab = np.array(list(best.keys()))
        w = np.maximum(np.array(list(best.values())), 1e-6)
        m = csr_matrix(
            (np.r_[w, w], (np.r_[ab[:, 0], ab[:, 1]], np.r_[ab[:, 1], ab[:, 0]])),
            shape=(len(ids), len(ids)),
        )
    else:
        m = csr_matrix((len(ids), len(ids)))
    return m, index


def network_distance_to(
    graph: nx.MultiDiGraph, sources: Sequence[int], targets: Sequence[int]
) -> np.ndarray:
    """Walking-network distance (m) from each target node to the nearest source node."""
    m, index = graph_csr(graph)
    if not len(sources):
        return np.full(len(targets), np.inf)
    src = sorted({index[s] for s in sources})
    dist = dijkstra(m, directed=False, indices=src, min_only=True)
    return dist[[index[t] for t in targets]]


def site_costs(
    sites: gpd.GeoDataFrame,
    graph: nx.MultiDiGraph,
    csu_nodes: Sequence[int],
    *,
    camera_eur: float,
    mast_eur: float,
    facade_mount_eur: float,
    trench_eur_per_m: float,
    existing_support_eur: float | None = None,
) -> pd.DataFrame:
    """Installed cost of each site, in euros, with its parts.

    A mast costs ``mast_eur``, a façade or pole bracket ``facade_mount_eur``; a head on an
    existing camera's support (:data:`EXISTING_SUPPORT`) costs ``existing_support_eur`` (default
    ``facade_mount_eur``) and no trench (the support is already cabled).

    Returns a frame on the sites' index with ``camera_eur, mount_eur, trench_m,
    trench_eur, cost_eur`` (existing sites cost 0).
    """
    anchors = list(csu_nodes) + sites.loc[sites["existing"], "node"].tolist()
    trench_m = network_distance_to(graph, anchors, sites["node"].tolist())
    unreachable = ~np.isfinite(trench_m)
    support = sites["mount"].eq(EXISTING_SUPPORT).to_numpy()
    trench_m = np.where(support, 0.0, np.where(unreachable, np.nan, trench_m))
    bracket = facade_mount_eur if existing_support_eur is None else existing_support_eur
    mount = np.select(
        [sites["mount"].eq("mast"), sites["mount"].isin(["facade", "pole"]), support],
        [mast_eur, facade_mount_eur, bracket],
        0.0,
    )
    existing = sites["existing"].to_numpy()
    trench_eur = np.nan_to_num(trench_m, nan=0.0) * trench_eur_per_m
    cost = np.where(existing, 0.0, camera_eur + mount + trench_eur)
    return pd.DataFrame(
        {
            "camera_eur": np.where(existing, 0.0, camera_eur),
            "mount_eur": np.where(existing, 0.0, mount),
            "trench_m": np.round(np.where(existing, 0.0, np.nan_to_num(trench_m, nan=0.0)), 1),
            "trench_eur": np.round(np.where(existing, 0.0, trench_eur), 0),
            "cost_eur": np.round(cost, 0),
        },
        index=sites.index,
    )


def _chord_ratio(m: csr_matrix, xy: np.ndarray) -> float:
    """Largest straight-line distance / street length over the edges (≥ 1 for real streets)."""
    coo = m.tocoo()
    if not coo.nnz:
        return 1.0
    chord = np.hypot(*(xy[coo.row] - xy[coo.col]).T)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(chord > 0, chord / coo.data, 0.0)
    return max(1.0, float(r.max()))


def bounded_searches(
    m: csr_matrix,
    xy: np.ndarray,
    sources: Sequence[int],
    limit_m: float,
    *,
    max_cells: int = 1 << 22,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Shortest distances up to ``limit_m`` from each source, a few sources at a time.

    Sources are grouped by square tiles; each group's Dijkstra runs on the nodes near its
    tile only (within ``limit_m`` × the largest chord/length ratio of the edges, so no
    path of length ≤ ``limit_m`` leaves them), and at most ``max_cells`` distances are held
    at once: memory grows with the reach, not with sites × graph nodes.

    Parameters
    ----------
    m
        Symmetric street-length matrix (:func:`graph_csr`).
    xy
        ``(n, 2)`` node coordinates, rows as in ``m``.
    sources
        Row indices of the source nodes (unique).
    limit_m
        Search radius along the network.

    Yields
    ------
    tuple
        ``(src, local, dist)``: positions in ``sources``, the row indices of the nodes near
        them, and ``dist[i, j]`` the distance from ``sources[src[i]]`` to ``local[j]``
        (``inf`` beyond ``limit_m``).
    """
    src = np.asarray(sources, dtype=np.int64)
    if not len(src):
        return
    reach = limit_m * _chord_ratio(m, xy) * (1 + 1e-9) + 1e-6
    tile = max(2.0 * reach, 1.0)
    cell = np.floor(xy[src] / tile).astype(np.int64)
    order = np.lexsort((cell[:, 1], cell[:, 0]))
    keys = cell[order]
    cuts = np.flatnonzero(np.any(np.diff(keys, axis=0) != 0, axis=1)) + 1
    by_x = np.argsort(xy[:, 0], kind="stable")
    xs = xy[by_x, 0]
    for group in np.split(order, cuts):
        lo = xy[src[group]].min(axis=0) - reach
        hi = xy[src[group]].max(axis=0) + reach
        cand = by_x[np.searchsorted(xs, lo[0], "left") : np.searchsorted(xs, hi[0], "right")]
        local = np.sort(cand[(xy[cand, 1] >= lo[1]) & (xy[cand, 1] <= hi[1])])
        sub = m[local][:, local]
        pos = np.searchsorted(local, src[group])
        step = max(1, max_cells // max(len(local), 1))
        for k in range(0, len(group), step):
            d = dijkstra(sub, directed=False, indices=pos[k : k + step], limit=limit_m)
            yield group[k : k + step], local, np.atleast_2d(d)


def network_reach_m(
    graph: nx.MultiDiGraph, nodes: Sequence[int], *, distance_m: float = 150.0
) -> np.ndarray:
    """Total street length (m) within ``distance_m`` along the walking network of each node.

    Counts each edge whose both ends are within reach in full, and the reachable part of an
    edge leaving the reach. Bounded searches (:func:`bounded_searches`): memory does not
    grow with the number of nodes × the size of the graph.
    """
    m, index = graph_csr(graph)
    if not len(nodes):
        return np.zeros(0)
    _, xy = node_xy(graph)
    src = np.array([index[n] for n in nodes], dtype=np.int64)
    uniq, inverse = np.unique(src, return_inverse=True)
    reach = np.zeros(len(uniq))
    L = distance_m + 1e-9
    for rows, local, dist in bounded_searches(m, xy, uniq, distance_m):
        sub = m[local]  # every street leaving the local nodes, to any node of the graph
        coo = sub.tocoo()
        u_glob, v_glob, w = local[coo.row], coo.col, coo.data
        v_pos = np.searchsorted(local, v_glob).clip(max=len(local) - 1)
        v_in = local[v_pos] == v_glob
        once = ~v_in | (
            u_glob < v_glob
        )  # each street once: from its lower end, or its only local end
        u_l, v_l, v_in, w = coo.row[once], v_pos[once], v_in[once], w[once]
        da = dist[:, u_l]
        db = np.where(v_in, dist[:, v_l], np.inf)
        fa, fb = np.isfinite(da), np.isfinite(db)
        full = fa & fb & ((da + w <= L) | (db + w <= L))
        part_a = np.where(fa, np.clip(distance_m - np.where(fa, da, 0), 0, w), 0)
        part_b = np.where(fb, np.clip(distance_m - np.where(fb, db, 0), 0, w), 0)
        reach[rows] = np.where(full, w, np.minimum(w, part_a + part_b)).sum(axis=1)
    return reach[inverse]
