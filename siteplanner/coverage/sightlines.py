"""What blocks a line of sight: the town's buildings, the roofs below a camera's eye, the ground.

The pieces that :mod:`siteplanner.coverage.viewshed` (isovists),
:mod:`siteplanner.coverage.terrain` (the
ground's cut of a field of view) and :mod:`siteplanner.coverage.privacy` (the façades a camera sees)
share, below all three of them:

* :class:`Obstacles` and :func:`build_obstacles`: the building footprints of a whole town,
  prepared once (overlapping footprints merged, rings oriented, STR-trees), with their
  heights; :func:`polygonal_parts` and :func:`oriented_segments` are the two geometry steps
  of that preparation, reused on other footprints (the dwellings of the privacy check);
* :func:`bilinear`: the DEM's height under points (bilinear);
* :func:`roofs_below_eye` and :func:`roof_shadows`: a building whose flat roof (its height
  above the mean ground at its outer vertices) is below the camera's eye hides the ground
  behind it only while the line of sight to the target is below the roof. That shadow is
  exact: the points ``s · x`` seen from the camera, ``x`` in the footprint, ``1 <= s <= k``,
  with ``k = (eye - target) / (eye - roof)``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.ndimage import map_coordinates
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from siteplanner._errors import InputError, report_problems

logger = logging.getLogger(__name__)

__all__ = [
    "Obstacles",
    "bilinear",
    "build_obstacles",
    "oriented_segments",
    "polygonal_parts",
    "roof_shadows",
    "roofs_below_eye",
]


# --------------------------------------------------------------------------------------
# Buildings
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Obstacles:
    """The building edges of a whole town, prepared once for all the isovists.

    Attributes
    ----------
    footprints
        Disjoint building footprints (overlapping or touching buildings merged), an object
        array of shapely Polygons (holes kept: courtyards are open space).
    segments
        ``(n, 4)`` float array ``x0, y0, x1, y1`` of every ring edge, oriented so that the
        building is on the left (exteriors counter-clockwise, holes clockwise).
    segment_tree
        STR-tree over the edges (as LineStrings), queried by distance.
    footprint_tree
        STR-tree over ``footprints`` (is a camera inside a building?).
    heights_m
        ``(n_footprints,)`` building height above its ground, the tallest of the buildings
        merged into the footprint; ``inf`` when no height was given (a wall that no line of
        sight clears: the 2D isovist).
    segment_footprint
        ``(n_segments,)`` index in ``footprints`` of each edge.
    """

    footprints: np.ndarray
    segments: np.ndarray
    segment_tree: shapely.STRtree
    footprint_tree: shapely.STRtree
    heights_m: np.ndarray
    segment_footprint: np.ndarray

    def __repr__(self) -> str:
        return f"Obstacles({len(self.footprints):,} footprints, {len(self.segments):,} edges)"


def polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    """The Polygons of non-zero area in ``geoms`` (Multi- and collection parts split).

    Parameters
    ----------
    geoms
        Object array of shapely geometries, e.g. the output of ``shapely.make_valid``.

    Returns
    -------
    numpy.ndarray
        Object array of Polygons; points, lines and empty or flat parts are dropped.
    """
    parts = shapely.get_parts(geoms)
    # make_valid may return collections holding lines and points: keep the areas.
    collections = shapely.get_type_id(parts) == 7
    if collections.any():
        parts = np.concatenate([parts[~collections], shapely.get_parts(parts[collections])])
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    return parts[keep]


def _merge_overlaps(polys: np.ndarray) -> np.ndarray:
    """Union only the groups of footprints that touch or overlap (much faster than one union)."""
    n = len(polys)
    if n == 0:
        return polys
    tree = shapely.STRtree(polys)
    left, right = tree.query(polys, predicate="intersects")
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    n_groups, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=n_groups)
    merged: list[np.ndarray] = []
    singles = counts[labels] == 1
    merged.append(polys[singles])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for group in np.flatnonzero(counts > 1):
        members = polys[order[starts[group] : starts[group] + counts[group]]]
        merged.append(polygonal_parts(np.asarray([shapely.union_all(members)], dtype=object)))
    out = np.concatenate(merged)
    # Stable order: by centroid, so the same buildings give the same Obstacles.
    cx, cy = shapely.get_coordinates(shapely.centroid(out)).T
    return out[np.lexsort((cy, cx))]


def oriented_segments(
    polys: np.ndarray, *, with_owner: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """All ring edges of ``polys`` with the solid on their left, as ``(n, 4)``.

    With ``with_owner``, also the index in ``polys`` of each edge.
    """
    if len(polys) == 0:
        return (np.zeros((0, 4)), np.zeros(0, dtype=np.int64)) if with_owner else np.zeros((0, 4))
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    is_exterior = np.ones(len(rings), dtype=bool)
    is_exterior[1:] = ring_poly[1:] != ring_poly[:-1]
    coords, ring_of_coord = shapely.get_coordinates(rings, return_index=True)
    same_ring = ring_of_coord[1:] == ring_of_coord[:-1]
    p = coords[:-1][same_ring]
    q = coords[1:][same_ring]
    seg_ring = ring_of_coord[:-1][same_ring]
    cross = p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]
    signed_area = np.bincount(seg_ring, weights=cross, minlength=len(rings))
    flip = np.where(is_exterior, signed_area < 0, signed_area > 0)[seg_ring]
    p2 = np.where(flip[:, None], q, p)
    q2 = np.where(flip[:, None], p, q)
    segments = np.hstack([p2, q2])
    nonzero = (segments[:, 0] != segments[:, 2]) | (segments[:, 1] != segments[:, 3])
    if with_owner:
        return segments[nonzero], ring_poly[seg_ring][nonzero]
    return segments[nonzero]


def build_obstacles(buildings: object, heights_m: object = None) -> Obstacles:
    """Prepare the building edges of a whole town for fast isovists.

    Invalid footprints are repaired with ``shapely.make_valid``; points and lines are
    dropped; MultiPolygons are split; overlapping or touching footprints are merged (their
    shared walls disappear and no two edges cross, which the sweep relies on); holes are
    kept. A merged footprint takes the height of its tallest building.

    Parameters
    ----------
    buildings
        Building footprints in a projected metric CRS: a GeoSeries, a GeoDataFrame (its
        active geometry) or a sequence of shapely geometries.
    heights_m
        Height of each building above its ground (metres, same order as ``buildings``,
        e.g. from :func:`siteplanner.vocab.building_height_m`). ``None``: buildings are walls
        that no line of sight clears (the 2D isovist), whatever the terrain.

    Returns
    -------
    Obstacles
    """
    geometry = getattr(buildings, "geometry", buildings)
    geoms = np.asarray(
        list(geometry) if not isinstance(geometry, np.ndarray) else geometry, dtype=object
    )
    if len(geoms) and not all(g is None or isinstance(g, shapely.Geometry) for g in geoms):
        bad = [i for i, g in enumerate(geoms) if not (g is None or isinstance(g, shapely.Geometry))]
        report_problems(
            [f"row {i}: {type(geoms[i]).__name__} is not a shapely geometry" for i in bad],
            source="buildings",
        )
    heights = None
    if heights_m is not None:
        heights = np.asarray(heights_m, dtype=float).ravel()
        if heights.shape != (len(geoms),):
            raise InputError(
                f"buildings: heights_m has {heights.size} values for {len(geoms)} buildings; "
                "accepted: one per building"
            )
        bad = np.flatnonzero(~(heights > 0))
        report_problems(
            [
                f"row {i}: height {float(heights[i])} m is not accepted: "
                "give a height in metres > 0"
                for i in bad
            ],
            source="buildings",
        )
    if len(geoms):
        present = ~shapely.is_missing(geoms)
        geoms = geoms[present]
        heights = heights[present] if heights is not None else None
    n_invalid = int((~shapely.is_valid(geoms)).sum()) if len(geoms) else 0
    if n_invalid:
        logger.info("build_obstacles: repaired %d invalid footprint(s) with make_valid", n_invalid)
    polys = polygonal_parts(shapely.make_valid(geoms)) if len(geoms) else np.zeros(0, dtype=object)
    polys = _merge_overlaps(polys)
    segments, owner = oriented_segments(polys, with_owner=True)  # ring by ring: owner is sorted
    lines = (
        shapely.linestrings(segments.reshape(-1, 2, 2))
        if len(segments)
        else np.zeros(0, dtype=object)
    )
    footprint_tree = shapely.STRtree(polys)
    footprint_heights = np.full(len(polys), np.inf)
    if heights is not None and len(polys):
        # Each building's height goes to the footprint it was merged into (the tallest wins).
        valid = shapely.make_valid(geoms)
        parts, part_of = shapely.get_parts(valid, return_index=True)
        area = (shapely.get_type_id(parts) == 3) | (shapely.get_type_id(parts) == 6)
        points = shapely.point_on_surface(parts[area])
        hit_point, hit_fp = footprint_tree.query(points, predicate="intersects")
        footprint_heights[:] = 0.0
        np.maximum.at(footprint_heights, hit_fp, heights[part_of[area]][hit_point])
        footprint_heights[footprint_heights == 0.0] = np.inf  # not found: stay a wall
    obstacles = Obstacles(
        footprints=polys,
        segments=segments,
        segment_tree=shapely.STRtree(lines),
        footprint_tree=footprint_tree,
        heights_m=footprint_heights,
        segment_footprint=owner,
    )
    logger.info(
        "build_obstacles: %s buildings gave %s footprints and %s edges",
        f"{len(geoms):,}",
        f"{len(polys):,}",
        f"{len(segments):,}",
    )
    return obstacles


# --------------------------------------------------------------------------------------
# The ground under a point, the roofs below the eye
# --------------------------------------------------------------------------------------


def bilinear(dem: np.ndarray, transform: object, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Height of the DEM under the points ``(x, y)``, interpolated bilinearly.

    Parameters
    ----------
    dem
        2D elevation array (metres) in the points' projected CRS.
    transform
        Affine transform of ``dem`` (rasterio convention: pixel corner); values are taken
        at the pixel centres.
    x, y
        Coordinates of the points (arrays of the same shape).

    Returns
    -------
    numpy.ndarray
        The heights; points outside the DEM take the nearest edge value.
    """
    inv = ~transform  # type: ignore[operator]
    col = inv.a * x + inv.b * y + inv.c
    row = inv.d * x + inv.e * y + inv.f
    return map_coordinates(
        np.asarray(dem, dtype=float),
        [np.asarray(row) - 0.5, np.asarray(col) - 0.5],
        order=1,
        mode="nearest",
    )


