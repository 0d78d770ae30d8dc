"""Existing cameras: the ones OpenStreetMap maps, or the town's own list.

OSM cameras are the ``man_made=surveillance`` features, less those whose tags a filter
excludes (by default ``surveillance=indoor``: a shop's camera does not watch the street).
``camera:direction`` (degrees or compass letters such as ``NE``) gives a camera's heading.
Without it, a ``camera:type=dome`` or ``panning`` camera (one that turns) is given a 360°
view, and any other the best heading (the one of the scenario's ``n_headings`` that sees the
most demand, with the catalogue camera's field of view); the ``heading_source`` column says
which. ``camera:angle`` is, on the OSM wiki, the camera's tilt below the horizontal: it is
kept as ``tilt_deg`` for the record and not modelled.

Cameras are often mapped on a building's outline, or a few metres inside it, where a line of
sight cannot start: :func:`view_origins` puts the eye of a camera within
:data:`WALL_DEPTH_M` of a wall :data:`WALL_CLEARANCE_M` outside it (the camera keeps its mapped
position); a camera deeper inside a building sees nothing (probably an indoor one).

A town's file (CSV with ``lon``/``lat`` or ``x``/``y`` columns, or GeoJSON / GeoPackage
points) may give ``heading_deg`` and ``fov_deg`` per camera; a camera's own field of view
counts with its heading, or alone when it is 360° (elsewhere the catalogue model's is used).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from siteplanner._errors import InputError, report_problems

log = logging.getLogger(__name__)

#: Tags whose values leave an OSM camera out, by default.
DEFAULT_EXCLUDE: dict[str, tuple[str, ...]] = {"surveillance": ("indoor",)}

#: What ``heading_source`` says.
FROM_OSM = "osm camera:direction"
FROM_FILE = "file heading_deg"
ASSUMED = "assumed best"
ALL_ROUND = "assumed 360°"

#: OSM ``camera:type`` values of cameras that turn: a 360° view when no direction is mapped.
TURNING_TYPES = ("dome", "panning")

#: A camera mapped at most this deep inside a building footprint stands on its wall (m).
WALL_DEPTH_M = 5.0
#: How far outside the wall such a camera's eye is put (m).
WALL_CLEARANCE_M = 0.5

#: What ``view_from`` says: where a camera's field of view is computed from.
AT_POINT = "mapped point"
OFF_WALL = "outside its wall"
INDOORS = "inside a building"

_COMPASS = {
    name: i * 22.5
    for i, name in enumerate(
        [
            "N",
            "NNE",
            "NE",
            "ENE",
            "E",
            "ESE",
            "SE",
            "SSE",
            "S",
            "SSW",
            "SW",
            "WSW",
            "W",
            "WNW",
            "NW",
            "NNW",
        ]
    )
}
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")
COLUMNS = ["site_id", "name", "heading_deg", "fov_deg", "tilt_deg", "heading_source", "geometry"]


def parse_direction(value: object) -> float:
    """A compass bearing in degrees [0, 360) from ``camera:direction``-like text, else NaN.

    Accepts degrees (``"45"``, ``"127.5"``), compass letters (``"NE"``, ``"SSW"``) and, for a
    list (``"45;225"``) or a range (``"90-180"``), the first direction or the range's middle.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) % 360.0
    text = str(value).strip().upper().split(";")[0].strip()
    if text in _COMPASS:
        return _COMPASS[text]
    if _NUMBER.match(text):
        return float(text.replace(",", ".")) % 360.0
    parts = text.split("-")
    if len(parts) == 2 and all(_NUMBER.match(p.strip()) for p in parts):
        a, b = (float(p.strip()) % 360.0 for p in parts)
        return (a + ((b - a) % 360.0) / 2.0) % 360.0
    return math.nan


