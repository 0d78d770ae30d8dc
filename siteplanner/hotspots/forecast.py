"""Hotspots: where incidents concentrate, and where they will happen next.

Every method takes incident positions in a projected metric CRS (an ``(n, 2)`` array of
x, y in metres) and returns a value per grid cell (:class:`DensityGrid`) or per street piece
(a GeoDataFrame of lixels). Every product names the time window (see
:mod:`siteplanner.incidents.windows`) of the incidents it was computed on.

Methods
-------
count grid (``"count_grid"``)
    Incidents per square cell of side ``cell_m``, divided by the cell area (per km²).
planar kernel density (``"kde"``, :func:`kde_grid`)
    :math:`\\hat f(s) = \\sum_i w_i K_h(s - x_i)` with the quartic (biweight) kernel
    :math:`K_h(d) = \\frac{3}{\\pi h^2}\\,(1 - d^2/h^2)^2` for :math:`d < h` (Bailey & Gatrell 1995,
    *Interactive Spatial Data Analysis*, §3.3; the kernel of CrimeStat and ArcGIS), or the
    Gaussian kernel. Weights are linearly binned onto cell centres (Wand 1994) and convolved
    by FFT, then the discrete kernel is normalised to sum to one, so the surface integrates to
    the total weight (per km²). Bandwidth rule when none is given (:func:`bandwidth_rule`):
    Scott's rule for two dimensions, :math:`\\sigma = \\hat s\\,n^{-1/6}` with
    :math:`\\hat s` the mean of the two robust coordinate spreads
    :math:`\\min(\\mathrm{sd}, \\mathrm{IQR}/1.349)`, and the quartic radius
    :math:`h = 2\\sqrt2\\,\\sigma` (same variance as a Gaussian of scale :math:`\\sigma`).
prospective / near-repeat (``"near_repeat"``, :func:`near_repeat_grid`)
    Bowers, Johnson & Pease (2004), *Prospective hot-spotting: the future of crime mapping?*,
    Brit. J. Criminol. 44(5): each incident of the last ``time_window_days`` (60) before the
    reference time adds :math:`\\frac{1}{1 + d/c}\\cdot\\frac{1}{1 + t}` to every cell whose centre
    lies within ``bandwidth_m`` (400 m), with :math:`d` the distance in metres, :math:`c` the
    cell side and :math:`t` the age in weeks.
default (``"default"``, :data:`DEFAULT_METHOD`)
    See :func:`default_grid`: the count grid, recency-weighted, plus a narrow quartic KDE,
    its bandwidth and mix chosen by an inner temporal validation on the training data only.
network kernel density (:func:`network_kde`)
    Streets are cut into lixels (short pieces, Okabe & Sugihara 2012, *Spatial Analysis
    Along Networks*, ch. 9); each incident is snapped to its nearest lixel and spreads
    :math:`K(d) = \\frac{15}{16h}(1 - d^2/h^2)^2` along the network, :math:`d` the shortest-path
    distance between lixel centres (the "simple" network kernel of Xie & Yan 2008).
Getis-Ord Gi* (:func:`gi_star`)
    :math:`z_i = \\dfrac{\\sum_j w_{ij}x_j - \\bar x W_i}{S\\sqrt{(n S_{1i} - W_i^2)/(n-1)}}` with
    :math:`W_i = \\sum_j w_{ij}`, :math:`S_{1i} = \\sum_j w_{ij}^2`, :math:`w_{ii} = 1`
    (Getis & Ord 1992; Ord & Getis 1995); equal to ``esda.G_Local(star=True).Zs`` on binary weights.

Measuring prediction: :func:`pai` (Chainey, Tompson & Uhlig 2008) and :func:`pei` (Hunt 2016).
For sharing: :func:`suppress_small` masks cells or segments with fewer than ``min_count``
incidents (default 3), so a shared map never shows one incident.

Modules: the grid machinery (:class:`DensityGrid`, the count, kernel and near-repeat grids,
sampling, masks, grid sizing) is in :mod:`siteplanner.hotspots.grids`, the street methods
(demand points, lixels, network density, Gi*) in :mod:`siteplanner.hotspots.streets`, PAI and
PEI in :mod:`siteplanner.hotspots.metrics`; this module holds the default method,
:func:`predict` and the sharing rules, and every name above is importable from it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import shapely

from siteplanner._errors import InputError
from siteplanner.hotspots.grids import (
    DensityGrid,
    bin_simple,
    check_planar,
    check_weight,
    check_xy,
    count_grid,
    grid_mask,
    grid_shape,
    kde_grid,
    kde_values,
    near_repeat_grid,
)
from siteplanner.hotspots.metrics import flag_shares_equal

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "default_grid",
    "predict",
    "suppress_small",
    "shareable_counts",
]

#: Hotspot methods accepted by :func:`predict`.
METHODS = ("count_grid", "kde", "near_repeat", "default")
#: The method the pipeline uses unless the scenario names another.
DEFAULT_METHOD = "default"


# --------------------------------------------------------------------------- sharing
def suppress_small(counts, *, min_count: int = 3, values=None):
    """Mask cells or segments with fewer than ``min_count`` incidents, for maps that are shared.

    A shared map must never show an individual incident. Cells (or street segments) whose
    count is below ``min_count`` -- empty ones included, so that a masked cell reveals nothing --
    become NaN.

    Parameters
    ----------
    counts
        Incident counts per cell or segment (numpy array or pandas Series).
    min_count
        Smallest count shown (default 3).
    values
        Optional values to mask instead of the counts (e.g. a density on the same cells).

    Returns
    -------
    numpy.ndarray or pandas.Series
        Float copy of ``values`` (or ``counts``) with the small cells set to NaN; a Series
        keeps its index.
    """
    if not (isinstance(min_count, (int, np.integer)) and min_count >= 1):
        raise InputError(f"min_count={min_count!r}: a whole number >= 1 is required (default 3)")
    c = np.asarray(counts, dtype=float)
    src = counts if values is None else values
    v = np.asarray(src, dtype=float).copy()
    if v.shape != c.shape:
        raise InputError(f"values: shape {v.shape} differs from counts {c.shape}")
    small = ~(c >= min_count)
    v[small] = np.nan
    logger.info(
        "suppress_small masked %d of %d cells below %d incidents",
        int(small.sum()),
        small.size,
        min_count,
    )
    if isinstance(src, pd.Series):
        return pd.Series(v, index=src.index, name=src.name)
    return v


def shareable_counts(
    xy: np.ndarray,
    *,
    bounds: tuple[float, float, float, float],
    cell_m: float = 100.0,
    min_count: int = 3,
    window: str = "all",
) -> DensityGrid:
    """Incident counts per cell with small cells masked (NaN): the grid safe to share.

    Parameters
    ----------
    xy
        ``(n, 2)`` incident positions, metres.
    bounds
        Grid bounds, metres.
    cell_m
        Cell side, metres (default 100).
    min_count
        Cells with fewer incidents are masked (default 3).
    window
        Name of the time window.

    Returns
    -------
    DensityGrid
        ``values`` are counts per cell (not densities), NaN where masked; ``method="counts"``.
    """
    g = count_grid(xy, bounds=bounds, cell_m=cell_m, window=window)
    counts = np.rint(g.values * cell_m * cell_m / 1e6)
    return DensityGrid(
        suppress_small(counts, min_count=min_count),
        g.transform,
        g.cell_m,
        0.0,
        "counts",
        window,
        {"min_count": min_count},
    )


# --------------------------------------------------------------------------- default and predict
_DEFAULT_BANDWIDTHS_M = (100.0, 150.0, 200.0, 300.0, 500.0)
_DEFAULT_ALPHAS = (0.0, 0.01, 0.1, 0.3, 1.0, 3.0)
_DEFAULT_HALF_LIVES = (None, 0.5, 0.25)  # fractions of the training time span; None: no decay


def _ages_days(times: pd.Series, reference_time: pd.Timestamp | None) -> tuple[np.ndarray, float]:
    t = pd.to_datetime(pd.Series(times).reset_index(drop=True))
    ref = t.max() if reference_time is None else pd.Timestamp(reference_time)
    age = np.array(((ref - t).dt.total_seconds() / 86400.0).to_numpy(dtype=float, na_value=np.nan))
    finite = np.isfinite(age)
    if not finite.any():
        raise InputError("train_time: no valid timestamp; pass train_time=None to ignore time")
    age[~finite] = np.median(age[finite])
    span = float(np.ptp(age[finite])) if finite.sum() > 1 else 0.0
    return np.maximum(age, 0.0), span


def _times(decay: np.ndarray | None, weight: np.ndarray) -> np.ndarray:
    return weight if decay is None else decay * weight


def _decay(age_days: np.ndarray, half_life_days: float | None) -> np.ndarray | None:
    return None if half_life_days is None else 0.5 ** (age_days / half_life_days)


def _mixed(xy, w, *, bounds, cell_m, alpha, bandwidth_m, window) -> np.ndarray:
    cg = count_grid(xy, w, bounds=bounds, cell_m=cell_m, window=window).values
    if alpha == 0:
        return cg
    logger.debug("default_grid: refit, kernel of %.0f m on %d incidents", bandwidth_m, len(xy))
    return cg + alpha * kde_values(xy, w, bounds=bounds, cell_m=cell_m, bandwidth_m=bandwidth_m)


def _holdout(
    n: int, times: pd.Series | None, reference_time: pd.Timestamp | None, seed: int
) -> tuple[np.ndarray, np.ndarray, list[float | None]]:
    """Ages (days), the held-out incidents and the candidate half-lives of the inner validation.

    With times, the latest quarter of the training span is held out; without, a seeded random
    quarter (all ages 0, no decay).
    """
    if times is not None:
        age, span = _ages_days(times, reference_time)
        hold = age <= 0.25 * span if span > 0 else np.zeros(n, bool)
        half_lives = [None] + [f * span for f in _DEFAULT_HALF_LIVES[1:] if span > 0]
    else:
        age = np.zeros(n)
        rng = np.random.default_rng(seed)
        hold = rng.random(n) < 0.25
        half_lives = [None]
    return age, hold, half_lives


def _choose_params(xy, cw, age, hold, half_lives, timed, bounds, cell_m, area, window) -> dict:
    """The ``default`` parameters with the best held-out PAI (see :func:`default_grid`).

    The fixed choice when fewer than 20 incidents are held out or fitted on, or when no
    held-out weight falls in the study area.
    """
    chosen = {
        "alpha": 0.3,
        "bandwidth_m": max(150.0, 1.5 * cell_m),
        "half_life_days": None,
        "inner_pai5": None,
    }
    if not (hold.sum() >= 20 and (~hold).sum() >= 20):
        return chosen
    rows, cols, transform = grid_shape(bounds, cell_m)
    grid0 = DensityGrid(np.zeros((rows, cols)), transform, float(cell_m), 0.0, "count_grid", window)
    if area is None:
        area = shapely.convex_hull(shapely.multipoints(xy))
    mask = grid_mask(grid0, area) if area.area > 0 else np.ones((rows, cols), bool)
    val_counts = bin_simple(xy[hold], cw[hold], transform, rows, cols)[mask]
    if not val_counts.sum() > 0:
        return chosen
    bws = sorted({max(b, 1.5 * cell_m) for b in _DEFAULT_BANDWIDTHS_M})
    fit_xy, fit_w = xy[~hold], cw[~hold]
    fit_age = age[~hold] - (age[~hold].min() if timed else 0.0)
    results = []  # (key, (half_life, bandwidth, alpha))
    for hl in half_lives:
        w = _times(_decay(fit_age, hl), fit_w)
        cg = count_grid(fit_xy, w, bounds=bounds, cell_m=cell_m).values[mask]
        for bw in bws:  # one kernel surface per half-life and bandwidth: DEBUG lines only
            kd = kde_values(fit_xy, w, bounds=bounds, cell_m=cell_m, bandwidth_m=bw)[mask]
            logger.debug(
                "default_grid: inner surface, half-life %s days, bandwidth %.0f m, on %d incidents",
                "none" if hl is None else f"{hl:.0f}",
                bw,
                len(fit_xy),
            )
            for a in _DEFAULT_ALPHAS:
                if a == 0 and bw != bws[0]:
                    continue
                s = cg + a * kd
                p = flag_shares_equal(s, val_counts, (0.01, 0.05, 0.10))
                results.append(((round(p[1], 9), round(float(np.mean(p)), 9)), (hl, bw, a)))
    # parsimony: recency weighting must beat the best undecayed choice by > 1 %
    plain = max((r for r in results if r[1][0] is None), key=lambda r: r[0])
    decayed = [r for r in results if r[1][0] is not None]
    best_key, best = plain
    if decayed:
        top = max(decayed, key=lambda r: r[0])
        if top[0][0] > 1.01 * plain[0][0]:
            best_key, best = top
    hl, bw, a = best
    return {"alpha": a, "bandwidth_m": bw, "half_life_days": hl, "inner_pai5": best_key[0]}


def default_warnings(chosen: dict, n_fit: int, n_held: int, area_m2: float | None) -> list[str]:
    """What the user must know about the default's choice: a thin inner window (fewer than 200
    incidents fitted or 50 held out), a kernel wider than a quarter of the area's side."""
    out = []
    if n_fit < 200 or n_held < 50:
        out.append(
            f"the inner validation fitted on {n_fit} incidents and tested on {n_held} (thin: "
            "fewer than 200 or 50; old rows stretch the time span?); its choice is uncertain"
        )
    quarter = 0.25 * np.sqrt(area_m2) if area_m2 else 0.0
    if chosen["alpha"] > 0 and quarter and chosen["bandwidth_m"] > quarter:
        out.append(
            f"the chosen bandwidth ({chosen['bandwidth_m']:.0f} m) is wider than a quarter of the "
            f"area's side ({quarter:.0f} m): the surface is a gradient, not hotspots"
        )
    for msg in out:  # the caller warns when this surface is the forecast shown
        logger.info("default_grid: %s", msg)
    return out


