"""Incident files: read them as their publishers wrote them, check every row, and project.

An incident file (CSV, GeoJSON or GeoPackage, gzip-compressed or not) has one row per
incident. The standard columns are ``datetime, category, source`` and either ``lon, lat``
(WGS84), ``x, y`` in a declared CRS, or one ``coordinates`` column; ``id`` and ``zone`` are
optional. The scenario's ``[[incidents]]`` table says how to read a publisher's export
(:class:`IncidentSpec`): column names (``columns = {...}``), the time in one column with an
optional ``datetime_format`` or split over several (``datetime = ["YEAR", "MONTH", ...]``),
the zone of naive times, a mapping of the publisher's labels or patterns to the town's
categories with a ``default_category``, a coordinate scale, and what to do with bad rows
(``on_bad_rows = "fail" | "skip"``, ``max_bad_share``). Times are converted to the town's
time zone; rows with a date but no hour are kept and flagged (``time_precision``); a file
without an ``id`` gets stable ids ``<file name>#<line>``.

Validation collects every problem and, with ``on_bad_rows = "fail"``, raises one
:class:`~siteplanner._errors.InputError` that lists them with their line numbers (the header
is line 1): bad dates, labels nobody mapped, missing, placeholder (0, 0) or non-numeric
coordinates, projected metres given as lon/lat (the message names the likely CRS and the
``crs =`` line to add), latitude and longitude swapped, empty file, duplicate ids. With
``"skip"`` the bad rows go to the quarantine (line and reason) unless they are more than
``max_bad_share`` of the rows. Repairs whose meaning is unambiguous are made and logged: a
UTF-8 BOM, Latin-1 encoding, ``;`` separators, decimal commas, dates written ``dd/mm/yyyy``.
Points outside the study area are dropped, with their count in the log and the counts.
"""

from __future__ import annotations

import csv
import io as _io
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from siteplanner._errors import InputError, report_problems
from siteplanner.incidents import fields
from siteplanner.vocab import CATEGORIES

log = logging.getLogger(__name__)


REQUIRED = ("datetime", "category")
TIMEZONE = "Europe/Paris"
#: Standard column names a file's columns may be mapped to (``columns = {...}``).
STANDARD_COLUMNS = tuple("id datetime category source lon lat x y coordinates zone weight".split())
OUTPUT_COLUMNS = tuple("id datetime time_precision category label source zone weight line".split())
#: The reason given in ``quarantine.csv`` for a row outside the study area.
OUTSIDE_REASON = "outside the area"
#: Hint added to every bad-row error (``on_bad_rows = "fail"``).
SKIP_HINT = (
    'To set these rows aside in quarantine.csv and go on, add on_bad_rows = "skip" to this '
    "file's [[incidents]] table (with max_bad_share, the largest share of bad rows accepted)"
)


@dataclass(frozen=True)
class IncidentSpec:
    """How to read one incident file (what the scenario's ``[[incidents]]`` table says).

    Attributes
    ----------
    path, source, crs, columns
        The file; the source of every row when it has no ``source`` column; the CRS of
        ``x, y`` columns; standard name → the file's column name.
    datetime
        The file's column holding the time, or several columns joined by a space (date and
        time, or year, month, day, hour, minute); default: the ``datetime`` column.
    datetime_format
        A ``strptime`` format for that text (default: ISO 8601, ``dd/mm/yyyy``, numbers).
    time
        The file's column holding the hour or time of day when ``datetime`` gives the date
        only (see :func:`siteplanner.incidents.fields.parse_clock`).
    timezone
        The zone of times written without an offset (default: the town's).
    undated
        The file has no date at all (rows count for whole-period windows only).
    categories, default_category
        The publisher's label (or a glob / ``re:`` pattern) → the town's category; the
        category of every label nobody mapped (counted and logged).
    coordinate_scale
        Multiplies the coordinates (``0.00001`` for the old BAAC integers).
    on_bad_rows, max_bad_share
        ``"fail"``: any bad row stops the run; ``"skip"``: bad rows go to the quarantine,
        unless they are more than ``max_bad_share`` of the rows.
    """

    path: Path
    source: str | None = None
    crs: str | None = None
    columns: Mapping[str, str] | None = None
    datetime: str | tuple[str, ...] | None = None
    datetime_format: str | None = None
    time: str | None = None
    timezone: str | None = None
    undated: bool = False
    categories: Mapping[str, str] | None = None
    default_category: str | None = None
    coordinate_scale: float = 1.0
    on_bad_rows: str = "fail"
    max_bad_share: float = 0.01