def _number(value: object) -> float:
    try:
        out = float(str(value).replace(",", ".").replace("°", "").strip())
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def osm_cameras(
    features: gpd.GeoDataFrame, *, exclude: Mapping[str, Sequence[str]] = DEFAULT_EXCLUDE
) -> gpd.GeoDataFrame:
    """The OSM cameras (``man_made=surveillance``) the filter keeps, one point each.

    Parameters
    ----------
    features
        The features layer (:func:`siteplanner.town.osm.parse`), any CRS.
    exclude
        OSM tag -> values that leave a camera out (``{}`` keeps them all).

    Returns
    -------
    GeoDataFrame with :data:`COLUMNS` (``site_id`` ``E<osm id>``), in the features' CRS.
    """
    if "man_made" not in features:
        return gpd.GeoDataFrame({c: [] for c in COLUMNS[:-1]}, geometry=[], crs=features.crs)
    cams = features[features["man_made"] == "surveillance"]
    drop = np.zeros(len(cams), bool)
    for key, values in exclude.items():
        if key in cams:
            drop |= cams[key].isin(list(values)).to_numpy()
    if drop.any():
        log.info("left out %d OSM camera(s) by the filter %s", int(drop.sum()), dict(exclude))
    cams = cams[~drop]
    heading = np.array(
        [parse_direction(v) for v in cams.get("camera:direction", [None] * len(cams))]
    )
    turning = np.isin(
        np.asarray(cams.get("camera:type", [None] * len(cams)), dtype=object), TURNING_TYPES
    )
    fov = np.where(~np.isfinite(heading) & turning, 360.0, np.nan)
    tilt = np.array([_number(v) for v in cams.get("camera:angle", [None] * len(cams))])
    ids = [f"E{t[1]}" if isinstance(t, tuple) else f"E{t}" for t in cams.index]
    names = (
        cams["name"].astype(object).where(cams["name"].notna(), None)
        if "name" in cams
        else [None] * len(cams)
    )
    return gpd.GeoDataFrame(
        {
            "site_id": ids,
            "name": list(names),
            "heading_deg": heading,
            "fov_deg": fov,
            "tilt_deg": tilt,
            "heading_source": _sources(heading, fov, FROM_OSM),
        },
        geometry=cams.geometry.representative_point().values,
        crs=features.crs,
    )


