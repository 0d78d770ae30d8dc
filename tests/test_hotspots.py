"""Tests of siteplanner.hotspots on hand-built data whose answer is known exactly."""

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from shapely.geometry import LineString, box

from siteplanner._errors import InputError
from siteplanner.hotspots import forecast as H
from siteplanner.hotspots.grids import (
    DensityGrid,
    bandwidth_rule,
    count_grid,
    grid_mask,
    kde_grid,
    near_repeat_grid,
    sample_grid,
)
from siteplanner.hotspots.metrics import pai, pei
from siteplanner.hotspots.streets import gi_star, lixelize, network_kde, street_points

BOUNDS = (0.0, 0.0, 1000.0, 1000.0)


# ----------------------------------------------------------------- planar densities
def test_kde_integrates_to_total_weight_and_peaks_at_the_point():
    xy = np.array([[505.0, 495.0], [505.0, 495.0], [205.0, 805.0]])
    w = np.array([1.0, 2.0, 0.5])
    g = kde_grid(xy, w, bounds=BOUNDS, cell_m=10.0, bandwidth_m=100.0)
    assert g.values.shape == (100, 100)
    assert g.values.sum() * (10 * 10) / 1e6 == pytest.approx(3.5, rel=1e-9)
    row, col = np.unravel_index(np.argmax(g.values), g.values.shape)
    assert (row, col) == (50, 50)  # cell centred on (505, 495): col 50, row (1000-495)//10 = 50
    assert g.bandwidth_m == 100.0 and g.method == "kde" and g.window == "all"
    # quartic kernel reaches exactly 100 m: nothing 110 m east of the lone point at (205, 805)
    assert g.values[19, 31] == 0.0 and g.values[19, 29] > 0.0


def test_kde_point_between_cells_is_shared_symmetrically():
    g = kde_grid(np.array([[500.0, 500.0]]), bounds=BOUNDS, cell_m=10.0, bandwidth_m=50.0)
    top = g.values[49:51, 49:51]
    assert np.allclose(top, top[0, 0]) and top[0, 0] == g.values.max()


def test_kde_gaussian_and_rule_bandwidth():
    rng = np.random.default_rng(0)
    xy = rng.normal(500.0, 50.0, size=(400, 2))
    h = bandwidth_rule(xy)
    # Scott: 2*sqrt(2) * s * n^(-1/6) with s ~ 50 m -> about 51.9 m
    assert h == pytest.approx(2 * math.sqrt(2) * 50 * 400 ** (-1 / 6), rel=0.1)
    g = kde_grid(xy, bounds=BOUNDS, cell_m=10.0, kernel="gaussian", bandwidth_m=30.0)
    assert g.values.sum() * 1e-4 == pytest.approx(400, rel=1e-6)
    g2 = kde_grid(xy, bounds=BOUNDS, cell_m=10.0)
    assert g2.bandwidth_m == pytest.approx(h)


def test_count_grid_counts_per_cell():
    xy = np.array([[5.0, 995.0], [15.0, 995.0], [15.0, 985.0], [999.0, 1.0], [2000.0, 2000.0]])
    g = count_grid(xy, bounds=BOUNDS, cell_m=100.0)
    counts = g.values * 0.01
    assert (
        counts[0, 0] == pytest.approx(3)
        and counts[9, 9] == pytest.approx(1)
        and counts.sum() == pytest.approx(4)
    )


def test_sample_grid_bilinear_and_nearest():
    g = DensityGrid(
        np.array([[0.0, 10.0], [20.0, 30.0]]),
        Affine(10, 0, 0, 0, -10, 20),
        10.0,
        0.0,
        "test",
        "all",
    )
    pts = np.array([[5.0, 15.0], [15.0, 5.0], [10.0, 10.0], [100.0, 100.0]])
    assert sample_grid(g, pts).tolist() == [0.0, 30.0, 15.0, 0.0]
    assert sample_grid(g, pts, method="nearest", fill=-1).tolist() == [0.0, 30.0, 30.0, -1.0]


def test_grid_mask_and_bounds():
    g = count_grid(np.array([[50.0, 50.0]]), bounds=BOUNDS, cell_m=100.0)
    m = grid_mask(g, box(0, 0, 500, 1000))
    assert m.sum() == 50 and m[:, :5].all() and not m[:, 5:].any()
    assert g.bounds == BOUNDS


