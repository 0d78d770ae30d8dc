"""Candidate sites where a mast or a bracket can really go: at ground level, on public streets,
one per street corner, and on the existing cameras' supports (issue #25).

Hand-built graphs and extracts whose answers are known; then the default run's counts.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from siteplanner import vocab
from siteplanner.coverage import candidates as cand
from siteplanner.coverage.sightlines import build_obstacles
from siteplanner.coverage.viewshed import isovist
from siteplanner.steps.demand import demand_streets
from siteplanner.town import osm

CRS = "EPSG:32632"


def _street(g: nx.MultiDiGraph, u: int, v: int, **tags: str) -> None:
    a, b = g.nodes[u], g.nodes[v]
    line = LineString([(a["x"], a["y"]), (b["x"], b["y"])])
    for s, t, geom in ((u, v, line), (v, u, line.reverse())):
        g.add_edge(s, t, length=line.length, geometry=geom, highway="footway", **tags)


def _junction(g: nx.MultiDiGraph, n: int, x: float, y: float, spokes: list[dict]) -> None:
    """Node ``n`` at (x, y) with one 30 m dead-end street per item of ``spokes`` (its tags)."""
    g.add_node(n, x=x, y=y)
    for i, tags in enumerate(spokes):
        end = 1000 * n + i
        angle = 2 * np.pi * i / len(spokes) + 0.3
        g.add_node(end, x=x + 30 * np.cos(angle), y=y + 30 * np.sin(angle))
        _street(g, n, end, **tags)


TUNNEL = {"tunnel": "yes", "layer": "-1"}
CORRIDOR = {"indoor": "corridor", "level": "-1"}
PRIVATE = {"access": "private"}


def town_graph() -> nx.MultiDiGraph:
    """Junctions whose fate is known:

    N1 tunnels only, N2 indoor corridors only, N3 two surface streets and a tunnel, N4 private
    ways only, N5/N6/N7 a corner of three junctions 4 m apart (N5 has four streets), N8 10 m
    from an existing camera, N9 an ordinary junction.
    """
    g = nx.MultiDiGraph(crs=CRS)
    _junction(g, 1, 0, 0, [TUNNEL] * 3)
    _junction(g, 2, 200, 0, [CORRIDOR] * 3)
    _junction(g, 3, 400, 0, [{}, {}, TUNNEL])
    _junction(g, 4, 600, 0, [PRIVATE] * 3)
    _junction(g, 5, 0, 200, [{}] * 4)
    _junction(g, 6, 4, 200, [{}] * 3)
    _junction(g, 7, 2, 200 + 2 * np.sqrt(3), [{}] * 3)
    _junction(g, 8, 200, 200, [{}] * 3)
    _junction(g, 9, 400, 200, [{}] * 3)
    for n in g.nodes:
        g.nodes[n]["street_count"] = len(set(g.successors(n)))
    return g


def _pois() -> gpd.GeoDataFrame:
    """Street lamps L1 (on N1's tunnel), L2 (on a tunnel the graph lacks), L3 (on a street);
    an existing camera E77 10 m east of N8."""
    spoke = 30 * np.array([np.cos(0.3), np.sin(0.3)])
    return gpd.GeoDataFrame(
        {
            "kind": ["street_lamp", "street_lamp", "street_lamp", "camera"],
            "name": [None, None, None, "Place du marché"],
            "osm_id": ["node/101", "node/102", "node/103", "node/77"],
        },
        geometry=[
            Point(*(spoke / 2)),
            Point(800, 0.5),
            Point(*(np.array([400, 200]) + spoke / 2)),
            Point(210, 200),
        ],
        crs=CRS,
    )


def _screen(**kw) -> cand.Screening:
    no_buildings = gpd.GeoDataFrame({"osm_id": [], "building": []}, geometry=[], crs=CRS)
    return cand.screen_candidates(
        town_graph(),
        box(-100, -100, 1000, 400),
        _pois(),
        no_buildings,
        underground_ways=[LineString([(780, 0), (820, 0)])],
        **kw,
    )


def test_kept_merged_and_dropped_with_their_reason():
    s = _screen(merge_m=8.0, existing_spacing_m=15.0, existing_support=True)
    new = s.sites[~s.sites["existing"]]
    assert sorted(new["site_id"]) == ["E77-S", "L103", "N3", "N5", "N9"]
    because = [b if isinstance(b, str) else None for b in s.dropped["because_of"]]
    why = dict(zip(s.dropped["site_id"], zip(s.dropped["reason"], because)))
    assert why == {
        "N1": ("underground", None),
        "N2": ("underground", None),
        "L101": ("underground", None),
        "L102": ("underground", None),  # a tunnel the walking graph does not hold
        "N4": ("private", None),
        "N8": ("near_existing", "E77"),
        "N6": ("merged", "N5"),  # N5 has four streets: the best connected stands for the corner
        "N7": ("merged", "N5"),
    }
    c = s.counts
    assert c["raw"] == 13 and c["kept"] == 5 and c["kept"] + sum(c["dropped"].values()) == c["raw"]
    assert c["dropped"] == {
        "outside_area": 0,
        "inside_building": 0,
        "exclusion_zone": 0,
        "underground": 4,
        "private": 1,
        "near_existing": 1,
        "merged": 2,
    }
    assert c["kept_by_kind"] == {
        "existing_support": 1,
        "intersection": 3,
        "street_lamp": 1,
    }
    # the existing camera stays a site; its support is a new site at the camera's point
    sup = new[new["site_id"] == "E77-S"].iloc[0]
    assert sup["mount"] == cand.EXISTING_SUPPORT and sup["kind"] == cand.EXISTING_SUPPORT
    assert sup.geometry.equals(Point(210, 200)) and sup["name"] == "support of Place du marché"
    assert s.sites.iloc[0]["site_id"] == "E77" and s.sites.iloc[0]["existing"]


def test_without_merging_nor_spacing_only_the_ground_rules_drop():
    s = _screen()
    assert s.counts["dropped"]["merged"] == s.counts["dropped"]["near_existing"] == 0
    assert {"N5", "N6", "N7", "N8"} <= set(s.sites["site_id"])
    assert not s.sites["mount"].eq(cand.EXISTING_SUPPORT).any()
    assert set(s.dropped["site_id"]) == {"N1", "N2", "N4", "L101", "L102"}


def test_merging_keeps_points_more_than_merge_m_apart_and_does_not_chain():
    """Five junctions 5 m apart in a row: a chain, not one 20 m wide point."""
    xy = np.column_stack([np.arange(5) * 5.0, np.zeros(5)])
    ids = np.array(["N1", "N2", "N3", "N4", "N5"])
    into = cand.merge_close(xy, np.full(5, 3), ids, 8.0)
    # N2, N3, N4 each have two neighbours within 8 m; N2 comes first by id, then N4
    assert ids[into].tolist() == ["N2", "N2", "N2", "N4", "N4"]
    assert cand.merge_close(xy[::-1], np.full(5, 3), ids[::-1], 8.0).tolist() == [1, 1, 3, 3, 3]


def test_existing_support_costs_a_camera_and_a_bracket_no_trench():
    s = _screen(existing_support=True).sites
    g = town_graph()
    kw = dict(camera_eur=5000, mast_eur=3000, facade_mount_eur=800, trench_eur_per_m=50)
    costs = cand.site_costs(s, g, csu_nodes=[9], **kw)
    sup = (s["site_id"] == "E77-S").to_numpy()
    assert costs.loc[sup, "trench_m"].item() == 0 and costs.loc[sup, "cost_eur"].item() == 5800
    own = cand.site_costs(s, g, csu_nodes=[9], existing_support_eur=300, **kw)
    assert own.loc[sup, "mount_eur"].item() == 300 and own.loc[sup, "cost_eur"].item() == 5300
    mast = (s["site_id"] == "N9").to_numpy()
    assert costs.loc[mast, "cost_eur"].item() == 5000 + 3000  # at the CSU: no trench


def test_support_of_a_camera_on_a_wall_sees_the_street():
    """A camera mapped on a wall sees nothing from its point; its support's head, 0.5 m out,
    sees the street."""
    g = nx.MultiDiGraph(crs=CRS)
    _junction(g, 1, 40, 10, [{}] * 3)
    for n in g.nodes:
        g.nodes[n]["street_count"] = len(set(g.successors(n)))
    house = box(0, 0, 20, 20)
    buildings = gpd.GeoDataFrame(
        {"osm_id": ["way/5"], "building": ["yes"]}, geometry=[house], crs=CRS
    )
    pois = gpd.GeoDataFrame(
        {"kind": ["camera"], "name": [None], "osm_id": ["node/7"]},
        geometry=[Point(20, 10)],
        crs=CRS,
    )
    s = cand.screen_candidates(g, box(-50, -50, 100, 100), pois, buildings, existing_support=True)
    sup = s.sites[s.sites["site_id"] == "E7-S"].geometry.iloc[0]
    assert sup.distance(Point(20, 10)) == pytest.approx(0.5) and not house.intersects(sup)
    assert sup.x > 20  # out of the wall, towards the street
    obstacles = build_obstacles(buildings.geometry)
    assert isovist(obstacles, (20.0, 10.0), 50.0).is_empty
    assert isovist(obstacles, (sup.x, sup.y), 50.0).area > 1000


def test_underground_rule_is_the_audits():
    u = vocab.underground
    assert u({"tunnel": "yes"}) and u({"tunnel": "culvert"}) and not u({"tunnel": "no"})
    assert not u({"tunnel": "building_passage"})  # a passage under a building is at ground level
    assert u({"layer": "-1"}) and u({"level": "-1;0"}) and u({"level": "-0.5"})
    assert not u({"layer": "1"}) and not u({"level": "0;1"}) and not u({"level": "x"})
    assert u({"indoor": "corridor"}) and not u({"indoor": "no"})
    assert u({"location": "underground"}) and not u({"covered": "yes"})
    assert u({"tunnel": ["yes"], "level": ["-1", "-2"]}) and not u({"layer": ["0", "1"]})
    assert vocab.private_way({"access": "private"}) and vocab.private_way({"access": "no"})
    assert not vocab.private_way({"access": ["no", "yes"]}) and not vocab.private_way({})


def test_streets_split_where_a_tunnel_starts_and_keep_their_tags(tmp_path):
    """Way 1 (surface) runs 1-2-3, way 2 (a tunnel at level -1) continues 3-4-5: node 3, an
    ordinary bend between two ways, stays a node because the street goes underground there."""
    nodes = "".join(
        f'<node id="{i}" lat="43.74" lon="{7.42 + 0.001 * i:.3f}" version="1"/>'
        for i in range(1, 6)
    )
    ways = (
        '<way id="1" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
        '<tag k="highway" v="footway"/></way>'
        '<way id="2" version="1"><nd ref="3"/><nd ref="4"/><nd ref="5"/>'
        '<tag k="highway" v="footway"/><tag k="tunnel" v="yes"/><tag k="level" v="-1"/>'
        '<tag k="indoor" v="corridor"/></way>'
    )
    path = tmp_path / "t.osm"
    path.write_text(f"<?xml version='1.0'?><osm version=\"0.6\">{nodes}{ways}</osm>")
    layers = osm.parse(path)
    g = layers["graph"]
    assert sorted(g.nodes) == [1, 3, 5]
    below = g.get_edge_data(3, 5)[0]
    assert below["tunnel"] == "yes" and below["level"] == "-1" and below["indoor"] == "corridor"
    assert vocab.underground(below) and not vocab.underground(g.get_edge_data(1, 3)[0])
    assert len(layers["underground_ways"]) == 1 and len(layers["underground_ways"][0]) == 3


def test_demand_leaves_underground_streets_out_unless_asked():
    streets = gpd.GeoDataFrame(
        {"length": [10.0, 20.0], "underground": [False, True]},
        geometry=[LineString([(0, 0), (10, 0)]), LineString([(10, 0), (30, 0)])],
        crs=CRS,
    )
    kept, n = demand_streets(streets, underground=False)
    assert n == 1 and kept["underground"].tolist() == [False]
    both, n = demand_streets(streets, underground=True)
    assert n == 0 and len(both) == 2


def test_default_run_counts_add_up(default_run):
    res, out, _ = default_run
    c = res.candidates.screening
    assert c["kept"] + sum(c["dropped"].values()) == c["raw"]
    assert c["kept"] == int((~res.candidates.sites["existing"]).sum()) - _moved(res)
    assert c["kept"] == sum(c["kept_by_kind"].values())
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["candidates"] == json.loads(json.dumps(c))
    assert set(c["dropped"]) == set(cand.DROP_REASONS)
    dropped = res.candidates.dropped
    assert isinstance(dropped, pd.DataFrame) and len(dropped) == sum(c["dropped"].values())
    # no kept candidate stands at a node that only underground or indoor streets use
    below, _ = cand.street_kinds(res.town.graph)
    nodes = [int(s[1:]) for s in res.candidates.sites["site_id"] if s[1:].isdigit() and s[0] == "N"]
    assert not any(below[n] for n in nodes)
    assert res.town.extras["underground_ways"].crs == res.town.crs


def _moved(res) -> int:
    """Sites the référent's review moved (``<site_id>-M``), added after the screening."""
    return int(res.candidates.sites["site_id"].str.endswith("-M").sum())
