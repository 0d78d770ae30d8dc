"""Incident files: read, check every row, and project.

An incident file (CSV, GeoJSON or GeoPackage) has one row per incident with the columns
``id, datetime, category, source`` and either ``lon, lat`` (WGS84) or ``x, y`` in a
declared CRS. Column names may be mapped (``columns = {datetime = "date_faits"}``) and a
file may declare one ``source`` for all its rows, so that exports from the police
nationale, the police municipale, the bailleur social, the transporteur and the services
techniques can be read as they come.

Validation collects every problem and raises one :class:`~siteplanner._errors.InputError`
that lists them with their line numbers (the header is line 1): bad dates, unknown
categories, missing or non-numeric coordinates, latitude and longitude swapped, empty
file, duplicate ids. Repairs whose meaning is unambiguous are made and logged: a UTF-8
BOM, Latin-1 encoding, ``;`` separators, decimal commas, dates written ``dd/mm/yyyy``.
Points outside the study area are dropped, with their count in the log.
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

from ._errors import InputError, report_problems

log = logging.getLogger(__name__)

#: Incident categories of the towns' security contracts (slug → French label).
CATEGORY_LABELS: dict[str, str] = {
    "incendie_vehicule": "Incendie de véhicule",
    "incendie_poubelle": "Incendie de poubelle",
    "degradation_tag": "Dégradations et tags",
    "cambriolage": "Cambriolage",
    "vol_roulotte": "Vol à la roulotte",
    "rodeo_urbain": "Rodéo urbain",
    "trafic_stupefiants": "Regroupements et trafic de stupéfiants",
    "violence_voie_publique": "Violences sur la voie publique",
    "depot_sauvage": "Dépôt sauvage",
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_LABELS)

#: Who reports incidents (slug → French label).
SOURCE_LABELS: dict[str, str] = {
    "police_nationale": "Police nationale",
    "police_municipale": "Police municipale",
    "bailleur_social": "Bailleur social",
    "services_techniques": "Services techniques",
    "transporteur": "Transporteur",
}
SOURCES: tuple[str, ...] = tuple(SOURCE_LABELS)

REQUIRED = ("id", "datetime", "category")
TIMEZONE = "Europe/Paris"


@dataclass(frozen=True)
class IncidentSpec:
    """How to read one incident file (what the scenario says about it)."""

    path: Path
    source: str | None = None
    crs: str | None = None
    columns: Mapping[str, str] | None = None


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
    """Read an incident table as strings (CSV) or with geometry columns (GeoJSON, GeoPackage)."""
    if not path.is_file():
        raise InputError(f"{path}: incident file not found")
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".geojson", ".json", ".gpkg", ".shp")):
        try:
            with warnings.catch_warnings(record=True) as caught:  # GDAL's complaints, e.g. a point with one coordinate
                warnings.simplefilter("always")
                gdf = gpd.read_file(path)
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
            report_problems([f"feature {i + 1}: geometry is a {kinds.iloc[i]} (accepted: Point)"
                             for i in np.flatnonzero(not_point.to_numpy())], source=str(path))
        pts = gdf.to_crs("EPSG:4326")
        df = pd.DataFrame(pts.drop(columns="geometry")).astype(object)
        geoms = pts.geometry.to_numpy()
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        df["lon"] = np.where(ok, shapely.get_x(np.where(ok, geoms, None)), np.nan)
        df["lat"] = np.where(ok, shapely.get_y(np.where(ok, geoms, None)), np.nan)
        return df
    text = _decode(path.read_bytes(), path)
    if not text.strip():
        raise InputError(f"{path}: the file is empty (expected a header line id,datetime,category,source,lon,lat and rows)")
    first = text.splitlines()[0]
    sep = ";" if first.count(";") > first.count(",") else ("\t" if first.count("\t") > first.count(",") else ",")
    if sep != ",":
        log.info("%s: read with %r as column separator", path, sep)
    try:
        df = pd.read_csv(_io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL)
    except Exception as exc:
        raise InputError(f"{path}: not a readable CSV table ({exc})") from exc
    df.columns = [str(c).strip().lower() for c in df.columns]
    if df.empty:
        raise InputError(f"{path}: the file has a header but no incident rows")
    return df


def _to_float(values: pd.Series) -> tuple[pd.Series, int]:
    """Numbers, accepting French decimal commas; returns values and the count repaired."""
    s = values.astype(str).str.strip()
    comma = s.str.fullmatch(r"[-+]?\d+,\d+")
    fixed = s.where(~comma, s.str.replace(",", ".", regex=False))
    return pd.to_numeric(fixed.replace({"": None, "nan": None, "None": None}), errors="coerce"), int(comma.sum())


def _parse_datetimes(values: pd.Series) -> tuple[pd.Series, int]:
    """Parse ISO 8601 (with or without offset) and French ``dd/mm/yyyy [HH:MM[:SS]]``."""
    s = values.astype(str).str.strip()
    # a year outside 1900-2100 is a typo, never an incident date (and beyond pandas' range)
    year = pd.to_numeric(s.str.extract(r"^(\d{4,})-", expand=False)
                         .fillna(s.str.extract(r"^\d{1,2}/\d{1,2}/(\d{4,})", expand=False)), errors="coerce")
    s = s.where(year.between(1900, 2100), "")
    out = pd.Series(pd.NaT, index=s.index, dtype=f"datetime64[ns, {TIMEZONE}]")
    iso = pd.to_datetime(s, format="ISO8601", errors="coerce", utc=True)
    has_offset = s.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    naive = pd.to_datetime(s.where(~has_offset), format="ISO8601", errors="coerce")
    local = naive.dt.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="shift_forward")
    out = out.where(~(has_offset & iso.notna()), iso.dt.tz_convert(TIMEZONE))
    out = out.where(~(~has_offset & local.notna()), local)
    fr_mask = out.isna() & s.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
    n_fr = 0
    if fr_mask.any():
        fr = pd.to_datetime(s[fr_mask], format="mixed", dayfirst=True, errors="coerce")
        fr = fr.dt.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="shift_forward")
        out.loc[fr_mask] = fr
        n_fr = int(fr.notna().sum())
    return out, n_fr


def validate_incidents(
    df: pd.DataFrame,
    *,
    source_name: str,
    crs: str | None = None,
    default_source: str | None = None,
    area_wgs84: BaseGeometry | None = None,
    categories: Sequence[str] = CATEGORIES,
    sources: Sequence[str] | None = None,
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
    """
    problems: list[str] = []
    missing = [c for c in REQUIRED if c not in df.columns]
    has_lonlat = {"lon", "lat"} <= set(df.columns)
    has_xy = {"x", "y"} <= set(df.columns)
    if not has_lonlat and not has_xy:
        missing.append("lon, lat (or x, y with a declared crs)")
    if "source" not in df.columns and default_source is None:
        missing.append("source (or a source declared for the whole file)")
    if missing:
        raise InputError(
            f"{source_name}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}. "
            "Accepted: id, datetime (ISO 8601), category, source and lon, lat (WGS84) or x, y with a crs; "
            "map other names with `columns = {...}` in the scenario"
        )
    if has_xy and not has_lonlat and not crs:
        raise InputError(f"{source_name}: x, y columns need a declared crs (e.g. crs = \"EPSG:2154\") in the scenario")
    if has_xy and not has_lonlat:
        try:
            pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as exc:
            raise InputError(f"{source_name}: the declared crs {crs!r} is not a known CRS ({exc}); "
                             "accepted: an EPSG code like \"EPSG:2154\" (Lambert-93) or a WKT/PROJ string") from None
    line = pd.Series(np.arange(len(df)) + 2, index=df.index)  # header is line 1

    ids = df["id"].astype(str).str.strip()
    for i in ids.index[ids.eq("") | ids.eq("nan")]:
        problems.append(f"line {line[i]}: empty id")
    dup = ids[ids.duplicated(keep=False) & ids.ne("")]
    for value, group in dup.groupby(dup, sort=True):
        problems.append(f"lines {', '.join(str(line[i]) for i in group.index[:5])}: duplicate id {value!r}")

    when, n_fr = _parse_datetimes(df["datetime"])
    if n_fr:
        log.info("%s: read %d dates written dd/mm/yyyy (day first)", source_name, n_fr)
    for i in when.index[when.isna()]:
        problems.append(f"line {line[i]}: bad datetime {str(df.at[i, 'datetime'])!r} (expected ISO 8601 like 2023-05-14T22:30:00 or dd/mm/yyyy HH:MM, years 1900-2100)")

    cat = df["category"].astype(str).str.strip().str.lower()
    for i in cat.index[~cat.isin(categories)]:
        problems.append(f"line {line[i]}: unknown category {df.at[i, 'category']!r} (accepted: {', '.join(categories)})")

    src = df["source"].astype(str).str.strip().str.lower() if "source" in df.columns else pd.Series(default_source, index=df.index)
    if "source" in df.columns and default_source is not None:
        src = src.where(src.ne("") & src.ne("nan"), default_source)
    if sources is not None:
        for i in src.index[~src.isin(sources)]:
            problems.append(f"line {line[i]}: unknown source {src[i]!r} (accepted: {', '.join(sources)})")

    if has_lonlat:
        a, n1 = _to_float(df["lon"])
        b, n2 = _to_float(df["lat"])
        in_crs = "EPSG:4326"
    else:
        a, n1 = _to_float(df["x"])
        b, n2 = _to_float(df["y"])
        in_crs = crs
    if n1 + n2:
        log.info("%s: read %d coordinates written with a decimal comma", source_name, n1 + n2)
    bad = a.isna() | b.isna() | ~np.isfinite(a.fillna(0)) | ~np.isfinite(b.fillna(0))
    for i in a.index[bad]:
        problems.append(f"line {line[i]}: missing or non-numeric coordinates ({'lon, lat' if has_lonlat else 'x, y'})")
    if has_lonlat:
        out_of_range = ~bad & ((a.abs() > 180) | (b.abs() > 90))
        for i in a.index[out_of_range]:
            problems.append(f"line {line[i]}: lon {a[i]} / lat {b[i]} outside WGS84 range (lon -180..180, lat -90..90)")
        if area_wgs84 is not None and not area_wgs84.is_empty:
            ok = ~bad & ~out_of_range
            near = area_wgs84.simplify(0.005).buffer(0.05, quad_segs=4)  # coarse: a 5 km band, fast on coasts
            inside = pd.Series(shapely.contains_xy(near, a.where(ok, 0).to_numpy(), b.where(ok, 0).to_numpy()), index=a.index)
            swapped_in = pd.Series(shapely.contains_xy(near, b.where(ok, 0).to_numpy(), a.where(ok, 0).to_numpy()), index=a.index)
            for i in a.index[ok & ~inside & swapped_in]:
                problems.append(f"line {line[i]}: lon {a[i]} and lat {b[i]} look swapped (the swapped point is in the study area)")
    pts = gpd.GeoSeries.from_xy(a.where(~bad, 0).to_numpy(float), b.where(~bad, 0).to_numpy(float), crs=in_crs)
    if in_crs != "EPSG:4326":
        pts = pts.to_crs("EPSG:4326")
        lon, lat = shapely.get_x(pts.to_numpy()), shapely.get_y(pts.to_numpy())
        outside = ~bad.to_numpy() & ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
        for i in np.flatnonzero(outside):
            problems.append(f"line {line.iloc[i]}: x {a.iloc[i]} / y {b.iloc[i]} is not a valid position in {crs}")
    report_problems(problems, source=source_name)

    out = gpd.GeoDataFrame(
        {"id": ids.to_numpy(), "datetime": when.to_numpy(), "category": cat.to_numpy(), "source": src.to_numpy()},
        geometry=pts.to_numpy(), crs="EPSG:4326",
    )
    out["datetime"] = pd.to_datetime(out["datetime"], utc=True).dt.tz_convert(TIMEZONE)
    return out


