"""Demand where people are (#25 item 10): the lieux de fréquentation and the main streets.

Hand-built places and streets whose answers are known exactly, then the default town's real
demand step: with ``footfall_share = 0`` and ``main_streets = 1`` it is the incident forecast
alone, and by default a street with no recorded incident beside shops still weighs.
"""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
import pytest
from pydantic import ValidationError
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point

from siteplanner.scenario import Weights, load_scenario
from siteplanner.steps import demand as demand_step
from siteplanner.steps.load import load
from siteplanner.town import footfall as ff

from .conftest import SCENARIO, copy_scenario


def _pois(rows):
    kind, osm_id, xy = zip(*rows)
    return gpd.GeoDataFrame(
        {"kind": kind, "osm_id": osm_id, "name": [None] * len(rows)},
        geometry=[Point(p) for p in xy],
        crs="EPSG:2154",
    )


def test_places_are_the_footfall_kinds_once_per_feature():
    pois = _pois(
        [
            ("shop", "node/2", (10.0, 0.0)),
            ("townhall", "way/7", (0.0, 50.0)),
            ("public_building", "way/7", (0.0, 50.0)),  # the same town hall, as a public building
            ("street_lamp", "node/3", (5.0, 5.0)),
            ("camera", "node/4", (6.0, 6.0)),
            ("bus_stop", "node/1", (0.0, 0.0)),
        ]
    )
    xy = ff.footfall_places(pois)
    assert xy.tolist() == [[0.0, 0.0], [10.0, 0.0], [0.0, 50.0]]  # sorted by OSM id


def test_footfall_sums_each_place_by_its_distance():
    places = np.array([[0.0, 0.0], [35.0, 0.0], [1000.0, 0.0]])
    demand = np.array([[0.0, 0.0], [0.0, 70.0], [500.0, 0.0]])
    got = ff.footfall(demand, places, decay_m=35.0)
    assert got[0] == pytest.approx(1 + math.exp(-1))  # at one place's door, one D from another
    assert got[1] == pytest.approx(math.exp(-2) + math.exp(-math.hypot(35, 70) / 35))
    assert got[2] == 0.0  # every place beyond 4 D
    assert ff.footfall(demand, np.zeros((0, 2))).tolist() == [0.0, 0.0, 0.0]


def test_blend_keeps_the_forecast_total_and_gives_the_places_their_share():
    forecast = np.array([0.0, 0.0, 3.0, 1.0])
    places = np.array([2.0, 0.0, 0.0, 2.0])
    inc, foot = ff.blend(forecast, places, 0.5)
    assert (inc + foot).sum() == pytest.approx(forecast.sum())
    assert foot.sum() == pytest.approx(0.5 * forecast.sum())
    assert inc.tolist() == [0.0, 0.0, 1.5, 0.5]
    assert foot.tolist() == pytest.approx([1.0, 0.0, 0.0, 1.0])
    # no place: the forecast alone; no forecast: the places alone; share 0: the forecast
    assert [a.tolist() for a in ff.blend(forecast, np.zeros(4), 0.5)] == [
        forecast.tolist(),
        [0.0] * 4,
    ]
    assert ff.blend(np.zeros(4), places, 0.5)[1].tolist() == places.tolist()
    assert ff.blend(forecast, places, 0.0)[0].tolist() == forecast.tolist()


def test_main_streets_count_their_sidewalks_not_the_side_streets_nor_tunnels():
    streets = gpd.GeoDataFrame(
        {
            "highway": [
                "primary",
                "footway",
                "residential",
                "['footway', 'pedestrian']",
                "secondary",
            ],
            "underground": [False, False, False, False, True],
        },
        geometry=[
            LineString([(0, 0), (200, 0)]),  # a main street
            LineString([(0, 8), (200, 8)]),  # its sidewalk, mapped apart
            LineString([(100, 0), (100, 200)]),  # a side street
            LineString([(300, 0), (300, 100)]),  # a pedestrian street (merged edge)
            LineString([(0, 300), (200, 300)]),  # a road in a tunnel
        ],
        crs="EPSG:2154",
    )
    demand = np.array([[50, 8], [100, 60], [300, 50], [50, 300], [50, -11]], float)
    assert ff.main_street_mask(demand, streets).tolist() == [True, False, True, False, True]


def test_weights_keys_are_checked():
    assert Weights().footfall_share == 0.5 and Weights().main_streets == 1.5
    with pytest.raises(ValidationError, match="footfall_share"):
        Weights(footfall_share=1.5)
    with pytest.raises(ValidationError, match="main_streets"):
        Weights(main_streets=-1)


@pytest.fixture(scope="module")
def inputs(town, tmp_path_factory):
    sc = load_scenario(copy_scenario(SCENARIO, tmp_path_factory.mktemp("sc")))
    return load(sc, town=town, for_plan=False)


def _weights(inputs, **kw):
    sc = inputs.scenario
    w = sc.weights.model_copy(update=kw)
    return dataclasses.replace(inputs, scenario=sc.model_copy(update={"weights": w}))


def test_without_places_nor_main_streets_demand_is_the_forecast(inputs):
    d = demand_step.demand(_weights(inputs, footfall_share=0.0, main_streets=1.0))
    pts = d.points
    assert (pts["footfall"] == 0).all()
    assert np.allclose(pts["intensity"], pts["forecast"])
    assert np.allclose(pts["weight"], pts["forecast"] * pts["multiplier"])
    assert d.counts["footfall_places"] > 50  # Beausoleil's shops, stops, schools…


def test_by_default_half_the_weight_is_where_people_are(inputs):
    d = demand_step.demand(inputs)
    pts, c = d.points, d.counts
    assert c["footfall_share"] == 0.5 and c["demand_points_on_main_streets"] > 0
    assert pts["footfall"].sum() == pytest.approx(pts["forecast"].sum() * 0.5)
    # a street with no forecast incident beside the lieux de fréquentation still weighs
    quiet = (pts["forecast"] == 0).to_numpy()
    places = ff.footfall_places(inputs.town.pois)
    beside = quiet & (cKDTree(places).query(d.xy)[0] <= 35.0)
    assert beside.sum() >= 10 and (pts["weight"].to_numpy()[beside] > 0).all()
    far = quiet & (cKDTree(places).query(d.xy)[0] > 4 * ff.DECAY_M)
    assert far.sum() > 20 and (pts["weight"].to_numpy()[far] == 0).all()
    # along the main streets, the multiplier is raised by 1.5
    on_main = ff.main_street_mask(
        d.xy, demand_step.demand_streets(inputs.streets, underground=False)[0]
    )
    assert on_main.sum() == c["demand_points_on_main_streets"]
    base = demand_step.demand(_weights(inputs, main_streets=1.0)).points["multiplier"]
    assert np.allclose(pts["multiplier"], base * np.where(on_main, 1.5, 1.0))
