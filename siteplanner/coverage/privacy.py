"""The L251-3 privacy check of a camera's field of view.

L251-3 (Code de la sécurité intérieure) forbids video-protection cameras from viewing the
inside of dwellings and, specifically, their entrances. :func:`privacy_figures` measures,
for a site, the residential façade length and the number of entrances inside its field of
view at recognition range, and the mask polygons to declare in the prefecture file;
:func:`privacy_action` applies the scenario's policy (exclude the site, or keep it with a
privacy mask). :func:`siteplanner.vocab.residential_mask` says which OSM buildings are dwellings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from siteplanner._errors import InputError, check_positive
from siteplanner.coverage.sightlines import oriented_segments, polygonal_parts

__all__ = [
    "Privacy",
    "privacy_action",
    "privacy_figures",
]

_EMPTY = Polygon()


@dataclass(frozen=True)
class Privacy:
    """What a camera sees of dwellings at recognition range or closer (L251-3 check).

    Attributes
    ----------
    facade_m
        Length of residential façade inside the field of view (facing the camera).
    n_entrances
        Number of building entrances (OSM ``entrance=*`` nodes) inside it.
    mask
        The part of the field of view within ``mask_m`` of those façades and entrances: the
        privacy mask to declare in the prefecture file and to blank out in the image.
    """

    facade_m: float
    n_entrances: int
    mask: Polygon | MultiPolygon


def _geometries(value: object) -> np.ndarray:
    geometry = getattr(value, "geometry", value)
    return (
        np.asarray(list(geometry), dtype=object)
        if not isinstance(geometry, np.ndarray)
        else geometry
    )


def privacy_figures(
    fov: Polygon,
    origin: tuple[float, float],
    *,
    residential: object,
    entrances_xy: np.ndarray,
    recognition_range_m: float,
    mask_m: float = 3.0,
    tolerance_m: float = 0.05,
) -> Privacy:
    """Residential façade length, entrances and privacy mask of one field of view.

    Only the part of ``fov`` within ``recognition_range_m`` of ``origin`` counts (farther
    away, faces and house numbers cannot be recognised). A façade edge is visible where
    it faces the camera and lies on the field of view's boundary (within ``tolerance_m``);
    an entrance where it lies within ``tolerance_m`` of the field of view.

    Parameters
    ----------
    fov
        Field of view, e.g. from :func:`isovist` (buildings are holes or shadows in it).
    origin
        Camera position ``(x, y)``.
    residential
        Footprints of the dwellings (GeoSeries, GeoDataFrame or sequence of Polygons).
    entrances_xy
        ``(m, 2)`` positions of the building entrances.
    recognition_range_m
        Recognition range of the camera (:func:`dori_range_m` with 125 px/m).
    mask_m
        Width of the mask along the seen façades and around the seen entrances.
    tolerance_m
        Distance within which a façade or an entrance counts as on the field of view.

    Returns
    -------
    Privacy
    """
    return privacy_figures_many(
        [fov],
        np.asarray([origin], dtype=float),
        residential=[residential],
        entrances_xy=entrances_xy,
        recognition_range_m=recognition_range_m,
        mask_m=mask_m,
        tolerance_m=tolerance_m,
    )[0]


def privacy_figures_many(
    fovs: object,
    origins_xy: np.ndarray,
    *,
    residential: list[object],
    entrances_xy: np.ndarray,
    recognition_range_m: float,
    mask_m: float = 3.0,
    tolerance_m: float = 0.05,
) -> list[Privacy]:
    """:func:`privacy_figures` of many fields of view (the same figures, to the bit): the
    range discs, their cut of each field of view and the tolerance zones in one GEOS call
    each. ``residential[i]``: the dwellings near site ``i``."""
    check_positive(
        source="privacy_figures",
        recognition_range_m=recognition_range_m,
        mask_m=mask_m,
        tolerance_m=tolerance_m,
    )
    entrances = np.asarray(entrances_xy, dtype=float).reshape(-1, 2)
    fovs = np.asarray(list(fovs), dtype=object)
    xy = np.asarray(origins_xy, dtype=float).reshape(-1, 2)
    out = [Privacy(0.0, 0, _EMPTY)] * len(fovs)
    live = np.flatnonzero(~shapely.is_empty(fovs)) if len(fovs) else np.zeros(0, int)
    discs = shapely.buffer(shapely.points(xy[live]), recognition_range_m, quad_segs=90)
    nears = shapely.intersection(fovs[live], discs)
    seen = ~shapely.is_empty(nears)
    live, discs, nears = live[seen], discs[seen], nears[seen]
    zones = shapely.buffer(nears, tolerance_m, quad_segs=16)  # as BaseGeometry.buffer
    for i, near, disc, zone in zip(live, nears, discs, zones):
        out[i] = _seen(
            (float(xy[i, 0]), float(xy[i, 1])),
            near,
            disc,
            zone,
            residential[i],
            entrances,
            recognition_range_m,
            mask_m=mask_m,
        )
    return out


def _seen(
    origin: tuple[float, float],
    near: object,
    disc: object,
    zone: object,
    residential: object,
    entrances: np.ndarray,
    recognition_range_m: float,
    *,
    mask_m: float,
) -> Privacy:
    """The façades and entrances seen in ``near`` (the field of view within recognition
    range), ``zone`` being ``near`` widened by the tolerance."""
    ox, oy = origin
    shapely.prepare(zone)
    # Façades: residential ring edges facing the camera, cut to the zone.
    polys = polygonal_parts(shapely.make_valid(_geometries(residential)))
    polys = polys[shapely.intersects(polys, zone)] if len(polys) else polys
    seen = []
    if len(polys):
        seg = oriented_segments(polys)
        rel = seg - np.array([ox, oy, ox, oy])
        facing = rel[:, 0] * rel[:, 3] - rel[:, 1] * rel[:, 2] < -1e-9 * np.hypot(
            rel[:, 2] - rel[:, 0], rel[:, 3] - rel[:, 1]
        )
        lines = shapely.linestrings(seg[facing].reshape(-1, 2, 2))
        cut = shapely.intersection(shapely.intersection(lines, zone), disc)
        seen = [g for g in cut if not g.is_empty and g.length > 0]
    facade_m = float(sum(g.length for g in seen))
    in_range = np.hypot(entrances[:, 0] - ox, entrances[:, 1] - oy) <= recognition_range_m
    in_zone = in_range & shapely.contains_xy(zone, entrances[:, 0], entrances[:, 1])
    seen_entrances = entrances[in_zone]
    pieces = list(seen) + list(shapely.points(seen_entrances))
    if pieces:
        mask = shapely.intersection(near, shapely.union_all(pieces).buffer(mask_m))
    else:
        mask = _EMPTY
    if not isinstance(mask, (Polygon, MultiPolygon)):
        mask = shapely.union_all(polygonal_parts(np.asarray([mask], dtype=object)))
    return Privacy(facade_m=facade_m, n_entrances=int(in_zone.sum()), mask=mask)


def privacy_action(
    privacy: Privacy,
    *,
    policy: Literal["exclude", "mask"] = "mask",
    max_facade_m: float = 0.0,
    max_entrances: int = 0,
) -> Literal["ok", "mask", "exclude"]:
    """What to do with a site after its L251-3 check.

    Parameters
    ----------
    privacy
        The site's figures, from :func:`privacy_figures`.
    policy
        ``"exclude"`` drops a site that sees dwellings; ``"mask"`` keeps it with the
        privacy mask declared in the prefecture file.
    max_facade_m
        Residential façade length tolerated without action.
    max_entrances
        Number of entrances tolerated without action.

    Returns
    -------
    str
        ``"ok"``, or ``policy`` when the site sees more than the tolerated façade or entrances.
    """
    if policy not in ("exclude", "mask"):
        raise InputError(
            f"privacy_action: policy={policy!r} is not accepted: give 'exclude' or 'mask'"
        )
    if privacy.facade_m <= max_facade_m and privacy.n_entrances <= max_entrances:
        return "ok"
    return policy
