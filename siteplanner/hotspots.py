"""Hotspots: where incidents concentrate, and where they will happen next.

Every method takes incident positions in a projected metric CRS (an ``(n, 2)`` array of
x, y in metres) and returns a value per grid cell (:class:`DensityGrid`) or per street piece
(a GeoDataFrame of lixels). Every product names the time window (see
:mod:`siteplanner.windows`) of the incidents it was computed on.

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
    :math:`W_i = \\sum_j w_{ij}`, :math:`S_{1i} = \\sum_j w_{ij}^2`, :math:`w_{ii} = 1` (Getis & Ord 1992;
    Ord & Getis 1995); equal to ``esda.G_Local(star=True).Zs`` on binary weights.

Measuring prediction: :func:`pai` (Chainey, Tompson & Uhlig 2008) and :func:`pei` (Hunt 2016).
For sharing: :func:`suppress_small` masks cells or segments with fewer than ``min_count``
incidents (default 3), so a shared map never shows one incident.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from scipy import sparse
from scipy.signal import fftconvolve
from scipy.spatial import cKDTree

from siteplanner._errors import InputError, report_problems

logger = logging.getLogger(__name__)

__all__ = [
    "DensityGrid",
    "DEFAULT_METHOD",
    "METHODS",
    "bandwidth_rule",
    "count_grid",
    "kde_grid",
    "near_repeat_grid",
    "default_grid",
    "predict",
    "sample_grid",
    "grid_mask",
    "street_points",
    "lixelize",
    "network_kde",
    "gi_star",
    "suppress_small",
    "shareable_counts",
    "pai",
    "pei",
    "check_planar",
    "grid_cell_m",
]

#: Hotspot methods accepted by :func:`predict`.
METHODS = ("count_grid", "kde", "near_repeat", "default")
#: The method the pipeline uses unless the scenario names another.
DEFAULT_METHOD = "default"


@dataclass(frozen=True)
class DensityGrid:
    """A hotspot surface on a square north-up grid.

    Attributes
    ----------
    values
        ``(rows, cols)`` float array, row 0 to the north; a density (weight per km²) for
        ``kde`` and the other methods, a risk score for ``near_repeat``.
    transform
        Affine transform from (col, row) to projected x, y of the cell corner (rasterio style).
    cell_m
        Cell side, metres.
    bandwidth_m
        Kernel bandwidth (quartic radius) in metres, 0 for a plain count grid.
    method
        The method that produced it (one of :data:`METHODS`).
    window
        Name of the time window of the incidents used.
    params
        Method parameters as chosen (e.g. by the inner validation of ``default``).
    """

    values: np.ndarray
    transform: Affine
    cell_m: float
    bandwidth_m: float
    method: str
    window: str
    params: dict = field(default_factory=dict, compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return self.values.shape

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the grid in metres."""
        rows, cols = self.values.shape
        xmin, ymax = self.transform.c, self.transform.f
        return (xmin, ymax - rows * self.cell_m, xmin + cols * self.cell_m, ymax)

    def cell_centres(self) -> np.ndarray:
        """``(rows * cols, 2)`` centres of the cells, in row-major order of ``values``."""
        rows, cols = self.values.shape
        xmin, ymax = self.transform.c, self.transform.f
        cx = xmin + (np.arange(cols) + 0.5) * self.cell_m
        cy = ymax - (np.arange(rows) + 0.5) * self.cell_m
        gx, gy = np.meshgrid(cx, cy)
        return np.column_stack([gx.ravel(), gy.ravel()])