@dataclass(frozen=True)
class IncidentRead:
    """One file read: its incidents, what happened to its rows, and the rows set aside.

    ``counts`` holds ``rows`` (data rows in the file), ``kept`` (in the study area),
    ``mapped`` / ``native`` / ``defaulted`` (how the kept rows got their category),
    ``quarantined``, ``outside_area``, ``no_hour`` (kept rows with a date only),
    ``undated`` and ``unmapped_labels`` (label → rows that got the default category).
    ``quarantine`` has one row per set-aside line: ``file, line, reason``; the rows outside
    the study area are there too, with the reason :data:`OUTSIDE_REASON` (they are counted
    under ``outside_area``, not ``quarantined``).
    """

    frame: gpd.GeoDataFrame
    counts: dict
    quarantine: pd.DataFrame


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        log.info("%s: removed the UTF-8 byte-order mark", path)
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        log.warning("%s: not UTF-8; read as Latin-1 (Windows export)", path)
        return raw.decode("latin-1")


def read_table(path: Path) -> pd.DataFrame:
    """Read an incident table as strings (CSV) or with geometry columns (GeoJSON, GeoPackage).

    A gzip-compressed file (``.csv.gz``, ``.geojson.gz``) is read as it comes. Column names
    are lower-cased.
    """
    if not path.is_file():
        raise InputError(f"{path}: incident file not found")
    name = path.name.lower()
    gz = name.endswith(".gz")
    suffix = "".join(Path(name[:-3] if gz else name).suffixes[-2:])
    raw: bytes | None = None
    if gz:
        import gzip

        try:
            raw = gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: named .gz but not a readable gzip file ({exc})") from exc
    if suffix.endswith((".geojson", ".json", ".gpkg", ".shp")):
        try:
            with warnings.catch_warnings(
                record=True
            ) as caught:  # GDAL's complaints, e.g. a point with one coordinate
                warnings.simplefilter("always")
                gdf = gpd.read_file(_io.BytesIO(raw) if raw is not None else path)
        except Exception as exc:
            raise InputError(f"{path}: cannot be read as a vector file ({exc})") from exc
        for w in sorted({str(w.message) for w in caught}):
            log.warning("%s: %s", path, w)
        if gdf.empty:
            raise InputError(f"{path}: the file holds no incident (empty)")
        if gdf.crs is None:
            raise InputError(f"{path}: the file has no CRS; declare it or export WGS84 GeoJSON")
        kinds = gdf.geometry.geom_type
        not_point = kinds.notna() & (kinds != "Point")
        if not_point.any():
            report_problems(
                [
                    f"feature {i + 1}: geometry is a {kinds.iloc[i]} (accepted: Point)"
                    for i in np.flatnonzero(not_point.to_numpy())
                ],
                source=str(path),
            )
        pts = gdf.to_crs("EPSG:4326")
        df = pd.DataFrame(pts.drop(columns="geometry")).astype(object)
        df.columns = [str(c).strip().lower() for c in df.columns]
        geoms = pts.geometry.to_numpy()
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        df["lon"] = np.where(ok, shapely.get_x(np.where(ok, geoms, None)), np.nan)
        df["lat"] = np.where(ok, shapely.get_y(np.where(ok, geoms, None)), np.nan)
        return df
    text = _decode(raw if raw is not None else path.read_bytes(), path)
    if not text.strip():
        raise InputError(
            f"{path}: the file is empty (expected a header line "
            "id,datetime,category,source,lon,lat and rows)"
        )
    first = text.splitlines()[0]
    sep = (
        ";"
        if first.count(";") > first.count(",")
        else ("\t" if first.count("\t") > first.count(",") else ",")
    )
    if sep != ",":
        log.info("%s: read with %r as column separator", path, sep)
    try:
        df = pd.read_csv(
            _io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL
        )
    except Exception as exc:
        raise InputError(f"{path}: not a readable CSV table ({exc})") from exc
    df.columns = [str(c).strip().lower() for c in df.columns]
    if df.empty:
        raise InputError(f"{path}: the file has a header but no incident rows")
    return df


class _Rows:
    """Problems found while checking rows: one message list (fail mode), reasons per row."""

    def __init__(self, line: pd.Series):
        self.line = line
        self.messages: list[str] = []
        self.reasons: dict[int, list[str]] = {}

    def add(self, index, reason: str, *, message: str | None = None) -> None:
        for i in index:
            self.reasons.setdefault(i, []).append(reason)
            if message is None:
                self.messages.append(f"line {self.line[i]}: {reason}")
        if message is not None:
            self.messages.append(message)


