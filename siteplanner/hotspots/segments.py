"""Hotspots on street segments: the forecast where cameras and patrols work.

The walk network is cut into segments of at most ``segment_m`` (50 m; :func:`street_segments`,
the lixels of :func:`siteplanner.hotspots.streets.lixelize`) and every incident is snapped to its
nearest segment. Each method scores every segment (incidents per metre of street):

segment counts (``"segment_counts"``)
    The incidents snapped to the segment, each weighted by its recency :math:`0.5^{age/\\tau}`
    and its own weight, per metre; a segment shorter than 10 m counts as 10 m, so that a stub
    holding one old incident does not top the ranking.
network KDE (``"network_kde"``)
    Rosser, Davies, Bowers, Johnson & Cheng (2017), "Predictive crime mapping: arbitrary grids
    or street networks?", *J. Quant. Criminol.* 33(3): the same recency-weighted incidents
    spread along the network with the quartic kernel of
    :func:`siteplanner.hotspots.streets.lixel_density` (bandwidth :math:`h` along the streets).
grid methods (``"grid:<name>"``)
    A planar surface of :mod:`siteplanner.hotspots.forecast` projected onto the segments: each
    segment takes the value of the cell its middle falls in.

**Evaluation at equal street length** (:func:`pai_net`): the best-scoring segments are flagged
until they make ``share`` of the street length (segments tied at the threshold taken in part,
length-proportionally, the expected value of a random tie-break); PAI_net = (share of the test
incidents within 25 m of a flagged segment) / (share of the street length flagged).

**The default** (:func:`choose_forecast`) picks among the grid and segment methods by an inner
temporal split of the training incidents only: the latest quarter of them (by time, so that a
few old rows cannot shrink the fit set) is held out, every candidate is fitted on the rest and
scored by PAI_net on the held-out part (the geometric mean at 1, 5 and 10 % of street length);
the best is refitted on all the training incidents. Without times the held-out quarter is a
seeded random one. It warns when the inner fit or test set is thin (fewer than 200 or 50
incidents) and when the chosen bandwidth is wider than a quarter of the area's side (a
gradient, not hotspots).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siteplanner._errors import InputError
from siteplanner.hotspots.grids import DensityGrid, check_weight, check_xy, sample_grid
from siteplanner.hotspots.streets import lixel_densities, lixel_density, lixelize

logger = logging.getLogger(__name__)

__all__ = [
    "LEVELS",
    "StreetForecast",
    "choose_forecast",
    "net_test",
    "pai_net",
    "street_segments",
    "values_at",
]

#: Longest street segment, metres.
SEGMENT_M = 50.0
#: A test incident counts as caught when it lies within this distance of a flagged segment.
NEAR_M = 25.0
#: Shares of the street length flagged when measuring PAI_net.
LEVELS = (0.01, 0.05, 0.10)
#: Segment classes on maps: top 1 %, 1-5 %, 5-10 % of the street length, the rest.
CLASS_LABELS = {1: "top 1 %", 2: "1-5 %", 3: "5-10 %", 0: "rest"}
_MIN_LENGTH_M = 10.0
_BANDWIDTHS_M = (50.0, 100.0, 200.0, 400.0)
_THIN_FIT, _THIN_HELD = 200, 50


# --------------------------------------------------------------------------- segments
def street_segments(
    edges: gpd.GeoDataFrame, *, segment_m: float = SEGMENT_M, area=None
) -> gpd.GeoDataFrame:
    """The walk network cut into segments of at most ``segment_m``.

    Parameters
    ----------
    edges
        Projected street LineStrings.
    segment_m
        Longest segment, metres (50).
    area
        The study area: ``inside`` says whether a segment's middle lies in it (all ``True``
        without one). Segments outside still carry the network kernel across the boundary.

    Returns
    -------
    geopandas.GeoDataFrame
        :func:`~siteplanner.hotspots.streets.lixelize`'s columns plus ``x, y`` (the middle) and
        ``inside``.
    """
    if not 0 < segment_m <= 1000:
        raise InputError(f"segment_m={segment_m!r}: a length in metres in (0, 1000] is required")
    seg = lixelize(edges, lixel_m=segment_m)
    if len(seg) == 0:
        raise InputError("edges: no street of positive length to cut into segments")
    mid = shapely.get_coordinates(
        shapely.line_interpolate_point(np.asarray(seg.geometry), 0.5, normalized=True)
    )
    seg["x"], seg["y"] = mid[:, 0], mid[:, 1]
    seg["inside"] = (
        np.ones(len(seg), bool) if area is None else shapely.contains_xy(area, mid[:, 0], mid[:, 1])
    )
    logger.info(
        "street_segments: %d segments of <= %.0f m (%.1f km), %d inside the area",
        len(seg),
        segment_m,
        seg["length"].sum() / 1000,
        int(seg["inside"].sum()),
    )
    return seg


def snap(segments: gpd.GeoDataFrame, xy: np.ndarray) -> np.ndarray:
    """The row number of the segment nearest each point."""
    xy = check_xy(xy)
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    tree = shapely.STRtree(np.asarray(segments.geometry))
    points = shapely.points(xy)
    if len(points) < 20_000:
        return np.asarray(tree.nearest(points), dtype=np.int64)
    # GEOS answers without the GIL: two threads on two halves, the same answer as one call
    with ThreadPoolExecutor(2) as pool:
        halves = list(pool.map(tree.nearest, np.array_split(points, 2)))
    return np.concatenate(halves).astype(np.int64)


def values_at(forecast_segments: gpd.GeoDataFrame, xy: np.ndarray) -> np.ndarray:
    """The ``score`` of the segment nearest each point (demand points lie on the segments)."""
    return forecast_segments["score"].to_numpy(float)[snap(forecast_segments, xy)]


# --------------------------------------------------------------------------- methods
def segment_counts(segments: gpd.GeoDataFrame, snapped: np.ndarray, weight: np.ndarray):
    """Weighted incidents snapped to each segment, per metre (segments count as >= 10 m)."""
    c = np.bincount(snapped, weights=weight, minlength=len(segments))
    return c / np.maximum(segments["length"].to_numpy(), _MIN_LENGTH_M)


def network_density(
    segments: gpd.GeoDataFrame, snapped: np.ndarray, weight: np.ndarray, *, bandwidth_m: float
) -> np.ndarray:
    """Network KDE of the weighted incidents along the segments (Rosser et al. 2017)."""
    c = np.bincount(snapped, weights=weight, minlength=len(segments))
    return lixel_density(segments, c, bandwidth_m=bandwidth_m)


def grid_on_segments(
    grid: DensityGrid, segments: gpd.GeoDataFrame, samples: dict | None = None
) -> np.ndarray:
    """A planar surface projected onto the segments: the mean, along each segment, of the cells
    it runs through (sampled every half cell, at most 10 m apart).

    ``samples``: a dict the caller keeps between surfaces on the same segments, where the
    points sampled at each step are kept (the surfaces of a choice share their cell side).
    """
    from siteplanner.hotspots.streets import street_points

    step = float(np.clip(grid.cell_m / 2.0, 1.0, 10.0))
    samples = {} if samples is None else samples
    if step not in samples:
        samples[step] = street_points(segments, spacing_m=step, keep_shared=True)
    xy, which = samples[step]
    v = sample_grid(grid, xy, method="nearest")
    n = np.bincount(which, minlength=len(segments))
    return np.bincount(which, weights=v, minlength=len(segments)) / np.maximum(n, 1)


# --------------------------------------------------------------------------- PAI_net
@dataclass(frozen=True)
class NetTest:
    """Test incidents against study segments: which segments lie within 25 m of which incident."""

    lengths: np.ndarray
    incident: np.ndarray
    segment: np.ndarray
    weight: np.ndarray


def net_test(
    segments: gpd.GeoDataFrame,
    xy: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    near_m: float = NEAR_M,
) -> NetTest:
    """The test set of :func:`pai_net`: ``segments`` are the study segments only."""
    xy = check_xy(xy)
    w = check_weight(weight, len(xy))
    tree = shapely.STRtree(np.asarray(segments.geometry))
    if len(xy):
        inc, seg = tree.query(shapely.points(xy), predicate="dwithin", distance=near_m)
    else:
        inc = seg = np.zeros(0, dtype=np.int64)
    return NetTest(segments["length"].to_numpy(float), inc, seg, w)


def pai_net(scores: np.ndarray, test: NetTest, shares: tuple[float, ...] = LEVELS) -> list[float]:
    """PAI at equal street length, at each share of the street length flagged.

    PAI_net = (share of the test weight within ``near_m`` of a flagged segment) / ``share``.
    Segments are flagged by decreasing score; those tied at the threshold are taken in part
    (length-proportionally): an incident whose nearest-ranked segment is in that group counts
    for the fraction taken.
    """
    s = np.asarray(scores, float)
    n = len(s)
    if s.shape != test.lengths.shape or not np.isfinite(s).all():
        raise InputError(f"scores: {n} finite values expected, one per study segment")
    total_w = float(test.weight.sum())
    if total_w <= 0:
        return [float("nan")] * len(shares)
    order = np.lexsort((np.arange(n), -s))
    ss = s[order]
    group_sorted = np.cumsum(np.r_[True, ss[1:] != ss[:-1]]) - 1
    group = np.empty(n, np.int64)
    group[order] = group_sorted
    g_len = np.bincount(group_sorted, weights=test.lengths[order])
    g_end = np.cumsum(g_len)
    best = np.full(len(test.weight), np.iinfo(np.int64).max)
    np.minimum.at(best, test.incident, group[test.segment])
    out = []
    for share in shares:
        budget = share * g_end[-1]
        full = int(np.searchsorted(g_end, budget * (1 + 1e-12), side="right"))
        frac = 0.0
        if full < len(g_len):
            frac = max(0.0, budget - (g_end[full - 1] if full else 0.0)) / g_len[full]
        got = test.weight[best < full].sum() + frac * test.weight[best == full].sum()
        out.append(float(got / total_w) / share)
    return out


def length_classes(scores: np.ndarray, lengths: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Class of each segment: 1 (top 1 % of the street length inside), 2 (1-5 %), 3 (5-10 %),
    0 (the rest, segments with no score and those outside)."""
    cls = np.zeros(len(scores), np.int64)
    idx = np.flatnonzero(inside & (scores > 0))
    if not len(idx):
        return cls
    order = idx[np.lexsort((idx, -scores[idx]))]
    total = lengths[inside].sum()
    start = np.cumsum(lengths[order]) - lengths[order]  # street length ranked before each
    for c, share in zip((3, 2, 1), (0.10, 0.05, 0.01)):
        cls[order[start < share * total]] = c
    return cls


