"""What the ground and the roofs below a camera's eye hide from it.

Two cuts of a field of view, both from the DEM (a 2D array in the town's projected CRS with
its rasterio affine transform) and from the camera's and the target's heights above the
ground:

* the roofs below the eye (used by :func:`siteplanner.viewshed.isovists` when it is given
  the terrain): a building whose flat roof (its height above the mean ground at its outer
  vertices) is below the camera's eye hides the ground behind it only while the line of
  sight to the target is below the roof. That shadow is exact: the points ``s · x`` seen
  from the camera, ``x`` in the footprint, ``1 <= s <= k``, with
  ``k = (eye - target) / (eye - roof)``;
* the ground itself (:func:`terrain_clip`, :func:`terrain_clips`): rays every
  ``angle_step_deg`` sampled every ``step_m`` on the DEM (bilinear); a sample is hidden when
  the ground at a nearer sample of its ray rises above the line of sight, and its polar
  cell is removed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import shapely
from scipy.ndimage import map_coordinates
from shapely.geometry import Polygon

from siteplanner._errors import InputError, check_positive

if TYPE_CHECKING:
    from siteplanner.viewshed import Obstacles

logger = logging.getLogger(__name__)

__all__ = ["terrain_clip", "terrain_clips"]

_TWO_PI = 2.0 * math.pi
_BATCH = 64  # fields of view whose DEM samples are read together (bounds the memory)


def _bilinear(dem: np.ndarray, transform: object, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    inv = ~transform  # type: ignore[operator]
    col = inv.a * x + inv.b * y + inv.c
    row = inv.d * x + inv.e * y + inv.f
    return map_coordinates(
        np.asarray(dem, dtype=float),
        [np.asarray(row) - 0.5, np.asarray(col) - 0.5],
        order=1,
        mode="nearest",
    )


# --------------------------------------------------------------------------------------
# Roofs below the eye
# --------------------------------------------------------------------------------------


def _roofs_below_eye(
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
        z = _bilinear(terrain["dem"], terrain["transform"], xy[:, 0], xy[:, 1])  # type: ignore[arg-type]
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


def _roof_shadows(
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
    """
    n = len(origins)
    shadows = np.full(n, None, dtype=object)
    if not len(pair_cam):
        return shadows
    reach = 3.0 * radii

    def scaled(rel: np.ndarray, cam: np.ndarray, kk: np.ndarray) -> np.ndarray:
        d = np.hypot(rel[:, 0], rel[:, 1])
        return rel * np.minimum(kk, reach[cam] / np.maximum(d, 1e-9))[:, None] + origins[cam]

    fps = obstacles.footprints[pair_fp]
    convex = (shapely.get_num_interior_rings(fps) == 0) & (
        shapely.area(shapely.convex_hull(fps)) <= shapely.area(fps) * (1 + 1e-9)
    )
    pieces = np.empty(len(pair_cam), dtype=object)
    if convex.any():
        c = np.flatnonzero(convex)
        xy, which = shapely.get_coordinates(fps[c], return_index=True)
        cam = pair_cam[c][which]
        far = scaled(xy - origins[cam], cam, k[c][which])
        index = np.concatenate([which, which])
        order = np.argsort(index, kind="stable")
        points = shapely.multipoints(np.vstack([xy, far])[order], indices=index[order])
        pieces[c] = shapely.convex_hull(points)
    if (~convex).any():
        nc = np.flatnonzero(~convex)
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
            verts[offset + size - 1] = np.where(
                fw[last][:, None], seg[e[last], 2:], seg[e[last], :2]
            )
            v_pair = nc[owner[head]][np.repeat(np.arange(n_chain), size)]
            far = scaled(verts - origins[pair_cam[v_pair]], pair_cam[v_pair], k[v_pair])
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
        pieces[nc] = fps[nc]
        pieces = np.concatenate([pieces, polys])
        pair_cam = np.concatenate([pair_cam, pair_cam[chain_pair]])
    return _grouped_union(pieces, pair_cam, n)