def _check_columns(
    df: pd.DataFrame, source_name: str, *, crs, default_source, undated, default_category
) -> None:
    required = [
        c
        for c in REQUIRED
        if not (c == "datetime" and undated)
        and not (c == "category" and default_category is not None)
    ]
    missing = [c for c in required if c not in df.columns]
    has_lonlat = {"lon", "lat"} <= set(df.columns)
    has_xy = {"x", "y"} <= set(df.columns)
    if not has_lonlat and not has_xy:
        missing.append("lon, lat (or x, y with a declared crs, or one `coordinates` column)")
    if "source" not in df.columns and default_source is None:
        missing.append("source (or a source declared for the whole file)")
    if missing:
        raise InputError(
            f"{source_name}: missing column(s) {', '.join(missing)}; "
            f"found {', '.join(map(str, df.columns))}. "
            "Accepted: datetime (ISO 8601), category, source and lon, lat (WGS84) "
            "or x, y with a crs, id optional; "
            "map other names with `columns = {...}` (or `datetime = [...]`) in the scenario"
        )
    if has_xy and not has_lonlat and not crs:
        raise InputError(
            f"{source_name}: x, y columns need a declared crs "
            '(e.g. crs = "EPSG:2154") in the scenario'
        )
    if has_xy and not has_lonlat:
        try:
            pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as exc:
            raise InputError(
                f"{source_name}: the declared crs {crs!r} is not a known CRS ({exc}); "
                'accepted: an EPSG code like "EPSG:2154" (Lambert-93) or a WKT/PROJ string'
            ) from None


def _check_ids(df: pd.DataFrame, rows: _Rows, id_prefix: str) -> pd.Series:
    line = rows.line
    if "id" not in df.columns:  # a stable id from the file name and the line
        return id_prefix + "#" + line.astype(str)
    ids = (
        df["id"].astype(str).fillna("").str.strip().str.replace(r"^(-?\d+)\.0$", r"\1", regex=True)
    )
    rows.add(ids.index[ids.eq("") | ids.eq("nan")], "empty id")
    dup = ids[ids.duplicated(keep=False) & ids.ne("") & ids.ne("nan")]
    for value, group in dup.groupby(dup, sort=True):
        first = group.index[0]
        rows.add(
            group.index[1:],
            f"duplicate id {value!r} (first on line {line[first]})",
            message=f"lines {', '.join(str(line[i]) for i in group.index[:5])}: "
            f"duplicate id {value!r}",
        )
    return ids


def _check_times(
    df: pd.DataFrame, rows: _Rows, source_name: str, *, undated, fmt, tz_naive, out_tz
):
    if undated:
        return (
            pd.Series(pd.NaT, index=df.index, dtype=f"datetime64[ns, {out_tz}]"),
            pd.Series(fields.PRECISION_NONE, index=df.index),
        )
    if fmt:
        try:
            fields.check_format(fmt)
        except ValueError as exc:
            raise InputError(f"{source_name}: {exc}") from None
    if "_clock" in df.columns:
        when, has_time, bad_clock, n_fr = fields.parse_date_and_clock(
            df["datetime"], df["_clock"], fmt=fmt, tz_naive=tz_naive, out_tz=out_tz
        )
        for i in df.index[bad_clock.to_numpy(bool) & when.notna().to_numpy(bool)]:
            rows.add(
                [i],
                f"bad time {str(df.at[i, '_clock'])!r} in the time column (accepted: 13, 845, "
                "1345, 13:45, 13:45:00, 13h45, 1:45 PM, or empty for a date without hour)",
            )
    else:
        when, has_time, n_fr = fields.parse_times(
            df["datetime"], fmt=fmt, tz_naive=tz_naive, out_tz=out_tz
        )
        fields.warn_all_midnight(when, has_time, source_name, tz_naive)
    if n_fr:
        log.info("%s: read %d dates written dd/mm/yyyy (day first)", source_name, n_fr)
    expected = (
        f"the declared format {fmt!r}"
        if fmt
        else "ISO 8601 like 2023-05-14T22:30:00 (an offset such as +02:00 or +00 is converted), "
        "yyyy/mm/dd, dd/mm/yyyy HH:MM, or a date alone; years 1900-2100"
    )
    for i in when.index[when.isna()]:
        rows.add(
            [i],
            f"bad datetime {str(df.at[i, 'datetime'])!r} (expected {expected}; "
            "declare `datetime_format` or `datetime = [columns]` in the scenario)",
        )
    precision = pd.Series(
        np.where(has_time.to_numpy(bool), fields.PRECISION_TIME, fields.PRECISION_DATE),
        index=df.index,
    )
    return when, precision


