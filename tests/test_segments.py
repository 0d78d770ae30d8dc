"""Forecasts on street segments (#23): segments, PAI at equal street length, the default's choice.

Hand-built streets whose answers are known, then the default town's real streets.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from siteplanner.hotspots import segments as S
from siteplanner.hotspots.grids import count_grid

CRS = "EPSG:32632"


def _lines(*coords) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.LineString(c) for c in coords], crs=CRS)


def test_streets_are_cut_into_segments_of_at_most_50_m():
    seg = S.street_segments(_lines([(0, 0), (120, 0)], [(0, 0), (0, 30)]))
    assert sorted(np.round(seg["length"], 6)) == [30, 40, 40, 40]
    area = shapely.box(-1, -1, 50, 50)
    seg = S.street_segments(_lines([(0, 0), (120, 0)]), area=area)
    assert seg["inside"].tolist() == [True, False, False]  # middles at 20, 60, 100 m


def test_pai_net_at_equal_street_length():
    seg = S.street_segments(_lines([(0, 0), (200, 0)]))  # 4 segments of 50 m
    test_xy = np.array([[10, 5], [20, -10], [190, 3], [100, 60]])  # the last one 60 m away
    t = S.net_test(seg, test_xy)
    # flag the first segment (25 % of the length): 2 of 4 incidents within 25 m
    assert S.pai_net(np.array([3.0, 0, 0, 1]), t, (0.25,)) == [pytest.approx(0.5 / 0.25)]
    # half the length: segments 0 and 3, 3 of 4 incidents
    assert S.pai_net(np.array([3.0, 0, 0, 1]), t, (0.5,)) == [pytest.approx(0.75 / 0.5)]
    # all tied: each incident counts for the share taken, so a uniform guess scores the share
    # of the incidents near a street (3 of 4), never more
    assert S.pai_net(np.zeros(4), t, (0.25, 0.5)) == [pytest.approx(0.75)] * 2
    # an incident near two flagged segments counts once
    t2 = S.net_test(seg, np.array([[50, 0]]))
    assert S.pai_net(np.array([1.0, 1.0, 0, 0]), t2, (0.5,)) == [pytest.approx(2.0)]


def test_classes_follow_street_length():
    lengths = np.full(100, 10.0)
    scores = np.arange(100, 0, -1).astype(float)
    cls = S.length_classes(scores, lengths, np.ones(100, bool))
    assert (cls == 1).sum() == 1 and (cls == 2).sum() == 4 and (cls == 3).sum() == 5
    assert cls[0] == 1 and cls[10] == 0


def _town():
    """A 5 × 5 grid of streets 100 m apart (40 streets of 100 m, 2 segments each)."""
    h = [[(0, y), (100 * i, y)] for y in range(0, 500, 100) for i in (4,)]
    v = [[(x, 0), (x, 400)] for x in range(0, 500, 100)]
    return S.street_segments(_lines(*h, *v), area=shapely.box(-10, -10, 410, 410))


def _incidents(n_days=400, seed=1):
    """Incidents on two street segments (the busy corners) and a few scattered ones, daily."""
    rng = np.random.default_rng(seed)
    xy, t = [], []
    for d in range(n_days):
        for _ in range(3):
            k = rng.random()
            if k < 0.45:
                xy.append((rng.uniform(205, 245), rng.normal(200, 2)))  # on y = 200
            elif k < 0.9:
                xy.append((rng.normal(100, 2), rng.uniform(305, 345)))  # on x = 100
            else:
                xy.append((rng.uniform(0, 400), 100 * rng.integers(0, 5)))
            t.append(pd.Timestamp("2022-01-01", tz="Europe/Paris") + pd.Timedelta(days=d))
    return np.array(xy), pd.Series(t)


def _coarse_grid(xy_all):
    def fit(mask):
        return count_grid(xy_all[mask], bounds=(-100, -100, 500, 500), cell_m=300.0)

    return {"count_grid_300m": fit}


def test_the_default_picks_a_street_method_over_a_coarse_grid_and_says_so():
    seg = _town()
    xy, t = _incidents()
    f = S.choose_forecast(seg, xy, t, grids=_coarse_grid(xy), area_m2=420.0**2)
    assert f.kind == "street" and f.method in ("segment_counts", "network_kde")
    assert f.inner["split"] == "temporal" and f.inner["held_out"] == pytest.approx(300, abs=3)
    assert {c["method"] for c in f.candidates} >= {
        "grid:count_grid_300m",
        "segment_counts",
        "network_kde",
    }
    grid_row = next(c for c in f.candidates if c["method"] == "grid:count_grid_300m")
    best = f.inner["inner_pai_net"]
    assert np.mean(np.log(best)) > np.mean(np.log(grid_row["inner_pai_net"]))
    # the two busy segments are the top class
    top = f.segments[f.segments["rank_class"] == 1]
    assert len(top) >= 1 and set(np.round(top["y"])) <= {200.0, 325.0}
    summary = f.summary()
    assert summary["method"] == f.method and summary["kind"] == "street"
    assert len(summary["candidates"]) == len(f.candidates) and summary["warnings"] == []


def test_thin_inner_window_and_wide_bandwidth_are_warned(caplog):
    seg = _town()
    xy, t = _incidents(n_days=30)  # 90 incidents: the inner fit has 69 (3 a day, ties at the cut)
    with caplog.at_level("WARNING"):
        f = S.choose_forecast(seg, xy, t, grids=_coarse_grid(xy), area_m2=420.0**2)
    assert any(
        "thin" in w and "fitted on 69 incidents (2022-01-01 to 2022-01-23)" in w for w in f.warnings
    )
    assert "thin" in caplog.text
    f = S.choose_forecast(
        seg,
        xy,
        t,
        grids={},
        area_m2=420.0**2,
        method="network_kde",
        params={"bandwidth_m": 400.0},
    )
    assert f.candidates == () and f.params["bandwidth_m"] == 400
    assert any("wider than a quarter of the area's side (105 m)" in w for w in f.warnings)


def test_recency_weighting_favours_recent_segments():
    seg = _town()
    old = np.array([[220.0, 200.0]] * 10)  # ten old incidents on one segment
    new = np.array([[100.0, 320.0]] * 6)  # six recent ones on another
    t = pd.Series(
        [pd.Timestamp("2020-01-01", tz="UTC")] * 10 + [pd.Timestamp("2023-01-01", tz="UTC")] * 6
    )
    xy = np.vstack([old, new])
    plain = S.choose_forecast(seg, xy, t, grids={}, area_m2=1e5, method="segment_counts")
    decayed = S.choose_forecast(
        seg,
        xy,
        t,
        grids={},
        area_m2=1e5,
        method="segment_counts",
        params={"half_life_days": 180.0},
    )
    i_old, i_new = S.snap(seg, np.array([[220.0, 200.0], [100.0, 320.0]]))
    assert plain.segments["score"][i_old] > plain.segments["score"][i_new]
    assert decayed.segments["score"][i_old] < decayed.segments["score"][i_new]
    assert decayed.segments["score"][i_new] == pytest.approx(6 / 50)


def test_snapping_many_points_in_two_threads_gives_the_single_calls_answer():
    """Above 20,000 points the snap runs in two threads on two halves: the same segments as
    one STRtree.nearest call, points on shared ends (ties) included."""
    from shapely.geometry import LineString

    lines = [LineString([(0, 20 * i), (400, 20 * i)]) for i in range(21)]
    lines += [LineString([(20 * i, 0), (20 * i, 400)]) for i in range(21)]
    seg = S.street_segments(gpd.GeoDataFrame(geometry=lines, crs="EPSG:32632"))
    rng = np.random.default_rng(5)
    xy = np.vstack(
        [rng.uniform(-5, 405, (30_000, 2)), np.repeat(np.arange(0, 401, 20.0), 2)[:, None] * [1, 0]]
    )
    got = S.snap(seg, xy)
    want = shapely.STRtree(np.asarray(seg.geometry)).nearest(shapely.points(xy))
    assert len(xy) > 20_000 and np.array_equal(got, want)