def read_incidents(
    spec: IncidentSpec,
    *,
    area: BaseGeometry,
    crs: str,
    categories: Sequence[str] = CATEGORIES,
) -> gpd.GeoDataFrame:
    """Read, validate and project one incident file; drop (and count) points outside ``area``.

    Parameters
    ----------
    spec
        The file and how to read it.
    area
        The study area in ``crs``.
    crs
        The projected CRS of the study.

    Returns
    -------
    GeoDataFrame
        ``id, datetime, category, source, synthetic, file`` with point geometry in ``crs``.
    """
    path = Path(spec.path)
    df = read_table(path)
    if spec.columns:
        rename = {str(v).strip().lower(): k for k, v in spec.columns.items()}
        unknown = [v for v in rename if v not in df.columns]
        if unknown:
            raise InputError(f"{path}: mapped column(s) {unknown} not in the file; found {', '.join(map(str, df.columns))}")
        df = df.rename(columns=rename)
    area_wgs = gpd.GeoSeries([area], crs=crs).to_crs("EPSG:4326").iloc[0]
    gdf = validate_incidents(df, source_name=str(path), crs=spec.crs, default_source=spec.source,
                             area_wgs84=area_wgs, categories=categories)
    gdf = gdf.to_crs(crs)
    inside = pd.Series(shapely.contains_xy(area, gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()), index=gdf.index)
    n_out = int((~inside).sum())
    if n_out:
        log.info("%s: dropped %d of %d incidents outside the study area", path.name, n_out, len(gdf))
    gdf = gdf[inside].reset_index(drop=True)
    gdf["synthetic"] = "synthetic" in path.name.lower()
    gdf["file"] = path.name
    log.info("%s: %d incidents kept (%s)", path.name, len(gdf),
             ", ".join(f"{k} {v}" for k, v in gdf["category"].value_counts().sort_index().items()))
    return gdf


def merge_sources(frames: Sequence[gpd.GeoDataFrame], *, distance_m: float = 10.0, minutes: float = 30.0) -> tuple[gpd.GeoDataFrame, int]:
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
        if file_rank[i] == file_rank[j] or df.at[i, "category"] != df.at[j, "category"] or abs(t[i] - t[j]) > minutes:
            continue
        later = j if (file_rank[j], j) > (file_rank[i], i) else i
        if not drop[i] and not drop[j]:
            drop[later] = True
    out = df[~drop].sort_values(["datetime", "id"], kind="stable").reset_index(drop=True)
    return out, int(drop.sum())
