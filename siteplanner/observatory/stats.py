"""The observatory's statistics: pure functions on incident positions, counts and zones.

The pieces :func:`siteplanner.observatory.analysis.build` puts together (the method is
described there): incidents per source × category, cross-source duplicates dropped, the
Gi* classes of street segments, the exact conditional test of two Poisson counts with the
Benjamini–Hochberg adjustment, the days a window admits in a period, the places of the
indicators (commune, QPV, schools, gares) and their indicators, and the comparison cells.
Nothing here reads or writes a file.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.stats import binomtest
from shapely.geometry.base import BaseGeometry

from siteplanner._errors import InputError
from siteplanner.hotspots.grids import check_xy, count_grid
from siteplanner.hotspots.streets import gi_star, lixelize, network_kde
from siteplanner.incidents import windows as windows_mod
from siteplanner.incidents.windows import TimeWindow
from siteplanner.vocab import SENSITIVE_KINDS

logger = logging.getLogger(__name__)

__all__ = [
    "SEGMENT_CLASSES",
    "COLD",
    "MASKED",
    "TRENDS",
    "PLACE_KINDS",
    "count_table",
    "table_dict",
    "merge_report",
    "segment_class",
    "bh_adjust",
    "change_test",
    "exposure_days",
    "period_share",
    "place_zones",
    "indicators",
    "compare_periods",
    "window_segments",
]

#: Segment classes from the Gi* z-score: (class, smallest z), hottest first; below: ``froid``.
SEGMENT_CLASSES: tuple[tuple[str, float], ...] = (
    ("très chaud", 2.58),
    ("chaud", 1.96),
    ("tiède", 1.65),
)
COLD = "froid"
MASKED = "masqué"
TRENDS = ("hausse", "baisse", "stable")
PLACE_KINDS = ("commune", "qpv", "school", "gare")


def count_table(incidents_gdf: pd.DataFrame) -> pd.DataFrame:
    """Incidents per source (rows) × category (columns), with ``total`` row and column.

    Parameters
    ----------
    incidents_gdf
        Incidents with ``source`` and ``category`` columns.

    Returns
    -------
    pandas.DataFrame
        Integer counts, rows and columns sorted by name, ``total`` last.
    """
    missing = [c for c in ("source", "category") if c not in incidents_gdf.columns]
    if missing:
        raise InputError(
            f"incidents_gdf: missing column(s) {missing}; expected the columns of "
            "incidents.read_incidents"
        )
    if len(incidents_gdf) == 0:
        return pd.DataFrame({"total": [0]}, index=pd.Index(["total"], name="source"))
    t = pd.crosstab(
        incidents_gdf["source"], incidents_gdf["category"], margins=True, margins_name="total"
    )
    t = t.astype(int)
    t.index.name, t.columns.name = "source", None
    return t


def table_dict(t: pd.DataFrame) -> dict[str, dict[str, int]]:
    """A :func:`count_table` as ``{source: {category: count}}``, zero counts left out."""
    return {str(r): {str(c): int(v) for c, v in row.items() if v} for r, row in t.iterrows()}


def merge_report(frames: Sequence[gpd.GeoDataFrame], merged: gpd.GeoDataFrame) -> dict[str, Any]:
    """Which rows :func:`siteplanner.incidents.read.merge_sources` dropped as cross-source
    duplicates.

    Parameters
    ----------
    frames
        The frames given to ``merge_sources`` (each with ``file``, ``id``, ``source``).
    merged
        Its merged output.

    Returns
    -------
    dict
        ``{"files": {file: {"rows": n, "duplicates_dropped": m, "sources": [...]}},
        "duplicates_dropped": total}``.
    """
    kept = set(zip(merged["file"], merged["id"])) if len(merged) else set()
    files: dict[str, dict[str, Any]] = {}
    total = 0
    for f in frames:
        if len(f) == 0:
            continue
        name = str(f["file"].iloc[0])
        dropped = sum((fi, i) not in kept for fi, i in zip(f["file"], f["id"]))
        total += dropped
        files[name] = {
            "rows": int(len(f)),
            "duplicates_dropped": int(dropped),
            "sources": sorted(map(str, set(f["source"]))),
        }
    return {"files": files, "duplicates_dropped": int(total)}


def segment_class(z: np.ndarray | pd.Series) -> np.ndarray:
    """Class of each segment from its Gi* z-score (see :data:`SEGMENT_CLASSES`).

    Parameters
    ----------
    z
        Gi* z-scores (NaN: ``froid``).

    Returns
    -------
    numpy.ndarray of str
    """
    z = np.asarray(z, dtype=float)
    out = np.full(z.shape, COLD, dtype=object)
    for name, threshold in reversed(SEGMENT_CLASSES):  # coolest first, hotter overwrite
        out[np.nan_to_num(z, nan=-np.inf) >= threshold] = name
    return out


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN (untested) stay NaN and do not count.

    Parameters
    ----------
    p
        Raw p-values of the tests of one family.

    Returns
    -------
    numpy.ndarray
        :math:`q_{(i)} = \\min(1, \\min_{j \\ge i} m\\, p_{(j)} / j)` with :math:`m` the number
        of finite p-values; rejecting where :math:`q < \\alpha` controls the false discovery
        rate at :math:`\\alpha` (Benjamini & Hochberg 1995).
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adj
    q[ok] = out
    return q


def change_test(
    count: np.ndarray,
    count_previous: np.ndarray,
    share: float,
    *,
    alpha: float = 0.05,
    min_count: int = 1,
    correction: str = "bh",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact conditional test of two Poisson counts: up, down or stable.

    Parameters
    ----------
    count, count_previous
        Incidents this period and the previous one, per unit (cell, place).
    share
        :math:`p_0 = T_a / (T_a + T_b)`, this period's share of the total duration.
    alpha
        Significance level (two-sided).
    min_count
        Units with fewer incidents over both periods are ``masqué`` (no test).
    correction
        ``bh``: the trend is decided on the Benjamini–Hochberg q-values of the units tested
        together (:func:`bh_adjust`); ``none``: on each raw p-value.

    Returns
    -------
    tuple of numpy.ndarray
        ``expected`` (:math:`n p_0`), the raw ``p_value`` (NaN when masked or ``n = 0``) and
        ``trend`` (``hausse``, ``baisse``, ``stable`` or ``masqué``).
    """
    if correction not in ("bh", "none"):
        raise InputError(f"correction={correction!r}: accepted 'bh' (Benjamini-Hochberg) or 'none'")
    a = np.asarray(count, dtype=np.int64)
    b = np.asarray(count_previous, dtype=np.int64)
    if a.shape != b.shape or (a < 0).any() or (b < 0).any():
        raise InputError(
            "count, count_previous: two arrays of the same shape of counts >= 0 are required"
        )
    if not 0 < share < 1:
        raise InputError(
            f"share={share!r}: this period's share of the duration must lie strictly "
            "between 0 and 1"
        )
    n = a + b
    expected = n * share
    p = np.full(a.shape, np.nan)
    trend = np.full(a.shape, "stable", dtype=object)
    cache: dict[tuple[int, int], float] = {}
    for idx in np.ndindex(a.shape):
        if n[idx] < max(min_count, 1):
            trend[idx] = MASKED if n[idx] < min_count else "stable"
            continue
        key = (int(a[idx]), int(n[idx]))
        if key not in cache:
            cache[key] = float(binomtest(key[0], key[1], share).pvalue)
        p[idx] = cache[key]
    decide = bh_adjust(p) if correction == "bh" else p
    up = np.nan_to_num(decide, nan=1.0) < alpha
    trend[up & (a > expected)] = "hausse"
    trend[up & (a < expected)] = "baisse"
    return expected, p, trend


