"""What the ground hides from a camera: the terrain's cut of a field of view.

The cut is made from the DEM (a 2D array in the town's projected CRS with its rasterio
affine transform) and from the camera's and the target's heights above the ground
(:func:`terrain_clip`, :func:`terrain_clips`): rays every ``angle_step_deg`` sampled every
``step_m`` on the DEM (bilinear, :func:`siteplanner.coverage.sightlines.bilinear`); a sample is
hidden when the ground at a nearer sample of its ray rises above the line of sight, and its
polar cell is removed.

The roofs below the camera's eye, the other thing the heights change, are cut by
:func:`siteplanner.coverage.viewshed.isovists` with the exact shadows of
:func:`siteplanner.coverage.sightlines.roof_shadows`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon

from siteplanner._errors import InputError, check_positive
from siteplanner.coverage.sightlines import bilinear

logger = logging.getLogger(__name__)

__all__ = ["terrain_clip", "terrain_clips"]

_TWO_PI = 2.0 * math.pi
_BATCH = 64  # fields of view whose DEM samples are read together (bounds the memory)


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
        Field of view, e.g. from :func:`siteplanner.coverage.viewshed.isovist`.
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
            f"terrain_clips: {len(fovs)} fields of view for {len(origins)} origins; "
            "accepted: one origin each"
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
    z_cam = bilinear(dem, transform, origins[todo, 0], origins[todo, 1]) + camera_height_m
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
            bilinear(dem, transform, o[c, 0] + cos_a[r] * dist[k], o[c, 1] + sin_a[r] * dist[k])
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
    """``(n, n_rays)`` upper bound of each field of view's distance from its camera per bin.

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
