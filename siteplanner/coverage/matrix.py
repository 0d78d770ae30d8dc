"""Coverage: which demand points each site's camera can see.

Demand points lie along the walkable streets (at most ``street_spacing_m`` apart) and carry
the hotspot intensity at their position, multiplied near sensitive sites (schools, gares,
bus stations, QPV). A site covers a demand point when the point is inside the camera's
field of view: the exact isovist of :mod:`siteplanner.coverage.viewshed`, occluded by the
building footprints, clipped to the camera wedge and to its range at the DORI level that
counts as covered; where a DEM is given, the camera sees over the roofs below its eye and
the terrain cuts what the ground hides.

The result is the coverage table ``A`` (sites × demand points, 1 = covered) that the
optimiser reads, exported as ``coverage.npz`` (see :func:`coverage_arrays`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import csr_matrix
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from siteplanner.coverage import terrain as terrain_mod
from siteplanner.coverage import viewshed
from siteplanner.coverage.sightlines import Obstacles

log = logging.getLogger(__name__)


def sensitive_multiplier(
    demand_xy: np.ndarray,
    sensitive: Mapping[str, np.ndarray | BaseGeometry],
    weights: Mapping[str, float],
    *,
    radius_m: float,
) -> np.ndarray:
    """Multiplier of each demand point: the largest weight among the sensitive sites near it.

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand points.
    sensitive
        Kind → either an ``(m, 2)`` array of points (schools, gares…) or polygons (QPV).
    weights
        Kind → multiplier (≥ 1 raises demand; kinds without weight are ignored).
    radius_m
        Points within this distance of a sensitive point (or inside a polygon) are raised.
    """
    from scipy.spatial import cKDTree

    mult = np.ones(len(demand_xy))
    for kind, where in sensitive.items():
        w = float(weights.get(kind, 1.0))
        if w == 1.0:
            continue
        if isinstance(where, BaseGeometry):
            if where.is_empty:
                continue
            near = shapely.contains_xy(where, demand_xy[:, 0], demand_xy[:, 1])
        else:
            pts = np.asarray(where, float).reshape(-1, 2)
            if not len(pts):
                continue
            d, _ = cKDTree(pts).query(demand_xy, distance_upper_bound=radius_m)
            near = np.isfinite(d)
        mult = np.where(near, np.maximum(mult, w), mult)
    return mult


@dataclass(frozen=True)
class FieldsOfView:
    """Each site's field of view and heading (compass degrees; NaN for 360° cameras)."""

    polygons: tuple[Polygon, ...]
    heading_deg: np.ndarray
    fov_deg: float
    range_m: float


def fields_of_view(
    obstacles: Obstacles,
    sites_xy: np.ndarray,
    *,
    range_m: float,
    fov_deg: float,
    n_headings: int = 8,
    target_xy: np.ndarray | None = None,
    target_weight: np.ndarray | None = None,
    terrain: Mapping[str, object] | None = None,
    progress: bool = False,
    fixed_heading_deg: np.ndarray | None = None,
    site_fov_deg: np.ndarray | None = None,
) -> FieldsOfView:
    """The field of view of a camera at every site.

    A 360° camera (PTZ, multi-sensor) sees its whole isovist; a fixed camera gets the best
    of ``n_headings`` evenly spaced headings, the one covering the most target weight.
    ``terrain`` (``dem``, ``transform``, ``camera_height_m``, ``target_height_m``) lets the
    camera see over the roofs below its eye (when ``obstacles`` has building heights) and
    cuts what the ground hides. ``fixed_heading_deg`` (NaN where unknown) keeps a site's
    known heading (an existing camera's ``camera:direction``) instead of the best one, with
    its own field of view where ``site_fov_deg`` gives one.
    """
    n = len(sites_xy)
    heading = (
        np.full(n, np.nan) if fixed_heading_deg is None else np.asarray(fixed_heading_deg, float)
    )
    own_fov = np.full(n, np.nan) if site_fov_deg is None else np.asarray(site_fov_deg, float)
    if np.isfinite(heading).any() or np.isfinite(own_fov).any():
        return _fields_with_known(
            obstacles,
            np.asarray(sites_xy, float),
            heading,
            own_fov,
            range_m=range_m,
            fov_deg=fov_deg,
            n_headings=n_headings,
            target_xy=target_xy,
            target_weight=target_weight,
            terrain=terrain,
            progress=progress,
        )
    if fov_deg >= 360:
        polys = viewshed.isovists(
            obstacles, sites_xy, range_m, fov_deg=360.0, terrain=terrain, progress=progress
        )
        heading = np.full(n, np.nan)
    else:
        heading, polys = viewshed.best_headings(
            obstacles,
            sites_xy,
            range_m,
            fov_deg,
            n_headings=n_headings,
            target_xy=target_xy,
            target_weight=target_weight,
            terrain=terrain,
            progress=progress,
        )
        heading = np.asarray(heading, float)
        polys = list(polys)
    if terrain is not None:
        polys = terrain_mod.terrain_clips(polys, sites_xy, **terrain)
    return FieldsOfView(tuple(polys), heading, float(fov_deg), float(range_m))


