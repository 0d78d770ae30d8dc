"""Camera fields of view: DORI ranges, exact isovists among the buildings, best headings.

A camera's field of view is the part of the ground it can see: the disc of its range (set
by the DORI level, EN 62676-4), cut to its horizontal wedge, minus what the buildings hide
(an exact *isovist*: the shadows of the building edges are computed exactly by an angular
sweep), minus what the terrain hides (:mod:`siteplanner.coverage.terrain`).

The building edges of the whole town are prepared once by :func:`build_obstacles`
(overlapping footprints merged, rings oriented, an STR-tree over the edges; defined in
:mod:`siteplanner.coverage.sightlines`); then each isovist only looks at the
edges within its range:

1. keep the edges that face the camera (back faces are always hidden by a front face of
   the same footprint) and clip them to the range disc;
2. the polar angles of their end points cut the wedge into angular intervals inside which
   the nearest edge cannot change (footprints are disjoint after the merge, so edges do not
   cross); one ray cast per interval (vectorised: intervals × edges) finds that edge;
3. the boundary of the isovist is that edge between the interval's two bounding rays, or
   the range circle where no edge is hit. Only the circle is approximated, by chords of at
   most ``arc_step_deg`` (1° by default: the disc area is under-estimated by 0.005 %).

Building heights (OSM ``height``, ``building:levels`` × 3 m, else 9 m, see
:mod:`siteplanner.town.load`) and the DEM make the model 2.5D when ``terrain`` is given: a
footprint whose flat roof (its height above the mean ground at its outer vertices) is at or
above the camera's eye is a wall, as above; a roof below the eye (a shed, a house downhill)
hides the ground behind it only while the line of sight to a target ``target_height_m``
high is below the roof, and that shadow is cut exactly (:mod:`siteplanner.coverage.sightlines`).
Without ``terrain`` every building is a wall.

Headings are compass bearings: degrees clockwise from north. The wedge of a camera of
horizontal field of view ``fov_deg`` is centred on its heading. A PTZ (pan-tilt-zoom)
camera is modelled as a 360° field of view at its observation range.

What a field of view shows of dwellings (L251-3) is measured by :mod:`siteplanner.coverage.privacy`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from siteplanner._errors import InputError, check_positive, report_problems
from siteplanner.coverage.sightlines import (
    Obstacles,
    bilinear,
    polygonal_parts,
    roof_shadows,
    roofs_below_eye,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DORI_PPM",
    "best_heading",
    "best_headings",
    "dori_range_m",
    "dori_ranges_m",
    "horizontal_fov_deg",
    "isovist",
    "isovists",
]

#: Pixel densities (pixels per metre of scene width) of the DORI levels of EN 62676-4.
DORI_PPM: dict[str, float] = {
    "detection": 25.0,
    "observation": 62.0,
    "recognition": 125.0,
    "identification": 250.0,
}

_TWO_PI = 2.0 * math.pi
_EMPTY = Polygon()
_BATCH = 64  # cameras swept together (bounds the memory of the vectorised sweep)


# --------------------------------------------------------------------------------------
# Camera optics (DORI)
# --------------------------------------------------------------------------------------


def dori_range_m(focal_mm: float, sensor_width_mm: float, width_px: float, ppm: float) -> float:
    """Distance at which a camera still resolves ``ppm`` pixels per metre of scene width.

    ``distance = focal_mm · width_px / (sensor_width_mm · ppm)`` (EN 62676-4): at distance
    ``d`` the image width covers ``d · sensor_width / focal`` metres of scene.

    Parameters
    ----------
    focal_mm
        Focal length of the lens (mm).
    sensor_width_mm
        Width of the image sensor (mm), e.g. 5.4 for a 1/2.8" sensor.
    width_px
        Horizontal resolution (pixels), e.g. 1920 for 1080p.
    ppm
        Required pixel density, e.g. ``DORI_PPM["recognition"]`` (125).

    Returns
    -------
    float
        The range in metres.
    """
    check_positive(
        source="camera optics",
        focal_mm=focal_mm,
        sensor_width_mm=sensor_width_mm,
        width_px=width_px,
        ppm=ppm,
    )
    return float(focal_mm) * float(width_px) / (float(sensor_width_mm) * float(ppm))


def dori_ranges_m(focal_mm: float, sensor_width_mm: float, width_px: float) -> dict[str, float]:
    """Range in metres of each DORI level (keys of :data:`DORI_PPM`) for one camera."""
    return {
        level: dori_range_m(focal_mm, sensor_width_mm, width_px, ppm)
        for level, ppm in DORI_PPM.items()
    }


def horizontal_fov_deg(focal_mm: float, sensor_width_mm: float) -> float:
    """Horizontal field of view in degrees: ``2 · atan(sensor_width / (2 · focal))``.

    Parameters
    ----------
    focal_mm
        Focal length of the lens (mm).
    sensor_width_mm
        Width of the image sensor (mm).

    Returns
    -------
    float
        The angle in degrees, in (0, 180).
    """
    check_positive(source="camera optics", focal_mm=focal_mm, sensor_width_mm=sensor_width_mm)
    return math.degrees(2.0 * math.atan(float(sensor_width_mm) / (2.0 * float(focal_mm))))


# --------------------------------------------------------------------------------------
# Isovists
# --------------------------------------------------------------------------------------


def _check_view(radius_m: float, fov_deg: float, heading_deg: float | None) -> None:
    problems = []
    if not (math.isfinite(radius_m) and radius_m > 0):
        problems.append(f"radius_m={radius_m!r} is not accepted: give a finite range in metres > 0")
    if not (math.isfinite(fov_deg) and 0 < fov_deg):
        problems.append(
            f"fov_deg={fov_deg!r} is not accepted: give an angle in degrees in (0, 360]"
        )
    if heading_deg is not None and not math.isfinite(heading_deg):
        problems.append(
            f"heading_deg={heading_deg!r} is not accepted: give a compass bearing in degrees"
        )
    report_problems(problems, source="isovist")


def _sweep(
    seg: np.ndarray,
    cam: np.ndarray,
    radius: np.ndarray,
    start: np.ndarray,
    width: np.ndarray,
    arc_step: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Visible regions around several cameras at once, as polygon vertices.

    Parameters
    ----------
    seg
        ``(m, 4)`` edges relative to their camera, solid on the left.
    cam
        ``(m,)`` camera of each edge, in ``range(n)``.
    radius, start, width
        ``(n,)`` range, wedge start (math angle, radians) and wedge width of each camera.
    arc_step
        Largest chord angle on the range circle (radians).

    Returns
    -------
    tuple of numpy.ndarray
        ``(k, 2)`` vertices relative to their camera, counter-clockwise, grouped by
        camera in increasing order, and ``(k,)`` the camera of each vertex.
    """
    n_cam = len(radius)
    end = np.minimum(width, _TWO_PI)
    sx, sy, fx, fy, cam = _front_faces_in_range(seg, cam, radius)
    ex, ey = fx - sx, fy - sy
    lo, hi, owner, span_cam = _angular_spans(sx, sy, fx, fy, cam, start, end)
    # 4. Critical angles of all cameras in one sorted array: key = 8 · camera + angle.
    base = 8.0 * np.arange(n_cam)
    key_lo = 8.0 * span_cam + lo
    key_hi = 8.0 * span_cam + hi
    crit = np.unique(np.concatenate([base, base + end, key_lo, key_hi]))
    crit_cam = np.floor(crit / 8.0).astype(np.int64)
    crit_ang = crit - 8.0 * crit_cam
    int_cam = crit_cam[:-1]
    real = crit_cam[1:] == int_cam  # intervals between two cameras' keys are not real
    widths = np.diff(crit_ang)
    # 5. Nearest edge of each interval: one ray at its middle against the edges spanning it.
    i_lo = np.searchsorted(crit, key_lo)
    i_hi = np.searchsorted(crit, key_hi)
    mid = crit_ang[:-1] + 0.5 * widths + start[int_cam]
    winner = _nearest_edges(len(crit) - 1, i_lo, i_hi, owner, mid, (sx, sy, ex, ey))
    # 6. Vertices: the winning edge between the interval's two rays, or the range circle.
    ints = np.flatnonzero(real)
    w_int = winner[ints]
    n_steps = np.where(
        w_int >= 0, 1, np.maximum(1, np.ceil(widths[ints] / arc_step - 1e-9).astype(np.int64))
    )
    counts = n_steps + 1
    total = int(counts.sum())
    first = np.repeat(np.cumsum(counts) - counts, counts)
    j = np.arange(total) - first
    interval = np.repeat(ints, counts)
    steps = np.repeat(n_steps, counts)
    v_cam = int_cam[interval]
    ang = crit_ang[interval] + widths[interval] * (j / steps) + start[v_cam]
    dx, dy = np.cos(ang), np.sin(ang)
    x = radius[v_cam] * dx
    y = radius[v_cam] * dy
    w = np.repeat(w_int, counts)
    on_edge = w >= 0
    if on_edge.any():
        we = w[on_edge]
        wsx, wsy, wex, wey = sx[we], sy[we], ex[we], ey[we]
        ddx, ddy = dx[on_edge], dy[on_edge]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (wsx * ddy - wsy * ddx) / (ddx * wey - ddy * wex)
        t = np.clip(np.where(np.isfinite(t), t, 0.0), 0.0, 1.0)
        x[on_edge] = wsx + t * wex
        y[on_edge] = wsy + t * wey
    return _rings(x, y, v_cam, width)