def default_grid(
    xy: np.ndarray,
    times: pd.Series | None = None,
    *,
    bounds: tuple[float, float, float, float],
    cell_m: float = 100.0,
    area=None,
    reference_time: pd.Timestamp | None = None,
    window: str = "all",
    seed: int = 0,
    weight: np.ndarray | None = None,
) -> DensityGrid:
    """The default hotspot surface: count grid plus a narrow kernel, tuned on training data.

    Score per cell :math:`s = C_\\tau + \\alpha\\,\\hat f_{h,\\tau}`, with :math:`C_\\tau` the
    count grid (per km²) of the incidents weighted by recency :math:`0.5^{\\,age/\\tau}` and
    :math:`\\hat f_{h,\\tau}` the quartic KDE of the same weights with radius :math:`h`. The
    count grid is what predicts best at a fine scale (crime concentrates on a few street
    blocks); the kernel term breaks its many ties in favour of cells whose neighbours are busy,
    and carries sparse data sets. The triple :math:`(\\tau, h, \\alpha)` is chosen by an
    **inner validation on the training incidents only**: with times, the latest quarter of
    the training span is held out and the rest is the fit set; without times, a seeded random
    quarter is held out. The triple with the best PAI at 5 % (ties: mean PAI at 1, 5, 10 %)
    on the held-out part wins, except that recency weighting (finite :math:`\\tau`) is kept
    only when it beats the best choice without it by more than 1 % (parsimony: the inner
    differences are often within noise). Candidates:
    :math:`\\tau \\in \\{\\infty, T/2, T/4\\}` (T the training span),
    :math:`h \\in \\{100, 150, 200, 300, 500\\}` m (at least 1.5 cells),
    :math:`\\alpha \\in \\{0, 0.01, 0.1, 0.3, 1, 3\\}`. The surface is then refitted on all training
    incidents. With fewer than 20 held-out incidents the fixed choice
    :math:`(\\infty, \\max(150, 1.5c), 0.3)` is used.

    Parameters
    ----------
    xy
        ``(n, 2)`` training incident positions, metres.
    times
        Training incident times (optional).
    bounds
        Grid bounds, metres.
    cell_m
        Cell side, metres.
    area
        Study area polygon for the inner validation (default: convex hull of ``xy``).
    reference_time
        When the forecast is made (default: the latest training time).
    window
        Name of the time window.
    seed
        Seed of the random hold-out used when ``times`` is None.
    weight
        Optional weight per incident (the category weights): it multiplies the recency
        weight, and the held-out incidents count with it in the inner validation.

    Returns
    -------
    DensityGrid
        ``method="default"``, ``params`` holding the chosen ``alpha``, ``bandwidth_m``,
        ``half_life_days`` and the inner-validation PAI.
    """
    xy = check_xy(xy)
    if len(xy) == 0:
        raise InputError("xy: no training incident; a hotspot surface needs at least one")
    cw = check_weight(weight, len(xy))
    rows, cols, transform = grid_shape(bounds, cell_m)
    age, hold, half_lives = _holdout(len(xy), times, reference_time, seed)
    timed = times is not None
    chosen = _choose_params(xy, cw, age, hold, half_lives, timed, bounds, cell_m, area, window)
    area_m2 = area.area if area is not None else None
    chosen["warnings"] = default_warnings(chosen, int((~hold).sum()), int(hold.sum()), area_m2)
    w = _times(_decay(age, chosen["half_life_days"]), cw)
    values = _mixed(
        xy,
        w,
        bounds=bounds,
        cell_m=cell_m,
        alpha=chosen["alpha"],
        bandwidth_m=chosen["bandwidth_m"],
        window=window,
    )
    logger.info(  # the one INFO line of the default: its inner surfaces are DEBUG lines
        "default_grid: alpha=%s, bandwidth %.0f m, half-life %s days (inner validation on %d "
        "fitted and %d held-out incidents: PAI@5%% %s) on %d incidents",
        chosen["alpha"],
        chosen["bandwidth_m"],
        "none" if chosen["half_life_days"] is None else f"{chosen['half_life_days']:.0f}",
        int((~hold).sum()),
        int(hold.sum()),
        "none, the fixed choice" if chosen["inner_pai5"] is None else chosen["inner_pai5"],
        len(xy),
    )
    return DensityGrid(
        values, transform, float(cell_m), float(chosen["bandwidth_m"]), "default", window, chosen
    )


