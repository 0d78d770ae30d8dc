"""The observatoire local de la sécurité (OLS): semester indicators and maps fit to share.

The OLS is the town's incident map and statistics, updated every semester and read by the
cellule de veille and the CLSPD (conseil local de sécurité et de prévention de la
délinquance). :func:`build` computes, for one period (``"2023-S1"``, ``"2023"``...) and the
period just before it, without planning any camera:

counts
    Incidents per source × category (the reporting partners: police nationale, police
    municipale, bailleur social, services techniques, transporteur), in the log and in
    ``summary.json``.
hotspots per time window
    For every window (e.g. *soirée* 18–24 h, *nuit* 0–6 h, week-end, vacances scolaires;
    see :mod:`siteplanner.windows`) restricted to the period: a planar quartic kernel
    density (:func:`siteplanner.hotspots.kde_grid`) and a network kernel density on street
    segments (lixels of at most ``lixel_m``, :func:`siteplanner.hotspots.network_kde`) with
    the Getis-Ord Gi* z-score of the segment counts on a ``bandwidth_m`` distance band
    (:func:`siteplanner.hotspots.gi_star`). Every product names its window and period.
segment classes
    From the Gi* z-score, the usual one-sided confidence levels: ``très chaud`` z ≥ 2.58
    (99 %), ``chaud`` z ≥ 1.96 (95 %), ``tiède`` z ≥ 1.65 (90 %), ``froid`` otherwise (not
    a significant hotspot). The z-scores are not corrected for multiple testing: read the
    classes as a ranking, not as proofs.
comparison with the previous period
    Incidents counted on ``compare_cell_m`` (100 m) square cells in both periods. Given
    :math:`n = a + b` incidents in a cell (:math:`a` this period, :math:`b` the previous one),
    under "no change" :math:`a \\sim \\mathrm{Binomial}(n, p_0)` with
    :math:`p_0 = T_a / (T_a + T_b)` the share of days of this period (the conditional test of
    two Poisson rates, Przyborowski & Wileński 1940), exact two-sided binomial test, raw
    p-value :math:`p`. A commune has a hundred cells or more: tested one by one at 5 %, about
    five would change by chance alone. So the p-values of the cells of one window are adjusted
    together by the Benjamini–Hochberg procedure (false discovery rate :math:`\\alpha`),
    :math:`q_{(i)} = \\min_{j \\ge i} m\\, p_{(j)} / j` over the :math:`m` cells tested:
    ``hausse`` (up) if :math:`q < \\alpha` (0.05) and :math:`a > n p_0`, ``baisse`` (down) if
    :math:`q < \\alpha` and :math:`a < n p_0`, ``stable`` otherwise; both ``p_value`` and
    ``q_value`` are written. The same test, adjusted over the places of one window, gives the
    trend of every indicator.
indicators of context
    The *indicateurs de contexte* of the strategy's evaluation dashboard, for the whole
    commune, each QPV (quartier prioritaire de la politique de la ville: its polygon), each
    school (établissement scolaire) and each gare (railway or bus station: the
    ``sensitive_radius_m`` surroundings), always clipped to the commune: incidents this
    period and the previous one, street length (km of street inside the place), the rate per
    km of street, the change (count and %), the trend (test above).

Disclosure control: a map meant for sharing never shows an individual incident. Raster
cells with fewer than ``min_count`` incidents within ``bandwidth_m`` of their centre are
masked (NaN); segments with fewer than ``min_count`` incidents carry no count nor intensity,
and their Gi* z-score and class are kept only when their neighbourhood (the Gi* distance
band) holds at least ``min_count`` incidents; comparison cells with fewer than ``min_count``
incidents over both periods are masked, and the shared cells carry no counts.

:func:`build` is pure (values in, a frozen :class:`ObservatoryResult` out); :func:`write`
writes the files (staged, then moved into place); :func:`run` reads a scenario's files and
does both (``siteplanner observatory SCENARIO --period 2023-S1``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.stats import binomtest
from shapely.geometry.base import BaseGeometry

from . import hotspots
from . import windows as windows_mod
from ._errors import InputError, report_problems
from .windows import TimeWindow
from .vocab import SENSITIVE_KINDS

if TYPE_CHECKING:
    from .io import Town
    from .scenario import Scenario

logger = logging.getLogger(__name__)

__all__ = [
    "ObservatoryResult",
    "DEFAULT_WINDOWS",
    "SEGMENT_CLASSES",
    "build",
    "count_table",
    "merge_report",
    "segment_class",
    "bh_adjust",
    "change_test",
    "exposure_days",
    "place_zones",
    "indicators",
    "compare_periods",
    "shared_segments",
    "shared_comparison",
    "summary",
    "write",
    "run",
]

#: Windows computed when the scenario names none.
DEFAULT_WINDOWS: tuple[TimeWindow, ...] = (
    TimeWindow("toutes heures"),
    TimeWindow("soirée", hours=(18, 24)),
    TimeWindow("nuit", hours=(0, 6)),
    TimeWindow("week-end", days="weekend"),
)

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


@dataclass(frozen=True)
class ObservatoryResult:
    """Everything the observatory computed for one period (nothing written).

    Attributes
    ----------
    period, previous_period
        Period labels (``"2023-S1"`` and ``"2022-S2"``).
    windows
        The time windows, in the order given (their own ``period`` is ``None``).
    crs
        Projected CRS of every layer.
    area
        The commune (study area) polygon.
    min_count
        Disclosure threshold: smallest number of incidents a shared cell or segment shows.
    counts
        Incidents of the period per source (rows) × category (columns), with ``total`` row
        and column.
    counts_previous
        The same for the previous period.
    grids
        One kernel-density grid per window (incidents per km²), masked (NaN) outside the
        commune and where fewer than ``min_count`` incidents lie within ``bandwidth_m``;
        ``grid.window`` is ``"<window> · <period>"``.
    segments
        One row per street segment (lixel) and window: ``segment_id, window, period,
        length_m, count, intensity`` (incidents per km of street, network kernel),
        ``neighbourhood_count`` (incidents within the Gi* band), ``gi_star_z``, ``class``.
        Not suppressed: see :func:`shared_segments`.
    comparison
        One row per ``compare_cell_m`` cell of the first window: ``cell_id, window, count,
        count_previous, expected, p_value, q_value, trend`` (``hausse``/``baisse``/``stable``/``masqué``,
        decided on the Benjamini–Hochberg ``q_value``).
    indicators
        One row per place and window (see :func:`indicators`).
    synthetic
        True when any incident came from a synthetic file.
    params
        Parameters used (``lixel_m``, ``bandwidth_m``, ``cell_m``, ...).
    ingest
        What the reading step reports (files, duplicates dropped); filled by :func:`run`.
    """

    period: str
    previous_period: str
    windows: tuple[TimeWindow, ...]
    crs: str
    area: BaseGeometry
    min_count: int
    counts: pd.DataFrame
    counts_previous: pd.DataFrame
    grids: tuple[hotspots.DensityGrid, ...]
    segments: gpd.GeoDataFrame
    comparison: gpd.GeoDataFrame
    indicators: pd.DataFrame
    synthetic: bool
    params: dict = field(default_factory=dict, compare=False)
    ingest: dict = field(default_factory=dict, compare=False)


# --------------------------------------------------------------------------- small pieces
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
            f"incidents_gdf: missing column(s) {missing}; expected the columns of incidents.read_incidents"
        )
    if len(incidents_gdf) == 0:
        return pd.DataFrame({"total": [0]}, index=pd.Index(["total"], name="source"))
    t = pd.crosstab(
        incidents_gdf["source"], incidents_gdf["category"], margins=True, margins_name="total"
    )
    t = t.astype(int)
    t.index.name, t.columns.name = "source", None
    return t


def _table_dict(t: pd.DataFrame) -> dict[str, dict[str, int]]:
    return {str(r): {str(c): int(v) for c, v in row.items() if v} for r, row in t.iterrows()}


def _log_table(title: str, t: pd.DataFrame) -> None:
    logger.info("%s\n%s", title, t.to_string())


def merge_report(frames: Sequence[gpd.GeoDataFrame], merged: gpd.GeoDataFrame) -> dict[str, Any]:
    """Which rows :func:`siteplanner.incidents.merge_sources` dropped as cross-source duplicates.

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
            f"share={share!r}: this period's share of the duration must lie strictly between 0 and 1"
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


