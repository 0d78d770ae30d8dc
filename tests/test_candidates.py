"""Candidate sites, their costs and walking reach on a hand-built street grid.

The grid's answers are known by hand.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import Point, box

from siteplanner.coverage.candidates import (
    candidate_sites,
    network_distance_to,
    network_reach_m,
    site_costs,
)

CRS = "EPSG:32632"


def grid_graph() -> nx.MultiDiGraph:
    """A 3×3 street grid, 100 m blocks; node id = 10*row + col; centre node 11 has 4 streets."""
    g = nx.MultiDiGraph(crs=CRS)
    for r in range(3):
        for c in range(3):
            g.add_node(10 * r + c, x=100.0 * c, y=100.0 * r)
    for r in range(3):
        for c in range(3):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < 3 and c + dc < 3:
                    u, v = 10 * r + c, 10 * (r + dr) + c + dc
                    g.add_edge(u, v, length=100.0)
                    g.add_edge(v, u, length=100.0)
    for n in g.nodes:
        g.nodes[n]["street_count"] = g.out_degree(n)
    return g


def empty_pois():
    return gpd.GeoDataFrame({"kind": [], "name": [], "osm_id": []}, geometry=[], crs=CRS)


def test_intersections_are_nodes_with_three_streets_or_more():
    g = grid_graph()
    buildings = gpd.GeoDataFrame(
        {"osm_id": ["way/1"], "building": ["yes"]}, geometry=[box(20, 20, 80, 80)], crs=CRS
    )
    sites = candidate_sites(g, box(-10, -10, 210, 210), empty_pois(), buildings)
    # corners have 2 streets, edge midpoints 3, the centre 4
    assert sorted(sites["site_id"]) == sorted(["N1", "N10", "N11", "N12", "N21"])
    assert (sites["kind"] == "intersection").all() and not sites["existing"].any()
    excl = candidate_sites(
        g, box(-10, -10, 210, 210), empty_pois(), buildings, exclusion=Point(100, 100).buffer(5)
    )
    assert "N11" not in set(excl["site_id"])


def test_existing_cameras_and_facades():
    g = grid_graph()
    pois = gpd.GeoDataFrame(
        {
            "kind": ["camera", "school"],
            "name": [None, "École Centrale"],
            "osm_id": ["node/7", "node/8"],
        },
        geometry=[Point(100, 1), Point(150, 150)],
        crs=CRS,
    )
    school = box(120, 120, 180, 180)
    buildings = gpd.GeoDataFrame(
        {"osm_id": ["way/5"], "building": ["school"]}, geometry=[school], crs=CRS
    )
    sites = candidate_sites(g, box(-10, -10, 210, 210), pois, buildings)
    assert sites.iloc[0]["site_id"] == "E7" and sites.iloc[0]["existing"]
    fac = sites[sites["kind"] == "facade"]
    assert len(fac) == 1 and fac.iloc[0]["name"] == "École Centrale"
    p = fac.geometry.iloc[0]
    # on the façade facing the nearest street node, 0.5 m outside the wall
    assert 0.4 < p.distance(school) < 0.6


def test_costs_use_network_distance_to_csu_or_existing():
    g = grid_graph()
    sites = candidate_sites(
        g, box(-10, -10, 210, 210), empty_pois(), gpd.GeoDataFrame(geometry=[], crs=CRS)
    )
    costs = site_costs(
        sites,
        g,
        csu_nodes=[0],
        camera_eur=5000,
        mast_eur=3000,
        facade_mount_eur=800,
        trench_eur_per_m=50,
    )
    by_id = dict(zip(sites["site_id"], costs["trench_m"]))
    assert (
        by_id["N1"] == pytest.approx(100)
        and by_id["N11"] == pytest.approx(200)
        and by_id["N21"] == pytest.approx(300)
    )
    assert dict(zip(sites["site_id"], costs["cost_eur"]))["N11"] == pytest.approx(
        5000 + 3000 + 200 * 50
    )
    assert np.allclose(network_distance_to(g, [0, 22], [11, 2]), [200, 200])


def test_network_reach_counts_partial_edges():
    g = grid_graph()
    # from the centre, 50 m along each of its 4 streets
    assert network_reach_m(g, [11], distance_m=50)[0] == pytest.approx(200)
    # 150 m: the 4 streets in full (400) + 50 m on each of the 8 streets leaving their ends
    assert network_reach_m(g, [11], distance_m=150)[0] == pytest.approx(400 + 8 * 50)