def predict(
    method: str,
    train_xy: np.ndarray,
    *,
    train_time: pd.Series | None = None,
    bounds: tuple[float, float, float, float],
    cell_m: float = 100.0,
    weight: np.ndarray | None = None,
    bandwidth_m: float | None = None,
    area=None,
    reference_time: pd.Timestamp | None = None,
    window: str = "all",
    seed: int = 0,
) -> DensityGrid:
    """Hotspot surface predicting where the next incidents will be.

    Parameters
    ----------
    method
        ``"count_grid"``, ``"kde"``, ``"near_repeat"`` (needs ``train_time``) or ``"default"``
        (see :func:`default_grid`; :data:`DEFAULT_METHOD`).
    train_xy
        ``(n, 2)`` training incident positions, metres.
    train_time
        Their times (used by ``near_repeat`` and ``default``).
    bounds
        Grid bounds ``(xmin, ymin, xmax, ymax)``, metres.
    cell_m
        Cell side, metres.
    weight
        Optional weight per incident (e.g. the category weights; not used by ``near_repeat``).
    bandwidth_m
        Kernel bandwidth for ``kde`` (None: :func:`bandwidth_rule`) or ``near_repeat``
        (None: 400 m).
    area
        Study area polygon (``default``'s inner validation).
    reference_time
        Forecast time for ``near_repeat`` and ``default`` (default: latest training time).
    window
        Name of the time window of the training incidents.
    seed
        Seed for ``default``'s random hold-out when there are no times.

    Returns
    -------
    DensityGrid
    """
    if method not in METHODS:
        raise InputError(f"method={method!r}: accepted values are {', '.join(METHODS)}")
    check_planar(train_xy, bounds)
    if method == "count_grid":
        return count_grid(train_xy, weight, bounds=bounds, cell_m=cell_m, window=window)
    if method == "kde":
        return kde_grid(
            train_xy, weight, bounds=bounds, cell_m=cell_m, bandwidth_m=bandwidth_m, window=window
        )
    if method == "near_repeat":
        if train_time is None:
            raise InputError(
                "train_time: method 'near_repeat' needs incident times; give train_time or "
                "choose another method"
            )
        return near_repeat_grid(
            train_xy,
            train_time,
            bounds=bounds,
            cell_m=cell_m,
            bandwidth_m=400.0 if bandwidth_m is None else bandwidth_m,
            reference_time=reference_time,
            window=window,
        )
    return default_grid(
        train_xy,
        train_time,
        bounds=bounds,
        cell_m=cell_m,
        area=area,
        reference_time=reference_time,
        window=window,
        seed=seed,
        weight=weight,
    )
