"""Planar hotspot grids: the surface type, binning, count/kernel/near-repeat grids, sizing.

The formulas and references are in :mod:`siteplanner.hotspots.forecast` (its docstring); this module
holds the grid machinery those methods share: :class:`DensityGrid`, the input checks, the
binning of points onto cells, :func:`count_grid`, :func:`kde_grid` (its values alone, unlogged:
:func:`kde_values`), :func:`near_repeat_grid`, :func:`sample_grid`, :func:`grid_mask`, and the
sizing of a grid to its study area (:func:`grid_cell_m`, :func:`check_planar`). Positions are
``(n, 2)`` arrays of projected x, y in metres.
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

from siteplanner._errors import InputError, report_problems

logger = logging.getLogger(__name__)

__all__ = [
    "DensityGrid",
    "MAX_CELLS",
    "bandwidth_rule",
    "bin_simple",
    "cell_index",
    "check_planar",
    "check_weight",
    "check_xy",
    "count_grid",
    "grid_cell_m",
    "grid_mask",
    "grid_shape",
    "kde_grid",
    "kde_values",
    "near_repeat_grid",
    "sample_grid",
]


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
        The method that produced it (one of :data:`siteplanner.hotspots.forecast.METHODS`).
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
def check_xy(xy: np.ndarray, name: str = "xy") -> np.ndarray:
    arr = np.asarray(xy, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputError(
            f"{name}: expected an (n, 2) array of projected x, y in metres, got shape {arr.shape}"
        )
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise InputError(
            f"{name}: {int(bad.sum())} row(s) with missing or infinite coordinates "
            f"(first: {rows}); drop them first"
        )
    return arr


def check_weight(weight: np.ndarray | None, n: int) -> np.ndarray:
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


def grid_shape(bounds: tuple[float, float, float, float], cell_m: float) -> tuple[int, int, Affine]:
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
            f"grid: {rows} x {cols} cells at cell_m={cell_m} is too large; use a larger cell_m "
            "or smaller bounds (grid_cell_m chooses a cell that fits)"
        )
    return rows, cols, Affine(cell_m, 0.0, xmin, 0.0, -cell_m, ymax)


def cell_index(
    xy: np.ndarray, transform: Affine, rows: int, cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cell = transform.a
    col = np.floor((xy[:, 0] - transform.c) / cell).astype(np.int64)
    row = np.floor((transform.f - xy[:, 1]) / cell).astype(np.int64)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    return row, col, inside


def bin_simple(
    xy: np.ndarray, w: np.ndarray, transform: Affine, rows: int, cols: int
) -> np.ndarray:
    row, col, inside = cell_index(xy, transform, rows, cols)
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
    # imported here: scipy.signal (and the scipy.stats it imports) takes 0.4 s to import, which
    # the commands that read the demand from the step cache (validate, a warm run) do not need
    from scipy.signal import fftconvolve

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
    xy = check_xy(xy)
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
    xy = check_xy(xy)
    w = check_weight(weight, len(xy))
    rows, cols, transform = grid_shape(bounds, cell_m)
    counts = bin_simple(xy, w, transform, rows, cols)
    return DensityGrid(
        counts / (cell_m * cell_m / 1e6), transform, float(cell_m), 0.0, "count_grid", window
    )


def kde_values(
    xy: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    bounds: tuple[float, float, float, float],
    cell_m: float = 10.0,
    bandwidth_m: float,
    kernel: str = "quartic",
) -> np.ndarray:
    """The values of :func:`kde_grid` for a given bandwidth, without its log line.

    For loops that score many surfaces (the default method's inner validation): they log
    each surface at DEBUG and one summary line themselves.

    Parameters
    ----------
    xy, weight, bounds, cell_m, kernel
        As for :func:`kde_grid`.
    bandwidth_m
        Quartic radius (or Gaussian standard deviation), metres, > 0.

    Returns
    -------
    numpy.ndarray
        ``(rows, cols)`` weight per km², as :attr:`DensityGrid.values` of :func:`kde_grid`.
    """
    xy = check_xy(xy)
    w = check_weight(weight, len(xy))
    rows, cols, transform = grid_shape(bounds, cell_m)
    if not bandwidth_m > 0:
        raise InputError(
            f"bandwidth_m={bandwidth_m!r}: a positive number of metres (or None for the rule) "
            "is required"
        )
    raster = _bin_linear(xy, w, transform, rows, cols)
    return _convolve(raster, _kernel_stamp(float(bandwidth_m), float(cell_m), kernel)) / (
        cell_m * cell_m / 1e6
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
    """Planar kernel density on a grid, by FFT convolution (one INFO line per grid).

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
    xy = check_xy(xy)
    check_weight(weight, len(xy))
    rows, cols, transform = grid_shape(bounds, cell_m)
    rule = bandwidth_m is None
    if rule:
        bandwidth_m = bandwidth_rule(xy)
    dens = kde_values(
        xy, weight, bounds=bounds, cell_m=cell_m, bandwidth_m=bandwidth_m, kernel=kernel
    )
    logger.info(
        "kde_grid returned a %d x %d grid (cell %.0f m, bandwidth %.0f m%s) from %d points",
        rows,
        cols,
        cell_m,
        bandwidth_m,
        " by Scott's rule" if rule else "",
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
    xy = check_xy(xy)
    t = pd.to_datetime(pd.Series(times).reset_index(drop=True))
    if len(t) != len(xy):
        raise InputError(f"times: {len(t)} values for {len(xy)} points; give one time per incident")
    ref = t.max() if reference_time is None else pd.Timestamp(reference_time)
    age_days = ((ref - t).dt.total_seconds() / 86400.0).to_numpy()
    keep = np.isfinite(age_days) & (age_days >= 0) & (age_days <= time_window_days)
    rows, cols, transform = grid_shape(bounds, cell_m)
    weeks = np.floor(age_days[keep] / 7.0).astype(int)
    k = int(math.floor(bandwidth_m / cell_m))
    off = np.arange(-k, k + 1) * cell_m
    dx, dy = np.meshgrid(off, off)
    d = np.hypot(dx, dy)
    spatial = np.where(d <= bandwidth_m, 1.0 / (1.0 + d / cell_m), 0.0)
    risk = np.zeros((rows, cols))
    for wk in np.unique(weeks):
        sel = weeks == wk
        raster = bin_simple(xy[keep][sel], np.ones(int(sel.sum())), transform, rows, cols)
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
    xy = check_xy(xy)
    rows, cols = grid.values.shape
    if method == "nearest":
        row, col, inside = cell_index(xy, grid.transform, rows, cols)
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
            "area: expected a non-empty shapely polygon in the grid's CRS, "
            f"got {type(area).__name__}"
        )
    c = grid.cell_centres()
    return shapely.contains_xy(area, c[:, 0], c[:, 1]).reshape(grid.values.shape)


# ------------------------------------------------------------ grid sizing, planar check
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
            f"(first: {fin[0, 0]:.5f}, {fin[0, 1]:.5f}): they look like WGS84 degrees, "
            "but the planar methods need projected metres; project them first "
            "(e.g. GeoSeries.to_crs to the "
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
                f"bounds={bounds!r}: they look like lon/lat degrees; the planar methods need "
                "projected metres (xmin, ymin, xmax, ymax)"
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
            "grid_cell_m: %.0f m cells for %d incidents over %.1f km² "
            "(one incident per cell on average)",
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
            "grid_cell_m: %.0f m cells over %.1f x %.1f km would make %.1f M cells "
            "(more than %.1f M); using %.0f m cells",
            cell,
            w / 1000,
            h / 1000,
            w * h / cell**2 / 1e6,
            max_cells / 1e6,
            fitted,
        )
        cell = float(fitted)
    return cell