def _check_weights(df: pd.DataFrame, rows: _Rows) -> pd.Series:
    w, bad = fields.parse_weights(df["weight"] if "weight" in df.columns else None, df.index)
    for i in df.index[bad]:
        rows.add([i], f"bad weight {str(df.at[i, 'weight'])!r} (accepted: a number >= 0)")
    return w


def _check_categories(df, rows: _Rows, *, categories, mapping, default_category):
    if "category" not in df.columns:
        labels = pd.Series("", index=df.index)
    else:
        labels = fields.normalise_labels(df["category"])
    cat, how = fields.map_categories(
        labels, mapping=mapping, default=default_category, categories=categories
    )
    unknown = cat.notna() & ~cat.isin(categories)
    bad = how.eq("unmapped") | unknown
    if mapping or default_category:
        hint = "map it under [incidents.categories] or declare `default_category`"
    else:
        hint = f"accepted: {', '.join(categories)}"
    for i in labels.index[bad]:
        rows.add([i], f"unknown category {labels[i]!r} ({hint})")
    return cat.where(~bad, None), labels, how


def _numbers(df: pd.DataFrame, a_col: str, b_col: str, scale: float, source_name: str):
    a, n1 = fields.to_float(df[a_col])
    b, n2 = fields.to_float(df[b_col])
    if n1 + n2:
        log.info("%s: read %d coordinates written with a decimal comma", source_name, n1 + n2)
    return a * scale, b * scale


def _check_positions(df, rows: _Rows, source_name, *, crs, area_wgs84, scale):
    has_lonlat = {"lon", "lat"} <= set(df.columns)
    names = "lon, lat" if has_lonlat else "x, y"
    a, b = _numbers(df, *(("lon", "lat") if has_lonlat else ("x", "y")), scale, source_name)
    missing = a.isna() | b.isna() | ~np.isfinite(a.fillna(0)) | ~np.isfinite(b.fillna(0))
    rows.add(a.index[missing], f"missing or non-numeric coordinates ({names})")
    zero = ~missing & a.eq(0) & b.eq(0)
    rows.add(
        a.index[zero], f"no position ({names} are 0, 0: the publisher's mark for an unlocated row)"
    )
    bad = missing | zero
    if has_lonlat:
        out = ~bad & ((a.abs() > 180) | (b.abs() > 90))
        if out.any():
            g = fields.guess_crs(
                a[out].to_numpy(float), b[out].to_numpy(float), near_wgs84=area_wgs84
            )
            hint = (
                f"; they look like {g[1]} ({g[0]}) metres: map them as x, y and add "
                f'the line `crs = "{g[0]}"` to this file\'s [[incidents]] table'
                if g
                else ""
            )
            for i in a.index[out]:
                rows.add(
                    [i],
                    f"lon {a[i]} / lat {b[i]} outside WGS84 range "
                    f"(lon -180..180, lat -90..90){hint}",
                )
        bad = bad | out
        if area_wgs84 is not None and not area_wgs84.is_empty:
            ok = ~bad
            near = area_wgs84.simplify(0.005).buffer(
                0.05, quad_segs=4
            )  # a coarse 5 km band: fast on coasts
            ax, by = a.where(ok, 0).to_numpy(), b.where(ok, 0).to_numpy()
            inside = shapely.contains_xy(near, ax, by)
            swapped = ok.to_numpy() & ~inside & shapely.contains_xy(near, by, ax)
            for i in a.index[swapped]:
                rows.add(
                    [i],
                    f"lon {a[i]} and lat {b[i]} look swapped "
                    "(the swapped point is in the study area)",
                )
            bad = bad | pd.Series(swapped, index=a.index)
        pts = gpd.GeoSeries.from_xy(
            a.where(~bad, 0).to_numpy(float), b.where(~bad, 0).to_numpy(float), crs="EPSG:4326"
        )
        return pts, bad
    pts = gpd.GeoSeries.from_xy(
        a.where(~bad, 0).to_numpy(float), b.where(~bad, 0).to_numpy(float), crs=crs
    )
    pts = pts.to_crs("EPSG:4326")
    lon, lat = shapely.get_x(pts.to_numpy()), shapely.get_y(pts.to_numpy())
    invalid = ~bad.to_numpy() & ~(
        np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    )
    for i in a.index[invalid]:
        rows.add([i], f"x {a[i]} / y {b[i]} is not a valid position in {crs}")
    bad = bad | pd.Series(invalid, index=a.index)
    if area_wgs84 is not None and not area_wgs84.is_empty and (~bad).any():
        _check_declared_crs(a[~bad], b[~bad], pts[~bad.to_numpy()], crs, area_wgs84, source_name)
    return pts, bad