def exposure_days(window: TimeWindow, period: str, *, school_zone: str = "B") -> int:
    """Days of ``period`` that ``window``'s day conditions admit (days, school and public holidays).

    The hours of the window are the same every day, so they do not change the ratio of two
    periods' exposures; the day conditions do (a summer semester holds more school-holiday days).

    Parameters
    ----------
    window
        The time window.
    period
        A period label.
    school_zone
        School-holiday zone.

    Returns
    -------
    int
    """
    start, end = windows_mod.parse_period(period)
    days = pd.Series(
        pd.date_range(start, end, freq="D", inclusive="left") + pd.Timedelta(hours=12)
    ).dt.tz_localize("Europe/Paris")
    day_window = dataclasses.replace(window, hours=None, period=None)
    return int(windows_mod.in_window(days, day_window, school_zone=school_zone).sum())


def period_share(window: TimeWindow, period: str, previous: str, school_zone: str) -> float:
    """This period's share :math:`p_0 = T_a / (T_a + T_b)` of both periods' exposure days.

    Parameters
    ----------
    window
        The time window (its day conditions count, see :func:`exposure_days`).
    period, previous
        This period and the previous one.
    school_zone
        School-holiday zone.

    Returns
    -------
    float

    Raises
    ------
    InputError
        When the window admits no day in one of the periods.
    """
    ta = exposure_days(window, period, school_zone=school_zone)
    tb = exposure_days(window, previous, school_zone=school_zone)
    if ta == 0 or tb == 0:
        raise InputError(
            f"window {window.name!r}: admits no day in {period if ta == 0 else previous}; "
            "no comparison is possible, loosen its day conditions"
        )
    return ta / (ta + tb)