# --------------------------------------------------------------------------- the default
#: Candidate: (method, parameters); grid candidates name a surface of ``grids``.
Candidate = tuple[str, dict]
GridFn = Callable[[np.ndarray], DensityGrid]


@dataclass(frozen=True)
class StreetForecast:
    """The forecast on street segments, and how the default chose it.

    Attributes
    ----------
    segments
        :func:`street_segments` plus ``score`` (forecast per metre of street), ``rank_class``
        (:data:`CLASS_LABELS`) and ``count`` (training incidents snapped to it).
    method, params
        The method chosen (``"segment_counts"``, ``"network_kde"`` or ``"grid:<name>"``) and
        its parameters.
    candidates
        Every candidate of the inner validation: ``method``, ``params`` and its inner PAI_net
        at 1, 5 and 10 % of street length (empty when the method was imposed).
    inner
        The inner split: incidents fitted on and held out, their time spans.
    warnings
        What the user must know about the choice (thin window, wide bandwidth).
    window
        Name of the time window.
    """

    segments: gpd.GeoDataFrame
    method: str
    params: dict
    candidates: tuple[dict, ...] = ()
    inner: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    window: str = "all"

    @property
    def kind(self) -> str:
        """``"grid"`` for a planar surface projected onto the streets, else ``"street"``."""
        return "grid" if self.method.startswith("grid:") else "street"

    def summary(self) -> dict:
        """What ``summary.json`` and the report say about the choice."""
        return {
            "method": self.method,
            "kind": self.kind,
            "params": {k: _plain(v) for k, v in self.params.items()},
            "segments": int(self.segments["inside"].sum()),
            "segment_m": float(self.segments["length"].max()),
            "inner": {k: _plain(v) for k, v in self.inner.items()},
            "candidates": [
                {
                    "method": c["method"],
                    "params": {k: _plain(v) for k, v in c["params"].items()},
                    "inner_pai_net": [round(v, 3) for v in c["inner_pai_net"]],
                }
                for c in self.candidates
            ],
            "warnings": list(self.warnings),
        }