def test_near_repeat_weights_recent_and_near():
    xy = np.array([[525.0, 525.0], [525.0, 525.0]])
    t = pd.Series(
        pd.to_datetime(["2023-01-29", "2022-06-01"])
    )  # second is out of the 60-day window
    g = near_repeat_grid(
        xy, t, bounds=BOUNDS, cell_m=50.0, reference_time=pd.Timestamp("2023-02-12")
    )
    # one incident 2 weeks old: weight 1/(1+2) at its cell; at 50 m, 1/(1+1) * 1/3
    assert g.values.max() == pytest.approx(1 / 3)
    row, col = np.unravel_index(np.argmax(g.values), g.values.shape)
    assert g.values[row, col + 1] == pytest.approx(1 / 6)
    assert g.values[row, col + 9] == 0.0  # 450 m > 400 m


def test_predict_methods_and_default_beats_nothing_silly():
    rng = np.random.default_rng(1)
    hot = rng.normal([250, 250], 20, size=(300, 2))
    cold = rng.uniform(0, 1000, size=(100, 2))
    xy = np.vstack([hot, cold])
    times = (
        pd.Series(pd.date_range("2022-01-01", periods=len(xy), freq="h"))
        .sample(frac=1, random_state=0)
        .reset_index(drop=True)
    )
    for m in H.METHODS:
        g = H.predict(m, xy, train_time=times, bounds=BOUNDS, cell_m=50.0)
        assert g.method == m and g.values.shape == (20, 20)
        row, col = np.unravel_index(np.argmax(g.values), g.values.shape)
        assert abs(col * 50 + 25 - 250) <= 75 and abs(975 - row * 50 - 250) <= 75
    d = H.predict("default", xy, bounds=BOUNDS, cell_m=50.0)
    assert set(d.params) >= {"alpha", "bandwidth_m", "half_life_days"}
    d2 = H.predict("default", xy, bounds=BOUNDS, cell_m=50.0)
    assert np.array_equal(d.values, d2.values)  # deterministic
    with pytest.raises(InputError, match="near_repeat"):
        H.predict("near_repeat", xy, bounds=BOUNDS)
    with pytest.raises(InputError, match="accepted values"):
        H.predict("magic", xy, bounds=BOUNDS)


def test_input_errors_name_the_argument():
    with pytest.raises(InputError, match="xy"):
        kde_grid(np.array([1.0, 2.0]), bounds=BOUNDS)
    with pytest.raises(InputError, match="bounds"):
        kde_grid(np.zeros((1, 2)), bounds=(0, 0, -1, 5))
    with pytest.raises(InputError, match="weight"):
        kde_grid(np.zeros((2, 2)), np.array([1.0, -1.0]), bounds=BOUNDS)


