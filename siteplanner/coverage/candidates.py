"""Candidate camera sites (points d'implantation) and what each would cost.

Candidates are where a camera can be mounted on public property:

- ``intersection``: walk-network intersections (a new mast at the corner);
- ``street_lamp``: mapped street lamps (``highway=street_lamp``; a pole mount);
- ``facade``: façades of public buildings — town hall, schools, police, stations,
  other public buildings — at the point of the façade nearest the street (a wall mount).

Existing cameras (OSM ``man_made=surveillance`` and the scenario's file) are sites too,
flagged ``existing``. Sites in an exclusion zone, or inside a building footprint, are
dropped.

The cost of a site is the installed camera price, plus its mount (mast or façade/pole
bracket), plus the fibre trench to the nearest existing camera or to the CSU (centre de
supervision urbain, taken as the police station or the town hall) measured along the
walking network, in €/m.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

PUBLIC_KINDS = ("townhall", "school", "police", "station", "bus_station", "public_building")


def node_xy(graph: nx.MultiDiGraph) -> tuple[np.ndarray, np.ndarray]:
    """Node ids and their coordinates (n×2) in the graph's node order."""
    ids = np.array(list(graph.nodes), dtype=np.int64)
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], dtype=float).reshape(-1, 2)
    return ids, xy


def candidate_sites(
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
) -> gpd.GeoDataFrame:
    """Candidate and existing camera sites.

    Parameters
    ----------
    graph
        Projected walking network (node attribute ``street_count``).
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

    Returns
    -------
    GeoDataFrame
        ``site_id, kind, mount, existing, name, node, geometry``, existing sites first,
        then candidates sorted by ``site_id``.
    """
    crs = pois.crs
    ids, xy = node_xy(graph)
    tree = cKDTree(xy)
    rows = _intersection_rows(graph, ids, xy, min_street_count)
    if street_lamps:
        rows += _lamp_rows(pois)
    if public_facades:
        rows += _facade_rows(pois, buildings, tree, xy)
    cand = pd.DataFrame(rows, columns=["site_id", "kind", "mount", "existing", "name", "x", "y"])
    cand = cand.drop_duplicates("site_id")
    pts = gpd.GeoSeries.from_xy(cand["x"], cand["y"], crs=crs)
    keep = _placeable(pts, area, buildings, exclusion)
    cand = cand[keep].sort_values("site_id", kind="stable")
    ex = pd.DataFrame(_existing_rows(pois, existing, crs), columns=cand.columns)
    if len(ex):
        ex = ex[gpd.GeoSeries.from_xy(ex["x"], ex["y"], crs=crs).within(area.buffer(50)).to_numpy()]
    allsites = pd.concat([ex, cand], ignore_index=True)
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
    log.info(
        "candidate sites: %s; existing cameras: %d",
        ", ".join(
            f"{k} {v}"
            for k, v in out.loc[~out.existing, "kind"].value_counts().sort_index().items()
        ),
        int(out.existing.sum()),
    )
    return out.reset_index(drop=True)


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


def _placeable(
    pts: gpd.GeoSeries,
    area: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    exclusion: BaseGeometry | None,
) -> np.ndarray:
    """Which new sites may be used: inside the area, not in a building nor an exclusion zone."""
    keep = np.array(pts.within(area).to_numpy(), dtype=bool)
    if len(buildings):
        inside_b = np.zeros(len(pts), bool)
        hit = buildings.sindex.query(pts.values, predicate="within")
        inside_b[hit[0]] = True
        if inside_b.any():
            log.info(
                "dropped %d candidate sites inside building footprints",
                int((inside_b & keep).sum()),
            )
        keep &= ~inside_b
    if exclusion is not None and not exclusion.is_empty:
        excl = pts.within(exclusion).to_numpy()
        log.info("dropped %d candidate sites in exclusion zones", int((excl & keep).sum()))
        keep &= ~excl
    return keep


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
) -> pd.DataFrame:
    """Installed cost of each site, in euros, with its parts.

    Returns a frame on the sites' index with ``camera_eur, mount_eur, trench_m,
    trench_eur, cost_eur`` (existing sites cost 0).
    """
    anchors = list(csu_nodes) + sites.loc[sites["existing"], "node"].tolist()
    trench_m = network_distance_to(graph, anchors, sites["node"].tolist())
    unreachable = ~np.isfinite(trench_m)
    trench_m = np.where(unreachable, np.nan, trench_m)
    mount = np.where(
        sites["mount"].eq("mast"),
        mast_eur,
        np.where(sites["mount"].isin(["facade", "pole"]), facade_mount_eur, 0.0),
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