def _check_declared_crs(a, b, pts, crs, area_wgs84, source_name) -> None:
    """All points far from the study area: the declared crs is likely wrong (one clear error)."""
    far = shapely.distance(area_wgs84, pts.to_numpy()) > 0.5  # ~50 km
    if not far.all():
        return
    g = fields.guess_crs(a.to_numpy(float), b.to_numpy(float), near_wgs84=area_wgs84)
    hint = f'; they look like {g[1]}: write `crs = "{g[0]}"`' if g and g[0] != crs else ""
    raise InputError(
        f"{source_name}: every position, read in the declared crs {crs!r}, lies more than "
        f"50 km from the study area (first: x {a.iloc[0]}, y {b.iloc[0]}){hint}"
    )


def _check_sources(
    df: pd.DataFrame,
    rows: _Rows,
    *,
    default_source: str | None,
    sources: Sequence[str] | None,
) -> pd.Series:
    """Each row's source (lower-cased; ``default_source`` where empty); unknown ones are bad."""
    src = (
        df["source"].astype(str).fillna("").str.strip().str.lower()
        if "source" in df.columns
        else pd.Series(default_source, index=df.index)
    )
    if "source" in df.columns and default_source is not None:
        src = src.where(src.ne("") & src.ne("nan"), default_source)
    if sources is not None:
        for i in src.index[~src.isin(sources)]:
            rows.add([i], f"unknown source {src[i]!r} (accepted: {', '.join(sources)})")
    return src


def _keep_good(
    out: gpd.GeoDataFrame, df: pd.DataFrame, rows: _Rows, spec: IncidentSpec, source_name: str
) -> gpd.GeoDataFrame:
    """The good rows of ``out``; the bad ones (file line, reasons) in ``attrs["quarantine"]``."""
    line = rows.line
    bad_pos = [df.index.get_loc(i) for i in sorted(rows.reasons)]
    quarantine = pd.DataFrame(
        {
            "line": [int(line[i]) for i in sorted(rows.reasons)],
            "reason": ["; ".join(rows.reasons[i]) for i in sorted(rows.reasons)],
        }
    )
    keep = np.ones(len(out), bool)
    keep[bad_pos] = False
    if spec.on_bad_rows == "skip":
        _check_bad_share(quarantine, len(df), spec, source_name)
    result = out[keep].drop(columns="_how").reset_index(drop=True)
    result.attrs["how"] = out.loc[keep, "_how"].to_numpy()
    result.attrs["quarantine"] = quarantine
    return result


def validate_incidents(
    df: pd.DataFrame,
    *,
    source_name: str,
    crs: str | None = None,
    default_source: str | None = None,
    area_wgs84: BaseGeometry | None = None,
    categories: Sequence[str] = CATEGORIES,
    sources: Sequence[str] | None = None,
    spec: IncidentSpec | None = None,
    timezone: str = TIMEZONE,
) -> gpd.GeoDataFrame:
    """Check every row of an incident table; return a WGS84 GeoDataFrame or raise one error.

    Parameters
    ----------
    df
        The table, column names lower-cased and already mapped to the standard names.
    source_name
        The file name, used in messages.
    crs
        The CRS of ``x, y`` columns (required when there is no ``lon, lat``).
    default_source
        The source of every row when the file has no ``source`` column.
    area_wgs84
        The study area: used to detect swapped coordinates (the swapped point is inside).
    categories, sources
        Accepted values (``sources=None`` accepts any non-empty source).
    spec
        The file's reading options (times, category mapping, bad rows); default: none.
    timezone
        The town's zone: every time is converted to it.

    Returns
    -------
    GeoDataFrame
        Every good row (``on_bad_rows = "skip"``: the bad ones are in ``attrs["quarantine"]``
        as ``(index, line, reason)``); columns :data:`OUTPUT_COLUMNS`.
    """
    spec = spec or IncidentSpec(Path(source_name), default_source, crs)
    _check_columns(
        df,
        source_name,
        crs=crs,
        default_source=default_source,
        undated=spec.undated,
        default_category=spec.default_category,
    )
    line = pd.Series(np.arange(len(df)) + 2, index=df.index)  # header is line 1
    rows = _Rows(line)
    ids = _check_ids(df, rows, Path(source_name).name)
    when, precision = _check_times(
        df,
        rows,
        source_name,
        undated=spec.undated,
        fmt=spec.datetime_format,
        tz_naive=spec.timezone or timezone,
        out_tz=timezone,
    )
    cat, labels, how = _check_categories(
        df,
        rows,
        categories=categories,
        mapping=spec.categories,
        default_category=spec.default_category,
    )
    src = _check_sources(df, rows, default_source=default_source, sources=sources)
    pts, _ = _check_positions(
        df, rows, source_name, crs=crs, area_wgs84=area_wgs84, scale=spec.coordinate_scale
    )
    weight = _check_weights(df, rows)
    if spec.on_bad_rows != "skip" and rows.messages:
        _report_bad_rows(rows.messages, source_name)
    zone = (
        df["zone"].astype(str).fillna("").str.strip()
        if "zone" in df.columns
        else pd.Series("", index=df.index)
    )
    out = gpd.GeoDataFrame(
        {
            "id": ids.to_numpy(),
            "datetime": when.to_numpy(),
            "time_precision": precision.to_numpy(),
            "category": cat.to_numpy(),
            "label": labels.to_numpy(),
            "source": src.to_numpy(),
            "zone": zone.to_numpy(),
            "weight": weight.to_numpy(float),
            "line": line.to_numpy(),
            "_how": how.to_numpy(),
        },
        geometry=pts.to_numpy(),
        crs="EPSG:4326",
    )
    out["datetime"] = pd.to_datetime(out["datetime"], utc=True).dt.tz_convert(timezone)
    return _keep_good(out, df, rows, spec, source_name)