# ----------------------------------------------------------------- metrics
def test_pai_and_pei_on_a_hand_made_grid():
    scores = np.array([9.0, 8.0, 7.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    test = np.array([4.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.0, 3.0, 0.0, 0.0])
    # 10 % of 10 equal cells = the top cell: 4/10 of the incidents -> PAI 4
    assert pai(scores, 1.0, test, 0.10) == pytest.approx(4.0)
    # 20 %: cells 0, 1 -> 4/10 / 0.2 = 2; best possible: cells 0 and 7 -> 7/10 / 0.2 = 3.5
    assert pai(scores, 1.0, test, 0.20) == pytest.approx(2.0)
    assert pei(scores, 1.0, test, 0.20) == pytest.approx(2.0 / 3.5)
    # 50 %: cells 0-3 then one of the six tied zeros (expected 4 incidents / 6 cells)
    assert pai(scores, 1.0, test, 0.5) == pytest.approx((6 + 4 / 6) / 10 / 0.5)
    assert pai(np.zeros(10), 1.0, test, 0.3) == pytest.approx(1.0)  # uniform guess


def test_pai_uses_cell_areas():
    scores = np.array([3.0, 2.0, 1.0])
    area = np.array([1.0, 2.0, 7.0])
    test = np.array([5.0, 5.0, 0.0])
    assert pai(scores, area, test, 0.1) == pytest.approx(0.5 / 0.1)
    assert pai(scores, area, test, 0.3) == pytest.approx(1.0 / 0.3)


def test_pai_rejects_nan_and_empty():
    with pytest.raises(InputError, match="NaN"):
        pai(np.array([np.nan, 1.0]), 1.0, np.array([1.0, 1.0]), 0.5)
    with pytest.raises(InputError, match="sum to 0"):
        pai(np.array([2.0, 1.0]), 1.0, np.array([0.0, 0.0]), 0.5)


# ----------------------------------------------------------------- sharing
def test_suppress_small():
    counts = np.array([0, 1, 2, 3, 10])
    out = H.suppress_small(counts)
    assert np.isnan(out[:3]).all() and out[3:].tolist() == [3.0, 10.0]
    s = H.suppress_small(
        pd.Series(counts, index=list("abcde")),
        min_count=2,
        values=pd.Series([0.0, 0.1, 0.2, 0.3, 1.0], index=list("abcde")),
    )
    assert list(s.index) == list("abcde") and np.isnan(s["b"]) and s["c"] == 0.2
    with pytest.raises(InputError, match="min_count"):
        H.suppress_small(counts, min_count=0)


def test_shareable_counts_never_show_fewer_than_three():
    xy = np.array([[50.0, 950.0]] * 3 + [[250.0, 950.0]] * 2 + [[850.0, 50.0]])
    g = H.shareable_counts(xy, bounds=BOUNDS, cell_m=100.0)
    shown = g.values[np.isfinite(g.values)]
    assert shown.tolist() == [3.0] and g.window == "all"


# ----------------------------------------------------------------- streets
def _cross_streets():
    # a plus-shaped network: four 100 m arms meeting at (0, 0), plus a 25 m spur
    lines = [
        LineString([(0, 0), (100, 0)]),
        LineString([(0, 0), (-100, 0)]),
        LineString([(0, 0), (0, 100)]),
        LineString([(0, 0), (0, -50), (0, -100)]),
        LineString([(100, 0), (125, 0)]),
    ]
    return gpd.GeoDataFrame({"name": list("abcde")}, geometry=lines, crs="EPSG:32632")


def test_street_points_spacing_and_dedup():
    edges = _cross_streets()
    xy, idx = street_points(edges, spacing_m=30.0)
    # each 100 m arm: ceil(100/30)=4 pieces -> 5 points; spur: 1 piece -> 2 points;
    # shared: the centre (4 arms) and (100, 0) (arm a and the spur) -> 4*5 + 2 - 3 - 1 = 18
    assert len(xy) == 18 and len(np.unique(np.round(xy, 6), axis=0)) == 18
    assert idx.dtype.kind == "i" and set(idx.tolist()) <= set(range(5))
    # consecutive points along each street are at most 30 m apart
    for i, line in enumerate(edges.geometry):
        d = np.sort(
            shapely.line_locate_point(
                line, shapely.points(xy[shapely.distance(line, shapely.points(xy)) < 1e-6])
            )
        )
        assert d[0] == 0 and d[-1] == pytest.approx(line.length) and np.diff(d).max() <= 30.0 + 1e-9


def test_lixelize_lengths_and_shared_vertices():
    lix = lixelize(_cross_streets(), lixel_m=30.0)
    assert len(lix) == 4 * 4 + 1
    assert lix["length"].max() <= 30.0 + 1e-9 and lix["length"].sum() == pytest.approx(425.0)
    centre_vertex = lix.loc[(lix.edge_index == 0) & (lix.lixel == 0), "from_vertex"].item()
    touching = ((lix.from_vertex == centre_vertex) | (lix.to_vertex == centre_vertex)).sum()
    assert touching == 4


def test_network_kde_straight_street_integrates_to_one():
    edges = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (500, 0)]), LineString([(500, 0), (1000, 0)])],
        crs="EPSG:32632",
    )
    lix = network_kde(
        edges, np.array([[505.0, 3.0]]), lixel_m=10.0, bandwidth_m=100.0, window="nuit"
    )
    assert lix["count"].sum() == 1 and lix["window"].eq("nuit").all()
    # 1D quartic kernel discretised on 10 m lixels: mass ~ 1 (events per km * km)
    assert (lix.intensity * lix["length"] / 1000).sum() == pytest.approx(1.0, rel=0.02)
    peak = lix.loc[lix.intensity.idxmax()]
    assert peak.geometry.distance(shapely.Point(505, 0)) < 1e-6
    assert peak.intensity == pytest.approx(15 / 16 / 100 * 1000)
    far = lix.geometry.distance(shapely.Point(505, 0)) > 110
    assert (lix.loc[far, "intensity"] == 0).all()