def _plain(v):
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(v) else round(float(v), 3)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _days(times: pd.Series | None, n: int) -> np.ndarray | None:
    """Times as days since the epoch (NaN where missing); None when no row is dated."""
    if times is None:
        return None
    t = pd.to_datetime(pd.Series(times).reset_index(drop=True), utc=True)
    if len(t) != n:
        raise InputError(f"times: {len(t)} values for {n} incidents")
    d = (t - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(
        dtype=float, na_value=np.nan
    ) / 86400.0
    return None if not np.isfinite(d).any() else d


def inner_split(days: np.ndarray | None, n: int, *, seed: int = 0) -> np.ndarray:
    """Held-out mask: the latest quarter of the incidents by time, else a seeded random one."""
    if days is not None:
        finite = np.isfinite(days)
        cut = np.quantile(days[finite], 0.75)
        hold = finite & (days > cut)
        if hold.any() and (~hold).any():
            return hold
    rng = np.random.default_rng(seed)
    return rng.random(n) < 0.25


def _half_lives(days: np.ndarray | None) -> list[float | None]:
    """No decay, and half the and a quarter of the robust time span (5 % to the latest)."""
    if days is None or np.isfinite(days).sum() < 2:
        return [None]
    d = days[np.isfinite(days)]
    span = float(d.max() - np.quantile(d, 0.05))
    return [None] + ([span / 2, span / 4] if span > 1 else [])


def _recency(days: np.ndarray | None, mask: np.ndarray, half_life: float | None) -> np.ndarray:
    if half_life is None or days is None:
        return np.ones(int(mask.sum()))
    d = days[mask]
    ref = np.nanmax(d)
    age = np.where(np.isfinite(d), ref - d, np.nanmedian(ref - d))
    return 0.5 ** (np.maximum(age, 0.0) / half_life)


def _candidates(grids: Mapping[str, GridFn], days: np.ndarray | None) -> list[Candidate]:
    hls = _half_lives(days)
    out: list[Candidate] = [(f"grid:{name}", {}) for name in grids]
    out += [("segment_counts", {"half_life_days": hl}) for hl in hls]
    out += [
        ("network_kde", {"bandwidth_m": bw, "half_life_days": hl})
        for bw in _BANDWIDTHS_M
        for hl in hls[:1] + hls[2:]
    ]
    return out


def fit(
    method: str,
    params: dict,
    segments: gpd.GeoDataFrame,
    snapped: np.ndarray,
    weight: np.ndarray,
    days: np.ndarray | None,
    mask: np.ndarray,
    grids: Mapping[str, GridFn],
    samples: dict | None = None,
) -> tuple[np.ndarray, dict]:
    """Scores per segment of one method fitted on the incidents of ``mask``, and its params
    (a grid method adds its surface's own: cell, bandwidth and what its default chose);
    ``samples``: :func:`grid_on_segments`' points, kept between fits."""
    if method.startswith("grid:"):
        g = grids[method[5:]](mask)
        p = {"cell_m": g.cell_m}
        if g.bandwidth_m and g.params.get("alpha", 1) != 0:
            p["bandwidth_m"] = g.bandwidth_m
        p.update({k: v for k, v in g.params.items() if k in ("alpha", "half_life_days")})
        return grid_on_segments(g, segments, samples), p
    w = weight[mask] * _recency(days, mask, params.get("half_life_days"))
    if method == "segment_counts":
        return segment_counts(segments, snapped[mask], w), dict(params)
    if method == "network_kde":
        bw = float(params["bandwidth_m"])
        return network_density(segments, snapped[mask], w, bandwidth_m=bw), dict(params)
    raise InputError(
        f"method={method!r}: accepted values are segment_counts, network_kde, grid:<name>"
    )


def _geo_mean(p: list[float]) -> float:
    v = np.maximum(np.asarray(p, float), 1e-6)
    return float(np.exp(np.log(v).mean())) if np.isfinite(v).all() else -1.0


def _inner(segments, xy, snapped, weight, days, grids, hold, inside, samples):
    """Every candidate fitted on the inner fit set, scored on the held-out set."""
    test = net_test(segments[inside].reset_index(drop=True), xy[hold], weight[hold])
    fit_days = None if days is None else np.where(hold, np.nan, days)
    rows = []
    cands = _candidates(grids, None if days is None else days[~hold])
    # the network kernels of every bandwidth and decay, in one walk of the network per source
    kde = [params for method, params in cands if method == "network_kde"]
    counts = [
        np.bincount(
            snapped[~hold],
            weights=weight[~hold] * _recency(fit_days, ~hold, p.get("half_life_days")),
            minlength=len(segments),
        )
        for p in kde
    ]
    kde_scores = iter(
        lixel_densities(segments, np.vstack(counts), [float(p["bandwidth_m"]) for p in kde])
        if kde
        else []
    )
    for method, params in cands:
        if method == "network_kde":
            scores, p = next(kde_scores), dict(params)
        else:
            scores, p = fit(
                method, params, segments, snapped, weight, fit_days, ~hold, grids, samples
            )
        rows.append({"method": method, "params": p, "inner_pai_net": pai_net(scores[inside], test)})
    return rows


def _span(times: pd.Series | None, mask: np.ndarray) -> list[str] | None:
    """First and last day (in the times' own zone) of the incidents of ``mask``."""
    if times is None:
        return None
    t = pd.to_datetime(pd.Series(times).reset_index(drop=True))[mask].dropna()
    return [str(t.min().date()), str(t.max().date())] if len(t) else None


def choose_forecast(
    segments: gpd.GeoDataFrame,
    xy: np.ndarray,
    times: pd.Series | None = None,
    weight: np.ndarray | None = None,
    *,
    grids: Mapping[str, GridFn],
    area_m2: float,
    method: str = "default",
    params: dict | None = None,
    window: str = "all",
    seed: int = 0,
) -> StreetForecast:
    """The forecast on street segments: the method the inner validation picks, or the one given.

    Parameters
    ----------
    segments
        :func:`street_segments` (the study segments are those ``inside``).
    xy
        ``(n, 2)`` training incident positions, metres.
    times
        Their times (optional; without, the held-out quarter is random and nothing decays).
    weight
        Weight per incident (category weight × the row's own weight).
    grids
        The planar surfaces the default may pick: name → a function of a mask over the
        incidents returning the surface fitted on them (e.g. ``{"default": ..., "count_grid":
        ...}``).
    area_m2
        The study area (m²): a bandwidth wider than a quarter of its side is warned about.
    method
        ``"default"`` (choose), or one method imposed: ``"segment_counts"``, ``"network_kde"``
        or ``"grid:<name>"`` with ``params``.
    params
        The imposed method's parameters (``bandwidth_m``, ``half_life_days``).
    window
        Name of the time window.
    seed
        Seed of the random hold-out used without times.

    Returns
    -------
    StreetForecast
    """
    xy = check_xy(xy)
    if len(xy) == 0:
        raise InputError("xy: no training incident; a forecast needs at least one")
    w = check_weight(weight, len(xy))
    days = _days(times, len(xy))
    snapped = snap(segments, xy)
    inside = segments["inside"].to_numpy(bool)
    everything = np.ones(len(xy), bool)
    samples: dict = {}  # the points along the segments where the grids are read, per step
    rows: list[dict] = []
    inner: dict = {"incidents": len(xy)}
    warnings: list[str] = []
    if method == "default":
        hold = inner_split(days, len(xy), seed=seed)
        inner.update(
            fitted_on=int((~hold).sum()),
            held_out=int(hold.sum()),
            fit_span=_span(times if days is not None else None, ~hold),
            held_span=_span(times if days is not None else None, hold),
            split="temporal" if days is not None else "random",
        )
        if hold.sum() >= 20 and (~hold).sum() >= 20:
            rows = _inner(segments, xy, snapped, w, days, grids, hold, inside, samples)
            best = max(rows, key=lambda r: _geo_mean(r["inner_pai_net"]))  # first on ties
            method, params = best["method"], _own_params(best)
            inner["inner_pai_net"] = [round(v, 3) for v in best["inner_pai_net"]]
        else:
            method, params = next(iter(("grid:" + g, {}) for g in grids), ("segment_counts", {}))
        if (~hold).sum() < _THIN_FIT or hold.sum() < _THIN_HELD:
            warnings.append(_thin_message(inner))
    scores, p = fit(method, params or {}, segments, snapped, w, days, everything, grids, samples)
    warnings += _wide_message(p, area_m2)
    for msg in warnings:
        logger.warning("street forecast: %s", msg)
    seg = segments.copy()
    seg["score"] = scores
    seg["count"] = np.bincount(snapped, weights=w, minlength=len(seg))
    seg["rank_class"] = length_classes(scores, seg["length"].to_numpy(), inside)
    logger.info(
        "street forecast: %s %s on %d segments from %d incidents%s",
        method,
        {k: _plain(v) for k, v in p.items()},
        int(inside.sum()),
        len(xy),
        f" (inner PAI_net {inner['inner_pai_net']})" if "inner_pai_net" in inner else "",
    )
    return StreetForecast(seg, method, p, tuple(rows), inner, tuple(warnings), window)


def _own_params(row: dict) -> dict:
    """The parameters to refit a candidate with (a grid's own choice is made again)."""
    return {} if row["method"].startswith("grid:") else dict(row["params"])


def _thin_message(inner: dict) -> str:
    span = inner.get("fit_span")
    when = f" ({span[0]} to {span[1]})" if span else ""
    return (
        f"the inner validation fitted on {inner['fitted_on']} incidents{when} and tested on "
        f"{inner['held_out']} (thin: fewer than {_THIN_FIT} or {_THIN_HELD}); its choice of "
        "method is uncertain"
    )


def _wide_message(params: dict, area_m2: float) -> list[str]:
    bw = params.get("bandwidth_m")
    quarter = 0.25 * math.sqrt(max(area_m2, 0.0))
    if bw is None or not quarter or bw <= quarter:
        return []
    return [
        f"the chosen bandwidth ({bw:.0f} m) is wider than a quarter of the area's side "
        f"({quarter:.0f} m): the surface is a gradient over the area, not hotspots"
    ]