# --------------------------------------------------------------------------- helpers
def _check_xy(xy: np.ndarray, name: str = "xy") -> np.ndarray:
    arr = np.asarray(xy, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputError(
            f"{name}: expected an (n, 2) array of projected x, y in metres, got shape {arr.shape}"
        )
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise InputError(
            f"{name}: {int(bad.sum())} row(s) with missing or infinite coordinates (first: {rows}); drop them first"
        )
    return arr


def _check_weight(weight: np.ndarray | None, n: int) -> np.ndarray:
    if weight is None:
        return np.ones(n)
    w = np.asarray(weight, dtype=float)
    problems = []
    if w.shape != (n,):
        problems.append(f"shape {w.shape} does not match the {n} points")
    elif not np.isfinite(w).all() or (w < 0).any():
        problems.append("weights must be finite and >= 0")
    report_problems(problems, source="weight")
    return w


def _grid_shape(
    bounds: tuple[float, float, float, float], cell_m: float
) -> tuple[int, int, Affine]:
    problems = []
    if not (isinstance(cell_m, (int, float, np.floating)) and cell_m > 0):
        problems.append(f"cell_m={cell_m!r}: a positive number of metres is required")
    if len(bounds) != 4 or not all(np.isfinite(b) for b in bounds):
        problems.append(f"bounds={bounds!r}: expected (xmin, ymin, xmax, ymax) in metres")
    elif bounds[2] <= bounds[0] or bounds[3] <= bounds[1]:
        problems.append(f"bounds={bounds!r}: xmax must exceed xmin and ymax exceed ymin")
    report_problems(problems, source="grid")
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    cols = max(1, math.ceil((xmax - xmin) / cell_m - 1e-9))
    rows = max(1, math.ceil((ymax - ymin) / cell_m - 1e-9))
    if rows * cols > 50_000_000:
        raise InputError(
            f"grid: {rows} x {cols} cells at cell_m={cell_m} is too large; use a larger cell_m or smaller "
            "bounds (grid_cell_m chooses a cell that fits)"
        )
    return rows, cols, Affine(cell_m, 0.0, xmin, 0.0, -cell_m, ymax)


def _cell_index(
    xy: np.ndarray, transform: Affine, rows: int, cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cell = transform.a
    col = np.floor((xy[:, 0] - transform.c) / cell).astype(np.int64)
    row = np.floor((transform.f - xy[:, 1]) / cell).astype(np.int64)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    return row, col, inside


def _bin_simple(
    xy: np.ndarray, w: np.ndarray, transform: Affine, rows: int, cols: int
) -> np.ndarray:
    row, col, inside = _cell_index(xy, transform, rows, cols)
    if (~inside).any():
        logger.debug(
            "%d of %d points fall outside the grid and are ignored", int((~inside).sum()), len(xy)
        )
    out = np.zeros(rows * cols)
    np.add.at(out, row[inside] * cols + col[inside], w[inside])
    return out.reshape(rows, cols)


def _bin_linear(
    xy: np.ndarray, w: np.ndarray, transform: Affine, rows: int, cols: int
) -> np.ndarray:
    """Linear binning: each weight is shared between the four nearest cell centres."""
    cell = transform.a
    fx = (xy[:, 0] - transform.c) / cell - 0.5
    fy = (transform.f - xy[:, 1]) / cell - 0.5
    c0 = np.floor(fx).astype(np.int64)
    r0 = np.floor(fy).astype(np.int64)
    ax = fx - c0
    ay = fy - r0
    out = np.zeros((rows + 2) * (cols + 2))
    for dr, dc, share in (
        (0, 0, (1 - ay) * (1 - ax)),
        (0, 1, (1 - ay) * ax),
        (1, 0, ay * (1 - ax)),
        (1, 1, ay * ax),
    ):
        r = np.clip(r0 + dr, -1, rows) + 1
        c = np.clip(c0 + dc, -1, cols) + 1
        np.add.at(out, r * (cols + 2) + c, w * share)
    return out.reshape(rows + 2, cols + 2)[1:-1, 1:-1]


def _kernel_stamp(bandwidth_m: float, cell_m: float, kernel: str) -> np.ndarray:
    if kernel == "quartic":
        reach = bandwidth_m
    elif kernel == "gaussian":
        reach = 4.0 * bandwidth_m
    else:
        raise InputError(f"kernel={kernel!r}: accepted values are 'quartic', 'gaussian'")
    k = int(math.floor(reach / cell_m))
    off = np.arange(-k, k + 1) * cell_m
    dx, dy = np.meshgrid(off, off)
    d2 = dx**2 + dy**2
    if kernel == "quartic":
        stamp = np.where(d2 < bandwidth_m**2, (1.0 - d2 / bandwidth_m**2) ** 2, 0.0)
    else:
        stamp = np.exp(-0.5 * d2 / bandwidth_m**2)
    total = stamp.sum()
    if total <= 0:  # bandwidth below half a cell: the kernel is the cell itself
        stamp = np.zeros_like(stamp)
        stamp[k, k] = 1.0
        total = 1.0
    return stamp / total


def _convolve(raster: np.ndarray, stamp: np.ndarray) -> np.ndarray:
    if stamp.size == 1:
        return raster * stamp[0, 0]
    out = fftconvolve(raster, stamp, mode="same")
    out[np.abs(out) < 1e-12 * max(1.0, float(np.abs(raster).sum()))] = 0.0
    return np.maximum(out, 0.0)


def bandwidth_rule(xy: np.ndarray) -> float:
    """Quartic kernel radius (m) by Scott's rule, robust spread (see the module docstring).

    Parameters
    ----------
    xy
        ``(n, 2)`` projected points.

    Returns
    -------
    float
        :math:`2\\sqrt2\\,\\hat s\\,n^{-1/6}`, at least 1 m.
    """
    xy = _check_xy(xy)
    if len(xy) < 2:
        raise InputError(
            f"xy: {len(xy)} point(s); the bandwidth rule needs at least 2, give bandwidth_m instead"
        )
    sd = xy.std(axis=0, ddof=1)
    iqr = np.subtract(*np.percentile(xy, [75, 25], axis=0)) / 1.349
    spread = np.where(iqr > 0, np.minimum(sd, iqr), sd).mean()
    return max(1.0, float(2.0 * math.sqrt(2.0) * spread * len(xy) ** (-1.0 / 6.0)))


# --------------------------------------------------------------------------- grids
def count_grid(
    xy: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    bounds: tuple[float, float, float, float],
    cell_m: float = 100.0,
    window: str = "all",
) -> DensityGrid:
    """Incidents (or their weights) per cell, as a density per km².

    Parameters
    ----------
    xy
        ``(n, 2)`` incident positions, metres.
    weight
        Optional weight per incident (default 1).
    bounds
        ``(xmin, ymin, xmax, ymax)`` of the grid, metres.
    cell_m
        Cell side, metres.
    window
        Name of the time window of the incidents.

    Returns
    -------
    DensityGrid
        ``values * cell_area_km2`` gives the counts.
    """
    xy = _check_xy(xy)
    w = _check_weight(weight, len(xy))
    rows, cols, transform = _grid_shape(bounds, cell_m)
    counts = _bin_simple(xy, w, transform, rows, cols)
    return DensityGrid(
        counts / (cell_m * cell_m / 1e6), transform, float(cell_m), 0.0, "count_grid", window
    )


def kde_grid(
    xy: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    bounds: tuple[float, float, float, float],
    cell_m: float = 10.0,
    bandwidth_m: float | None = None,
    kernel: str = "quartic",
    window: str = "all",
) -> DensityGrid:
    """Planar kernel density on a grid, by FFT convolution.

    Parameters
    ----------
    xy
        ``(n, 2)`` incident positions, metres.
    weight
        Optional weight per incident (default 1).
    bounds
        ``(xmin, ymin, xmax, ymax)`` of the grid, metres.
    cell_m
        Cell side, metres.
    bandwidth_m
        Quartic radius (or Gaussian standard deviation), metres; ``None``: :func:`bandwidth_rule`.
    kernel
        ``"quartic"`` (default) or ``"gaussian"``.
    window
        Name of the time window of the incidents.

    Returns
    -------
    DensityGrid
        Weight per km²; summed over cells times the cell area it gives the total weight
        (less what spills beyond ``bounds``).
    """
    xy = _check_xy(xy)
    w = _check_weight(weight, len(xy))
    rows, cols, transform = _grid_shape(bounds, cell_m)
    if bandwidth_m is None:
        bandwidth_m = bandwidth_rule(xy)
        logger.info("kde_grid: bandwidth %.0f m by Scott's rule on %d points", bandwidth_m, len(xy))
    elif not bandwidth_m > 0:
        raise InputError(
            f"bandwidth_m={bandwidth_m!r}: a positive number of metres (or None for the rule) is required"
        )
    raster = _bin_linear(xy, w, transform, rows, cols)
    dens = _convolve(raster, _kernel_stamp(float(bandwidth_m), float(cell_m), kernel)) / (
        cell_m * cell_m / 1e6
    )
    logger.info(
        "kde_grid returned a %d x %d grid (cell %.0f m, bandwidth %.0f m) from %d points",
        rows,
        cols,
        cell_m,
        bandwidth_m,
        len(xy),
    )
    return DensityGrid(
        dens, transform, float(cell_m), float(bandwidth_m), "kde", window, {"kernel": kernel}
    )


def near_repeat_grid(
    xy: np.ndarray,
    times: pd.Series | np.ndarray,
    *,
    bounds: tuple[float, float, float, float],
    cell_m: float = 50.0,
    bandwidth_m: float = 400.0,
    time_window_days: float = 60.0,
    reference_time: pd.Timestamp | None = None,
    window: str = "all",
) -> DensityGrid:
    """Prospective hotspot risk (Bowers, Johnson & Pease 2004).

    Parameters
    ----------
    xy
        ``(n, 2)`` incident positions, metres.
    times
        Incident times (datetime-like, same length).
    bounds
        ``(xmin, ymin, xmax, ymax)`` of the grid, metres.
    cell_m
        Cell side, metres (the paper: 50 m).
    bandwidth_m
        Spatial reach, metres (the paper: 400 m).
    time_window_days
        Only incidents in this many days before ``reference_time`` count (the paper: 2 months).
    reference_time
        The moment the forecast is made; default the latest incident time.
    window
        Name of the time window of the incidents.

    Returns
    -------
    DensityGrid
        Risk :math:`\\sum_i \\frac{1}{1+d_i/c}\\frac{1}{1+t_i}` per cell (``method="near_repeat"``).
    """
    xy = _check_xy(xy)
    t = pd.to_datetime(pd.Series(times).reset_index(drop=True))
    if len(t) != len(xy):
        raise InputError(f"times: {len(t)} values for {len(xy)} points; give one time per incident")
    ref = t.max() if reference_time is None else pd.Timestamp(reference_time)
    age_days = ((ref - t).dt.total_seconds() / 86400.0).to_numpy()
    keep = np.isfinite(age_days) & (age_days >= 0) & (age_days <= time_window_days)
    rows, cols, transform = _grid_shape(bounds, cell_m)
    weeks = np.floor(age_days[keep] / 7.0).astype(int)
    k = int(math.floor(bandwidth_m / cell_m))
    off = np.arange(-k, k + 1) * cell_m
    dx, dy = np.meshgrid(off, off)
    d = np.hypot(dx, dy)
    spatial = np.where(d <= bandwidth_m, 1.0 / (1.0 + d / cell_m), 0.0)
    risk = np.zeros((rows, cols))
    for wk in np.unique(weeks):
        sel = weeks == wk
        raster = _bin_simple(xy[keep][sel], np.ones(int(sel.sum())), transform, rows, cols)
        risk += _convolve(raster, spatial) / (1.0 + wk)
    logger.info(
        "near_repeat_grid: %d incidents in the %g days before %s",
        int(keep.sum()),
        time_window_days,
        ref,
    )
    params = {"time_window_days": time_window_days, "reference_time": str(ref)}
    return DensityGrid(
        risk, transform, float(cell_m), float(bandwidth_m), "near_repeat", window, params
    )


# --------------------------------------------------------------------------- sampling, areas
def sample_grid(
    grid: DensityGrid, xy: np.ndarray, *, method: str = "bilinear", fill: float = 0.0
) -> np.ndarray:
    """Value of ``grid`` at points.

    Parameters
    ----------
    grid
        The surface.
    xy
        ``(n, 2)`` points, metres, same CRS as the grid.
    method
        ``"bilinear"`` (between the four nearest cell centres) or ``"nearest"`` (the cell the
        point falls in).
    fill
        Value for points outside the grid.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` values.
    """
    xy = _check_xy(xy)
    rows, cols = grid.values.shape
    if method == "nearest":
        row, col, inside = _cell_index(xy, grid.transform, rows, cols)
        out = np.full(len(xy), float(fill))
        out[inside] = grid.values[row[inside], col[inside]]
        return out
    if method != "bilinear":
        raise InputError(f"method={method!r}: accepted values are 'bilinear', 'nearest'")
    cell = grid.cell_m
    fx = (xy[:, 0] - grid.transform.c) / cell - 0.5
    fy = (grid.transform.f - xy[:, 1]) / cell - 0.5
    inside = (fx >= -0.5) & (fx <= cols - 0.5) & (fy >= -0.5) & (fy <= rows - 0.5)
    fx = np.clip(fx, 0, cols - 1)
    fy = np.clip(fy, 0, rows - 1)
    c0 = np.minimum(np.floor(fx).astype(int), max(cols - 2, 0))
    r0 = np.minimum(np.floor(fy).astype(int), max(rows - 2, 0))
    c1 = np.minimum(c0 + 1, cols - 1)
    r1 = np.minimum(r0 + 1, rows - 1)
    ax, ay = fx - c0, fy - r0
    v = grid.values
    out = (
        v[r0, c0] * (1 - ax) * (1 - ay)
        + v[r0, c1] * ax * (1 - ay)
        + v[r1, c0] * (1 - ax) * ay
        + v[r1, c1] * ax * ay
    )
    return np.where(inside, out, float(fill))


def grid_mask(grid: DensityGrid, area) -> np.ndarray:
    """Cells whose centre lies inside ``area`` (a shapely polygon, or a GeoSeries/GeoDataFrame).

    Parameters
    ----------
    grid
        The grid.
    area
        Study area polygon(s) in the grid's CRS.

    Returns
    -------
    numpy.ndarray of bool
        ``(rows, cols)``.
    """
    if isinstance(area, (gpd.GeoSeries, gpd.GeoDataFrame)):
        area = shapely.union_all(
            np.asarray(area.geometry if isinstance(area, gpd.GeoDataFrame) else area)
        )
    if not isinstance(area, shapely.Geometry) or area.is_empty:
        raise InputError(
            f"area: expected a non-empty shapely polygon in the grid's CRS, got {type(area).__name__}"
        )
    c = grid.cell_centres()
    return shapely.contains_xy(area, c[:, 0], c[:, 1]).reshape(grid.values.shape)


# --------------------------------------------------------------------------- metrics
def _flag_share(scores: np.ndarray, area: np.ndarray, target: np.ndarray, share: float) -> float:
    """Share of ``target`` inside the top ``share`` of area ranked by ``scores``.

    Cells tied at the threshold are taken in part (area-proportionally), which is the
    expected result of breaking ties at random: deterministic and fair to coarse scores.
    """
    budget = share * area.sum()
    total = float(target.sum())
    n = len(scores)
    k = math.ceil(share * n) + 1
    if n > 20_000 and k < n and area.min() == area.max():
        # equal cells: only the best k cells and those tied with the k-th can be flagged, so
        # rank those alone (exactly the same result, in O(n) instead of O(n log n))
        thr = np.partition(scores, n - k)[n - k]
        sel = scores >= thr
        if sel.sum() <= 4 * k:
            scores, area, target = scores[sel], area[sel], target[sel]
    order = np.lexsort((np.arange(len(scores)), -scores))
    s, a, t = scores[order], area[order], target[order]
    # group tied scores
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    g_area = np.add.reduceat(a, starts)
    g_target = np.add.reduceat(t, starts)
    cum = np.cumsum(g_area)
    full = cum <= budget * (1 + 1e-12)
    got = g_target[full].sum()
    k = int(full.sum())
    if k < len(g_area):
        left = budget - (cum[k - 1] if k else 0.0)
        got += g_target[k] * max(0.0, left) / g_area[k]
    return float(got / total) if total else float("nan")


def _flag_shares_equal(
    scores: np.ndarray, target: np.ndarray, shares: tuple[float, ...]
) -> list[float]:
    """PAI at each share for equal cells: :func:`_flag_share` on the few cells that can be flagged."""
    n = len(scores)
    k = min(n, math.ceil(max(shares) * n) + 1)
    s, t = scores, target
    if n > 20_000 and k < n:
        thr = np.partition(scores, n - k)[n - k]
        sel = scores >= thr
        if sel.sum() <= 4 * k:
            s, t = scores[sel], target[sel]
    total = float(target.sum())
    order = np.lexsort((np.arange(len(s)), -s))
    s, t = s[order], t[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    g_area = np.diff(np.r_[starts, len(s)]).astype(float)
    g_target = np.add.reduceat(t, starts)
    cum = np.cumsum(g_area)
    out = []
    for share in shares:
        budget = share * n
        full = cum <= budget * (1 + 1e-12)
        got = g_target[full].sum()
        j = int(full.sum())
        if j < len(g_area):
            got += g_target[j] * max(0.0, budget - (cum[j - 1] if j else 0.0)) / g_area[j]
        out.append(float(got / total) / share)
    return out


def _metric_inputs(scores, cell_area, test_counts, share):
    s = np.asarray(scores, dtype=float).ravel()
    t = np.asarray(test_counts, dtype=float).ravel()
    a = np.broadcast_to(np.asarray(cell_area, dtype=float), np.asarray(scores).shape).ravel()
    problems = []
    if s.shape != t.shape:
        problems.append(f"scores has {s.size} cells but test_counts has {t.size}")
    if not np.isfinite(s).all():
        problems.append(
            "scores contain NaN or infinite values: pass only the cells of the study area"
        )
    if (a <= 0).any() or not np.isfinite(a).all():
        problems.append("cell_area must be finite and > 0")
    if not 0 < share <= 1:
        problems.append(f"share={share!r}: a fraction in (0, 1] is required (0.05 for 5 %)")
    if t.sum() <= 0:
        problems.append("test_counts sum to 0: no test incident in the study area")
    report_problems(problems, source="pai")
    return s, a, t


def pai(
    scores: np.ndarray, cell_area: float | np.ndarray, test_counts: np.ndarray, share: float
) -> float:
    """Predictive Accuracy Index (Chainey, Tompson & Uhlig 2008).

    PAI = (share of test incidents in the flagged cells) / (share of the area flagged), the
    flagged cells being the highest-scoring ones covering ``share`` of the study area.

    Parameters
    ----------
    scores
        Score per study cell (any shape; cells outside the study area must not be passed).
    cell_area
        Area of each cell (scalar or same shape as ``scores``).
    test_counts
        Held-out incidents per cell.
    share
        Fraction of the study area flagged (0.05 for 5 %).

    Returns
    -------
    float
        PAI; 1 is a uniform guess.
    """
    s, a, t = _metric_inputs(scores, cell_area, test_counts, share)
    return _flag_share(s, a, t, share) / share


def pei(
    scores: np.ndarray, cell_area: float | np.ndarray, test_counts: np.ndarray, share: float
) -> float:
    """Predictive Efficiency Index (Hunt 2016): PAI / the best PAI possible for that area.

    The best possible flags the cells with the most test incidents per unit area.

    Parameters
    ----------
    scores, cell_area, test_counts, share
        As for :func:`pai`.

    Returns
    -------
    float
        In [0, 1].
    """
    s, a, t = _metric_inputs(scores, cell_area, test_counts, share)
    best = _flag_share(t / a, a, t, share)
    return _flag_share(s, a, t, share) / best if best > 0 else float("nan")


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


# --------------------------------------------------------------------------- grid sizing, planar check
#: Most cells a hotspot grid may have: 4 M cells is 32 MB per float64 layer, and the default
#: method's inner validation holds a few layers at once.
MAX_CELLS = 4_000_000
_NICE_CELLS_M = (
    10.0,
    15.0,
    20.0,
    25.0,
    30.0,
    40.0,
    50.0,
    75.0,
    100.0,
    150.0,
    200.0,
    250.0,
    300.0,
    400.0,
    500.0,
    750.0,
    1000.0,
)


def check_planar(xy: np.ndarray, bounds: tuple[float, float, float, float] | None = None) -> None:
    """Raise when positions or bounds look like lon/lat degrees instead of projected metres.

    Points all within lon -180..180 / lat -90..90 spread over less than 1 (metre) in both
    directions, or bounds of at most 5 units, would give a 1 x 1 grid: the planar methods
    need metres (project with ``to_crs``, e.g. the town's UTM zone).
    """
    arr = np.asarray(xy, dtype=float).reshape(-1, 2)
    fin = arr[np.isfinite(arr).all(axis=1)]
    in_deg = len(fin) >= 2 and (np.abs(fin[:, 0]) <= 180).all() and (np.abs(fin[:, 1]) <= 90).all()
    if (
        in_deg
        and np.ptp(fin[:, 0]) < 1.0
        and np.ptp(fin[:, 1]) < 1.0
        and np.ptp(fin, axis=0).max() > 0
    ):
        raise InputError(
            f"xy: the {len(fin)} points lie within 1 unit of each other inside the lon/lat range "
            f"(first: {fin[0, 0]:.5f}, {fin[0, 1]:.5f}): they look like WGS84 degrees, but the planar "
            "methods need projected metres; project them first (e.g. GeoSeries.to_crs to the "
            "town's UTM zone)"
        )
    if bounds is not None and len(bounds) == 4 and all(np.isfinite(b) for b in bounds):
        xmin, ymin, xmax, ymax = (float(b) for b in bounds)
        if (
            max(abs(xmin), abs(xmax)) <= 180
            and max(abs(ymin), abs(ymax)) <= 90
            and 0 < xmax - xmin <= 5
            and 0 < ymax - ymin <= 5
            and not (xmin == int(xmin) and ymin == int(ymin) and xmax == int(xmax))
        ):
            raise InputError(
                f"bounds={bounds!r}: they look like lon/lat degrees; the planar methods need projected "
                "metres (xmin, ymin, xmax, ymax)"
            )


def grid_cell_m(
    bounds: tuple[float, float, float, float],
    n_incidents: int,
    *,
    area_m2: float | None = None,
    cell_m: float | None = None,
    max_cells: int = MAX_CELLS,
) -> float:
    """The cell side of a hotspot grid sized to the study area.

    Without ``cell_m``, the side is :math:`\\sqrt{A / n}` (one incident per cell on average
    over the study area :math:`A`; fine where incidents are many, coarse where they are
    few), rounded to a round size between 10 m and 1 km. Either way, a side that would give
    more than ``max_cells`` cells over ``bounds`` is enlarged to the smallest round size that
    fits (logged as a warning), so that no grid fails or runs out of memory.

    Parameters
    ----------
    bounds
        Grid bounds ``(xmin, ymin, xmax, ymax)``, metres.
    n_incidents
        Number of incidents the grid is made from.
    area_m2
        Study area, m² (default: the bounds' area).
    cell_m
        The side asked for (``None``: chosen as above).
    max_cells
        Most cells allowed.

    Returns
    -------
    float
        Cell side, metres.
    """
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    w, h = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
    if cell_m is None:
        a = area_m2 if area_m2 and area_m2 > 0 else w * h
        raw = math.sqrt(a / max(n_incidents, 1))
        cell = next((c for c in _NICE_CELLS_M if c >= raw * 0.85), _NICE_CELLS_M[-1])
        logger.info(
            "grid_cell_m: %.0f m cells for %d incidents over %.1f km² (one incident per cell on average)",
            cell,
            n_incidents,
            a / 1e6,
        )
    else:
        cell = float(cell_m)
    need = math.sqrt(w * h / max_cells)
    if cell < need:
        fitted = next((c for c in _NICE_CELLS_M if c >= need), math.ceil(need))
        logger.warning(
            "grid_cell_m: %.0f m cells over %.1f x %.1f km would make %.1f M cells (more than %.1f M); "
            "using %.0f m cells",
            cell,
            w / 1000,
            h / 1000,
            w * h / cell**2 / 1e6,
            max_cells / 1e6,
            fitted,
        )
        cell = float(fitted)
    return cell


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
    return (
        cg
        + alpha
        * kde_grid(
            xy, w, bounds=bounds, cell_m=cell_m, bandwidth_m=bandwidth_m, window=window
        ).values
    )


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
    """The project's default hotspot surface: count grid plus a narrow kernel, tuned on training data.

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
    differences are often within noise). Candidates: :math:`\\tau \\in \\{\\infty, T/2, T/4\\}` (T the training span),
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
    xy = _check_xy(xy)
    if len(xy) == 0:
        raise InputError("xy: no training incident; a hotspot surface needs at least one")
    cw = _check_weight(weight, len(xy))
    rows, cols, transform = _grid_shape(bounds, cell_m)
    bws = sorted({max(b, 1.5 * cell_m) for b in _DEFAULT_BANDWIDTHS_M})
    if times is not None:
        age, span = _ages_days(times, reference_time)
        hold = age <= 0.25 * span if span > 0 else np.zeros(len(xy), bool)
        half_lives = [None] + [f * span for f in _DEFAULT_HALF_LIVES[1:] if span > 0]
    else:
        age, span = np.zeros(len(xy)), 0.0
        rng = np.random.default_rng(seed)
        hold = rng.random(len(xy)) < 0.25
        half_lives = [None]
    chosen = {
        "alpha": 0.3,
        "bandwidth_m": max(150.0, 1.5 * cell_m),
        "half_life_days": None,
        "inner_pai5": None,
    }
    if hold.sum() >= 20 and (~hold).sum() >= 20:
        grid0 = DensityGrid(
            np.zeros((rows, cols)), transform, float(cell_m), 0.0, "count_grid", window
        )
        if area is None:
            area = shapely.convex_hull(shapely.multipoints(xy))
        mask = grid_mask(grid0, area) if area.area > 0 else np.ones((rows, cols), bool)
        val_counts = _bin_simple(xy[hold], cw[hold], transform, rows, cols)[mask]
        if val_counts.sum() > 0:
            fit_xy, fit_w = xy[~hold], cw[~hold]
            fit_age = age[~hold] - (age[~hold].min() if times is not None else 0.0)
            results = []  # (key, (half_life, bandwidth, alpha))
            for hl in half_lives:
                w = _times(_decay(fit_age, hl), fit_w)
                cg = count_grid(fit_xy, w, bounds=bounds, cell_m=cell_m).values[mask]
                for bw in bws:
                    kd = kde_grid(fit_xy, w, bounds=bounds, cell_m=cell_m, bandwidth_m=bw).values[
                        mask
                    ]
                    for a in _DEFAULT_ALPHAS:
                        if a == 0 and bw != bws[0]:
                            continue
                        s = cg + a * kd
                        p = _flag_shares_equal(s, val_counts, (0.01, 0.05, 0.10))
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
            chosen = {
                "alpha": a,
                "bandwidth_m": bw,
                "half_life_days": hl,
                "inner_pai5": best_key[0],
            }
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
    logger.info(
        "default_grid: alpha=%s, bandwidth %.0f m, half-life %s days (inner PAI@5%% %s) on %d incidents",
        chosen["alpha"],
        chosen["bandwidth_m"],
        "none" if chosen["half_life_days"] is None else f"{chosen['half_life_days']:.0f}",
        chosen["inner_pai5"],
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
        Kernel bandwidth for ``kde`` (None: :func:`bandwidth_rule`) or ``near_repeat`` (None: 400 m).
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
                "train_time: method 'near_repeat' needs incident times; give train_time or choose another method"
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


# --------------------------------------------------------------------------- streets
def _check_lines(edges: gpd.GeoDataFrame, name: str = "edges") -> np.ndarray:
    if not isinstance(edges, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise InputError(
            f"{name}: expected a GeoDataFrame of projected LineStrings, got {type(edges).__name__}"
        )
    geoms = np.asarray(edges.geometry if isinstance(edges, gpd.GeoDataFrame) else edges)
    problems = []
    kinds = shapely.get_type_id(geoms)
    bad = np.flatnonzero(kinds != 1)
    if len(bad):
        problems.append(
            f"{len(bad)} geometries are not LineStrings (first rows: {bad[:5].tolist()}); explode MultiLineStrings first"
        )
    crs = edges.crs
    if crs is not None and not crs.is_projected:
        problems.append(
            f"CRS {crs.to_string()} is not projected; reproject to a metric CRS (e.g. UTM) with to_crs"
        )
    report_problems(problems, source=name)
    return geoms


def street_points(
    edges: gpd.GeoDataFrame, *, spacing_m: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """Demand points along streets, at most ``spacing_m`` apart along each street.

    Each street is cut into ``ceil(length / spacing_m)`` equal pieces and their ends are
    returned; points that coincide (shared nodes) are kept once, with the first street.

    Parameters
    ----------
    edges
        Projected LineStrings (e.g. ``ox.graph_to_gdfs(G, nodes=False)``).
    spacing_m
        Largest distance between consecutive points along a street, metres.

    Returns
    -------
    xy : numpy.ndarray
        ``(m, 2)`` points, metres.
    edge_index : numpy.ndarray
        ``(m,)`` position (0-based row number) in ``edges`` of the street each point lies on.
    """
    if not spacing_m > 0:
        raise InputError(f"spacing_m={spacing_m!r}: a positive number of metres is required")
    geoms = _check_lines(edges)
    if len(geoms) == 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    lengths = shapely.length(geoms)
    n = np.maximum(1, np.ceil(lengths / spacing_m - 1e-9)).astype(np.int64)
    edge_index = np.repeat(np.arange(len(geoms)), n + 1)
    starts = np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)
    k = np.arange(edge_index.size) - starts
    dist = lengths[edge_index] * k / n[edge_index]
    pts = shapely.line_interpolate_point(geoms[edge_index], dist)
    xy = shapely.get_coordinates(pts)
    _, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    first = np.sort(first)
    logger.info(
        "street_points returned %d points every <= %.0f m on %d streets",
        len(first),
        spacing_m,
        len(geoms),
    )
    return xy[first], edge_index[first]


def lixelize(edges: gpd.GeoDataFrame, *, lixel_m: float = 10.0) -> gpd.GeoDataFrame:
    """Cut streets into lixels: equal pieces at most ``lixel_m`` long (Okabe & Sugihara 2012).

    Parameters
    ----------
    edges
        Projected LineStrings.
    lixel_m
        Longest lixel, metres.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per lixel with ``edge_index`` (row number in ``edges``), ``lixel`` (order
        along the street), ``length`` (m), ``from_vertex`` and ``to_vertex`` (ids of the lixel
        ends, shared between touching lixels) and the LineString geometry; same CRS as ``edges``.
    """
    if not lixel_m > 0:
        raise InputError(f"lixel_m={lixel_m!r}: a positive number of metres is required")
    geoms = _check_lines(edges)
    out_geoms, out_edge, out_k = [], [], []
    for i, line in enumerate(geoms):
        coords = shapely.get_coordinates(line)
        seg = np.hypot(*np.diff(coords, axis=0).T)
        cum = np.r_[0.0, np.cumsum(seg)]
        total = cum[-1]
        if total <= 0:
            continue
        n = max(1, math.ceil(total / lixel_m - 1e-9))
        cuts = np.linspace(0.0, total, n + 1)
        cut_xy = np.column_stack(
            [np.interp(cuts, cum, coords[:, 0]), np.interp(cuts, cum, coords[:, 1])]
        )
        for k in range(n):
            inner = np.flatnonzero((cum > cuts[k]) & (cum < cuts[k + 1]))
            piece = np.vstack([cut_xy[k], coords[inner], cut_xy[k + 1]])
            out_geoms.append(piece)
            out_edge.append(i)
            out_k.append(k)
    if out_geoms:
        sizes = np.array([len(g) for g in out_geoms])
        lines = shapely.linestrings(
            np.vstack(out_geoms), indices=np.repeat(np.arange(len(out_geoms)), sizes)
        )
    else:
        lines = np.array([], dtype=object)
    ends = (
        np.vstack([np.array([g[0] for g in out_geoms]), np.array([g[-1] for g in out_geoms])])
        if out_geoms
        else np.zeros((0, 2))
    )
    _, vid = np.unique(np.round(ends, 3), axis=0, return_inverse=True)
    vid = vid.ravel()
    m = len(out_geoms)
    lix = gpd.GeoDataFrame(
        {
            "edge_index": np.asarray(out_edge, dtype=np.int64),
            "lixel": np.asarray(out_k, dtype=np.int64),
            "length": shapely.length(lines),
            "from_vertex": vid[:m].astype(np.int64),
            "to_vertex": vid[m:].astype(np.int64),
        },
        geometry=lines,
        crs=edges.crs,
    )
    logger.info("lixelize returned %d lixels of <= %.0f m from %d streets", m, lixel_m, len(geoms))
    return lix


def network_kde(
    edges: gpd.GeoDataFrame,
    xy: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    lixel_m: float = 10.0,
    bandwidth_m: float = 100.0,
    window: str = "all",
) -> gpd.GeoDataFrame:
    """Network-constrained kernel density on lixels.

    Each incident is snapped to its nearest lixel and spreads
    :math:`K(d) = \\frac{15}{16h}(1 - d^2/h^2)^2` (:math:`d < h`) over the lixels whose centres
    are within network distance :math:`h` of its lixel's centre (Xie & Yan 2008; lixels after
    Okabe & Sugihara 2012). This "simple" network kernel integrates to one on a straight
    street; at junctions it counts each branch fully (Okabe's equal-split kernels would divide
    it), which is acceptable for ranking segments.

    Parameters
    ----------
    edges
        Projected street LineStrings.
    xy
        ``(n, 2)`` incident positions, metres, same CRS.
    weight
        Optional weight per incident.
    lixel_m
        Longest lixel, metres.
    bandwidth_m
        Kernel reach :math:`h` along the network, metres.
    window
        Name of the time window (stored in column ``window``).

    Returns
    -------
    geopandas.GeoDataFrame
        :func:`lixelize`'s lixels plus ``count`` (weight of incidents snapped to the lixel),
        ``intensity`` (incidents per km of street) and ``window``.
    """
    from scipy.sparse.csgraph import dijkstra

    if not bandwidth_m > 0:
        raise InputError(f"bandwidth_m={bandwidth_m!r}: a positive number of metres is required")
    xy = _check_xy(xy)
    w = _check_weight(weight, len(xy))
    lix = lixelize(edges, lixel_m=lixel_m)
    L = len(lix)
    if L == 0:
        raise InputError("edges: no street of positive length to build lixels on")
    geoms = np.asarray(lix.geometry)
    tree = shapely.STRtree(geoms)
    nearest = tree.nearest(shapely.points(xy)) if len(xy) else np.zeros(0, dtype=np.int64)
    count = np.bincount(nearest, weights=w, minlength=L)
    half = lix["length"].to_numpy() / 2.0
    fv, tv = lix["from_vertex"].to_numpy(), lix["to_vertex"].to_numpy()
    V = int(max(fv.max(), tv.max())) + 1
    graph = sparse.coo_matrix(
        (np.r_[2 * half, 2 * half], (np.r_[fv, tv], np.r_[tv, fv])), shape=(V, V)
    ).tocsr()
    src = np.flatnonzero(count > 0)
    intensity = np.zeros(L)
    h = float(bandwidth_m)
    chunk = max(1, int(2e7 // max(V, 1)))
    for s0 in range(0, len(src), chunk):
        s = src[s0 : s0 + chunk]
        ends = np.r_[fv[s], tv[s]]
        D = dijkstra(graph, directed=False, indices=ends, limit=h + 2 * half.max() + 1e-9)
        Df, Dt = D[: len(s)], D[len(s) :]
        best = np.minimum(np.minimum(Df[:, fv], Df[:, tv]), np.minimum(Dt[:, fv], Dt[:, tv]))
        dist = half[s][:, None] + best + half[None, :]
        dist[np.arange(len(s)), s] = 0.0
        kern = np.where(dist < h, 15.0 / (16.0 * h) * (1.0 - (dist / h) ** 2) ** 2, 0.0)
        intensity += count[s] @ kern
    lix["count"] = count
    lix["intensity"] = intensity * 1000.0
    lix["window"] = window
    logger.info("network_kde: %d incidents on %d lixels (bandwidth %.0f m)", len(xy), L, h)
    return lix


def gi_star(lixels: gpd.GeoDataFrame, *, value_col: str, distance_m: float) -> pd.Series:
    """Getis-Ord Gi* z-score of each lixel (or any feature) on a binary distance band.

    Neighbours of feature *i* are the features whose centre (middle of a line, centroid
    otherwise) lies within ``distance_m`` of its own, *i* included (:math:`w_{ii}=1`). The z-score
    follows the formula in the module docstring (Ord & Getis 1995), equal to
    ``esda.G_Local(y, w, star=True, transform="B").Zs``. With many tests, compare z with a
    false-discovery-rate threshold rather than 1.96.

    Parameters
    ----------
    lixels
        Features with a value column (e.g. :func:`network_kde`'s ``count``).
    value_col
        The column holding the values.
    distance_m
        Distance band, metres.

    Returns
    -------
    pandas.Series
        ``gi_star_z`` on the same index as ``lixels`` (NaN if all values are equal).
    """
    problems = []
    if value_col not in lixels.columns:
        problems.append(
            f"value_col={value_col!r}: no such column; columns are {list(lixels.columns)[:10]}"
        )
    if not distance_m > 0:
        problems.append(f"distance_m={distance_m!r}: a positive number of metres is required")
    report_problems(problems, source="gi_star")
    x = lixels[value_col].to_numpy(dtype=float)
    geoms = np.asarray(lixels.geometry)
    is_line = shapely.get_type_id(geoms) == 1
    pts = np.where(
        is_line,
        shapely.line_interpolate_point(geoms, 0.5, normalized=True),
        shapely.centroid(geoms),
    )
    c = shapely.get_coordinates(pts)
    n = len(x)
    W = cKDTree(c).sparse_distance_matrix(cKDTree(c), distance_m, output_type="coo_matrix").tocsr()
    W.data[:] = 1.0
    W = (W + sparse.identity(n, format="csr")).minimum(1.0).tocsr()
    wi = np.asarray(W.sum(axis=1)).ravel()
    s1 = np.asarray(W.multiply(W).sum(axis=1)).ravel()
    mean = x.mean()
    s = math.sqrt(max((x**2).mean() - mean**2, 0.0))
    denom = s * np.sqrt(np.maximum(n * s1 - wi**2, 0.0) / (n - 1)) if n > 1 else np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denom > 0, (W @ x - mean * wi) / denom, np.nan)
    logger.info(
        "gi_star: %d features, distance band %.0f m, %d with z > 1.96",
        n,
        distance_m,
        int(np.nansum(z > 1.96)),
    )
    return pd.Series(z, index=lixels.index, name="gi_star_z")