def place_zones(
    area: BaseGeometry,
    *,
    pois: gpd.GeoDataFrame | None = None,
    qpv: gpd.GeoDataFrame | None = None,
    radius_m: float = 200.0,
) -> gpd.GeoDataFrame:
    """The places the indicators are computed for, each clipped to the commune.

    Parameters
    ----------
    area
        The commune polygon (projected).
    pois
        Points of interest with ``kind`` (``school``, ``station``, ``bus_station`` used),
        ``name`` and ``osm_id``.
    qpv
        QPV polygons with ``name``.
    radius_m
        Surroundings of a school or gare: a disc of this radius.

    Returns
    -------
    geopandas.GeoDataFrame
        ``place_id, place_kind`` (``commune``, ``qpv``, ``school``, ``gare``), ``name`` and the
        zone polygon; places whose zone misses the commune are left out. Sorted by kind
        (in that order), then id.
    """
    if not radius_m > 0:
        raise InputError(f"radius_m={radius_m!r}: a positive number of metres is required")
    rows: list[dict[str, Any]] = [
        {"place_id": "commune", "place_kind": "commune", "name": "commune", "geometry": area}
    ]
    if qpv is not None and len(qpv):
        for i, r in qpv.reset_index(drop=True).iterrows():
            rows.append(
                {
                    "place_id": f"qpv/{i + 1}",
                    "place_kind": "qpv",
                    "name": str(r.get("name") or f"QPV {i + 1}"),
                    "geometry": shapely.intersection(r.geometry, area),
                }
            )
    if pois is not None and len(pois):
        sel = pois[pois["kind"].isin(SENSITIVE_KINDS)]
        sel = sel.assign(place_kind=np.where(sel["kind"].eq("school"), "school", "gare"))
        sel = sel.sort_values(["place_kind", "osm_id"], kind="stable").drop_duplicates(
            ["place_kind", "osm_id"]
        )
        for _, r in sel.iterrows():
            rows.append(
                {
                    "place_id": str(r["osm_id"]),
                    "place_kind": r["place_kind"],
                    "name": str(r["name"])
                    if isinstance(r["name"], str) and r["name"]
                    else str(r["osm_id"]),
                    "geometry": shapely.intersection(r.geometry.buffer(radius_m), area),
                }
            )
    out = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=None)
    out = out[~out.geometry.is_empty & (out.geometry.area > 0)]
    out["_k"] = out["place_kind"].map({k: i for i, k in enumerate(PLACE_KINDS)})
    return (
        out.sort_values(["_k", "place_id"], kind="stable").drop(columns="_k").reset_index(drop=True)
    )