def _grouped_union(geoms: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """``(n,)`` union of ``geoms`` by ``group`` in ``range(n)`` (None for an empty group), in one call."""
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


# --------------------------------------------------------------------------------------
# The ground
# --------------------------------------------------------------------------------------


def terrain_clip(
    fov: Polygon,
    origin: tuple[float, float],
    *,
    dem: np.ndarray,
    transform: object,
    camera_height_m: float,
    target_height_m: float,
    step_m: float = 5.0,
    angle_step_deg: float = 1.0,
) -> Polygon:
    """Remove from a field of view the ground that the terrain hides from the camera.

    Rays every ``angle_step_deg`` are sampled every ``step_m`` on the DEM (bilinear). A
    target ``target_height_m`` above the ground at a sample is hidden when the terrain
    at a nearer sample of the same ray rises above the line from the camera
    (``camera_height_m`` above the ground at ``origin``) to the target. Each hidden
    sample removes its polar cell (one angle step by one distance step).

    Parameters
    ----------
    fov
        Field of view, e.g. from :func:`siteplanner.viewshed.isovist`.
    origin
        Camera position ``(x, y)``.
    dem
        2D elevation array (metres) in the same projected CRS as ``fov``; NaN never hides.
    transform
        Affine transform of ``dem`` (rasterio convention: pixel corner).
    camera_height_m
        Camera height above the ground.
    target_height_m
        Height of what must be seen (e.g. 1.7 m for a face, 0 for the ground).
    step_m
        Distance between samples along a ray.
    angle_step_deg
        Angle between rays.

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon
        The field of view minus the hidden cells (unchanged if nothing is hidden).
    """
    return terrain_clips(
        [fov],
        np.array([[float(origin[0]), float(origin[1])]]),
        dem=dem,
        transform=transform,
        camera_height_m=camera_height_m,
        target_height_m=target_height_m,
        step_m=step_m,
        angle_step_deg=angle_step_deg,
    )[0]


def terrain_clips(
    fovs: Sequence[Polygon],
    origins: np.ndarray,
    *,
    dem: np.ndarray,
    transform: object,
    camera_height_m: float,
    target_height_m: float,
    step_m: float = 5.0,
    angle_step_deg: float = 1.0,
) -> list[Polygon]:
    """:func:`terrain_clip` of many fields of view at once (the DEM is sampled in batches).

    ``origins`` is ``(n, 2)``, one camera per field of view; the other parameters are those
    of :func:`terrain_clip`. Returns one field of view per input, in order.
    """
    check_positive(source="terrain_clip", step_m=step_m, angle_step_deg=angle_step_deg)
    origins = np.asarray(origins, dtype=float).reshape(-1, 2)
    if len(origins) != len(fovs):
        raise InputError(
            f"terrain_clips: {len(fovs)} fields of view for {len(origins)} origins; accepted: one origin each"
        )
    out = list(fovs)
    todo = np.flatnonzero([not f.is_empty for f in fovs])
    if not len(todo):
        return out
    n_rays = max(4, math.ceil(360.0 / angle_step_deg))
    edges = np.linspace(0.0, _TWO_PI, n_rays + 1)
    ang = 0.5 * (edges[:-1] + edges[1:])
    cos_a, sin_a = np.cos(ang), np.sin(ang)
    xy, which = shapely.get_coordinates(np.asarray(fovs, dtype=object)[todo], return_index=True)
    reach = np.zeros(len(todo))
    np.maximum.at(
        reach,
        which,
        np.hypot(xy[:, 0] - origins[todo][which, 0], xy[:, 1] - origins[todo][which, 1]),
    )
    n_samples = np.maximum(1, np.ceil(reach / step_m).astype(np.int64))
    z_cam = _bilinear(dem, transform, origins[todo, 0], origins[todo, 1]) + camera_height_m
    outer = _outer_radius(xy, which, origins[todo], edges)
    for b0 in range(0, len(todo), _BATCH):
        sl = slice(b0, b0 + _BATCH)
        n_max = int(n_samples[sl].max())
        dist = step_m * np.arange(1, n_max + 1)
        o = origins[todo[sl]]
        # Only the samples whose polar cell can meet the field of view (and those before
        # them on the ray) are read; the others stay NaN, which never hides.
        need = dist[None, None, :] - 0.5 * step_m <= outer[sl, :, None]
        c, r, k = np.nonzero(need)
        z = np.full(need.shape, np.nan)
        z[c, r, k] = (
            _bilinear(dem, transform, o[c, 0] + cos_a[r] * dist[k], o[c, 1] + sin_a[r] * dist[k])
            - z_cam[sl][c]
        )
        horizon = np.fmax.accumulate(z / dist, axis=2)
        horizon = np.concatenate(
            [np.full(horizon.shape[:2] + (1,), -np.inf), horizon[:, :, :-1]], axis=2
        )
        hidden = (z + target_height_m) / dist < horizon
        hidden &= (
            np.arange(n_max)[None, None, :] < n_samples[sl, None, None]
        )  # within each field of view's reach
        for j in np.flatnonzero(hidden.any(axis=(1, 2))):
            i = todo[b0 + j]
            n = int(n_samples[b0 + j])
            out[i] = _cut_hidden(
                out[i],
                origins[i],
                hidden[j, :, :n],
                float(reach[b0 + j]),
                edges,
                step_m,
                angle_step_deg,
            )
    return out


def _outer_radius(
    xy: np.ndarray, which: np.ndarray, origins: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """``(n, n_rays)`` an upper bound of each field of view's distance from its camera per angular bin.

    ``xy`` and ``which`` are the fields of view's vertices and their index in ``range(n)``.
    Along a straight edge the distance is largest at an end, so every bin an edge crosses
    gets the larger distance of its two ends (edges joining two rings only add bins).
    """
    n_rays = len(edges) - 1
    rel = xy - origins[which]
    r = np.hypot(rel[:, 0], rel[:, 1])
    b = np.minimum(
        (np.mod(np.arctan2(rel[:, 1], rel[:, 0]), _TWO_PI) / (_TWO_PI / n_rays)).astype(np.int64),
        n_rays - 1,
    )
    same = which[1:] == which[:-1]
    b0, b1 = b[:-1][same], b[1:][same]
    value = np.maximum(r[:-1], r[1:])[same]
    cam = which[:-1][same]
    span = np.mod(b1 - b0, n_rays)
    back = span > n_rays // 2  # the shorter way round
    start = np.where(back, b1, b0)
    span = np.where(back, n_rays - span, span)
    reps = span + 1
    k = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    out = np.zeros((len(origins), n_rays))
    np.maximum.at(
        out,
        (np.repeat(cam, reps), np.mod(np.repeat(start, reps) + k, n_rays)),
        np.repeat(value, reps),
    )
    return out


def _cut_hidden(
    fov: Polygon,
    origin: np.ndarray,
    hidden: np.ndarray,
    reach: float,
    edges: np.ndarray,
    step_m: float,
    angle_step_deg: float,
) -> Polygon:
    """Remove the polar cells of the hidden samples (rays × samples) from a field of view."""
    ox, oy = float(origin[0]), float(origin[1])
    n_rays, n_samples = hidden.shape
    # Runs of hidden samples along each ray -> one polar cell each.
    padded = np.zeros((n_rays, n_samples + 2), dtype=bool)
    padded[:, 1:-1] = hidden
    change = np.diff(padded.astype(np.int8), axis=1)
    ray_s, first = np.nonzero(change == 1)
    ray_e, last = np.nonzero(change == -1)
    order_s = np.lexsort((first, ray_s))
    order_e = np.lexsort((last, ray_e))
    ray, first, last = ray_s[order_s], first[order_s], last[order_e]
    r0 = step_m * (first + 0.5)  # sample k (0-based) lies at (k + 1) * step_m
    r1 = np.where(last >= n_samples, reach + step_m, step_m * (last + 0.5))
    # The last ray's far edge is the first ray's near edge, bit for bit (no sliver at 0 rad).
    a0, a1 = edges[ray], edges[(ray + 1) % n_rays]
    # Outer corners pushed out by 1/cos(half step) so the straight outer edge covers the arc.
    grow = 1.0 / math.cos(math.radians(angle_step_deg) / 2.0)
    tail = last >= n_samples
    # Hidden runs that reach the end of their ray: one star-shaped polygon of the ground
    # seen up to the first hidden sample of each ray (cheap: one intersection).
    reach_out = (reach + step_m) * grow
    r_star = np.full(n_rays, reach_out)
    r_star[ray[tail]] = r0[tail]
    star_ang = np.column_stack([edges[:-1], edges[1:]])
    star_ang[-1, 1] = edges[0]
    star_r = np.repeat(r_star, 2)
    star = Polygon(
        np.column_stack(
            [ox + star_r * np.cos(star_ang.ravel()), oy + star_r * np.sin(star_ang.ravel())]
        )
    )
    out = shapely.intersection(fov, star) if tail.any() else fov
    # Hidden runs followed by visible ground (beyond a crest, a dip): polar cells.
    inner = ~tail
    if inner.any():
        r0i, r1i, a0i, a1i = r0[inner], r1[inner], a0[inner], a1[inner]
        quads = np.stack(
            [
                np.column_stack([ox + r0i * np.cos(a0i), oy + r0i * np.sin(a0i)]),
                np.column_stack([ox + r1i * grow * np.cos(a0i), oy + r1i * grow * np.sin(a0i)]),
                np.column_stack([ox + r1i * grow * np.cos(a1i), oy + r1i * grow * np.sin(a1i)]),
                np.column_stack([ox + r0i * np.cos(a1i), oy + r0i * np.sin(a1i)]),
            ],
            axis=1,
        )
        out = shapely.difference(out, shapely.union_all(shapely.polygons(quads)))
    logger.debug(
        "terrain_clip: %d hidden samples removed %.0f m²", int(hidden.sum()), fov.area - out.area
    )
    return out