def _report_bad_rows(messages: list[str], source_name: str) -> None:
    """One error listing the bad rows, ending with how to set them aside instead."""
    try:
        report_problems(messages, source=source_name)
    except InputError as exc:
        raise InputError(f"{exc}\n{SKIP_HINT}") from None


def _check_bad_share(
    quarantine: pd.DataFrame, n_rows: int, spec: IncidentSpec, source_name: str
) -> None:
    n_bad = len(quarantine)
    if n_bad and n_bad > spec.max_bad_share * n_rows:
        first = "\n".join(
            f"  - line {r.line}: {r.reason}" for r in quarantine.head(10).itertuples()
        )
        reasons = (
            quarantine["reason"]
            .str.replace(r"'.*", "", regex=True)
            .str.replace(r"\(.*", "", regex=True)
        )
        by = ", ".join(f"{k.strip()} {v}" for k, v in reasons.value_counts().head(5).items())
        raise InputError(
            f"{source_name}: {n_bad} of {n_rows} rows ({n_bad / n_rows:.1%}) are bad, "
            f"more than max_bad_share = {spec.max_bad_share:g} ({spec.max_bad_share:.1%}) "
            f'allows with on_bad_rows = "skip" ({by}). '
            f"First bad rows:\n{first}\nFix the file or its mapping in the scenario, "
            "or raise max_bad_share "
            "if these rows are expected (e.g. unlocated rows)"
        )


def _prepare(df: pd.DataFrame, spec: IncidentSpec, path: Path) -> pd.DataFrame:
    """Rename the publisher's columns, join time columns, split a one-column position."""
    found = ", ".join(map(str, df.columns))
    if spec.columns:
        rename = {str(v).strip().lower(): k for k, v in spec.columns.items()}
        unknown = [v for v in rename if v not in df.columns]
        if unknown:
            raise InputError(f"{path}: mapped column(s) {unknown} not in the file; found {found}")
        df = df.drop(
            columns=[c for c in rename.values() if c in df.columns and c not in rename]
        ).rename(columns=rename)
    if spec.datetime is not None:
        cols = [spec.datetime] if isinstance(spec.datetime, str) else list(spec.datetime)
        cols = [str(c).strip().lower() for c in cols]
        unknown = [c for c in cols if c not in df.columns]
        if unknown:
            raise InputError(f"{path}: datetime column(s) {unknown} not in the file; found {found}")
        df = df.assign(datetime=fields.join_columns(df, cols))
    if spec.time is not None:
        col = str(spec.time).strip().lower()
        if col not in df.columns:
            raise InputError(f"{path}: time column {col!r} not in the file; found {found}")
        if spec.datetime is None and "datetime" not in df.columns:
            raise InputError(
                f"{path}: `time = {spec.time!r}` gives the hour; the date is still needed: "
                "name its column with `datetime = ...`"
            )
        df = df.assign(_clock=df[col])
    if "coordinates" in df.columns and not ({"lon", "lat"} <= set(df.columns)):
        lon, lat = fields.split_coordinates(df["coordinates"])
        df = df.assign(lon=lon, lat=lat)
    return df


