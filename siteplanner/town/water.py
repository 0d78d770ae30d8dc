"""The sea and the mapped water, which the study area loses, on complete and clipped extracts.

:func:`land_share` takes the sea (right of ``natural=coastline``) and the mapped water
(:data:`WATER_TAGS`) off a study area. Every water polygon is made valid first
(:func:`polygonal`): an extract cut at a bounding box keeps a lake's or a riverbank's nodes
inside the box, and the way they leave may cross itself.

A water area the extract's edge cuts (a closed way whose nodes outside are missing, a
multipolygon relation with member ways missing) is a set of open chains. :func:`close_water`
closes them along the extract's bounds: the chains cut the bounds into faces, crossing a chain
goes from water to land, and the water side is the one without buildings and streets. When the
data cannot tell (too few buildings and street nodes, or as many on both sides), the area is left
out, never guessed. :func:`parity_faces` is the geometry both this and the closing of an admin
boundary cut by the edge (:mod:`siteplanner.town.osm`) use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

#: Mapped water the study area loses (the sea is told by ``natural=coastline``): a river is
#: ``natural=water`` (with ``water=river``) or, in extracts before 2020, ``waterway=riverbank``.
WATER_TAGS: dict[str, tuple[str, ...]] = {
    "natural": ("water",),
    "waterway": ("riverbank",),
    "landuse": ("reservoir",),
}

#: A cut water area is closed when its land side holds at least this many buildings and street
#: nodes ...
MIN_LAND_POINTS = 5
#: ... and its water side at most this share of the land side's.
MAX_WATER_SHARE = 0.1

_EPS = 1e-6  # degrees: the bounds are widened by this, so that no point lies on them


def is_water(tags: Mapping[str, str]) -> bool:
    """Whether an area with these tags is mapped water (:data:`WATER_TAGS`)."""
    return any(tags.get(key) in values for key, values in WATER_TAGS.items())


def water_mask(features: gpd.GeoDataFrame) -> np.ndarray:
    """Which rows of a features layer are mapped water (:data:`WATER_TAGS`)."""
    mask = np.zeros(len(features), bool)
    for key, values in WATER_TAGS.items():
        if key in features:
            mask |= features[key].isin(values).to_numpy()
    return mask


def polygonal(geom: BaseGeometry | None) -> Polygon | MultiPolygon:
    """``geom`` made valid (:func:`shapely.make_valid`), keeping its polygonal parts only.

    Returns the empty polygon when nothing of area is left (a line, a point, or nothing).
    """
    if geom is None or geom.is_empty:
        return Polygon()
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = shapely.get_parts(shapely.get_parts(geom))
    polys = [g for g in parts if g.geom_type == "Polygon" and g.area > 0]
    if not polys:
        return Polygon()
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


# ---------------------------------------------------------------------------------------
# closing along the extract's bounds
# ---------------------------------------------------------------------------------------


def parity_faces(
    segs: Sequence[Sequence[tuple[float, float]]],
    bounds: tuple[float, float, float, float],
    ref: tuple[float, float] | None = None,
    *,
    ends_cross: bool = False,
) -> tuple[list[Polygon], list[Polygon]]:
    """The faces lines cut the extract's bounds into, in two sets: crossing a line flips the set.

    Each open line is extended from its loose ends to the nearest point of the bounds (widened
    by 1e-6°). The first set holds the face of ``ref`` (default: the bounds' south-west corner).

    Parameters
    ----------
    segs
        The lines (lon/lat coordinate lists); chains that meet end to end are merged.
    bounds
        ``(west, south, east, north)`` of the extract.
    ref
        A point whose face goes in the first set.
    ends_cross
        Whether crossing the extension of a loose end also flips the set (a water area's edge
        goes on to the extract's edge); the admin boundaries' closing counts the lines only.
    """
    box = shapely.box(bounds[0] - _EPS, bounds[1] - _EPS, bounds[2] + _EPS, bounds[3] + _EPS)
    ring = box.exterior
    merged = shapely.get_parts(shapely.line_merge(shapely.MultiLineString(list(segs))))
    ext = []
    for line in merged:
        if line.is_ring:
            continue
        for end in (Point(line.coords[0]), Point(line.coords[-1])):
            ext.append(LineString([end, ring.interpolate(ring.project(end))]))
    border = shapely.union_all([*merged, *ext] if ends_cross else list(merged))
    faces = shapely.get_parts(
        shapely.polygonize(shapely.get_parts(shapely.union_all([ring, border, *ext])))
    )
    if ref is None:
        ref = (bounds[0] - _EPS / 2, bounds[1] - _EPS / 2)
    sets: tuple[list[Polygon], list[Polygon]] = ([], [])
    for face in faces:
        p = face.representative_point()
        crossing = shapely.intersection(LineString([ref, (p.x, p.y)]), border)
        n = len(shapely.get_parts(crossing)) if not crossing.is_empty else 0
        sets[n % 2].append(face)
    return sets


def close_water(
    segs: Sequence[Sequence[tuple[float, float]]],
    bounds: tuple[float, float, float, float],
    land_xy: np.ndarray,
) -> Polygon | MultiPolygon | None:
    """A water area cut by the extract's edge, closed along the extract's bounds.

    Parameters
    ----------
    segs
        The parts of its outline the extract holds (open chains and closed rings, lon/lat).
    bounds
        ``(west, south, east, north)`` of the extract.
    land_xy
        Points on land (building centroids, street nodes off bridges and tunnels), ``(n, 2)``.

    Returns
    -------
    The water polygon (valid), or None when the buildings and streets do not tell the water
    side: fewer than :data:`MIN_LAND_POINTS` on the land side, or more than
    :data:`MAX_WATER_SHARE` of them on the water side.
    """
    if not segs:
        return None
    sides = [
        shapely.union_all(s) if s else Polygon()
        for s in parity_faces(segs, bounds, ends_cross=True)
    ]
    counts = [
        int(shapely.contains_xy(side, land_xy[:, 0], land_xy[:, 1]).sum())
        if len(land_xy) and not side.is_empty
        else 0
        for side in sides
    ]
    wet = int(np.argmin(counts))
    land = counts[1 - wet]
    if land < MIN_LAND_POINTS or counts[wet] > MAX_WATER_SHARE * land:
        return None
    geom = polygonal(sides[wet])
    return None if geom.is_empty else geom


# ---------------------------------------------------------------------------------------
# the land of a study area
# ---------------------------------------------------------------------------------------


def land_share(area: BaseGeometry, features: gpd.GeoDataFrame) -> tuple[BaseGeometry, bool]:
    """``area`` (WGS84) less the sea (right of ``natural=coastline``) and the mapped water.

    The area and every water polygon are made valid (:func:`polygonal`) before the union and
    the difference. Returns the land part and whether the extract maps any coastline or water
    near it.
    """
    area = polygonal(area)
    water = water_mask(features)
    coast = (
        features["natural"].eq("coastline").to_numpy()
        if "natural" in features
        else np.zeros(len(features), bool)
    )
    if not (water.any() or coast.any()):
        return area, False
    geoms = features.geometry.to_numpy()
    polys = [
        polygonal(g)
        for g in geoms[water]
        if g is not None and g.geom_type in ("Polygon", "MultiPolygon")
    ]
    polys = [g for g in polys if not g.is_empty and g.intersects(area)]
    lines = [
        g
        for g in geoms[coast]
        if g is not None and g.geom_type in ("LineString", "MultiLineString") and g.intersects(area)
    ]
    near = polys or lines or any(g is not None and g.intersects(area) for g in geoms[water])
    if not near:
        return area, False
    land = area.difference(shapely.union_all(polys)) if polys else area
    if lines:
        land = _land_side(polygonal(land), shapely.union_all(lines))
    return polygonal(land), True


def _land_side(area: BaseGeometry, coast: BaseGeometry) -> BaseGeometry:
    """The faces of ``area`` cut by the coastline that lie on its left (OSM: land left)."""
    lines = shapely.get_parts(shapely.line_merge(coast))
    cut = shapely.union_all([area.boundary, *lines])
    faces = [
        f
        for f in shapely.get_parts(shapely.polygonize(shapely.get_parts(cut)))
        if area.contains(f.representative_point())
    ]
    keep = []
    for face in faces:
        p = face.representative_point()
        line = min(lines, key=lambda ln: ln.distance(p))
        d = line.project(p)
        a = line.interpolate(max(d - 1e-7, 0.0))
        b = line.interpolate(min(d + 1e-7, line.length))
        if a.equals(b):
            keep.append(face)
            continue
        side = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
        if side >= 0:  # left of the coastline's direction: land
            keep.append(face)
    return shapely.union_all(keep) if keep else Polygon()