def indicators(
    zones: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame,
    xy: np.ndarray,
    xy_previous: np.ndarray,
    *,
    share: float,
    window: str = "all",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Indicators of context for each place: counts, rate per km of street, change, trend.

    Parameters
    ----------
    zones
        :func:`place_zones`' output.
    edges
        Street LineStrings (projected, same CRS), each street once.
    xy, xy_previous
        ``(n, 2)`` incident positions of this period and of the previous one (one window).
    share
        This period's share of the two periods' duration (for the trend test).
    window
        The window's name, stored in column ``window``.
    alpha
        Significance level of the trend test.

    Returns
    -------
    pandas.DataFrame
        ``place_kind, place_id, name, window, street_km, count, count_previous, change,
        change_pct`` (NaN when the previous count is 0), ``rate_per_km, rate_previous_per_km``
        (NaN without street), ``p_value`` (raw), ``q_value`` (Benjamini–Hochberg over the
        places), ``trend`` (decided on ``q_value``).
    """
    xy = check_xy(np.asarray(xy, dtype=float).reshape(-1, 2), "xy")
    xp = check_xy(np.asarray(xy_previous, dtype=float).reshape(-1, 2), "xy_previous")
    geoms = np.asarray(zones.geometry)
    lines = np.asarray(edges.geometry)
    street_km = np.array(
        [
            float(shapely.length(shapely.intersection(lines, g)).sum()) / 1000.0
            if len(lines)
            else 0.0
            for g in geoms
        ]
    )
    a = np.array(
        [int(shapely.contains_xy(g, xy[:, 0], xy[:, 1]).sum()) if len(xy) else 0 for g in geoms],
        dtype=np.int64,
    )
    b = np.array(
        [int(shapely.contains_xy(g, xp[:, 0], xp[:, 1]).sum()) if len(xp) else 0 for g in geoms],
        dtype=np.int64,
    )
    _, p, trend = change_test(a, b, share, alpha=alpha, min_count=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        change_pct = np.where(b > 0, 100.0 * (a - b) / np.maximum(b, 1), np.nan)
        rate = np.where(street_km > 0, a / np.where(street_km > 0, street_km, 1.0), np.nan)
        rate_prev = np.where(street_km > 0, b / np.where(street_km > 0, street_km, 1.0), np.nan)
    return pd.DataFrame(
        {
            "place_kind": zones["place_kind"].to_numpy(),
            "place_id": zones["place_id"].to_numpy(),
            "name": zones["name"].to_numpy(),
            "window": window,
            "street_km": street_km,
            "count": a,
            "count_previous": b,
            "change": a - b,
            "change_pct": change_pct,
            "rate_per_km": rate,
            "rate_previous_per_km": rate_prev,
            "p_value": p,
            "q_value": bh_adjust(p),
            "trend": trend,
        }
    )


def compare_periods(
    xy: np.ndarray,
    xy_previous: np.ndarray,
    *,
    area: BaseGeometry,
    share: float,
    cell_m: float = 100.0,
    min_count: int = 3,
    alpha: float = 0.05,
    window: str = "all",
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Square cells over the commune with this period's and the previous period's counts and trend.

    Parameters
    ----------
    xy, xy_previous
        ``(n, 2)`` incident positions of this period and of the previous one.
    area
        The commune polygon: cells that intersect it are kept.
    share
        This period's share of the two periods' duration.
    cell_m
        Cell side, metres (the grid starts at the area's lower-left corner, floored to ``cell_m``).
    min_count
        Cells with fewer incidents over both periods are ``masqué``.
    alpha
        Significance level of the binomial test.
    window
        The window's name (column ``window``).
    crs
        CRS of the output.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id`` (``r<row>c<col>``, row 0 to the north), ``window, count, count_previous,
        expected, p_value`` (raw), ``q_value`` (Benjamini–Hochberg over the cells), ``trend``
        (decided on ``q_value``) and the square cell.
    """
    xy = check_xy(np.asarray(xy, dtype=float).reshape(-1, 2), "xy")
    xp = check_xy(np.asarray(xy_previous, dtype=float).reshape(-1, 2), "xy_previous")
    xmin, ymin, xmax, ymax = area.bounds
    bounds = (
        np.floor(xmin / cell_m) * cell_m,
        np.floor(ymin / cell_m) * cell_m,
        np.ceil(xmax / cell_m) * cell_m,
        np.ceil(ymax / cell_m) * cell_m,
    )
    ga = count_grid(xy, bounds=bounds, cell_m=cell_m, window=window)
    gb = count_grid(xp, bounds=bounds, cell_m=cell_m, window=window)
    k = cell_m * cell_m / 1e6
    a = np.rint(ga.values * k).astype(np.int64)
    b = np.rint(gb.values * k).astype(np.int64)
    rows, cols = a.shape
    rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    x0 = ga.transform.c + cc.ravel() * cell_m
    y1 = ga.transform.f - rr.ravel() * cell_m
    boxes = shapely.box(x0, y1 - cell_m, x0 + cell_m, y1)
    keep = shapely.intersects(boxes, area)
    expected, p, trend = change_test(
        a.ravel()[keep], b.ravel()[keep], share, alpha=alpha, min_count=min_count
    )
    out = gpd.GeoDataFrame(
        {
            "cell_id": [f"r{r}c{c}" for r, c in zip(rr.ravel()[keep], cc.ravel()[keep])],
            "window": window,
            "count": a.ravel()[keep],
            "count_previous": b.ravel()[keep],
            "expected": expected,
            "p_value": p,
            "q_value": bh_adjust(p),
            "trend": trend,
        },
        geometry=boxes[keep],
        crs=crs,
    )
    logger.info(
        "compare_periods (%s): %d cells of %.0f m, %s",
        window,
        len(out),
        cell_m,
        ", ".join(f"{t} {int((out['trend'] == t).sum())}" for t in (*TRENDS, MASKED)),
    )
    return out


def window_segments(
    streets: gpd.GeoDataFrame,
    xy: np.ndarray,
    *,
    lixel_m: float,
    bandwidth_m: float,
    label: str,
    period: str,
) -> gpd.GeoDataFrame:
    """Network KDE, Gi* z-score and class of one window's incidents, one row per lixel."""
    if len(xy):
        lix = network_kde(streets, xy, lixel_m=lixel_m, bandwidth_m=bandwidth_m, window=label)
    else:
        lix = lixelize(streets, lixel_m=lixel_m)
        lix["count"] = 0.0
        lix["intensity"] = 0.0
        lix["window"] = label
    lix = lix.reset_index(drop=True)
    z = (
        gi_star(lix, value_col="count", distance_m=bandwidth_m)
        if len(lix) > 1
        else pd.Series(np.nan, index=lix.index)
    )
    mid = shapely.get_coordinates(
        shapely.line_interpolate_point(np.asarray(lix.geometry), 0.5, normalized=True)
    )
    n = len(lix)
    if n:
        W = (
            cKDTree(mid)
            .sparse_distance_matrix(cKDTree(mid), bandwidth_m, output_type="coo_matrix")
            .tocsr()
        )
        W.data[:] = 1.0
        W = (W + sparse.identity(n, format="csr")).minimum(1.0).tocsr()
        neigh = np.rint(W @ lix["count"].to_numpy(float)).astype(np.int64)
    else:
        neigh = np.zeros(0, dtype=np.int64)
    out = gpd.GeoDataFrame(
        {
            "segment_id": [f"e{e}-{k}" for e, k in zip(lix["edge_index"], lix["lixel"])],
            "street": streets["name"].to_numpy(object)[lix["edge_index"].to_numpy()] if n else [],
            "window": label,
            "period": period,
            "length_m": lix["length"].to_numpy(float),
            "count": np.rint(lix["count"].to_numpy(float)).astype(np.int64),
            "intensity": lix["intensity"].to_numpy(float),
            "neighbourhood_count": neigh,
            "gi_star_z": z.to_numpy(float),
            "class": segment_class(z.to_numpy(float)),
        },
        geometry=np.asarray(lix.geometry),
        crs=streets.crs,
    )
    return out
