"""The coverage table and the demand multipliers on hand-built geometry."""

from __future__ import annotations

import numpy as np
from shapely.geometry import box

from siteplanner.coverage.matrix import coverage_matrix, covered_weight, sensitive_multiplier


def test_coverage_matrix_points_in_polygons():
    demand = np.array([[0.5, 0.5], [1.5, 0.5], [5.0, 5.0], [1.0, 0.5]])
    polys = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(10, 10, 11, 11)]
    A = coverage_matrix(polys, demand).toarray()
    # a point on a shared edge is seen by both cameras
    assert A.tolist() == [[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0]]
    w = np.array([1.0, 2.0, 4.0, 8.0])
    assert covered_weight(coverage_matrix(polys, demand), w, [0, 1]) == 11.0
    assert covered_weight(coverage_matrix(polys, demand), w, []) == 0.0


def test_sensitive_multiplier_takes_the_largest_nearby_weight():
    demand = np.array([[0.0, 0.0], [50.0, 0.0], [500.0, 0.0], [1000.0, 0.0]])
    sens = {
        "school": np.array([[0.0, 10.0]]),
        "station": np.array([[40.0, 0.0]]),
        "qpv": box(900, -50, 1100, 50),
    }
    mult = sensitive_multiplier(
        demand, sens, {"school": 2.0, "station": 1.5, "qpv": 1.2}, radius_m=100
    )
    assert mult.tolist() == [2.0, 2.0, 1.0, 1.2]


def test_network_coverage_follows_the_streets():
    """An L-shaped street: a point 60 m away in a straight line is 80 m away along the street."""
    import networkx as nx

    from siteplanner.coverage.matrix import network_coverage_matrix

    g = nx.MultiDiGraph(crs="EPSG:32632")
    g.add_node(1, x=0.0, y=0.0)
    g.add_node(2, x=40.0, y=0.0)
    g.add_node(3, x=40.0, y=40.0)
    for u, v in ((1, 2), (2, 3)):
        g.add_edge(u, v, length=40.0)
        g.add_edge(v, u, length=40.0)
    demand = np.array([[20.0, 0.0], [40.0, 40.0], [40.0, 15.0]])
    A = network_coverage_matrix(g, [1], demand, range_m=70).toarray()
    # (20,0): 20 m; (40,40): 80 m > 70; (40,15): through node 2, 40 + 15 = 55 m
    assert A.tolist() == [[1, 0, 1]]