def read_incident_file(
    spec: IncidentSpec,
    *,
    area: BaseGeometry | None,
    crs: str,
    categories: Sequence[str] = CATEGORIES,
    timezone: str = TIMEZONE,
) -> IncidentRead:
    """Read, map, check and project one incident file; set bad rows aside if the scenario says so.

    Parameters
    ----------
    spec
        The file and how to read it.
    area
        The study area in ``crs`` (points outside are dropped and counted); ``None``: keep all.
    crs
        The projected CRS of the study.
    categories
        The town's categories (built-in ones and those the scenario maps to).
    timezone
        The town's zone.

    Returns
    -------
    IncidentRead
        The incidents (``id, datetime, time_precision, category, label, source, zone, line,
        synthetic, file`` with point geometry in ``crs``), the counts and the quarantine.
    """
    path = Path(spec.path)
    df = _prepare(read_table(path), spec, path)
    area_wgs = None if area is None else gpd.GeoSeries([area], crs=crs).to_crs("EPSG:4326").iloc[0]
    gdf = validate_incidents(
        df,
        source_name=str(path),
        crs=spec.crs,
        default_source=spec.source,
        area_wgs84=area_wgs,
        categories=categories,
        spec=spec,
        timezone=timezone,
    )
    return finish_read(path, gdf, len(df), area=area, crs=crs, spec=spec)


def finish_read(path: Path, gdf, n_rows: int, *, area, crs: str, spec) -> IncidentRead:
    """``gdf``, :func:`validate_incidents`' result for a file of ``n_rows`` rows, projected,
    clipped to the area, counted and logged (the end of :func:`read_incident_file`)."""
    quarantine, how = gdf.attrs.pop("quarantine"), gdf.attrs.pop("how")
    if area is None and len(gdf):
        fields.warn_far_rows(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), path.name)
    gdf = gdf.to_crs(crs)
    x, y = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    inside = np.ones(len(gdf), bool) if area is None else shapely.contains_xy(area, x, y)
    n_out = int((~inside).sum())
    if n_out:
        log.info(
            "%s: dropped %d of %d incidents outside the study area", path.name, n_out, len(gdf)
        )
    outside = pd.DataFrame({"line": gdf.loc[~inside, "line"].astype(int), "reason": OUTSIDE_REASON})
    gdf, how = gdf[inside].reset_index(drop=True), how[inside]
    gdf["synthetic"] = "synthetic" in path.name.lower()
    gdf["file"] = path.name
    counts = _counts(gdf, how, n_rows, quarantine, n_out)
    if counts["unmapped_labels"]:
        log.warning(
            "%s: %d row(s) with labels nobody mapped got the default category %r: %s",
            path.name,
            counts["defaulted"],
            spec.default_category,
            "; ".join(f"{k!r} {v}" for k, v in counts["unmapped_labels"].items()),
        )
    if len(quarantine):
        log.warning(
            '%s: %d of %d rows set aside in the quarantine (on_bad_rows = "skip")',
            path.name,
            len(quarantine),
            n_rows,
        )
    log.info(
        "%s: %d incidents kept (%s)%s",
        path.name,
        len(gdf),
        ", ".join(f"{k} {v}" for k, v in gdf["category"].value_counts().sort_index().items()),
        f", {counts['no_hour']} with a date but no hour" if counts["no_hour"] else "",
    )
    quarantine = (
        pd.concat([quarantine, outside], ignore_index=True) if len(outside) else quarantine
    ).sort_values("line", kind="stable")
    quarantine = quarantine.assign(file=path.name)[["file", "line", "reason"]]
    return IncidentRead(gdf, counts, quarantine.reset_index(drop=True))


def _counts(
    gdf: gpd.GeoDataFrame, how: np.ndarray, n_rows: int, quarantine: pd.DataFrame, n_out: int
) -> dict:
    how = pd.Series(how, dtype=object)
    defaulted = gdf.loc[how.eq("defaulted").to_numpy(), "label"]
    return {
        "rows": int(n_rows),
        "kept": int(len(gdf)),
        "mapped": int(how.eq("mapped").sum()),
        "native": int(how.eq("native").sum()),
        "defaulted": int(how.eq("defaulted").sum()),
        "quarantined": int(len(quarantine)),
        "outside_area": int(n_out),
        "no_hour": int((gdf["time_precision"] == "date").sum()),
        "undated": int((gdf["time_precision"] == "none").sum()),
        "unmapped_labels": {str(k): int(v) for k, v in defaulted.value_counts().items()},
    }


