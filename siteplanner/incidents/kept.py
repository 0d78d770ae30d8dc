"""An incident file shared by many communes, validated once per process.

An island's or a département's export (``malta_synthetic_2021-2023.csv``: 200,000 rows) is
read by every commune of a batch. Its checks take seconds and, but for one, do not depend on
the study area: :func:`read_incident_file` runs them once per process and only repeats the
test that does (latitude and longitude swapped, judged against each area). A file where an
area could change a row's verdict (a swapped or out-of-range position, ``x, y`` positions
whose declared CRS is judged against the area) is validated in full, as without this module.

Nothing is kept unless :func:`keep_validated_files` says so (``siteplanner batch`` does);
entries are keyed on the file's SHA-256 and on how it is read, so the results are the same
as :func:`siteplanner.incidents.read.read_incident_file`'s, byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from siteplanner._errors import InputError
from siteplanner.incidents import read
from siteplanner.vocab import CATEGORIES

__all__ = ["keep_validated_files", "read_incident_file"]


@dataclass(frozen=True)
class _Validated:
    """One file validated without a study area, and the positions an area's test looks at."""

    frame: gpd.GeoDataFrame  # validate_incidents' result, its attrs moved out
    how: np.ndarray
    quarantine: pd.DataFrame
    n_rows: int
    lon: np.ndarray  # 0 where the position is missing or (0, 0)
    lat: np.ndarray
    ok: np.ndarray  # rows whose position the swap test looks at


_KEPT: dict[tuple, _Validated | None] = {}
_KEEP = [0]


def keep_validated_files(n: int) -> None:
    """Keep up to ``n`` incident files validated in this process (0, the default: none)."""
    _KEEP[0] = max(0, int(n))
    while len(_KEPT) > _KEEP[0]:
        _KEPT.pop(next(iter(_KEPT)))  # the oldest goes


def read_incident_file(
    spec: read.IncidentSpec,
    *,
    area: BaseGeometry | None,
    crs: str,
    categories: Sequence[str] = CATEGORIES,
    timezone: str = read.TIMEZONE,
) -> read.IncidentRead:
    """:func:`siteplanner.incidents.read.read_incident_file`, through the kept validations."""
    path = Path(spec.path)
    kept = _kept(path, spec, categories, timezone) if _KEEP[0] and area is not None else None
    if kept is not None:
        area_wgs = gpd.GeoSeries([area], crs=crs).to_crs("EPSG:4326").iloc[0]
        if not area_wgs.is_empty and not _swapped_in(area_wgs, kept):
            gdf = kept.frame.copy()
            gdf.attrs = {"how": kept.how.copy(), "quarantine": kept.quarantine.copy()}
            return read.finish_read(path, gdf, kept.n_rows, area=area, crs=crs, spec=spec)
    return read.read_incident_file(
        spec, area=area, crs=crs, categories=categories, timezone=timezone
    )


def _swapped_in(area_wgs84: BaseGeometry, kept: _Validated) -> bool:
    """Whether a row looks swapped for this area (``read._check_positions``' own test)."""
    near = area_wgs84.simplify(0.005).buffer(0.05, quad_segs=4)
    inside = shapely.contains_xy(near, kept.lon, kept.lat)
    return bool((kept.ok & ~inside & shapely.contains_xy(near, kept.lat, kept.lon)).any())


def _kept(
    path: Path, spec: read.IncidentSpec, categories: Sequence[str], timezone: str
) -> _Validated | None:
    if not path.is_file():
        return None  # read_incident_file says so
    key = (hashlib.sha256(path.read_bytes()).hexdigest(), repr(spec), tuple(categories), timezone)
    if key not in _KEPT:
        try:
            _KEPT[key] = _validate_whole(path, spec, categories, timezone)
        except InputError:  # told by the full read, with this area's rows in the message
            _KEPT[key] = None
        keep_validated_files(_KEEP[0])
    return _KEPT.get(key)


def _validate_whole(
    path: Path, spec: read.IncidentSpec, categories: Sequence[str], timezone: str
) -> _Validated | None:
    """The file validated without an area; None when an area could change a verdict."""
    df = read._prepare(read.read_table(path), spec, path)
    if not {"lon", "lat"} <= set(df.columns):
        return None  # x, y: the declared CRS is judged against the area
    a, b = read._numbers(df, "lon", "lat", spec.coordinate_scale, str(path))
    missing = a.isna() | b.isna() | ~np.isfinite(a.fillna(0)) | ~np.isfinite(b.fillna(0))
    bad = missing | (~missing & a.eq(0) & b.eq(0))
    if (~bad & ((a.abs() > 180) | (b.abs() > 90))).any():
        return None  # out of range: the message's hint is guessed near the area
    gdf = read.validate_incidents(
        df,
        source_name=str(path),
        crs=spec.crs,
        default_source=spec.source,
        area_wgs84=None,
        categories=categories,
        spec=spec,
        timezone=timezone,
    )
    how, quarantine = gdf.attrs.pop("how"), gdf.attrs.pop("quarantine")
    return _Validated(
        frame=gdf,
        how=how,
        quarantine=quarantine,
        n_rows=len(df),
        lon=a.where(~bad, 0).to_numpy(float),
        lat=b.where(~bad, 0).to_numpy(float),
        ok=(~bad).to_numpy(),
    )
