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
    see :mod:`siteplanner.incidents.windows`) restricted to the period: a planar quartic kernel
    density (:func:`siteplanner.hotspots.forecast.kde_grid`) and a network kernel density on street
    segments (lixels of at most ``lixel_m``, :func:`siteplanner.hotspots.forecast.network_kde`) with
    the Getis-Ord Gi* z-score of the segment counts on a ``bandwidth_m`` distance band
    (:func:`siteplanner.hotspots.forecast.gi_star`). Every product names its window and period.
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

:func:`build` is pure (values in, a frozen :class:`ObservatoryResult` out), and so are the
shared tables (:func:`shared_segments`, :func:`shared_comparison`, :func:`indicators_csv`) and
:func:`summary`; the statistics it uses are in :mod:`siteplanner.observatory.stats`.
:func:`siteplanner.modes.observatory.write` writes the files and
:func:`siteplanner.modes.observatory.run`
reads a scenario's files and does both (``siteplanner observatory SCENARIO --period 2023-S1``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from siteplanner._errors import InputError, report_problems
from siteplanner.hotspots.grids import DensityGrid, grid_mask, grid_shape, kde_grid
from siteplanner.incidents import windows as windows_mod
from siteplanner.incidents.windows import TimeWindow
from siteplanner.observatory.stats import (
    COLD,
    MASKED,
    SEGMENT_CLASSES,
    TRENDS,
    compare_periods,
    count_table,
    indicators,
    period_share,
    place_zones,
    table_dict,
    window_segments,
)

if TYPE_CHECKING:
    from siteplanner.town.load import Town

logger = logging.getLogger(__name__)

__all__ = [
    "ObservatoryResult",
    "DEFAULT_WINDOWS",
    "build",
    "shared_segments",
    "shared_comparison",
    "indicators_csv",
    "summary",
]