def read_incidents(
    spec: IncidentSpec,
    *,
    area: BaseGeometry,
    crs: str,
    categories: Sequence[str] = CATEGORIES,
    timezone: str = TIMEZONE,
) -> gpd.GeoDataFrame:
    """The incidents of :func:`read_incident_file` (its frame only)."""
    return read_incident_file(
        spec, area=area, crs=crs, categories=categories, timezone=timezone
    ).frame


def merge_sources(
    frames: Sequence[gpd.GeoDataFrame], *, distance_m: float = 10.0, minutes: float = 30.0
) -> tuple[gpd.GeoDataFrame, int]:
    """Concatenate incident files and drop cross-source duplicates.

    Two rows from different files are the same incident when they have the same category,
    lie within ``distance_m`` and ``minutes`` of each other; the first file's row is kept.
    Returns the merged frame (sorted by datetime, then id) and the number of duplicates dropped.
    """
    if not frames:
        raise InputError("no incident file given")
    df = pd.concat(frames, ignore_index=True)
    if len(frames) == 1 or df.empty:
        return df.sort_values(["datetime", "id"], kind="stable").reset_index(drop=True), 0
    from scipy.spatial import cKDTree

    xy = np.column_stack([df.geometry.x, df.geometry.y])
    t = df["datetime"].astype("int64").to_numpy() / 6e10  # minutes
    file_rank = pd.factorize(df["file"])[0]
    tree = cKDTree(xy)
    drop = np.zeros(len(df), bool)
    for i, j in sorted(tree.query_pairs(distance_m)):
        if (
            file_rank[i] == file_rank[j]
            or df.at[i, "category"] != df.at[j, "category"]
            or abs(t[i] - t[j]) > minutes
        ):
            continue
        later = j if (file_rank[j], j) > (file_rank[i], i) else i
        if not drop[i] and not drop[j]:
            drop[later] = True
    out = df[~drop].sort_values(["datetime", "id"], kind="stable").reset_index(drop=True)
    return out, int(drop.sum())


def window_mask(inc: pd.DataFrame, window, *, school_zone: str = "B") -> np.ndarray:
    """Which incidents count for a time window, given how precisely each one is dated.

    Rows with a date but no hour (``time_precision == "date"``) count for windows on days,
    holidays and periods, never for a window on hours; undated rows (``"none"``) count only
    for a window with no restriction at all.

    Parameters
    ----------
    inc
        Incidents with ``datetime`` and (optionally) ``time_precision`` columns.
    window
        A :class:`siteplanner.incidents.windows.TimeWindow`.
    school_zone
        School-holiday zone.
    """
    from siteplanner.incidents.windows import in_window

    if not len(inc):
        return np.zeros(0, bool)
    prec = (
        inc["time_precision"].to_numpy()
        if "time_precision" in inc.columns
        else np.full(len(inc), "time")
    )
    dated = prec != "none"
    m = np.zeros(len(inc), bool)
    if dated.any():
        m[dated] = in_window(inc["datetime"][dated], window, school_zone=school_zone)
    if window.hours is not None:
        m &= prec == "time"
    open_window = (
        window.hours is None
        and window.days == "all"
        and window.school_holidays is None
        and window.public_holidays is None
        and window.period is None
    )
    m |= ~dated & open_window
    return m


def quarantine_csv(reads: Sequence[IncidentRead]) -> str:
    """The rows every file set aside: ``file, line, reason`` (line 1 is the header)."""
    q = pd.concat([r.quarantine for r in reads], ignore_index=True) if reads else pd.DataFrame()
    if q.empty:
        q = pd.DataFrame(columns=["file", "line", "reason"])
    return q.to_csv(index=False, lineterminator="\n")


def ingest_counts(reads: Sequence[IncidentRead]) -> dict:
    """Totals over files (``rows, kept, mapped, native, defaulted, quarantined, outside_area,
    no_hour, undated``) and the counts of each file under ``files``."""
    keys = (
        "rows",
        "kept",
        "mapped",
        "native",
        "defaulted",
        "quarantined",
        "outside_area",
        "no_hour",
        "undated",
    )
    out: dict = {k: int(sum(r.counts[k] for r in reads)) for k in keys}
    labels: dict[str, int] = {}
    for r in reads:
        for k, v in r.counts["unmapped_labels"].items():
            labels[k] = labels.get(k, 0) + v
    out["unmapped_labels"] = labels
    out["files"] = {
        str(r.frame["file"].iloc[0]) if len(r.frame) else f"file {i + 1}": r.counts
        for i, r in enumerate(reads)
    }
    return out