def _period_share(window: TimeWindow, period: str, previous: str, school_zone: str) -> float:
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
    xy = hotspots._check_xy(np.asarray(xy, dtype=float).reshape(-1, 2), "xy")
    xp = hotspots._check_xy(np.asarray(xy_previous, dtype=float).reshape(-1, 2), "xy_previous")
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
    xy = hotspots._check_xy(np.asarray(xy, dtype=float).reshape(-1, 2), "xy")
    xp = hotspots._check_xy(np.asarray(xy_previous, dtype=float).reshape(-1, 2), "xy_previous")
    xmin, ymin, xmax, ymax = area.bounds
    bounds = (
        np.floor(xmin / cell_m) * cell_m,
        np.floor(ymin / cell_m) * cell_m,
        np.ceil(xmax / cell_m) * cell_m,
        np.ceil(ymax / cell_m) * cell_m,
    )
    ga = hotspots.count_grid(xy, bounds=bounds, cell_m=cell_m, window=window)
    gb = hotspots.count_grid(xp, bounds=bounds, cell_m=cell_m, window=window)
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


def _support_counts(xy: np.ndarray, centres: np.ndarray, radius_m: float) -> np.ndarray:
    if len(xy) == 0:
        return np.zeros(len(centres), dtype=np.int64)
    return np.asarray(
        cKDTree(xy).query_ball_point(centres, radius_m, return_length=True), dtype=np.int64
    )