def _fields_with_known(
    obstacles: Obstacles,
    xy: np.ndarray,
    heading: np.ndarray,
    own_fov: np.ndarray,
    *,
    range_m: float,
    fov_deg: float,
    **kw: Any,
) -> FieldsOfView:
    """:func:`fields_of_view` where some sites have a known heading or field of view."""
    n = len(xy)
    site_fov = np.where(np.isfinite(own_fov), own_fov, fov_deg)
    # known heading, or a 360° camera of its own: computed site by site; the rest as usual
    known = np.isfinite(heading) | (site_fov >= 360)
    rest = np.flatnonzero(~known)
    polys: list[Any] = [None] * n
    out_heading = np.full(n, np.nan)
    if len(rest):
        sub = fields_of_view(obstacles, xy[rest], range_m=range_m, fov_deg=fov_deg, **kw)
        for j, i in enumerate(rest):
            polys[i], out_heading[i] = sub.polygons[j], sub.heading_deg[j]
    terrain = kw.get("terrain")
    for i in np.flatnonzero(known):
        full = site_fov[i] >= 360
        poly = viewshed.isovist(
            obstacles,
            (xy[i, 0], xy[i, 1]),
            range_m,
            fov_deg=360.0 if full else site_fov[i],
            heading_deg=None if full else float(heading[i]),
            terrain=terrain,
        )
        if terrain is not None:
            poly = terrain_mod.terrain_clips([poly], xy[i : i + 1], **terrain)[0]
        polys[i], out_heading[i] = poly, (np.nan if full else heading[i])
    return FieldsOfView(tuple(polys), out_heading, float(fov_deg), float(range_m))


def coverage_matrix(polygons: Sequence[BaseGeometry], demand_xy: np.ndarray) -> csr_matrix:
    """Sites × demand points CSR matrix of 0/1: 1 when the point is inside the site's polygon."""
    pts = shapely.points(demand_xy)
    tree = shapely.STRtree(pts)
    geoms = np.array(polygons, dtype=object)
    if len(geoms) == 0 or len(pts) == 0:
        return csr_matrix((len(geoms), len(pts)), dtype=np.int8)
    site_i, point_i = tree.query(geoms, predicate="intersects")
    order = np.lexsort((point_i, site_i))
    site_i, point_i = site_i[order], point_i[order]
    data = np.ones(len(site_i), dtype=np.int8)
    return csr_matrix((data, (site_i, point_i)), shape=(len(geoms), len(pts)))


def covered_weight(A: csr_matrix, weight: np.ndarray, sites: Sequence[int]) -> float:
    """Demand weight covered by at least one of ``sites``."""
    if not len(sites):
        return 0.0
    seen = np.asarray(A[np.asarray(sites)].sum(axis=0)).ravel() > 0
    return float(weight[seen].sum())


def empty_polygon() -> Polygon:
    return Polygon()


def wedge_fov_deg(fov: float | None, kind: str) -> float:
    """Horizontal field of view of a camera kind: PTZ and multi-sensor see all around."""
    return 360.0 if kind in ("ptz", "multisensor") else float(fov if fov is not None else 360.0)


def demand_table(
    demand_xy: np.ndarray, intensity: np.ndarray, multiplier: np.ndarray, crs: str
) -> gpd.GeoDataFrame:
    """Demand points as a GeoDataFrame (for exports and checks)."""
    return gpd.GeoDataFrame(
        {"intensity": intensity, "multiplier": multiplier, "weight": intensity * multiplier},
        geometry=gpd.points_from_xy(demand_xy[:, 0], demand_xy[:, 1]),
        crs=crs,
    )


def network_coverage_matrix(
    graph, site_nodes, demand_xy: np.ndarray, *, range_m: float
) -> csr_matrix:
    """Sites × demand points: 1 when the point is within ``range_m`` of the site on foot.

    A demand point is reached through its nearest graph node: the network distance from the
    site's node to that node plus the straight distance from the node to the point. The
    searches are bounded (:func:`siteplanner.coverage.candidates.bounded_searches`), so memory grows
    with the covered pairs, not with sites × graph nodes.
    """
    from scipy.spatial import cKDTree

    from siteplanner.coverage.candidates import bounded_searches, graph_csr, node_xy

    m, index = graph_csr(graph)
    _, xy = node_xy(graph)
    n_dem = len(demand_xy)
    src = np.array([index[n] for n in site_nodes], dtype=np.int64)
    if not len(src) or not n_dem or not len(xy):
        return csr_matrix((len(src), n_dem), dtype=np.int8)
    off, nearest = cKDTree(xy).query(demand_xy)
    by_node = np.argsort(nearest, kind="stable")  # demand points grouped by their nearest node
    starts = np.searchsorted(nearest[by_node], np.arange(len(xy) + 1))
    uniq, inverse = np.unique(src, return_inverse=True)
    hits: list[np.ndarray] = [np.zeros(0, np.int64)] * len(uniq)
    for rows, local, dist in bounded_searches(m, xy, uniq, range_m):
        cnt = starts[local + 1] - starts[local]
        dem = by_node[
            np.repeat(starts[local], cnt)
            + np.arange(cnt.sum())
            - np.repeat(np.cumsum(cnt) - cnt, cnt)
        ]
        col = np.repeat(np.arange(len(local)), cnt)
        step = max(1, (1 << 22) // max(len(dem), 1))
        for k in range(0, len(rows), step):
            d = dist[k : k + step, col] + off[dem]
            for r, row in zip(rows[k : k + step], d):
                hits[r] = np.sort(dem[row <= range_m])
    per_site = [hits[j] for j in inverse]
    r = np.repeat(np.arange(len(src)), [len(h) for h in per_site])
    c = np.concatenate(per_site) if per_site else np.zeros(0, np.int64)
    return csr_matrix((np.ones(len(r), np.int8), (r, c)), shape=(len(src), n_dem))
