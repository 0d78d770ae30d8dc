"""City scale: bounded network searches give the same answers as whole-graph Dijkstra."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from siteplanner.coverage.candidates import bounded_searches, graph_csr, network_reach_m, node_xy
from siteplanner.coverage.matrix import network_coverage_matrix

from .test_candidates import grid_graph


def dense_reach(graph, nodes, distance_m):
    """The former implementation: one whole-graph Dijkstra per node (memory sites × nodes)."""
    m, index = graph_csr(graph)
    src = [index[n] for n in nodes]
    dist = dijkstra(m, directed=False, indices=sorted(set(src)), limit=distance_m)
    row_of = {s: i for i, s in enumerate(sorted(set(src)))}
    coo = m.tocoo()
    upper = coo.row < coo.col
    a, b, w = coo.row[upper], coo.col[upper], coo.data[upper]
    out = np.empty(len(src))
    for k, s in enumerate(src):
        d = dist[row_of[s]]
        da, db = d[a], d[b]
        full = (
            np.isfinite(da)
            & np.isfinite(db)
            & ((da + w <= distance_m + 1e-9) | (db + w <= distance_m + 1e-9))
        )
        part_a = np.where(np.isfinite(da), np.clip(distance_m - da, 0, w), 0)
        part_b = np.where(np.isfinite(db), np.clip(distance_m - db, 0, w), 0)
        out[k] = np.where(full, w, np.minimum(w, part_a + part_b)).sum()
    return out


def dense_coverage(graph, site_nodes, demand_xy, range_m):
    m, index = graph_csr(graph)
    _, xy = node_xy(graph)
    off, nearest = cKDTree(xy).query(demand_xy)
    dist = dijkstra(m, directed=False, indices=[index[n] for n in site_nodes], limit=range_m)
    return csr_matrix((dist[:, nearest] + off <= range_m).astype(np.int8))


def random_streets(n: int = 400, seed: int = 0) -> nx.MultiDiGraph:
    """A random planar-ish street graph: nodes in a 2 km square, each joined to its 3 nearest,
    street lengths 1.0-1.6 × the straight line (winding streets), some long ones."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 2000, (n, 2))
    g = nx.MultiDiGraph(crs="EPSG:32632")
    for i, (x, y) in enumerate(xy):
        g.add_node(1000 + i, x=float(x), y=float(y))
    _, nb = cKDTree(xy).query(xy, k=4)
    for i, row in enumerate(nb):
        for j in row[1:]:
            w = float(np.hypot(*(xy[i] - xy[j])) * rng.uniform(1.0, 1.6))
            g.add_edge(1000 + i, 1000 + int(j), length=w)
            g.add_edge(1000 + int(j), 1000 + i, length=w)
    return g


def test_bounded_reach_equals_dense_reach_on_the_grid():
    g = grid_graph()
    nodes = [11, 0, 22, 11, 1]
    for d in (50.0, 150.0, 250.0, 1000.0):
        assert np.allclose(network_reach_m(g, nodes, distance_m=d), dense_reach(g, nodes, d))
    # the known answer: from the centre, 150 m reaches its 4 streets in full, half of the 8 beyond
    assert network_reach_m(g, [11], distance_m=150)[0] == pytest.approx(400 + 8 * 50)


@pytest.mark.parametrize("distance_m", [60.0, 150.0, 400.0])
def test_bounded_reach_equals_dense_reach_on_a_random_graph(distance_m):
    g = random_streets()
    nodes = list(g.nodes)[::3]
    new = network_reach_m(g, nodes, distance_m=distance_m)
    assert np.allclose(new, dense_reach(g, nodes, distance_m))
    assert (new > 0).all()


def test_bounded_searches_hold_few_distances_at_once():
    g = random_streets(900, seed=1)
    m, _ = graph_csr(g)
    _, xy = node_xy(g)
    src = np.arange(0, 900, 2)
    seen = np.zeros(len(src), bool)
    full = dijkstra(m, directed=False, indices=src, limit=150.0)
    for rows, local, dist in bounded_searches(m, xy, src, 150.0, max_cells=5000):
        assert dist.size <= max(5000, len(local)) and len(local) < 900  # never the whole graph
        seen[rows] = True
        # distances within the limit are the whole graph's; nodes left out are beyond it
        assert np.array_equal(dist, full[rows][:, local])
        out = np.setdiff1d(np.arange(900), local)
        assert np.isinf(full[rows][:, out]).all()
    assert seen.all()


def test_network_coverage_matrix_equals_dense():
    g = random_streets(300, seed=2)
    rng = np.random.default_rng(3)
    demand = rng.uniform(0, 2000, (2000, 2))
    sites = list(g.nodes)[::4] + [next(iter(g.nodes))]  # a repeated site keeps its row
    new = network_coverage_matrix(g, sites, demand, range_m=120.0)
    old = dense_coverage(g, sites, demand, 120.0)
    assert new.shape == old.shape and new.nnz == old.nnz > 0
    assert (new != old).nnz == 0


def test_bounded_reach_on_the_default_town(town):
    nodes = [n for n, d in town.graph.nodes(data=True) if d.get("street_count", 0) >= 3][::5]
    assert np.allclose(
        network_reach_m(town.graph, nodes, distance_m=150.0), dense_reach(town.graph, nodes, 150.0)
    )


def test_orienteering_with_large_prizes_ends_and_matches_normalised_prizes():
    """A real instance (the whole default extract's evening shift, 60 stops, prizes ≈ 1e6): the
    search ends, and picks the same tour as with the prizes divided by their maximum."""
    from pathlib import Path

    from siteplanner.patrol.search import solve_orienteering

    z = np.load(Path(__file__).parent / "data" / "orienteering_default_extract.npz")
    T, s, p, budget = z["travel_min"], z["service_min"], z["prizes"], float(z["budget_min"])
    assert p.max() > 1e6
    kw = {"budget_min": budget, "seed": 0, "max_iter": 20, "stall": 10, "restarts": 1}
    big = solve_orienteering(T, s, p, **kw)
    small = solve_orienteering(T, s, p / p.max(), **kw)
    assert len(big.order) >= 3 and list(big.order) == list(small.order)
