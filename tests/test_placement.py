"""Where a mast can stand: refused positions, the nearest valid point, sites put on the street.

A hand-built town whose answers are known: a 200 m square commune crossed by "Rue A" (a
surface street along y = 100), a tunnel "Tunnel B" from (100, 0) to (100, 60), and a building
north of the street.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from siteplanner.coverage.candidates import network_distance_to
from siteplanner.town import placement
from siteplanner.town.load import edges_gdf
from siteplanner.vocab import underground

CRS = "EPSG:32632"


def _graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for n, (x, y) in {1: (0, 100), 2: (100, 100), 3: (200, 100), 4: (100, 0), 5: (100, 60)}.items():
        g.add_node(n, x=float(x), y=float(y))
    for u, v, tags in [
        (1, 2, {"name": "Rue A", "highway": "residential"}),
        (2, 3, {"name": "Rue A", "highway": "residential"}),
        (4, 5, {"name": "Tunnel B", "highway": "primary", "tunnel": "yes"}),
    ]:
        a = (g.nodes[u]["x"], g.nodes[u]["y"])
        b = (g.nodes[v]["x"], g.nodes[v]["y"])
        line = shapely.LineString([a, b])
        g.add_edge(u, v, 0, **tags, length=line.length, geometry=line, reversed=False)
        g.add_edge(v, u, 0, **tags, length=line.length, geometry=line.reverse(), reversed=True)
    return g


@pytest.fixture()
def town():
    g = _graph()
    edges = edges_gdf(g, CRS)
    buildings = gpd.GeoDataFrame(
        {"osm_id": ["way/7"], "name": ["Mairie"]},
        geometry=[shapely.box(20, 110, 80, 160)],
        crs=CRS,
    )
    area = shapely.box(0, 0, 200, 200)
    return g, edges, buildings, area, placement.underground_streets(edges)


def _check(town, xy):
    _, edges, buildings, area, below = town
    return placement.check_position(
        xy, area=area, buildings=buildings, edges=edges, below=below, area_name="Testville"
    )


def _nearest(town, xy):
    _, edges, buildings, area, below = town
    return placement.nearest_valid_point(
        xy, area=area, buildings=buildings, edges=edges, below=below
    )


def test_underground_rule():
    assert underground({"tunnel": "yes"}) and underground({"tunnel": "culvert"})
    assert underground({"layer": "-1"}) and underground({"level": "0;-1"})
    assert underground({"indoor": "corridor"}) and underground({"location": "underground"})
    assert underground({"tunnel": ["yes", None]})  # a street merged from a tunnel and a road
    assert not underground({"layer": "1"}) and not underground({"tunnel": "building_passage"})
    assert not underground({"highway": "residential"})


def test_underground_streets_flags_the_tunnel(town):
    _, edges, _, _, below = town
    assert dict(zip(edges["name"], below)) == {"Rue A": False, "Tunnel B": True}


def test_a_street_position_is_valid(town):
    assert _check(town, (150.0, 102.0)) == []
    assert _check(town, (100.0, 98.0)) == []  # above the tunnel's end, but on Rue A


def test_inside_a_building_is_refused_with_the_street_in_front(town):
    assert _check(town, (50.0, 130.0)) == ["is inside a building (way/7, Mairie)"]
    q, street = _nearest(town, (50.0, 130.0))
    assert (q.x, q.y) == pytest.approx((50.0, 100.0)) and street == "Rue A"


def test_on_the_tunnel_only_is_refused(town):
    (reason,) = _check(town, (100.0, 30.0))
    assert reason.startswith("is on an underground or indoor way only (Tunnel B")
    q, street = _nearest(town, (100.0, 30.0))  # the tunnel is no valid point
    assert (q.x, q.y) == pytest.approx((100.0, 100.0)) and street == "Rue A"


def test_outside_the_commune_is_refused_with_a_point_inside(town):
    assert _check(town, (250.0, 100.0)) == ["is outside the study area (Testville)"]
    q, _ = _nearest(town, (250.0, 100.0))
    assert (q.x, q.y) == pytest.approx((199.0, 100.0))  # 1 m inside the boundary


def test_the_valid_point_keeps_clear_of_buildings(town):
    g, edges, _, area, below = town
    wall = gpd.GeoDataFrame(  # a building astride the street
        {"osm_id": ["way/8"], "name": [None]}, geometry=[shapely.box(40, 90, 60, 110)], crs=CRS
    )
    assert _check(town[:2] + (wall, area, below), (50.0, 100.0)) == ["is inside a building (way/8)"]
    q, _ = placement.nearest_valid_point(
        (50.0, 100.0), area=area, buildings=wall, edges=edges, below=below
    )
    assert (q.x, q.y) == pytest.approx((39.0, 100.0)) or (q.x, q.y) == pytest.approx((61.0, 100.0))


def test_attach_splits_the_street(town):
    g, edges, _, _, below = town
    g2, nodes, stub = placement.attach_to_streets(
        g, np.array([[30.0, 104.0], [70.0, 100.0], [0.3, 101.0]]), edges, ~below
    )
    a, b, c = nodes
    assert a < 0 and b < 0 and c == 1  # the last one snaps to the street's end
    assert stub.tolist() == pytest.approx([4.0, 0.0, 1.0], abs=0.05)
    assert g.number_of_edges() == 6 and g2.number_of_edges() == 6 - 2 + 6
    assert not g2.has_edge(1, 2)
    assert g2.edges[1, a, 0]["length"] == pytest.approx(30.0)
    assert g2.edges[a, b, 0]["length"] == pytest.approx(40.0)
    assert g2.edges[b, 2, 0]["length"] == pytest.approx(30.0)
    assert g2.edges[b, a, 0]["name"] == "Rue A"
    # along the network from the far end of the street: each point at its own distance
    assert network_distance_to(g2, [3], [a, b, 2]).tolist() == pytest.approx([170, 130, 100])