def roofs_below_eye(
    obstacles: Obstacles,
    origins: np.ndarray,
    radii: np.ndarray,
    q_cam: np.ndarray,
    q_seg: np.ndarray,
    eye_z: np.ndarray,
    terrain: Mapping[str, object],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which queried edges are walls; the (camera, footprint) pairs whose roof is below the eye.

    A footprint's roof is flat, ``heights_m`` above the mean ground (DEM, bilinear) at its
    outer vertices. At or above the camera's eye it is a wall (nothing behind it is seen).
    Below, a target ``target_height_m`` above the ground (taken at the building's ground) is
    hidden beyond it while the line of sight is below the roof: along a ray that leaves the
    footprint at distance ``d``, up to ``k · d`` with ``k = (eye - target) / (eye - roof)``.

    Returns ``(wall, pair_cam, pair_fp, pair_k)``.
    """
    fp_of = obstacles.segment_footprint[q_seg]
    touched = np.unique(fp_of)
    ground = np.zeros(len(obstacles.footprints))
    if len(touched):
        xy, which = shapely.get_coordinates(
            shapely.get_exterior_ring(obstacles.footprints[touched]), return_index=True
        )
        opening = np.append(which[1:] == which[:-1], False)  # drop each ring's closing vertex
        xy, which = xy[opening], which[opening]
        z = bilinear(terrain["dem"], terrain["transform"], xy[:, 0], xy[:, 1])  # type: ignore[arg-type]
        ground[touched] = np.bincount(which, weights=z, minlength=len(touched)) / np.maximum(
            np.bincount(which, minlength=len(touched)), 1
        )
    roof = ground + obstacles.heights_m
    n_fp = len(obstacles.footprints)
    pairs, edge_pair = np.unique(q_cam.astype(np.int64) * n_fp + fp_of, return_inverse=True)
    pair_cam, pair_fp = pairs // n_fp, pairs % n_fp
    eye = eye_z[pair_cam]
    target = ground[pair_fp] + float(terrain["target_height_m"])  # type: ignore[arg-type]
    low = roof[pair_fp] < eye
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(roof[pair_fp] > target, (eye - target) / (eye - roof[pair_fp]), 1.0)
    # A roof at least range / k away casts a shadow that runs past the range on every ray:
    # within range it hides exactly what a wall hides, so it stays a wall (the sweep is much
    # cheaper than a shadow).
    if low.any():
        near = shapely.distance(
            shapely.points(origins[pair_cam[low]]), obstacles.footprints[pair_fp[low]]
        )
        low[np.flatnonzero(low)[k[low] * near >= radii[pair_cam[low]]]] = False
    wall = ~low[np.asarray(edge_pair).ravel()]
    return wall, pair_cam[low], pair_fp[low], k[low]


def roof_shadows(
    obstacles: Obstacles,
    origins: np.ndarray,
    radii: np.ndarray,
    pair_cam: np.ndarray,
    pair_fp: np.ndarray,
    k: np.ndarray,
) -> np.ndarray:
    """Per camera, the union of the exact shadows of its (camera, footprint) pairs (None: none).

    The shadow is the set of points ``s · x`` (from the camera) for ``x`` in the footprint
    and ``1 <= s <= k``. For a convex footprint it is the convex hull of the footprint and
    its image scaled by ``k``; otherwise the footprint plus, for every chain of consecutive
    edges facing away from the camera, the polygon between the chain and its scaled image
    (the union of the quadrilaterals swept by its edges). Scaled points are kept within 3
    ranges of the camera (only the shadow inside the range matters).

    Parameters
    ----------
    obstacles
        The town's buildings.
    origins, radii
        ``(n, 2)`` cameras and ``(n,)`` their ranges.
    pair_cam, pair_fp, k
        The (camera, footprint) pairs whose roof is below the eye and their scale ``k``, as
        returned by :func:`roofs_below_eye`.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` object array: the shadow of each camera's roofs, or None.
    """
    n = len(origins)
    shadows = np.full(n, None, dtype=object)
    if not len(pair_cam):
        return shadows
    reach = 3.0 * radii
    fps = obstacles.footprints[pair_fp]
    convex = (shapely.get_num_interior_rings(fps) == 0) & (
        shapely.area(shapely.convex_hull(fps)) <= shapely.area(fps) * (1 + 1e-9)
    )
    pieces = np.empty(len(pair_cam), dtype=object)
    if convex.any():
        c = np.flatnonzero(convex)
        xy, which = shapely.get_coordinates(fps[c], return_index=True)
        cam = pair_cam[c][which]
        far = _scaled(xy - origins[cam], cam, k[c][which], origins, reach)
        index = np.concatenate([which, which])
        order = np.argsort(index, kind="stable")
        points = shapely.multipoints(np.vstack([xy, far])[order], indices=index[order])
        pieces[c] = shapely.convex_hull(points)
    if (~convex).any():
        nc = np.flatnonzero(~convex)
        polys, chain_pair = _chain_shadows(obstacles, origins, reach, pair_cam, pair_fp, k, nc)
        pieces[nc] = fps[nc]
        pieces = np.concatenate([pieces, polys])
        pair_cam = np.concatenate([pair_cam, pair_cam[chain_pair]])
    return _grouped_union(pieces, pair_cam, n)


def _scaled(
    rel: np.ndarray, cam: np.ndarray, kk: np.ndarray, origins: np.ndarray, reach: np.ndarray
) -> np.ndarray:
    """Points ``rel`` (relative to their camera ``cam``) scaled by ``kk``, within ``reach``."""
    d = np.hypot(rel[:, 0], rel[:, 1])
    return rel * np.minimum(kk, reach[cam] / np.maximum(d, 1e-9))[:, None] + origins[cam]


def _chain_shadows(
    obstacles: Obstacles,
    origins: np.ndarray,
    reach: np.ndarray,
    pair_cam: np.ndarray,
    pair_fp: np.ndarray,
    k: np.ndarray,
    nc: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Shadows of the chains of back faces of the non-convex pairs ``nc``.

    Returns the polygons between each chain and its scaled image, and the pair of each.
    """
    # The edges of each footprint (segment_footprint is sorted: edges come ring by ring).
    first = np.searchsorted(obstacles.segment_footprint, pair_fp[nc], side="left")
    count = np.searchsorted(obstacles.segment_footprint, pair_fp[nc], side="right") - first
    owner = np.repeat(np.arange(len(nc)), count)
    seg = obstacles.segments[
        np.repeat(first, count)
        + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    ]
    o = origins[pair_cam[nc][owner]]
    back = (seg[:, 0] - o[:, 0]) * (seg[:, 3] - o[:, 1]) - (seg[:, 1] - o[:, 1]) * (
        seg[:, 2] - o[:, 0]
    ) > 0
    # Consecutive back-facing edges form chains; along a chain the polar angle only grows
    # (each back face turns counter-clockwise as seen from the camera), so a chain and its
    # scaled image bound one simple polygon: the union of the chain's quadrilaterals.
    fwd = np.all(seg[:-1, 2:] == seg[1:, :2], axis=1)  # edge i ends where i + 1 starts
    bwd = np.all(seg[:-1, :2] == seg[1:, 2:], axis=1)  # (rings stored reversed)
    link = (owner[:-1] == owner[1:]) & back[:-1] & back[1:] & (fwd | bwd)
    e = np.flatnonzero(back)
    starts = np.ones(len(e), dtype=bool)
    starts[1:] = ~link[e[:-1]] | (e[1:] != e[:-1] + 1)
    chain = np.cumsum(starts) - 1
    n_chain = int(chain[-1]) + 1 if len(e) else 0
    if n_chain:
        head = e[starts]
        # direction of each chain in storage order (rings may be stored reversed)
        fw = np.where(
            link[np.minimum(head, len(link) - 1)], fwd[np.minimum(head, len(fwd) - 1)], True
        )[chain]
        size = np.bincount(chain, minlength=n_chain) + 1  # vertices per chain: its edges + 1
        offset = np.cumsum(size) - size
        verts = np.empty((int(size.sum()), 2))
        verts[np.arange(len(e)) + chain] = np.where(fw[:, None], seg[e, :2], seg[e, 2:])
        last = np.append(chain[1:] != chain[:-1], True)
        verts[offset + size - 1] = np.where(fw[last][:, None], seg[e[last], 2:], seg[e[last], :2])
        v_pair = nc[owner[head]][np.repeat(np.arange(n_chain), size)]
        far = _scaled(
            verts - origins[pair_cam[v_pair]], pair_cam[v_pair], k[v_pair], origins, reach
        )
        # ring of a chain: its vertices, then their scaled images backwards
        ring_id = np.repeat(np.arange(n_chain), 2 * size)
        within = np.arange(2 * len(verts)) - np.repeat(2 * offset, 2 * size)
        sz, base = np.repeat(size, 2 * size), np.repeat(offset, 2 * size)
        ring = np.where(
            (within < sz)[:, None],
            verts[np.minimum(base + within, len(verts) - 1)],
            far[np.clip(base + 2 * sz - 1 - within, 0, len(verts) - 1)],
        )
        polys = shapely.polygons(shapely.linearrings(ring, indices=ring_id))
        keep = shapely.area(polys) > 0
        polys = polys[keep]
        polys = np.where(shapely.is_valid(polys), polys, shapely.make_valid(polys))
        chain_pair = nc[owner[head]][keep]
    else:
        polys, chain_pair = np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    return polys, chain_pair


def _grouped_union(geoms: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """``(n,)`` union of ``geoms`` by ``group`` in ``range(n)`` (None: empty group), one call."""
    out = np.full(n, None, dtype=object)
    if not len(geoms):
        return out
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=n)
    table = np.full((n, int(counts.max())), None, dtype=object)
    table[group[order], np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)] = (
        geoms[order]
    )
    has = counts > 0
    out[has] = shapely.union_all(table[has], axis=1)
    return out
