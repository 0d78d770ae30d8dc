"""Patrols a team would walk or ride (#25): distinct stops, bikes off steps, every stop said.

Hand-built graphs whose answer is known: a bike takes the long way round a flight of steps that
a foot patrol climbs; two prizes 30 m apart are one stop; a stop at the start is listed in the
itinerary; seven stops near one police station get seven names.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely

from siteplanner._errors import InputError
from siteplanner.patrol import plan as patrol
from siteplanner.patrol.itinerary import itinerary_lines, name_stops, stop_positions
from siteplanner.patrol.network import BIKE_KMH, FOOT_KMH, Network, ride_graph, rideable
from siteplanner.patrol.search import distinct_places
from siteplanner.scenario import Shift

from .test_patrol import CRS, X0, Y0, make_graph


def stairs(tags: dict) -> object:
    """Start 0; the hot place 1 lies 100 m up a way with ``tags`` or 300 m round by 2."""
    return make_graph(
        {0: (0, 0), 1: (100, 0), 2: (50, 150)},
        [
            (0, 1, 100, {"name": "Escalier du Carnier", **tags}),
            (0, 2, 160, {"name": "Rue Haute", "highway": "residential"}),
            (2, 1, 160, {"name": "Rue Haute", "highway": "residential"}),
        ],
    )


def test_rideable_reads_every_merged_way():
    assert rideable({"highway": "residential"})
    assert rideable({"highway": "footway", "bicycle": "yes"})
    assert not rideable({"highway": "steps"})
    assert not rideable({"highway": ["footway", "steps"]})  # one edge, two OSM ways
    assert not rideable({"highway": "footway", "bicycle": ["yes", "no"]})
    assert not rideable({"highway": "footway", "bicycle": "dismount"})


@pytest.mark.parametrize(
    "tags",
    [
        {"highway": "steps"},
        {"highway": ["footway", "steps"]},
        {"highway": "footway", "bicycle": "no"},
        {"highway": "footway", "bicycle": "dismount"},
    ],
    ids=["steps", "footway+steps", "bicycle=no", "dismount"],
)
def test_the_bike_goes_round_what_the_foot_patrol_may_take(tags):
    G = stairs(tags)
    kw = dict(budget_min=120, dwell_min=5)
    foot = patrol.plan_circuit(G, 0, [1], [1.0], speed_kmh=FOOT_KMH, **kw)
    bike = patrol.plan_circuit(G, 0, [1], [1.0], speed_kmh=BIKE_KMH, mode="bike", **kw)
    assert foot.nodes == (0, 1, 0) and foot.length_m == pytest.approx(200.0)
    assert bike.nodes == (0, 2, 1, 2, 0) and bike.length_m == pytest.approx(640.0)
    assert [s.node for s in bike.stops] == [1] and bike.mode == "bike"
    # what the team reads follows the same ways
    assert not any("Escalier" in line for line in itinerary_lines(G, bike))
    assert any("Escalier" in line for line in itinerary_lines(G, foot))


def test_a_place_only_steps_reach_is_out_of_the_bikes_way():
    G = make_graph(
        {0: (0, 0), 1: (100, 0), 2: (-100, 0)},
        [(0, 1, 100, {"highway": "steps"}), (0, 2, 100, {"highway": "residential"})],
    )
    assert set(ride_graph(G, keep=0).nodes) == {0, 2}
    with pytest.warns(UserWarning, match="no candidate"):
        bike = patrol.plan_circuit(G, 0, [1], [1.0], budget_min=60, speed_kmh=12, mode="bike")
    assert bike.stops == () and bike.nodes == (0,)
    with pytest.raises(InputError, match="mode"):
        Network(G, "horse")


def test_a_bike_circuit_on_a_graph_without_steps_runs_at_the_bike_speed():
    G = stairs({"highway": "residential"})
    kw = dict(budget_min=120, dwell_min=5, min_stop_spacing_m=0)
    bike = patrol.plan_circuit(G, 0, [1, 2], [1.0, 1.0], speed_kmh=BIKE_KMH, mode="bike", **kw)
    foot = patrol.plan_circuit(G, 0, [1, 2], [1.0, 1.0], speed_kmh=FOOT_KMH, **kw)
    assert bike.nodes == foot.nodes and bike.length_m == pytest.approx(420.0)
    m_per_min = BIKE_KMH * 1000 / 60
    assert bike.speed_kmh == BIKE_KMH
    assert bike.duration_min == pytest.approx(420.0 / m_per_min + 2 * 5)
    first = bike.stops[0]
    assert first.eta_min == pytest.approx({1: 100.0, 2: 160.0}[first.node] / m_per_min)


def test_two_prizes_30_m_apart_are_one_stop():
    # start 0; 1 and 2 stand 30 m apart, 3 far off
    G = make_graph(
        {0: (0, 0), 1: (200, 0), 2: (230, 0), 3: (0, 300)},
        [(0, 1, 200), (1, 2, 30), (0, 3, 300)],
    )
    kw = dict(budget_min=120, speed_kmh=FOOT_KMH, dwell_min=5)
    c = patrol.plan_circuit(G, 0, [1, 2, 3], [2.0, 3.0, 1.0], **kw)
    by_node = {s.node: s.prize for s in c.stops}
    assert by_node == {2: 5.0, 3: 1.0}  # the higher prize's node, holding both prizes
    apart = patrol.plan_circuit(G, 0, [1, 2, 3], [2.0, 3.0, 1.0], min_stop_spacing_m=20, **kw)
    assert {s.node for s in apart.stops} == {1, 2, 3}
    # the same for every team of a shift: the place visited stays visited
    shifts = [patrol.Shift("soir", 120, FOOT_KMH, 5, teams=2, min_stop_spacing_m=100)]
    with pytest.warns(UserWarning, match="soir-team2"):  # nothing left for the second team
        team1, team2 = patrol.plan_circuits(G, 0, [1, 2, 3], [2.0, 3.0, 1.0], shifts=shifts)
    assert {s.node for s in team1.stops} | {s.node for s in team2.stops} == {2, 3}


def test_distinct_places_keeps_the_highest_and_the_total():
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 1000, size=(400, 2))
    prize = rng.uniform(0, 1, size=400)
    prize[:20] = 0.0
    keep, merged = distinct_places(xy, prize, 100.0)
    d = np.hypot(*(xy[keep][:, None] - xy[keep][None]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() >= 100.0 and 20 < len(keep) < 380
    assert merged.sum() == pytest.approx(prize.sum())
    assert int(np.argmax(prize)) in keep and not set(keep.tolist()) & set(range(20))
    # every point left out stands within 100 m of a place
    out = np.setdiff1d(np.flatnonzero(prize > 0), keep)
    near = np.hypot(*(xy[out][:, None] - xy[keep][None]).transpose(2, 0, 1)).min(axis=1)
    assert (near < 100.0).all()
    assert distinct_places(xy, prize, 0.0)[0].tolist() == np.flatnonzero(prize > 0).tolist()
    with pytest.raises(InputError, match="min_spacing_m"):
        distinct_places(xy, prize, -1.0)


def test_the_shift_default_spacing_follows_its_mode():
    assert Shift(mode="foot").stop_spacing() == 100.0
    assert Shift(mode="bike").stop_spacing() == 200.0
    assert Shift(mode="bike", min_stop_spacing_m=150).stop_spacing() == 150.0
    with pytest.raises(ValueError):
        Shift(min_stop_spacing_m=-5)


def line(n: int, step: float = 120.0, name: str = "Triq Il-Kbira") -> object:
    """Nodes 0..n-1 along one street, ``step`` m apart."""
    return make_graph(
        {i: (i * step, 0) for i in range(n)},
        [(i, i + 1, step, {"name": name}) for i in range(n - 1)],
    )


def test_a_stop_at_the_start_is_in_the_itinerary():
    G = line(4)
    # the only place is the start itself (Il-Ħamrun: the first stop at the police station)
    c = patrol.plan_circuit(G, 0, [0], [5.0], budget_min=60, speed_kmh=6, dwell_min=5)
    assert c.nodes == (0,) and [s.node for s in c.stops] == [0]
    assert itinerary_lines(G, c) == ["STOP 1: stop — arrive at 0 min, stay 5 min"]
    # a stop at the start, then one down the street: both said, in order
    first = dataclasses.replace(c.stops[0], path_index=0)
    second = dataclasses.replace(c.stops[0], node=2, order=2, path_index=2)
    out = dataclasses.replace(c, nodes=(0, 1, 2, 1, 0), stops=(first, second))
    lines = itinerary_lines(G, out)
    assert lines[0].startswith("STOP 1") and lines[2].startswith("STOP 2")
    assert lines[1] == "Triq Il-Kbira — 240 m" and lines[3] == "Triq Il-Kbira — 240 m"
    assert stop_positions(out) == [0, 2]
    late = dataclasses.replace(second, path_index=None, node=3)
    with pytest.raises(InputError, match="stop 2"):
        stop_positions(dataclasses.replace(out, stops=(first, late)))


def test_a_stop_passed_before_is_said_where_the_team_stops():
    G = line(3)
    c = patrol.plan_circuit(G, 0, [1, 2], [1.0, 1.0], budget_min=60, speed_kmh=6, dwell_min=5)
    # the path passes 1 on its way to 2; the stops come in the order planned
    assert c.nodes == (0, 1, 2, 1, 0)
    i1, i2 = stop_positions(c)
    assert c.nodes[i1] == c.stops[0].node and c.nodes[i2] == c.stops[1].node and i1 < i2
    lines = itinerary_lines(G, c)
    assert sum(ln.startswith("STOP") for ln in lines) == 2


def test_seven_stops_near_one_police_station_get_seven_names():
    G = line(7)
    c = patrol.plan_circuit(
        G, 0, list(range(7)), [1.0] * 7, budget_min=200, speed_kmh=6, dwell_min=5
    )
    assert len(c.stops) == 7
    police = gpd.GeoDataFrame(
        {"kind": ["police"], "name": ["Hamrun Police Station"]},
        geometry=[shapely.Point(X0 + 360, Y0 + 10)],
        crs=CRS,
    )
    names = [s.name for s in name_stops([c], G, police)[0].stops]
    assert len(set(names)) == 7, names
    assert sum("Police Station" in n and "near" in n for n in names) == 1
    assert all(n.startswith("Triq Il-Kbira") for n in names)
    # the nearest stop to the station is the one named after it
    near = min(c.stops, key=lambda s: abs(s.x - (X0 + 360)))
    assert names[near.order - 1] == "Triq Il-Kbira, near Hamrun Police Station (police)"