def test_network_kde_follows_the_network_not_the_crow():
    # two parallel streets 20 m apart joined only 500 m away: density must not jump across
    edges = gpd.GeoDataFrame(
        geometry=[
            LineString([(0, 0), (500, 0)]),
            LineString([(500, 0), (500, 20)]),
            LineString([(500, 20), (0, 20)]),
        ],
        crs="EPSG:32632",
    )
    lix = network_kde(edges, np.array([[5.0, -1.0]]), lixel_m=10.0, bandwidth_m=100.0)
    other = lix.edge_index == 2
    assert (lix.loc[other, "intensity"] == 0).all() and lix.loc[~other, "intensity"].max() > 0


def test_lixel_density_equals_all_pairs_shortest_paths_on_a_grid():
    # a 4 x 4 grid of 120 m blocks, incidents on lixels near one corner: the sparse kernel
    # (only what lies within reach of each incident) gives the sum over every pair of lixels of
    # the quartic kernel on their networkx mid-to-mid distance
    import networkx as nx

    from siteplanner.hotspots.streets import lixel_density

    lines = [LineString([(0, 120 * i), (360, 120 * i)]) for i in range(4)]
    lines += [LineString([(120 * i, 0), (120 * i, 360)]) for i in range(4)]
    edges = gpd.GeoDataFrame(geometry=lines, crs="EPSG:32632")
    lix = lixelize(edges, lixel_m=25.0)
    rng = np.random.default_rng(3)
    mid = shapely.line_interpolate_point(np.asarray(lix.geometry), 0.5, normalized=True)
    corner = shapely.get_x(mid) + shapely.get_y(mid) < 300
    count = np.where(corner & (rng.random(len(lix)) < 0.5), rng.integers(1, 4, len(lix)), 0)
    count = count.astype(float)
    h = 150.0
    g = nx.Graph()
    for f, t, length in zip(lix.from_vertex, lix.to_vertex, lix["length"]):
        g.add_edge(int(f), int(t), weight=float(length))
    d = dict(nx.all_pairs_dijkstra_path_length(g))
    half = lix["length"].to_numpy() / 2
    ends = list(zip(lix.from_vertex.astype(int), lix.to_vertex.astype(int)))
    expected = np.zeros(len(lix))
    for s in np.flatnonzero(count):
        for j, (a, b) in enumerate(ends):
            gap = min(d[e].get(v, np.inf) for e in ends[s] for v in (a, b))
            dist = 0.0 if j == s else half[s] + gap + half[j]
            if dist < h:
                expected[j] += count[s] * 15 / (16 * h) * (1 - (dist / h) ** 2) ** 2
    got = lixel_density(lix, count, bandwidth_m=h)
    assert (expected > 0).sum() > len(lix) // 3 and (expected == 0).sum() > len(lix) // 5
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_several_fits_at_once_equal_each_fit_alone():
    # the street forecast's fits (other bandwidths, other weights, a source with no weight in
    # one fit) walked together give, to the bit, each fit's own kernel
    from siteplanner.hotspots.streets import lixel_densities, lixel_density

    lines = [LineString([(0, 100 * i), (500, 100 * i)]) for i in range(5)]
    lines += [LineString([(100 * i, 0), (100 * i, 400)]) for i in range(6)]
    lix = lixelize(gpd.GeoDataFrame(geometry=lines, crs="EPSG:32632"), lixel_m=30.0)
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 3, (4, len(lix))).astype(float) * (rng.random((4, len(lix))) < 0.3)
    counts[2] *= rng.random(len(lix))  # weights that are not whole numbers
    widths = [50.0, 400.0, 120.0, 200.0]
    together = lixel_densities(lix, counts, widths)
    assert together.shape == counts.shape and (together > 0).sum(axis=1).min() > 10
    for c, h, got in zip(counts, widths, together):
        assert np.array_equal(got, lixel_density(lix, c, bandwidth_m=h))
    assert not lixel_density(lix, np.zeros(len(lix)), bandwidth_m=100.0).any()


