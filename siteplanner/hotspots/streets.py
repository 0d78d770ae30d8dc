"""Hotspots along streets: demand points, lixels, network kernel density and Getis-Ord Gi*.

The formulas and references are in :mod:`siteplanner.hotspots.forecast` (its docstring). Streets are
projected LineStrings (a GeoDataFrame in a metric CRS); incidents are ``(n, 2)`` arrays of
x, y in metres in the same CRS.
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from siteplanner._errors import InputError, report_problems
from siteplanner.hotspots.grids import check_weight, check_xy

logger = logging.getLogger(__name__)

__all__ = ["gi_star", "lixel_density", "lixelize", "network_kde", "street_points"]


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
            f"{len(bad)} geometries are not LineStrings (first rows: {bad[:5].tolist()}); "
            "explode MultiLineStrings first"
        )
    crs = edges.crs
    if crs is not None and not crs.is_projected:
        problems.append(
            f"CRS {crs.to_string()} is not projected; reproject to a metric CRS (e.g. UTM) "
            "with to_crs"
        )
    report_problems(problems, source=name)
    return geoms


def street_points(
    edges: gpd.GeoDataFrame, *, spacing_m: float = 10.0, keep_shared: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Demand points along streets, at most ``spacing_m`` apart along each street.

    Each street is cut into ``ceil(length / spacing_m)`` equal pieces and their ends are
    returned; points that coincide (shared nodes) are kept once, with the first street
    (``keep_shared=True``: once per street, e.g. to average a surface along each street).

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
    if keep_shared:
        return xy, edge_index
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
    xy_all, which = shapely.get_coordinates(geoms, return_index=True)
    bounds = np.r_[0, np.cumsum(np.bincount(which, minlength=len(geoms)))]
    for i in range(len(geoms)):
        coords = xy_all[bounds[i] : bounds[i + 1]]
        seg = np.hypot(*np.diff(coords, axis=0).T)
        cum = np.r_[0.0, np.cumsum(seg)]
        total = cum[-1]
        if total <= 0:
            continue
        n = max(1, math.ceil(total / lixel_m - 1e-9))
        if n == 1:  # the whole street: its vertices strictly between its ends
            mid = (cum > 0.0) & (cum < total)
            out_geoms.append(np.concatenate([coords[:1], coords[mid], coords[-1:]]))
            out_edge.append(i)
            out_k.append(0)
            continue
        cuts = np.linspace(0.0, total, n + 1)
        cut_xy = np.column_stack(
            [np.interp(cuts, cum, coords[:, 0]), np.interp(cuts, cum, coords[:, 1])]
        )
        # the vertices strictly between two cuts (cum does not decrease)
        lo = np.searchsorted(cum, cuts, side="right")
        hi = np.searchsorted(cum, cuts, side="left")
        for k in range(n):
            out_geoms.append(
                np.concatenate(
                    [cut_xy[k : k + 1], coords[lo[k] : hi[k + 1]], cut_xy[k + 1 : k + 2]]
                )
            )
            out_edge.append(i)
            out_k.append(k)
    if out_geoms:
        sizes = np.array([len(g) for g in out_geoms])
        flat = np.vstack(out_geoms)
        lines = shapely.linestrings(flat, indices=np.repeat(np.arange(len(out_geoms)), sizes))
        first = np.cumsum(sizes) - sizes
        ends = np.vstack([flat[first], flat[first + sizes - 1]])
    else:
        lines = np.array([], dtype=object)
        ends = np.zeros((0, 2))
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
    if not bandwidth_m > 0:
        raise InputError(f"bandwidth_m={bandwidth_m!r}: a positive number of metres is required")
    xy = check_xy(xy)
    w = check_weight(weight, len(xy))
    lix = lixelize(edges, lixel_m=lixel_m)
    L = len(lix)
    if L == 0:
        raise InputError("edges: no street of positive length to build lixels on")
    geoms = np.asarray(lix.geometry)
    tree = shapely.STRtree(geoms)
    nearest = tree.nearest(shapely.points(xy)) if len(xy) else np.zeros(0, dtype=np.int64)
    count = np.bincount(nearest, weights=w, minlength=L)
    intensity = lixel_density(lix, count, bandwidth_m=bandwidth_m)
    lix["count"] = count
    lix["intensity"] = intensity * 1000.0
    lix["window"] = window
    logger.info(
        "network_kde: %d incidents on %d lixels (bandwidth %.0f m)", len(xy), L, bandwidth_m
    )
    return lix


def lixel_density(lix: gpd.GeoDataFrame, count: np.ndarray, *, bandwidth_m: float) -> np.ndarray:
    """The network kernel of :func:`network_kde` on lixels already cut, per metre of street.

    Parameters
    ----------
    lix
        :func:`lixelize`'s lixels (``length``, ``from_vertex``, ``to_vertex``).
    count
        The (weighted) incidents snapped to each lixel.
    bandwidth_m
        Kernel reach :math:`h` along the network, metres.

    Returns
    -------
    numpy.ndarray
        :math:`\\sum_j c_j K(d_{ij})` per lixel (incidents per metre).
    """
    return lixel_densities(lix, np.asarray(count, float)[None, :], [bandwidth_m])[0]


def lixel_densities(
    lix: gpd.GeoDataFrame, counts: np.ndarray, bandwidths_m: list[float] | np.ndarray
) -> np.ndarray:
    """:func:`lixel_density` of several fits at once (one walk of the network per source).

    ``counts`` is ``(fits, lixels)``, ``bandwidths_m`` one bandwidth per fit; returns
    ``(fits, lixels)``. Each source lixel (a lixel with incidents in any fit) explores the
    network once, up to the widest bandwidth, in compiled code
    (:func:`siteplanner.hotspots._reach.kernel_sums`).
    """
    from siteplanner.hotspots._reach import kernel_sums

    counts = np.atleast_2d(np.asarray(counts, float))
    h = np.asarray(bandwidths_m, float)
    L = len(lix)
    half = lix["length"].to_numpy(float) / 2.0
    fv, tv = lix["from_vertex"].to_numpy(np.int64), lix["to_vertex"].to_numpy(np.int64)
    V = int(max(fv.max(), tv.max())) + 1
    graph = sparse.coo_matrix(
        (np.r_[2 * half, 2 * half], (np.r_[fv, tv], np.r_[tv, fv])), shape=(V, V)
    ).tocsr()
    # the lixels at each vertex (both ends), to reach lixels from the vertices within reach
    at_vertex = sparse.csr_matrix(
        (np.ones(2 * L), (np.r_[fv, tv], np.r_[np.arange(L), np.arange(L)])), shape=(V, L)
    )
    src = np.flatnonzero((counts > 0).any(axis=0))
    return kernel_sums(
        graph.indptr.astype(np.int64),
        graph.indices.astype(np.int64),
        graph.data.astype(np.float64),
        at_vertex.indptr.astype(np.int64),
        at_vertex.indices.astype(np.int64),
        half,
        fv,
        tv,
        src.astype(np.int64),
        np.ascontiguousarray(counts[:, src]),
        h,
    )


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