#: Windows computed when the scenario names none.
DEFAULT_WINDOWS: tuple[TimeWindow, ...] = (
    TimeWindow("toutes heures"),
    TimeWindow("soirée", hours=(18, 24)),
    TimeWindow("nuit", hours=(0, 6)),
    TimeWindow("week-end", days="weekend"),
)


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
        count_previous, expected, p_value, q_value, trend``
        (``hausse``/``baisse``/``stable``/``masqué``,
        decided on the Benjamini–Hochberg ``q_value``).
    indicators
        One row per place and window (see :func:`~siteplanner.observatory.stats.indicators`).
    synthetic
        True when any incident came from a synthetic file.
    params
        Parameters used (``lixel_m``, ``bandwidth_m``, ``cell_m``, ...).
    ingest
        What the reading step reports (files, duplicates dropped); filled by
        :func:`siteplanner.modes.observatory.run`.
    """

    period: str
    previous_period: str
    windows: tuple[TimeWindow, ...]
    crs: str
    area: BaseGeometry
    min_count: int
    counts: pd.DataFrame
    counts_previous: pd.DataFrame
    grids: tuple[DensityGrid, ...]
    segments: gpd.GeoDataFrame
    comparison: gpd.GeoDataFrame
    indicators: pd.DataFrame
    synthetic: bool
    params: dict = field(default_factory=dict, compare=False)
    ingest: dict = field(default_factory=dict, compare=False)


def _log_table(title: str, t: pd.DataFrame) -> None:
    logger.info("%s\n%s", title, t.to_string())


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
                f"window {w.name!r}: has its own period {w.period!r}; the observatory's period "
                "is given once "
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
        The loaded town (:func:`siteplanner.town.load.load_town`): area, street graph, POIs, CRS.
    incidents_gdf
        Merged incidents (``id, datetime, category, source`` and points in ``town.crs``;
        ``synthetic`` if known), e.g. from :func:`siteplanner.incidents.read.merge_sources`.
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
    metres = {
        "lixel_m": lixel_m,
        "bandwidth_m": bandwidth_m,
        "cell_m": cell_m,
        "compare_cell_m": compare_cell_m,
        "sensitive_radius_m": sensitive_radius_m,
    }
    _check_args(
        town, incidents_gdf, period=period, qpv=qpv, min_count=min_count, metres=metres, alpha=alpha
    )
    wins = _check_windows(windows)
    previous = windows_mod.previous_period(period)
    inc = incidents_gdf
    now_mask, prev_mask = _in_period(inc, period), _in_period(inc, previous)
    counts, counts_prev = count_table(inc[now_mask]), count_table(inc[prev_mask])
    _log_counts(counts, counts_prev, period, previous, now_mask, prev_mask)
    setup = _setup(
        town,
        inc,
        qpv,
        now_mask=now_mask,
        prev_mask=prev_mask,
        period=period,
        previous=previous,
        opts={**metres, "min_count": min_count, "alpha": alpha, "school_zone": school_zone},
    )
    parts = [_window_products(setup, w, first=i == 0) for i, w in enumerate(wins)]
    return _result(setup, wins, counts, counts_prev, parts)


@dataclass(frozen=True)
class _Setup:
    """What every window of one :func:`build` shares (the town's streets, the places...)."""

    town: Town
    incidents: gpd.GeoDataFrame
    xy: np.ndarray
    now_mask: np.ndarray
    prev_mask: np.ndarray
    streets: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    bounds: tuple[float, float, float, float]
    period: str
    previous: str
    opts: dict[str, Any]


@dataclass(frozen=True)
class _WindowProducts:
    """One window's share of the duration, masked grid, segments, indicators and comparison."""

    share: float
    grid: DensityGrid
    segments: gpd.GeoDataFrame
    indicators: pd.DataFrame
    comparison: gpd.GeoDataFrame | None


def _setup(
    town: Town,
    inc: gpd.GeoDataFrame,
    qpv: gpd.GeoDataFrame | None,
    *,
    now_mask: np.ndarray,
    prev_mask: np.ndarray,
    period: str,
    previous: str,
    opts: dict[str, Any],
) -> _Setup:
    """The streets inside the commune, the places, the raster bounds and the positions."""
    from siteplanner.town.load import edges_gdf

    edges = edges_gdf(town.graph, town.crs)
    mid = shapely.line_interpolate_point(np.asarray(edges.geometry), 0.5, normalized=True)
    streets = edges[shapely.within(mid, town.area)].reset_index(drop=True)
    zones = place_zones(town.area, pois=town.pois, qpv=qpv, radius_m=opts["sensitive_radius_m"])
    zones = zones.set_crs(town.crs, allow_override=True)
    cell_m = opts["cell_m"]
    xmin, ymin, xmax, ymax = town.area.bounds
    bounds = (
        np.floor(xmin / cell_m) * cell_m,
        np.floor(ymin / cell_m) * cell_m,
        np.ceil(xmax / cell_m) * cell_m,
        np.ceil(ymax / cell_m) * cell_m,
    )
    xy_all = np.column_stack([inc.geometry.x, inc.geometry.y]) if len(inc) else np.zeros((0, 2))
    return _Setup(
        town=town,
        incidents=inc,
        xy=xy_all,
        now_mask=now_mask,
        prev_mask=prev_mask,
        streets=streets,
        zones=zones,
        bounds=bounds,
        period=period,
        previous=previous,
        opts=opts,
    )


def _window_products(s: _Setup, w: TimeWindow, *, first: bool) -> _WindowProducts:
    """One window: KDE grid, segments (network KDE, Gi*), indicators; comparison if ``first``."""
    o, inc, period, previous = s.opts, s.incidents, s.period, s.previous
    share = period_share(w, period, previous, o["school_zone"])
    in_w = (
        windows_mod.in_window(inc["datetime"], w, school_zone=o["school_zone"])
        if len(inc)
        else np.zeros(0, bool)
    )
    xy_now = s.xy[in_w & s.now_mask]
    xy_prev = s.xy[in_w & s.prev_mask]
    logger.info(
        "observatory window %s: %d incidents in %s, %d in %s",
        w.describe(),
        len(xy_now),
        period,
        len(xy_prev),
        previous,
    )
    grid = _window_grid(xy_now, w, s)
    segments = window_segments(
        s.streets,
        xy_now,
        lixel_m=o["lixel_m"],
        bandwidth_m=o["bandwidth_m"],
        label=w.name,
        period=period,
    )
    ind = indicators(
        s.zones, s.streets, xy_now, xy_prev, share=share, window=w.name, alpha=o["alpha"]
    )
    comparison = None
    if first:
        comparison = compare_periods(
            xy_now,
            xy_prev,
            area=s.town.area,
            share=share,
            cell_m=o["compare_cell_m"],
            min_count=o["min_count"],
            alpha=o["alpha"],
            window=w.name,
            crs=s.town.crs,
        )
    return _WindowProducts(share, grid, segments, ind, comparison)


def _window_grid(xy_now: np.ndarray, w: TimeWindow, s: _Setup) -> DensityGrid:
    """One window's planar KDE, masked for sharing (outside the commune, too few incidents)."""
    label = f"{w.name} · {s.period}"
    cell_m, bandwidth_m, min_count = s.opts["cell_m"], s.opts["bandwidth_m"], s.opts["min_count"]
    if len(xy_now):
        g = kde_grid(xy_now, bounds=s.bounds, cell_m=cell_m, bandwidth_m=bandwidth_m, window=label)
        values = g.values.copy()
    else:
        rows_, cols_, transform = grid_shape(s.bounds, cell_m)
        g = DensityGrid(
            np.zeros((rows_, cols_)), transform, float(cell_m), float(bandwidth_m), "kde", label
        )
        values = g.values.copy()
    support = _support_counts(xy_now, g.cell_centres(), bandwidth_m).reshape(values.shape)
    values[(support < min_count) | ~grid_mask(g, s.town.area)] = np.nan
    return dataclasses.replace(
        g,
        values=values,
        params={
            **g.params,
            "min_count": min_count,
            "description": w.describe(),
            "period": s.period,
        },
    )


def _support_counts(xy: np.ndarray, centres: np.ndarray, radius_m: float) -> np.ndarray:
    """How many of ``xy`` lie within ``radius_m`` of each centre."""
    if len(xy) == 0:
        return np.zeros(len(centres), dtype=np.int64)
    return np.asarray(
        cKDTree(xy).query_ball_point(centres, radius_m, return_length=True), dtype=np.int64
    )


def _result(
    s: _Setup,
    wins: tuple[TimeWindow, ...],
    counts: pd.DataFrame,
    counts_prev: pd.DataFrame,
    parts: list[_WindowProducts],
) -> ObservatoryResult:
    """Put the windows' products together."""
    o, inc, town = s.opts, s.incidents, s.town
    segments = gpd.GeoDataFrame(
        pd.concat([p.segments for p in parts], ignore_index=True),
        geometry="geometry",
        crs=town.crs,
    )
    ind = pd.concat([p.indicators for p in parts], ignore_index=True)
    comparison = parts[0].comparison
    synthetic = bool(inc["synthetic"].any()) if "synthetic" in inc.columns and len(inc) else False
    logger.info(
        "observatory %s vs %s: %d windows, %d segments, %d places, %d comparison cells",
        s.period,
        s.previous,
        len(wins),
        len(segments) // max(len(wins), 1),
        len(s.zones),
        len(comparison),
    )
    return ObservatoryResult(
        period=s.period,
        previous_period=s.previous,
        windows=wins,
        crs=town.crs,
        area=town.area,
        min_count=int(o["min_count"]),
        counts=counts,
        counts_previous=counts_prev,
        grids=tuple(p.grid for p in parts),
        segments=segments,
        comparison=comparison,
        indicators=ind,
        synthetic=synthetic,
        params={
            "lixel_m": float(o["lixel_m"]),
            "bandwidth_m": float(o["bandwidth_m"]),
            "cell_m": float(o["cell_m"]),
            "compare_cell_m": float(o["compare_cell_m"]),
            "sensitive_radius_m": float(o["sensitive_radius_m"]),
            "alpha": float(o["alpha"]),
            "school_zone": o["school_zone"],
            "period_share": {w.name: p.share for w, p in zip(wins, parts)},
            "incidents_period": int(s.now_mask.sum()),
            "incidents_previous": int(s.prev_mask.sum()),
        },
    )


def _check_args(
    town: Town,
    incidents_gdf: gpd.GeoDataFrame,
    *,
    period: str,
    qpv: gpd.GeoDataFrame | None,
    min_count: int,
    metres: dict[str, float],
    alpha: float,
) -> None:
    """Check :func:`build`'s arguments but the windows; one error lists every problem."""
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
    for name, v in metres.items():
        if not (isinstance(v, (int, float, np.floating)) and np.isfinite(v) and v > 0):
            problems.append(f"{name}={v!r}: a positive number of metres is required")
    if not 0 < alpha < 1:
        problems.append(
            f"alpha={alpha!r}: a significance level strictly between 0 and 1 is required "
            "(default 0.05)"
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
            f"incidents_gdf: CRS {incidents_gdf.crs.to_string()} differs from the town's "
            f"{town.crs}; project it with to_crs(town.crs)"
        )
    if qpv is not None and qpv.crs is not None and not qpv.crs.equals(town.crs):
        problems.append(
            f"qpv: CRS {qpv.crs.to_string()} differs from the town's {town.crs}; "
            "project it with to_crs(town.crs)"
        )
    report_problems(problems, source="observatory.build")


def _in_period(inc: gpd.GeoDataFrame, period: str) -> np.ndarray:
    """Which incidents fall in ``period``."""
    if not len(inc):
        return np.zeros(0, bool)
    return windows_mod.in_window(inc["datetime"], TimeWindow("période", period=period))


def _log_counts(
    counts: pd.DataFrame,
    counts_prev: pd.DataFrame,
    period: str,
    previous: str,
    now_mask: np.ndarray,
    prev_mask: np.ndarray,
) -> None:
    """Log both periods' count tables; warn when a period holds no incident."""
    _log_table(f"observatory: incidents {period} per source × category", counts)
    _log_table(
        f"observatory: incidents {previous} (previous period) per source × category", counts_prev
    )
    if now_mask.sum() == 0:
        logger.warning("observatory: no incident in period %s; the maps will be empty", period)
    if prev_mask.sum() == 0:
        logger.warning(
            "observatory: no incident in the previous period %s (do the files cover it?); "
            "every change will read as a rise",
            previous,
        )


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
        :func:`build`'s result (with ``ingest`` filled by ``observatory.run``).

    Returns
    -------
    dict
    """
    from siteplanner import __version__

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
        "counts_by_source_category": table_dict(result.counts),
        "counts_by_source_category_previous": table_dict(result.counts_previous),
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
            "p0 = this period's share of the days the window admits; trend where the "
            "Benjamini-Hochberg q-value over the cells tested is below alpha "
            f"{result.params.get('alpha')} (raw p-values kept)",
            "p0": result.params.get("period_share", {}).get(first),
            "cells": {t: int((result.comparison["trend"] == t).sum()) for t in (*TRENDS, MASKED)},
            "cells_tested": int(result.comparison["p_value"].notna().sum()),
            "cells_raw_p_below_alpha": int(
                (result.comparison["p_value"] < result.params.get("alpha", 0.05)).sum()
            ),
        },
        "segment_classes": {
            "rule": "Gi* z >= 2.58 très chaud, >= 1.96 chaud, >= 1.65 tiède, else froid",
            "suppression": f"count and intensity null below {result.min_count} incidents; "
            "z and class "
            f"null when the Gi* neighbourhood holds fewer than {result.min_count}",
        },
        "params": result.params,
    }


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