def test_gi_star_matches_formula_and_esda():
    libpysal = pytest.importorskip("libpysal")
    esda = pytest.importorskip("esda")
    edges = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (300, 0)])], crs="EPSG:32632")
    lix = lixelize(edges, lixel_m=10.0)
    x = np.zeros(len(lix))
    x[13:18] = [1.0, 2.0, 5.0, 2.0, 1.0]
    x[2] = 1.0
    lix["count"] = x
    z = gi_star(lix, value_col="count", distance_m=25.0)
    assert z.index.equals(lix.index) and z.idxmax() == 15
    # exact formula at lixel 15: neighbours 13..17 (centres within 25 m), w_ii = 1
    n, wi = len(x), 5
    s = math.sqrt((x**2).mean() - x.mean() ** 2)
    expected = (x[13:18].sum() - x.mean() * wi) / (s * math.sqrt((n * wi - wi**2) / (n - 1)))
    assert z[15] == pytest.approx(expected)
    centres = shapely.get_coordinates(
        shapely.line_interpolate_point(np.asarray(lix.geometry), 0.5, normalized=True)
    )
    w = libpysal.weights.DistanceBand(centres, threshold=25.0, binary=True, silence_warnings=True)
    g = esda.G_Local(x, w, star=True, transform="B", permutations=0)
    assert np.allclose(z.to_numpy(), g.Zs)


def test_street_inputs_validated():
    with pytest.raises(InputError, match="not projected"):
        street_points(
            gpd.GeoDataFrame(geometry=[LineString([(7.4, 43.7), (7.5, 43.7)])], crs="EPSG:4326")
        )
    with pytest.raises(InputError, match="LineStrings"):
        lixelize(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs="EPSG:32632"))


def test_default_grid_flags_a_thin_inner_window_and_a_wide_kernel():
    """#23: old rows stretch the time span, so the latest quarter of the span holds nearly
    every incident and the inner validation fits on a handful: the surface says so."""
    rng = np.random.default_rng(5)
    xy = np.vstack([rng.normal(500, 60, (300, 2)), rng.normal(500, 60, (10, 2))])
    recent = pd.date_range("2023-01-01", periods=300, freq="D", tz="Europe/Paris")
    old = pd.date_range("2000-01-01", periods=10, freq="D", tz="Europe/Paris")
    times = pd.Series(recent.append(old))
    g = H.default_grid(xy, times, bounds=(0, 0, 1000, 1000), cell_m=50.0)
    (msg,) = [w for w in g.params["warnings"] if "thin" in w]
    assert "fitted on 10 incidents and tested on 300" in msg
    wide = H.default_warnings({"alpha": 0.3, "bandwidth_m": 500.0}, 1000, 300, area_m2=1.5e6)
    assert wide == [
        "the chosen bandwidth (500 m) is wider than a quarter of the area's side (306 m): "
        "the surface is a gradient, not hotspots"
    ]
    assert H.default_warnings({"alpha": 0.0, "bandwidth_m": 500.0}, 1000, 300, 1.5e6) == []


def test_default_grid_logs_one_info_line_its_inner_surfaces_at_debug(caplog):
    """#24: the inner validation scores 15 kernel surfaces (3 half-lives x 5 bandwidths) and
    refits one: a run logged each as an INFO line of kde_grid; now one summary line."""
    rng = np.random.default_rng(1)
    xy = np.vstack([rng.normal([250, 250], 20, size=(300, 2)), rng.uniform(0, 1000, (100, 2))])
    times = pd.Series(pd.date_range("2022-01-01", periods=len(xy), freq="D"))
    with caplog.at_level(logging.DEBUG, logger="siteplanner.hotspots"):
        g = H.default_grid(xy, times, bounds=BOUNDS, cell_m=50.0)
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(info) == 1, info
    (line,) = info
    assert line.startswith(f"default_grid: alpha={g.params['alpha']}, bandwidth ")
    held = int((times >= times.max() - 0.25 * (times.max() - times.min())).sum())
    assert f"inner validation on {len(xy) - held} fitted and {held} held-out incidents" in line
    assert sum("inner surface" in m for m in debug) == 15
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="siteplanner.hotspots"):  # kde_grid: one line
        kde_grid(xy, bounds=BOUNDS, cell_m=50.0)
    (line,) = [r.getMessage() for r in caplog.records]
    rule = f"{bandwidth_rule(xy):.0f}"
    assert line.endswith(f"(cell 50 m, bandwidth {rule} m by Scott's rule) from 400 points")