# --------------------------------------------------------------------------- build
def _check_windows(wins: Sequence[TimeWindow]) -> tuple[TimeWindow, ...]:
    problems = []
    wins = tuple(wins)
    if not wins:
        problems.append(
            "windows: at least one time window is required (e.g. observatory.DEFAULT_WINDOWS)"
        )
    names = [w.name for w in wins if isinstance(w, TimeWindow)]
    for w in wins:
        if not isinstance(w, TimeWindow):
            problems.append(f"windows: {w!r} is not a siteplanner.windows.TimeWindow")
        elif w.period is not None:
            problems.append(
                f"window {w.name!r}: has its own period {w.period!r}; the observatory's period is given once "
                "(period=...), remove it from the window"
            )
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        problems.append(
            f"windows: duplicate window name(s) {dup}; every product is named after its window"
        )
    report_problems(problems, source="observatory.build")
    return wins


def build(
    town: Town,
    incidents_gdf: gpd.GeoDataFrame,
    *,
    period: str,
    windows: Sequence[TimeWindow] = DEFAULT_WINDOWS,
    qpv: gpd.GeoDataFrame | None = None,
    min_count: int = 3,
    lixel_m: float = 100.0,
    bandwidth_m: float = 200.0,
    cell_m: float = 25.0,
    compare_cell_m: float = 100.0,
    sensitive_radius_m: float = 200.0,
    alpha: float = 0.05,
    school_zone: str = "B",
) -> ObservatoryResult:
    """Compute the observatory's counts, hotspots, comparison and indicators for one period.

    Parameters
    ----------
    town
        The loaded town (:func:`siteplanner.io.load_town`): area, street graph, POIs, CRS.
    incidents_gdf
        Merged incidents (``id, datetime, category, source`` and points in ``town.crs``;
        ``synthetic`` if known), e.g. from :func:`siteplanner.incidents.merge_sources`.
    period
        ``"2023-S1"``, ``"2023"``, ``"2023-Q2"`` or ``"2023-05"``; compared with the period of
        the same kind just before it.
    windows
        Time windows without a period of their own (default :data:`DEFAULT_WINDOWS`).
    qpv
        QPV polygons (``name``, geometry in ``town.crs``) or ``None``.
    min_count
        Disclosure threshold for shared maps (default 3).
    lixel_m
        Longest street segment (lixel), metres.
    bandwidth_m
        Kernel bandwidth (network and planar) and Gi* distance band, metres.
    cell_m
        Cell side of the hotspot raster, metres.
    compare_cell_m
        Cell side of the period comparison, metres.
    sensitive_radius_m
        Surroundings of schools and gares, metres.
    alpha
        Significance level of the change tests.
    school_zone
        French school-holiday zone for windows on vacances scolaires (Beausoleil: ``"B"``).

    Returns
    -------
    ObservatoryResult
    """
    problems = []
    try:
        windows_mod.parse_period(period)
    except InputError as exc:
        problems.append(str(exc))
    if not (
        isinstance(min_count, (int, np.integer))
        and not isinstance(min_count, bool)
        and min_count >= 1
    ):
        problems.append(f"min_count={min_count!r}: a whole number >= 1 is required (default 3)")
    for name, v in (
        ("lixel_m", lixel_m),
        ("bandwidth_m", bandwidth_m),
        ("cell_m", cell_m),
        ("compare_cell_m", compare_cell_m),
        ("sensitive_radius_m", sensitive_radius_m),
    ):
        if not (isinstance(v, (int, float, np.floating)) and np.isfinite(v) and v > 0):
            problems.append(f"{name}={v!r}: a positive number of metres is required")
    if not 0 < alpha < 1:
        problems.append(
            f"alpha={alpha!r}: a significance level strictly between 0 and 1 is required (default 0.05)"
        )
    missing = [
        c for c in ("id", "datetime", "category", "source") if c not in incidents_gdf.columns
    ]
    if missing:
        problems.append(f"incidents_gdf: missing column(s) {missing}")
    elif (
        incidents_gdf.crs is not None
        and town.crs is not None
        and not incidents_gdf.crs.equals(town.crs)
    ):
        problems.append(
            f"incidents_gdf: CRS {incidents_gdf.crs.to_string()} differs from the town's {town.crs}; "
            "project it with to_crs(town.crs)"
        )
    if qpv is not None and qpv.crs is not None and not qpv.crs.equals(town.crs):
        problems.append(
            f"qpv: CRS {qpv.crs.to_string()} differs from the town's {town.crs}; project it with to_crs(town.crs)"
        )
    report_problems(problems, source="observatory.build")
    wins = _check_windows(windows)
    previous = windows_mod.previous_period(period)

    inc = incidents_gdf
    now_mask = (
        windows_mod.in_window(inc["datetime"], TimeWindow("période", period=period))
        if len(inc)
        else np.zeros(0, bool)
    )
    prev_mask = (
        windows_mod.in_window(inc["datetime"], TimeWindow("période", period=previous))
        if len(inc)
        else np.zeros(0, bool)
    )
    counts = count_table(inc[now_mask])
    counts_prev = count_table(inc[prev_mask])
    _log_table(f"observatory: incidents {period} per source × category", counts)
    _log_table(
        f"observatory: incidents {previous} (previous period) per source × category", counts_prev
    )
    if now_mask.sum() == 0:
        logger.warning("observatory: no incident in period %s; the maps will be empty", period)
    if prev_mask.sum() == 0:
        logger.warning(
            "observatory: no incident in the previous period %s (do the files cover it?); every change "
            "will read as a rise",
            previous,
        )

    from .io import edges_gdf

    edges = edges_gdf(town.graph, town.crs)
    mid = shapely.line_interpolate_point(np.asarray(edges.geometry), 0.5, normalized=True)
    streets = edges[shapely.within(mid, town.area)].reset_index(drop=True)
    zones = place_zones(town.area, pois=town.pois, qpv=qpv, radius_m=sensitive_radius_m)
    zones = zones.set_crs(town.crs, allow_override=True)

    xmin, ymin, xmax, ymax = town.area.bounds
    bounds = (
        np.floor(xmin / cell_m) * cell_m,
        np.floor(ymin / cell_m) * cell_m,
        np.ceil(xmax / cell_m) * cell_m,
        np.ceil(ymax / cell_m) * cell_m,
    )

    xy_all = np.column_stack([inc.geometry.x, inc.geometry.y]) if len(inc) else np.zeros((0, 2))
    grids, seg_parts, ind_parts = [], [], []
    shares: dict[str, float] = {}
    comparison = None
    for i, w in enumerate(wins):
        label = f"{w.name} · {period}"
        share = _period_share(w, period, previous, school_zone)
        shares[w.name] = share
        in_w = (
            windows_mod.in_window(inc["datetime"], w, school_zone=school_zone)
            if len(inc)
            else np.zeros(0, bool)
        )
        xy_now = xy_all[in_w & now_mask]
        xy_prev = xy_all[in_w & prev_mask]
        logger.info(
            "observatory window %s: %d incidents in %s, %d in %s",
            w.describe(),
            len(xy_now),
            period,
            len(xy_prev),
            previous,
        )
        # planar KDE, masked for sharing
        if len(xy_now):
            g = hotspots.kde_grid(
                xy_now, bounds=bounds, cell_m=cell_m, bandwidth_m=bandwidth_m, window=label
            )
            values = g.values.copy()
        else:
            rows_, cols_, transform = hotspots._grid_shape(bounds, cell_m)
            g = hotspots.DensityGrid(
                np.zeros((rows_, cols_)), transform, float(cell_m), float(bandwidth_m), "kde", label
            )
            values = g.values.copy()
        support = _support_counts(xy_now, g.cell_centres(), bandwidth_m).reshape(values.shape)
        values[(support < min_count) | ~hotspots.grid_mask(g, town.area)] = np.nan
        grids.append(
            dataclasses.replace(
                g,
                values=values,
                params={
                    **g.params,
                    "min_count": min_count,
                    "description": w.describe(),
                    "period": period,
                },
            )
        )
        seg_parts.append(
            _window_segments(
                streets,
                xy_now,
                lixel_m=lixel_m,
                bandwidth_m=bandwidth_m,
                label=w.name,
                period=period,
            )
        )
        ind_parts.append(
            indicators(zones, streets, xy_now, xy_prev, share=share, window=w.name, alpha=alpha)
        )
        if i == 0:
            comparison = compare_periods(
                xy_now,
                xy_prev,
                area=town.area,
                share=share,
                cell_m=compare_cell_m,
                min_count=min_count,
                alpha=alpha,
                window=w.name,
                crs=town.crs,
            )
    segments = gpd.GeoDataFrame(
        pd.concat(seg_parts, ignore_index=True), geometry="geometry", crs=town.crs
    )
    ind = pd.concat(ind_parts, ignore_index=True)
    synthetic = bool(inc["synthetic"].any()) if "synthetic" in inc.columns and len(inc) else False
    logger.info(
        "observatory %s vs %s: %d windows, %d segments, %d places, %d comparison cells",
        period,
        previous,
        len(wins),
        len(segments) // max(len(wins), 1),
        len(zones),
        len(comparison),
    )
    return ObservatoryResult(
        period=period,
        previous_period=previous,
        windows=wins,
        crs=town.crs,
        area=town.area,
        min_count=int(min_count),
        counts=counts,
        counts_previous=counts_prev,
        grids=tuple(grids),
        segments=segments,
        comparison=comparison,
        indicators=ind,
        synthetic=synthetic,
        params={
            "lixel_m": float(lixel_m),
            "bandwidth_m": float(bandwidth_m),
            "cell_m": float(cell_m),
            "compare_cell_m": float(compare_cell_m),
            "sensitive_radius_m": float(sensitive_radius_m),
            "alpha": float(alpha),
            "school_zone": school_zone,
            "period_share": shares,
            "incidents_period": int(now_mask.sum()),
            "incidents_previous": int(prev_mask.sum()),
        },
    )