def _front_faces_in_range(
    seg: np.ndarray, cam: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Steps 1-2 of :func:`_sweep`: the front faces clipped to the range disc.

    Returns the start ``sx, sy`` and end ``fx, fy`` of each kept edge and its camera.
    """
    px, py, qx, qy = seg.T
    # 1. Front faces only: the camera is on the right of p -> q (back faces are always
    #    hidden by a front face of the same footprint).
    front = px * qy - py * qx < 0
    px, py, qx, qy, cam = px[front], py[front], qx[front], qy[front], cam[front]
    # 2. Clip to the range disc: |p + t e| = r.
    ex, ey = qx - px, qy - py
    r = radius[cam]
    a = ex * ex + ey * ey
    b = px * ex + py * ey
    c = px * px + py * py - r * r
    disc = b * b - a * c
    ok = (disc > 0) & (a > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sq = np.sqrt(np.where(ok, disc, 0.0))
        t0 = np.maximum((-b - sq) / a, 0.0)
        t1 = np.minimum((-b + sq) / a, 1.0)
    ok &= t1 > t0
    px, py, qx, qy, ex, ey, t0, t1, cam = (v[ok] for v in (px, py, qx, qy, ex, ey, t0, t1, cam))
    # Clipped end points; unclipped ones are kept bit for bit, so that edges sharing a
    # vertex give exactly the same polar angle (no sliver interval between them).
    sx = np.where(t0 > 0, px + t0 * ex, px)
    sy = np.where(t0 > 0, py + t0 * ey, py)
    fx = np.where(t1 < 1, px + t1 * ex, qx)
    fy = np.where(t1 < 1, py + t1 * ey, qy)
    return sx, sy, fx, fy, cam


def _angular_spans(
    sx: np.ndarray,
    sy: np.ndarray,
    fx: np.ndarray,
    fy: np.ndarray,
    cam: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step 3 of :func:`_sweep`: each edge's span of angles in its camera's wedge.

    Returns ``lo, hi`` (radians from the wedge start), the edge of each span and its camera.
    """
    # 3. Polar angles in each wedge's frame. Front faces run clockwise as seen from the
    #    camera: an edge spans the angles from its end (f) to its start (s).
    ang_s = np.mod(np.arctan2(sy, sx) - start[cam], _TWO_PI)
    ang_f = np.mod(np.arctan2(fy, fx) - start[cam], _TWO_PI)
    wrap = ang_s < ang_f  # the span crosses the wedge's start angle: split it in two
    lo = np.concatenate([ang_f, np.zeros(int(wrap.sum()))])
    hi = np.concatenate([np.where(wrap, _TWO_PI, ang_s), ang_s[wrap]])
    owner = np.concatenate([np.arange(len(ang_s)), np.flatnonzero(wrap)])
    span_cam = cam[owner]
    keep = (lo < end[span_cam]) & (hi > lo)
    lo, owner, span_cam = lo[keep], owner[keep], span_cam[keep]
    hi = np.minimum(hi[keep], end[span_cam])
    return lo, hi, owner, span_cam


def _nearest_edges(
    n_int: int,
    i_lo: np.ndarray,
    i_hi: np.ndarray,
    owner: np.ndarray,
    mid: np.ndarray,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Step 5 of :func:`_sweep`: the nearest edge of each angular interval (-1: none).

    Span ``s`` covers the intervals ``i_lo[s] .. i_hi[s] - 1``; one ray at each interval's
    middle angle ``mid`` is cast against the edges ``sx, sy, ex, ey`` spanning it.
    """
    sx, sy, ex, ey = edges
    n_per = i_hi - i_lo
    n_pairs = int(n_per.sum())
    winner = np.full(n_int, -1, dtype=np.int64)
    if n_pairs:
        offset = np.repeat(np.cumsum(n_per) - n_per, n_per)
        pair_int = np.repeat(i_lo, n_per) + (np.arange(n_pairs) - offset)
        pair_seg = np.repeat(owner, n_per)
        cos_m, sin_m = np.cos(mid)[pair_int], np.sin(mid)[pair_int]
        pex, pey = ex[pair_seg], ey[pair_seg]
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = (sx[pair_seg] * pey - sy[pair_seg] * pex) / (cos_m * pey - sin_m * pex)
        dist[~(dist > 0)] = np.inf
        nearest = np.full(n_int, np.inf)
        np.minimum.at(nearest, pair_int, dist)
        is_min = (dist == nearest[pair_int]) & np.isfinite(dist)
        winner[pair_int[is_min]] = pair_seg[is_min]
    return winner


def _rings(
    x: np.ndarray, y: np.ndarray, v_cam: np.ndarray, width: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 7-8 of :func:`_sweep`: each wedge's apex added, repeated vertices dropped."""
    # 7. Wedges start at their apex, the camera itself.
    apex_cam = np.flatnonzero(width < _TWO_PI)
    if len(apex_cam):
        at = np.searchsorted(v_cam, apex_cam)
        x = np.insert(x, at, 0.0)
        y = np.insert(y, at, 0.0)
        v_cam = np.insert(v_cam, at, apex_cam)
    # 8. Drop repeated vertices (shared by two intervals) and the closing one.
    same_cam = v_cam[1:] == v_cam[:-1]
    repeat = same_cam & (np.abs(np.diff(x)) <= 1e-9) & (np.abs(np.diff(y)) <= 1e-9)
    keep = np.ones(len(x), dtype=bool)
    keep[1:] = ~repeat
    x, y, v_cam = x[keep], y[keep], v_cam[keep]
    if len(v_cam):
        last = np.flatnonzero(np.append(v_cam[1:] != v_cam[:-1], True))
        firsts = np.searchsorted(v_cam, v_cam[last])
        closing = (
            (last != firsts)
            & (np.abs(x[last] - x[firsts]) <= 1e-9)
            & (np.abs(y[last] - y[firsts]) <= 1e-9)
        )
        keep = np.ones(len(x), dtype=bool)
        keep[last[closing]] = False
        x, y, v_cam = x[keep], y[keep], v_cam[keep]
    return np.column_stack([x, y]), v_cam


def _view_frame(heading_deg: float | None, fov_deg: float) -> tuple[float, float]:
    """(start math angle, width) in radians of the wedge of a compass heading."""
    if heading_deg is None or fov_deg >= 360.0:
        return 0.0, _TWO_PI
    centre = math.radians(90.0 - heading_deg)
    width = math.radians(fov_deg)
    return centre - width / 2.0, width


def _isovist_batch(
    obstacles: Obstacles,
    origins: np.ndarray,
    radii: np.ndarray,
    starts: np.ndarray,
    widths: np.ndarray,
    arc_step: float,
    terrain: Mapping[str, object] | None = None,
) -> list[Polygon]:
    """Isovists of a batch of cameras (validated inputs)."""
    n = len(origins)
    points = shapely.points(origins)
    inside = np.zeros(n, dtype=bool)
    hit_origin, _ = obstacles.footprint_tree.query(points, predicate="intersects")
    inside[hit_origin] = True
    # Bounding-box query (cheap); edges outside the range disc are dropped by the sweep.
    boxes = shapely.box(
        origins[:, 0] - radii, origins[:, 1] - radii, origins[:, 0] + radii, origins[:, 1] + radii
    )
    q_cam, q_seg = obstacles.segment_tree.query(boxes)
    order = np.lexsort((q_seg, q_cam))
    q_cam, q_seg = q_cam[order], q_seg[order]
    low = None
    if terrain is not None and np.isfinite(obstacles.heights_m).any() and len(q_seg):
        eye_z = bilinear(terrain["dem"], terrain["transform"], origins[:, 0], origins[:, 1])  # type: ignore[arg-type]
        eye_z = eye_z + float(terrain["camera_height_m"])  # type: ignore[arg-type]
        wall, *low = roofs_below_eye(obstacles, origins, radii, q_cam, q_seg, eye_z, terrain)
        q_cam, q_seg = q_cam[wall], q_seg[wall]
    rel = obstacles.segments[q_seg] - np.hstack([origins, origins])[q_cam]
    pts, v_cam = _sweep(rel, q_cam, radii, starts, widths, arc_step)
    out = np.empty(n, dtype=object)
    out[:] = [_EMPTY] * n
    counts = np.bincount(v_cam, minlength=n)
    good = (counts >= 3) & ~inside
    sel = good[v_cam]
    if sel.any():
        ring_id = np.cumsum(good) - 1
        rings = shapely.linearrings(pts[sel] + origins[v_cam[sel]], indices=ring_id[v_cam[sel]])
        polys = shapely.polygons(rings)
        invalid = np.flatnonzero(~shapely.is_valid(polys))
        for i in invalid:
            # Rounding in the translation can pinch a needle-thin gap between two
            # buildings: keep the main part.
            parts = polygonal_parts(np.asarray([shapely.make_valid(polys[i])], dtype=object))
            polys[i] = parts[np.argmax(shapely.area(parts))] if len(parts) else _EMPTY
        if len(invalid):
            logger.debug("isovists: repaired %d pinched polygon(s)", len(invalid))
        out[good] = polys
    if low is not None and len(low[0]):
        # Roofs below the eye: only those seen past the walls cast a shadow that matters.
        pair_cam, pair_fp, k = low
        seen = shapely.intersects(out[pair_cam], obstacles.footprints[pair_fp])
        shadows = roof_shadows(obstacles, origins, radii, pair_cam[seen], pair_fp[seen], k[seen])
        cut = np.flatnonzero(shadows != None)  # noqa: E711 (elementwise)
        if len(cut):
            out[cut] = [_polygonal(g) for g in shapely.difference(out[cut], shadows[cut])]
    return list(out)


def _polygonal(geom: object) -> Polygon | MultiPolygon:
    """The polygonal part of a difference: a Polygon, a MultiPolygon, or the empty Polygon."""
    parts = polygonal_parts(np.asarray([geom], dtype=object))
    parts = parts[shapely.area(parts) > 1e-9]
    if len(parts) == 0:
        return _EMPTY
    return parts[0] if len(parts) == 1 else MultiPolygon(list(parts))


def isovist(
    obstacles: Obstacles,
    origin: tuple[float, float],
    radius_m: float,
    *,
    heading_deg: float | None = None,
    fov_deg: float = 360.0,
    arc_step_deg: float = 1.0,
    terrain: Mapping[str, object] | None = None,
) -> Polygon:
    """Exact 2D field of view of one camera: what it sees within its range, around buildings.

    Parameters
    ----------
    obstacles
        The town's buildings, from :func:`build_obstacles`.
    origin
        Camera position ``(x, y)`` in the obstacles' CRS.
    radius_m
        Range (e.g. a DORI range from :func:`dori_range_m`).
    heading_deg
        Compass bearing of the wedge centre (clockwise from north); ``None`` with a
        360° field of view.
    fov_deg
        Horizontal field of view; 360 (or more) for a PTZ or an omnidirectional camera.
    arc_step_deg
        Largest angle of the chords that approximate the range circle. Building shadows
        are exact.
    terrain
        ``dem``, ``transform``, ``camera_height_m`` and ``target_height_m``, as for
        :func:`siteplanner.coverage.terrain.terrain_clip`. With building heights in ``obstacles``,
        the camera sees over the roofs below its eye (their exact shadows are cut instead).
        ``None``: every building is a wall. The ground itself is cut by
        :func:`siteplanner.coverage.terrain.terrain_clip`.

    Returns
    -------
    shapely.Polygon
        The visible area (a MultiPolygon when a roof's shadow splits it); an empty Polygon
        if the camera stands inside (or on the wall of) a building.
    """
    _check_view(radius_m, fov_deg, heading_deg)
    if heading_deg is None and fov_deg < 360.0:
        raise InputError(
            f"isovist: fov_deg={fov_deg} < 360 needs heading_deg (a compass bearing in degrees)"
        )
    start, width = _view_frame(heading_deg, fov_deg)
    return _isovist_batch(
        obstacles,
        np.array([[float(origin[0]), float(origin[1])]]),
        np.array([float(radius_m)]),
        np.array([start]),
        np.array([width]),
        math.radians(arc_step_deg),
        terrain,
    )[0]


def _check_isovists(
    origins: np.ndarray, radii: np.ndarray, fov_deg: float, headings_deg: np.ndarray | None
) -> np.ndarray | None:
    """Check the arguments of :func:`isovists` (one error for all); the headings as floats."""
    n = len(origins)
    problems = []
    bad = np.flatnonzero(~np.isfinite(origins).all(axis=1))
    problems += [f"origins row {i}: {origins[i].tolist()} is not a finite x, y" for i in bad]
    bad = np.flatnonzero(~(np.isfinite(radii) & (radii > 0)))
    problems += [
        f"radius_m row {i}: {radii[i]!r} is not accepted: give a range in metres > 0" for i in bad
    ]
    if not (math.isfinite(fov_deg) and fov_deg > 0):
        problems.append(
            f"fov_deg={fov_deg!r} is not accepted: give an angle in degrees in (0, 360]"
        )
    if fov_deg < 360.0:
        if headings_deg is None:
            problems.append(
                f"headings_deg is missing: fov_deg={fov_deg} < 360 "
                "needs one compass bearing per origin"
            )
        else:
            headings_deg = np.asarray(headings_deg, dtype=float)
            if headings_deg.shape != (n,):
                problems.append(
                    f"headings_deg has shape {headings_deg.shape}; accepted: ({n},), one per origin"
                )
            else:
                bad = np.flatnonzero(~np.isfinite(headings_deg))
                problems += [
                    f"headings_deg row {i}: {headings_deg[i]!r} is not a finite bearing"
                    for i in bad
                ]
    report_problems(problems, source="isovists")
    return headings_deg


def isovists(
    obstacles: Obstacles,
    origins: np.ndarray,
    radius_m: float | np.ndarray,
    *,
    fov_deg: float = 360.0,
    headings_deg: np.ndarray | None = None,
    arc_step_deg: float = 1.0,
    terrain: Mapping[str, object] | None = None,
    progress: bool = False,
) -> list[Polygon]:
    """Fields of view of many cameras (same as :func:`isovist` on each, swept in batches).

    Parameters
    ----------
    obstacles
        The town's buildings, from :func:`build_obstacles`.
    origins
        ``(n, 2)`` camera positions.
    radius_m
        One range for all, or one per camera.
    fov_deg
        Horizontal field of view of every camera.
    headings_deg
        ``(n,)`` compass bearings; required when ``fov_deg < 360``.
    arc_step_deg
        Largest chord angle on the range circle.
    terrain
        ``dem``, ``transform``, ``camera_height_m`` and ``target_height_m``, as for
        :func:`siteplanner.coverage.terrain.terrain_clip`. With building heights in ``obstacles``,
        the camera sees over the roofs below its eye (their exact shadows are cut instead).
        ``None``: every building is a wall. The ground itself is cut by
        :func:`siteplanner.coverage.terrain.terrain_clip`.
    progress
        Show a progress bar.

    Returns
    -------
    list of shapely.Polygon
        One field of view per origin, in input order.
    """
    origins = np.asarray(origins, dtype=float)
    if origins.ndim != 2 or origins.shape[1] != 2:
        raise InputError(
            f"isovists: origins has shape {origins.shape}; accepted: an (n, 2) array of x, y"
        )
    n = len(origins)
    radii = np.array(np.broadcast_to(np.asarray(radius_m, dtype=float), (n,)))
    headings_deg = _check_isovists(origins, radii, fov_deg, headings_deg)
    if n == 0:
        return []
    starts = np.zeros(n)
    widths = np.full(n, _TWO_PI)
    if fov_deg < 360.0 and headings_deg is not None:
        for i, heading in enumerate(headings_deg):
            starts[i], widths[i] = _view_frame(float(heading), fov_deg)
    arc_step = math.radians(arc_step_deg)
    out: list[Polygon] = []
    batches: Sequence[int] = range(0, n, _BATCH)
    if progress:
        from rich.progress import track

        batches = track(batches, description="fields of view", transient=True)
    for b0 in batches:
        b1 = min(n, b0 + _BATCH)
        out += _isovist_batch(
            obstacles, origins[b0:b1], radii[b0:b1], starts[b0:b1], widths[b0:b1], arc_step, terrain
        )
    n_empty = sum(p.is_empty for p in out)
    logger.info(
        "isovists: %s fields of view (%d empty: camera inside a building), mean area %.0f m²",
        f"{n:,}",
        n_empty,
        float(np.mean(shapely.area(np.asarray(out, dtype=object)))),
    )
    return out


def _wedge_unit(heading_deg: float, fov_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Cosines and sines of the far ring's angles of a heading's wedge (see :func:`_wedge`)."""
    start, width = _view_frame(heading_deg, fov_deg)
    n = max(2, math.ceil(math.degrees(width) / 30.0) + 1)
    ang = start + np.linspace(0.0, width, n)
    return np.cos(ang), np.sin(ang)


def _wedge(
    origin: tuple[float, float], radius_m: float, heading_deg: float, fov_deg: float
) -> Polygon:
    """Wedge polygon reaching beyond the range circle (for clipping a 360° isovist)."""
    cos, sin = _wedge_unit(heading_deg, fov_deg)
    far = 2.0 * radius_m
    ring = np.column_stack([origin[0] + far * cos, origin[1] + far * sin])
    return Polygon(np.vstack([origin, ring]))


def _wedges(
    origins: np.ndarray, radius_m: float, headings_deg: np.ndarray, fov_deg: float
) -> np.ndarray:
    """:func:`_wedge` of many cameras at once (the same coordinates, one GEOS call)."""
    out = np.empty(len(origins), dtype=object)
    if not len(origins):
        return out
    far = 2.0 * radius_m
    for h in np.unique(headings_deg):  # one ring of angles per heading, as :func:`_wedge`
        rows = np.flatnonzero(headings_deg == h)
        cos, sin = _wedge_unit(float(h), fov_deg)
        xy = np.empty((len(rows), len(cos) + 1, 2))
        xy[:, 0] = origins[rows]
        xy[:, 1:, 0] = origins[rows, 0, None] + far * cos[None, :]
        xy[:, 1:, 1] = origins[rows, 1, None] + far * sin[None, :]
        out[rows] = shapely.polygons(xy)
    return out


def _heading_scores(
    full: Polygon,
    origin: tuple[float, float],
    radius_m: float,
    fov_deg: float,
    headings: np.ndarray,
    target_xy: np.ndarray | None,
    target_weight: np.ndarray | None,
) -> tuple[np.ndarray, list[Polygon]]:
    if target_xy is None:
        wedges = [_wedge(origin, radius_m, float(h), fov_deg) for h in headings]
        clipped = list(shapely.intersection(np.asarray(wedges, dtype=object), full))
        return shapely.area(np.asarray(clipped, dtype=object)), clipped
    scores = _target_scores(full, origin, fov_deg, headings, target_xy, target_weight)
    best = _first_best(scores)
    return scores, [
        shapely.intersection(_wedge(origin, radius_m, float(h), fov_deg), full)
        if j == best
        else None
        for j, h in enumerate(headings)
    ]


def _target_scores(
    full: Polygon,
    origin: tuple[float, float],
    fov_deg: float,
    headings: np.ndarray,
    target_xy: np.ndarray,
    target_weight: np.ndarray | None,
) -> np.ndarray:
    """Weight of the targets inside ``full`` and inside each heading's wedge."""
    txy = np.asarray(target_xy, dtype=float).reshape(-1, 2)
    weight = np.ones(len(txy)) if target_weight is None else np.asarray(target_weight, dtype=float)
    shapely.prepare(full)
    inside = (
        shapely.contains_xy(full, txy[:, 0], txy[:, 1]) if len(txy) else np.zeros(0, dtype=bool)
    )
    bearing = np.degrees(np.arctan2(txy[:, 0] - origin[0], txy[:, 1] - origin[1]))  # compass
    diff = np.abs((bearing[None, :] - headings[:, None] + 180.0) % 360.0 - 180.0)
    in_wedge = diff <= fov_deg / 2.0
    return (in_wedge & inside[None, :]).astype(float) @ weight


def _first_best(scores: np.ndarray) -> int:
    top = float(np.max(scores))
    return int(np.flatnonzero(scores >= top - 1e-9 * max(1.0, abs(top)))[0])


def best_heading(
    obstacles: Obstacles,
    origin: tuple[float, float],
    radius_m: float,
    fov_deg: float,
    *,
    n_headings: int = 8,
    target_xy: np.ndarray | None = None,
    target_weight: np.ndarray | None = None,
) -> tuple[float, Polygon]:
    """Best orientation of a fixed camera among ``n_headings`` evenly spaced bearings.

    The 360° isovist is computed once and cut by each wedge. The score of a heading is the
    total weight of the target points inside its field of view (their count if no weight),
    or the visible area without targets. Ties go to the smallest heading.

    Parameters
    ----------
    obstacles
        The town's buildings, from :func:`build_obstacles`.
    origin
        Camera position ``(x, y)``.
    radius_m
        Range of the camera.
    fov_deg
        Horizontal field of view.
    n_headings
        Headings tried: ``0, 360/n, 2·360/n, ...`` degrees clockwise from north.
    target_xy
        ``(m, 2)`` points to watch (incidents, entrances of schools...), optional.
    target_weight
        ``(m,)`` weight of each target point, optional.

    Returns
    -------
    tuple of (float, shapely.Polygon)
        The chosen heading and its field of view.
    """
    if not (isinstance(n_headings, (int, np.integer)) and n_headings >= 1):
        raise InputError(
            f"best_heading: n_headings={n_headings!r} is not accepted: give an integer >= 1"
        )
    if target_weight is not None and target_xy is None:
        raise InputError(
            "best_heading: target_weight is given without target_xy; give both or neither"
        )
    if target_xy is not None and target_weight is not None and len(target_weight) != len(target_xy):
        raise InputError(
            f"best_heading: target_weight has {len(target_weight)} values "
            f"for {len(target_xy)} target points; "
            "give one weight per point"
        )
    full = isovist(obstacles, origin, radius_m)
    if fov_deg >= 360.0 or full.is_empty:
        return 0.0, full
    headings = np.arange(n_headings) * (360.0 / n_headings)
    scores, clipped = _heading_scores(
        full, origin, radius_m, fov_deg, headings, target_xy, target_weight
    )
    best = _first_best(scores)
    return float(headings[best]), clipped[best]


def best_headings(
    obstacles: Obstacles,
    origins: np.ndarray,
    radius_m: float,
    fov_deg: float,
    *,
    n_headings: int = 8,
    target_xy: np.ndarray | None = None,
    target_weight: np.ndarray | None = None,
    terrain: Mapping[str, object] | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, list[Polygon]]:
    """:func:`best_heading` for many cameras: ``(headings (n,), fields of view)``.

    ``terrain``: see :func:`isovists` (roofs below the eye).
    """
    origins = np.asarray(origins, dtype=float).reshape(-1, 2)
    fulls = isovists(obstacles, origins, radius_m, terrain=terrain, progress=progress)
    headings = np.zeros(len(origins))
    candidates = np.arange(n_headings) * (360.0 / n_headings)
    # only the targets within range of a camera can be in its view: query them once, with a tree
    txy = None if target_xy is None else np.asarray(target_xy, dtype=float).reshape(-1, 2)
    tw = (
        None
        if txy is None
        else (
            np.ones(len(txy)) if target_weight is None else np.asarray(target_weight, dtype=float)
        )
    )
    near: list[list[int]] | None = None
    if txy is not None and fov_deg < 360.0 and len(txy):
        from scipy.spatial import cKDTree

        near = cKDTree(txy).query_ball_point(origins, r=radius_m * (1 + 1e-9) + 1e-6)
    fovs: list[Polygon | None] = list(fulls)
    cut = np.zeros(len(origins), dtype=bool)  # the sites whose wedge is cut below, together
    for i, full in enumerate(fulls):
        if fov_deg >= 360.0 or full.is_empty:
            continue
        origin = (float(origins[i, 0]), float(origins[i, 1]))
        if txy is None:
            scores, clipped = _heading_scores(
                full, origin, radius_m, fov_deg, candidates, None, None
            )
            headings[i] = candidates[_first_best(scores)]
            fovs[i] = clipped[_first_best(scores)]
            continue
        idx = np.sort(np.asarray(near[i], dtype=int)) if near is not None else slice(None)
        scores = _target_scores(full, origin, fov_deg, candidates, txy[idx], tw[idx])
        headings[i], cut[i] = candidates[_first_best(scores)], True
    if cut.any():  # the best wedge of each site cut from its isovist, in one GEOS call
        rows = np.flatnonzero(cut)
        clipped = shapely.intersection(
            _wedges(origins[rows], radius_m, headings[rows], fov_deg),
            np.asarray([fulls[i] for i in rows], dtype=object),
        )
        for i, poly in zip(rows, clipped):
            fovs[i] = poly
    return headings, fovs