def read_cameras(path: str | Path, *, crs: str | None = None) -> gpd.GeoDataFrame:
    """A town's list of existing cameras (CSV or a vector file of points).

    Parameters
    ----------
    path
        CSV (any separator) with ``lon``/``lat`` (WGS84) or ``x``/``y`` columns, or a
        GeoJSON / GeoPackage of points; optional ``name``, ``heading_deg`` (degrees or
        compass letters) and ``fov_deg`` (0-360] columns.
    crs
        CRS of a CSV's ``x``/``y`` columns.

    Returns
    -------
    GeoDataFrame with :data:`COLUMNS` (``site_id`` ``X0001``...).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: existing cameras file not found")
    if path.suffix.lower() in (".csv", ".txt"):
        gdf = _read_csv_points(path, crs)
    else:
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:
            raise InputError(
                f"{path}: cannot be read as a vector file of points ({exc}); accepted: "
                "CSV with lon/lat or x/y columns, GeoJSON or GeoPackage points"
            ) from exc
        if gdf.crs is None:
            raise InputError(f"{path}: the cameras file declares no CRS")
        bad = [
            f"feature {i}: {t} is not a Point" for i, t in enumerate(gdf.geom_type) if t != "Point"
        ]
        report_problems(bad, source=str(path))
    cols = {c.lower(): c for c in gdf.columns}
    n = len(gdf)
    heading = (
        np.array([parse_direction(v) for v in gdf[cols["heading_deg"]]])
        if "heading_deg" in cols
        else np.full(n, np.nan)
    )
    fov = (
        np.array([_number(v) for v in gdf[cols["fov_deg"]]])
        if "fov_deg" in cols
        else np.full(n, np.nan)
    )
    problems = []
    if "heading_deg" in cols:
        raw = gdf[cols["heading_deg"]]
        problems += [
            f"row {i + 1}: heading_deg {v!r} is not a bearing (accepted: degrees or compass "
            "letters such as NE, or empty)"
            for i, (v, h) in enumerate(zip(raw, heading))
            if pd.notna(v) and str(v).strip() and math.isnan(h)
        ]
    if "fov_deg" in cols:
        raw = gdf[cols["fov_deg"]]
        problems += [
            f"row {i + 1}: fov_deg {v!r} is not accepted (a number in (0, 360], or empty)"
            for i, (v, f) in enumerate(zip(raw, fov))
            if pd.notna(v) and str(v).strip() and not (0 < f <= 360)
        ]
    report_problems(problems, source=str(path))
    names = (
        gdf[cols["name"]].astype(object).where(gdf[cols["name"]].notna(), None)
        if "name" in cols
        else [None] * n
    )
    return gpd.GeoDataFrame(
        {
            "site_id": [f"X{i + 1:04d}" for i in range(n)],
            "name": list(names),
            "heading_deg": heading,
            "fov_deg": fov,
            "tilt_deg": np.nan,
            "heading_source": _sources(heading, fov, FROM_FILE),
        },
        geometry=gdf.geometry.values,
        crs=gdf.crs,
    )


def _sources(heading: np.ndarray, fov: np.ndarray, known: str) -> np.ndarray:
    """``heading_source`` of each camera: ``known``, 360° without a heading, or the best one."""
    all_round = ~np.isfinite(heading) & (np.nan_to_num(fov) >= 360)
    return np.where(np.isfinite(heading), known, np.where(all_round, ALL_ROUND, ASSUMED))


def view_origins(
    xy: np.ndarray,
    buildings: gpd.GeoSeries,
    *,
    depth_m: float = WALL_DEPTH_M,
    clearance_m: float = WALL_CLEARANCE_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Where each camera's field of view starts, and why (:data:`AT_POINT`, :data:`OFF_WALL`…).

    A camera outside every building looks from its point. One on a building's outline, or at
    most ``depth_m`` inside it, is a façade camera mapped roughly: it looks from the nearest
    point ``clearance_m`` outside the buildings around it. One deeper inside keeps its point
    (its view is empty: a line of sight does not start inside a building).

    Parameters
    ----------
    xy
        Camera positions (n × 2) in the buildings' projected CRS.
    buildings
        Building footprints.

    Returns
    -------
    (origins, view_from)
        ``origins`` (n × 2) and one of :data:`AT_POINT`, :data:`OFF_WALL`, :data:`INDOORS` each.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    origins = xy.copy()
    view_from = np.full(len(xy), AT_POINT, dtype=object)
    if not len(xy) or not len(buildings):
        return origins, view_from
    geoms = np.asarray(buildings.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    pts = shapely.points(xy)
    hit_cam, _ = tree.query(pts, predicate="intersects")
    for i in np.unique(hit_cam).tolist():
        near = geoms[tree.query(pts[i], predicate="dwithin", distance=depth_m + clearance_m + 1)]
        walls = shapely.union_all(shapely.buffer(near, clearance_m))
        free = shapely.buffer(pts[i], depth_m + clearance_m).difference(walls)
        if free.is_empty:
            view_from[i] = INDOORS
            continue
        p = shapely.ops.nearest_points(free, pts[i])[0]
        origins[i] = (p.x, p.y)
        view_from[i] = OFF_WALL
    return origins, view_from


def view_counts(heading_source: Sequence[str], view_from: Sequence[str]) -> dict[str, int]:
    """Existing cameras by how their view is modelled (every kind present, 0 when none)."""
    src = pd.Series(np.asarray(heading_source, dtype=object)).value_counts()
    where = pd.Series(np.asarray(view_from, dtype=object)).value_counts()
    return {
        "cameras": len(heading_source),
        "direction_mapped": int(src.get(FROM_OSM, 0) + src.get(FROM_FILE, 0)),
        "no_direction": int(src.get(ASSUMED, 0) + src.get(ALL_ROUND, 0)),
        "assumed_360": int(src.get(ALL_ROUND, 0)),
        "assumed_best_heading": int(src.get(ASSUMED, 0)),
        "moved_off_wall": int(where.get(OFF_WALL, 0)),
        "inside_building": int(where.get(INDOORS, 0)),
    }


def _read_csv_points(path: Path, crs: str | None) -> gpd.GeoDataFrame:
    try:
        df = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as CSV ({exc})") from exc
    cols = {c.strip().lower(): c for c in df.columns}
    if {"lon", "lat"} <= set(cols):
        xc, yc, src_crs = cols["lon"], cols["lat"], "EPSG:4326"
    elif {"x", "y"} <= set(cols):
        if crs is None:
            raise InputError(
                f"{path}: x/y columns need their CRS: set `existing_cameras_crs` in the "
                'scenario\'s [area] (e.g. "EPSG:2154"), or give lon/lat columns'
            )
        xc, yc, src_crs = cols["x"], cols["y"], crs
    else:
        raise InputError(
            f"{path}: no position columns; accepted: lon and lat (WGS84), or x and y "
            f"(with existing_cameras_crs); found {list(df.columns)}"
        )
    x = pd.to_numeric(df[xc], errors="coerce")
    y = pd.to_numeric(df[yc], errors="coerce")
    bad = [
        f"row {i + 1}: position ({df[xc].iloc[i]!r}, {df[yc].iloc[i]!r}) is not two numbers"
        for i in np.flatnonzero((x.isna() | y.isna()).to_numpy())
    ]
    if src_crs == "EPSG:4326":
        bad += [
            f"row {i + 1}: lon/lat ({x.iloc[i]}, {y.iloc[i]}) out of range"
            for i in np.flatnonzero(((x.abs() > 180) | (y.abs() > 90)).to_numpy())
        ]
    report_problems(bad, source=str(path))
    df = df.rename(columns={c: c.strip() for c in df.columns})
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs=src_crs)