def _window_segments(
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
        lix = hotspots.network_kde(
            streets, xy, lixel_m=lixel_m, bandwidth_m=bandwidth_m, window=label
        )
    else:
        lix = hotspots.lixelize(streets, lixel_m=lixel_m)
        lix["count"] = 0.0
        lix["intensity"] = 0.0
        lix["window"] = label
    lix = lix.reset_index(drop=True)
    z = (
        hotspots.gi_star(lix, value_col="count", distance_m=bandwidth_m)
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


# --------------------------------------------------------------------------- shared products
def shared_segments(result: ObservatoryResult) -> gpd.GeoDataFrame:
    """The segments as shared (``hotspot_segments.geojson``): small counts suppressed.

    Segments with fewer than ``min_count`` incidents get no ``count`` nor ``intensity``
    (null); their ``gi_star_z`` and ``class`` are kept only when the Gi* neighbourhood holds
    at least ``min_count`` incidents (else null and class ``masqué``). Column ``shown``
    tells whether count and intensity are given.

    Parameters
    ----------
    result
        :func:`build`'s result.

    Returns
    -------
    geopandas.GeoDataFrame
        ``segment_id, street, window, period, length_m, count, intensity, gi_star_z, class,
        shown, min_count, synthetic`` and the line.
    """
    s = result.segments
    m = result.min_count
    shown = s["count"].to_numpy() >= m
    neigh_ok = s["neighbourhood_count"].to_numpy() >= m
    out = s[["segment_id", "street", "window", "period", "length_m"]].copy()
    out["count"] = pd.array(np.where(shown, s["count"], 0), dtype="Int64")
    out.loc[~shown, "count"] = pd.NA
    out["intensity"] = np.where(shown, s["intensity"].round(3), np.nan)
    out["gi_star_z"] = np.where(neigh_ok, s["gi_star_z"].round(3), np.nan)
    out["class"] = np.where(neigh_ok, s["class"], MASKED)
    out["shown"] = shown
    out["length_m"] = out["length_m"].round(1)
    out["min_count"] = m
    out["synthetic"] = result.synthetic
    return gpd.GeoDataFrame(out, geometry=s.geometry.values, crs=s.crs)


def shared_comparison(result: ObservatoryResult) -> gpd.GeoDataFrame:
    """The comparison cells as shared: trend only, masked cells left out, no counts.

    Parameters
    ----------
    result
        :func:`build`'s result.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id, window, period, previous_period, trend, p_value, q_value`` and the cell square.
    """
    c = result.comparison
    c = c[c["trend"] != MASKED]
    out = gpd.GeoDataFrame(
        {
            "cell_id": c["cell_id"].to_numpy(),
            "window": c["window"].to_numpy(),
            "period": result.period,
            "previous_period": result.previous_period,
            "trend": c["trend"].to_numpy(),
            "p_value": c["p_value"].round(5).to_numpy(),
            "q_value": c["q_value"].round(5).to_numpy(),
            "synthetic": result.synthetic,
        },
        geometry=c.geometry.values,
        crs=c.crs,
    )
    return out.reset_index(drop=True)


def summary(result: ObservatoryResult) -> dict[str, Any]:
    """The content of the observatory's ``summary.json``.

    Parameters
    ----------
    result
        :func:`build`'s result (with ``ingest`` filled by :func:`run` when available).

    Returns
    -------
    dict
    """
    from . import __version__

    seg = result.segments
    first = result.windows[0].name
    return {
        "siteplanner_version": __version__,
        "period": result.period,
        "previous_period": result.previous_period,
        "periods_compared": [result.period, result.previous_period],
        "crs": result.crs,
        "synthetic_incidents": result.synthetic,
        "min_count": result.min_count,
        "windows": [
            {
                "name": w.name,
                "description": w.describe(),
                "hours": list(w.hours) if w.hours else None,
                "days": w.days,
                "school_holidays": w.school_holidays,
                "public_holidays": w.public_holidays,
            }
            for w in result.windows
        ],
        "counts_by_source_category": _table_dict(result.counts),
        "counts_by_source_category_previous": _table_dict(result.counts_previous),
        "incidents": {
            "period": int(result.counts.loc["total", "total"]),
            "previous_period": int(result.counts_previous.loc["total", "total"]),
        },
        "ingest": result.ingest,
        "duplicates_dropped": result.ingest.get("duplicates_dropped", 0),
        "segments": {
            w.name: {
                c: int(((seg["window"] == w.name) & (seg["class"] == c)).sum())
                for c in [n for n, _ in SEGMENT_CLASSES] + [COLD]
            }
            for w in result.windows
        },
        "comparison": {
            "window": first,
            "test": "exact binomial test of this period's count given both periods' total, "
            "p0 = this period's share of the days the window admits; trend where the Benjamini-Hochberg "
            f"q-value over the cells tested is below alpha {result.params.get('alpha')} (raw p-values "
            "kept)",
            "p0": result.params.get("period_share", {}).get(first),
            "cells": {t: int((result.comparison["trend"] == t).sum()) for t in (*TRENDS, MASKED)},
            "cells_tested": int(result.comparison["p_value"].notna().sum()),
            "cells_raw_p_below_alpha": int(
                (result.comparison["p_value"] < result.params.get("alpha", 0.05)).sum()
            ),
        },
        "segment_classes": {
            "rule": "Gi* z >= 2.58 très chaud, >= 1.96 chaud, >= 1.65 tiède, else froid",
            "suppression": f"count and intensity null below {result.min_count} incidents; z and class "
            f"null when the Gi* neighbourhood holds fewer than {result.min_count}",
        },
        "params": result.params,
    }


# --------------------------------------------------------------------------- writing
def hotspots_tif(result: ObservatoryResult, path: Path | str) -> None:
    """Write one band per window (masked KDE, NaN nodata) with the window and period in the tags.

    Parameters
    ----------
    result
        :func:`build`'s result.
    path
        GeoTIFF to write.
    """
    import rasterio

    from . import __version__

    g0 = result.grids[0]
    rows, cols = g0.values.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=rows,
        width=cols,
        count=len(result.grids),
        dtype="float32",
        crs=result.crs,
        transform=g0.transform,
        compress="deflate",
        nodata=float("nan"),
    ) as dst:
        for b, (w, g) in enumerate(zip(result.windows, result.grids), start=1):
            dst.write(g.values.astype("float32"), b)
            dst.set_band_description(b, g.window)
            dst.update_tags(b, window=w.name, description=w.describe(), period=result.period)
        dst.update_tags(
            window=result.grids[0].window,
            windows=" | ".join(g.window for g in result.grids),
            period=result.period,
            method="kde quartic",
            bandwidth_m=str(g0.bandwidth_m),
            cell_m=str(g0.cell_m),
            units="incidents per km2",
            min_count=str(result.min_count),
            suppression=f"NaN where fewer than {result.min_count} incidents lie within {g0.bandwidth_m:g} m",
            synthetic=str(result.synthetic).lower(),
            source="siteplanner " + __version__,
        )


def comparison_map(
    result: ObservatoryResult,
    path: Path | str,
    *,
    town_source: str = "",
    streets=None,
    dpi: int = 150,
) -> None:
    """The period comparison map (PNG): hausse / baisse / stable per cell, masked cells blank.

    Parameters
    ----------
    result
        :func:`build`'s result.
    path
        PNG to write.
    town_source
        The OSM extract's name, for the attribution.
    streets
        Optional street lines (projected) drawn in grey.
    dpi
        Resolution.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from . import plot

    colours = {"hausse": "#d7301f", "baisse": "#2b8cbe", "stable": "#d9d9d9"}
    c = shared_comparison(result)
    fig = Figure(figsize=(9, 9))
    ax = fig.subplots()
    ax.set_aspect("equal")
    for t, col in colours.items():
        sub = c[c["trend"] == t]
        if len(sub):
            sub.plot(ax=ax, color=col, edgecolor="white", linewidth=0.4, alpha=0.85, zorder=2)
    if streets is not None and len(streets):
        streets.plot(ax=ax, color="#555555", linewidth=0.4, zorder=3)
    gpd.GeoSeries([result.area], crs=result.crs).boundary.plot(
        ax=ax, color="black", linewidth=1.2, linestyle="--", zorder=4
    )
    xmin, ymin, xmax, ymax = result.area.buffer(80).bounds
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    n = {t: int((c["trend"] == t).sum()) for t in colours}
    cell = result.params.get("compare_cell_m", 100.0)
    handles = [
        Patch(color=colours["hausse"], label=f"hausse ({n['hausse']} cells)"),
        Patch(color=colours["baisse"], label=f"baisse ({n['baisse']} cells)"),
        Patch(color=colours["stable"], label=f"stable ({n['stable']} cells)"),
        Patch(
            facecolor="white",
            edgecolor="#999999",
            label=f"blank: fewer than {result.min_count} incidents",
        ),
        Line2D([], [], color="black", linestyle="--", label="commune"),
    ]
    ax.legend(
        handles=handles, loc="lower right", fontsize=8, framealpha=0.9, bbox_to_anchor=(1.0, 0.04)
    )
    ax.set_title(
        f"{result.windows[0].name}: {result.period} vs {result.previous_period}, {cell:g} m cells\n"
        f"exact binomial test, Benjamini–Hochberg q < {result.params.get('alpha', 0.05):g} "
        f"over {int((c['trend'] != MASKED).sum())} cells",
        fontsize=11,
    )
    plot.add_scale_bar(ax)
    plot.add_north_arrow(ax)
    plot.add_attribution(
        ax,
        f"Streets: © OpenStreetMap contributors (ODbL){', ' + town_source if town_source else ''}. "
        f"Incidents: {'SYNTHETIC' if result.synthetic else 'scenario files'}, aggregated. siteplanner",
    )
    if result.synthetic:
        plot.add_synthetic_mark(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi, format="png", metadata={"Software": None})


def indicators_csv(result: ObservatoryResult) -> str:
    """``observatory.csv``: the indicators, one row per place and window.

    Parameters
    ----------
    result
        :func:`build`'s result.

    Returns
    -------
    str
        CSV text, meant to be shared: a count from 1 to ``min_count - 1`` is left blank, with
        its rate; the change, change %, p- and q-values of a row with a blank count are blank
        too (they would give it back). Column ``shareable`` is false on such rows; the trend
        is kept.
    """
    d = result.indicators.copy()
    d.insert(0, "period", result.period)
    d.insert(1, "previous_period", result.previous_period)
    m = result.min_count
    small_a = (d["count"] > 0) & (d["count"] < m)
    small_b = (d["count_previous"] > 0) & (d["count_previous"] < m)
    d["shareable"] = ~(small_a | small_b)
    d["synthetic"] = result.synthetic
    for col in ("street_km", "rate_per_km", "rate_previous_per_km"):
        d[col] = d[col].round(3)
    d["change_pct"] = d["change_pct"].round(1)
    d["p_value"] = d["p_value"].round(5)
    d["q_value"] = d["q_value"].round(5)
    for col in ("count", "count_previous", "change"):
        d[col] = d[col].astype("Int64")
    d.loc[small_a, ["count", "rate_per_km"]] = pd.NA
    d.loc[small_b, ["count_previous", "rate_previous_per_km"]] = pd.NA
    d.loc[~d["shareable"], ["change", "change_pct", "p_value", "q_value"]] = pd.NA
    d["min_count"] = m
    return d.to_csv(index=False, lineterminator="\n")


def write(
    result: ObservatoryResult, out_dir: Path | str, *, town_source: str = "", streets=None
) -> list[Path]:
    """Write the observatory's files into ``out_dir`` (staged, then moved into place).

    Files: ``hotspots.tif``, ``hotspot_segments.geojson``, ``comparison.geojson``,
    ``comparison.png``, ``observatory.csv``, ``summary.json``.

    Parameters
    ----------
    result
        :func:`build`'s result.
    out_dir
        The output folder (created if needed).
    town_source
        The OSM extract's name, for the map's attribution.
    streets
        Optional street lines drawn on the map.

    Returns
    -------
    list of pathlib.Path
        The files written, sorted.
    """
    from . import io

    with io.staged_folder(out_dir) as (stage, written):
        io.write_with(stage / "hotspots.tif", lambda p: hotspots_tif(result, p))
        io.write_geojson(stage / "hotspot_segments.geojson", shared_segments(result))
        io.write_geojson(stage / "comparison.geojson", shared_comparison(result))
        io.write_with(
            stage / "comparison.png",
            lambda p: comparison_map(result, p, town_source=town_source, streets=streets),
        )
        io.write_text(stage / "observatory.csv", indicators_csv(result))
        io.write_json(stage / "summary.json", summary(result))
    return written


def run(
    sc: Scenario, period: str | None = None, out_dir: Path | str | None = None
) -> tuple[ObservatoryResult, list[Path]]:
    """Read a scenario's town and incident files, build the observatory for ``period`` and write it.

    Parameters
    ----------
    sc
        The scenario (its ``[observatory]`` table gives the windows and parameters).
    period
        The period (default: the scenario's ``observatory.period``).
    out_dir
        Output folder (default ``<output.dir>/observatoire_<period>/``).

    Returns
    -------
    tuple
        The result and the files written.
    """
    from . import incidents, io
    from .pipeline import read_qpv, read_scenario_incidents, time_window

    obs = getattr(sc, "observatory", None)
    period = period or (obs.period if obs is not None else None)
    if not period:
        raise InputError(
            f"{sc.path}: no period given; pass --period 2023-S1 or set [observatory] period"
        )
    windows_mod.parse_period(period)
    town = io.scenario_town(sc)
    if not sc.incidents:
        raise InputError(f"{sc.path}: no [[incidents]] file; the observatory needs at least one")
    # the scenario's reader, with each file's mapping: the same as `siteplanner run`
    frames = [r.frame for r in read_scenario_incidents(sc, area=town.area, crs=town.crs)]
    kw: dict[str, Any] = {}
    if obs is not None:
        kw = {"distance_m": obs.duplicate_distance_m, "minutes": obs.duplicate_minutes}
    merged, n_dup = incidents.merge_sources(frames, **kw)
    report = merge_report(frames, merged)
    report["duplicate_rule"] = {
        "distance_m": kw.get("distance_m", 10.0),
        "minutes": kw.get("minutes", 30.0),
        "same_category": True,
        "kept": "the row of the file listed first",
    }
    logger.info(
        "observatory: %d incidents from %d file(s), %d cross-source duplicate(s) dropped (%s)",
        len(merged),
        len(frames),
        n_dup,
        ", ".join(f"{k} {v['duplicates_dropped']}" for k, v in report["files"].items()),
    )
    _log_table("observatory: all incidents read per source × category", count_table(merged))
    qpv = read_qpv(sc.resolve(sc.area.qpv), town.crs, town.area) if sc.area.qpv else None
    if obs is not None:
        wins = tuple(time_window(w) for w in obs.windows) or DEFAULT_WINDOWS
        params = {
            "min_count": obs.min_count,
            "lixel_m": obs.lixel_m,
            "bandwidth_m": obs.bandwidth_m,
            "cell_m": obs.cell_m,
            "compare_cell_m": obs.compare_cell_m,
            "sensitive_radius_m": obs.sensitive_radius_m,
            "alpha": obs.alpha,
            "school_zone": obs.school_zone,
        }
    else:
        wins, params = DEFAULT_WINDOWS, {"min_count": sc.hotspots.min_count_shared}
    res = build(town, merged, period=period, windows=wins, qpv=qpv, **params)
    res = dataclasses.replace(
        res,
        ingest={
            **report,
            "incidents_read": int(len(merged)),
            "counts_by_source_category_all": _table_dict(count_table(merged)),
        },
    )
    out = (
        Path(out_dir)
        if out_dir is not None
        else sc.resolve(sc.output.dir) / f"observatoire_{period}"
    )
    from .io import edges_gdf

    files = write(res, out, town_source=town.source, streets=edges_gdf(town.graph, town.crs))
    return res, files
