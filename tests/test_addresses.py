"""Sites named as a référent sûreté names them: crossings, house numbers, landmarks.

A hand-built crossing whose names are known: "Boulevard de la République" (primary, along
y = 0) meets "Allée des Pins" (residential, north) and a footway without a name (south) at
(100, 0); "Collège Bellevue" stands at (120, 30); a town hall (also a public building in
OSM) at (0, 300).
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import shapely

from siteplanner.town import addresses
from siteplanner.town.load import edges_gdf
from siteplanner.vocab import near_text, street_in_text

CRS = "EPSG:32632"


def _graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for n, (x, y) in {1: (0, 0), 2: (100, 0), 3: (200, 0), 4: (100, 100), 5: (100, -100)}.items():
        g.add_node(n, x=float(x), y=float(y))
    for u, v, tags in [
        (1, 2, {"name": "Boulevard de la République", "highway": "primary"}),
        (2, 3, {"name": "Boulevard de la République", "highway": "primary"}),
        (2, 4, {"name": "Allée des Pins", "highway": "residential"}),
        (2, 5, {"highway": "footway"}),
    ]:
        line = shapely.LineString([(g.nodes[n]["x"], g.nodes[n]["y"]) for n in (u, v)])
        g.add_edge(u, v, 0, **tags, length=line.length, geometry=line)
        g.add_edge(v, u, 0, **tags, length=line.length, geometry=line.reverse())
    return g


def _pois() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "kind": ["school", "townhall", "public_building", "bus_stop"],
            "name": ["Collège Bellevue", None, None, "Arrêt Pins"],
            "osm_id": ["way/1", "way/2", "way/2", "node/3"],
        },
        geometry=shapely.points([(120, 30), (0, 300), (0, 300), (100, 5)]),
        crs=CRS,
    )


def _names(points, numbers=None):
    g = _graph()
    pts = gpd.GeoSeries(shapely.points(points), crs=CRS)
    return addresses.site_addresses(pts, g, edges_gdf(g, CRS), _pois(), house_numbers=numbers)


def test_a_crossing_names_its_streets_main_street_first():
    out = _names([(100, 0), (103, 4)])
    assert out["address"].tolist() == ["angle boulevard de la République / allée des Pins"] * 2
    assert out["near"].tolist() == ["près du collège Bellevue"] * 2
    assert out["label"].iloc[0] == (
        "angle boulevard de la République / allée des Pins, près du collège Bellevue"
    )


def test_one_street_with_and_without_a_house_number():
    numbers = gpd.GeoDataFrame(
        {"street": ["allée des pins", "Boulevard de la République"], "housenumber": ["12", "3"]},
        geometry=shapely.points([(106, 60), (10, 400)]),
        crs=CRS,
    )
    out = _names([(101, 55), (150, 2)], numbers)
    # the house number of the same street (case and accents aside) within 30 m
    assert out["address"].tolist() == ["12 allée des Pins", "boulevard de la République"]


def test_no_street_near_and_the_most_specific_landmark():
    out = _names([(0, 280), (230, 140)])
    assert out["address"].tolist() == ["voie sans nom", "allée des Pins"]
    # the town hall is also a public building in OSM: it is named as the town hall
    assert out["near"].tolist() == ["près de la mairie", ""]
    assert out["label"].tolist() == ["voie sans nom, près de la mairie", "allée des Pins"]


def test_nearest_street_names_known_answer():
    edges = gpd.GeoDataFrame(
        {"name": ["Rue A", None, "Avenue B"]},
        geometry=[
            shapely.LineString([(0, 0), (100, 0)]),
            shapely.LineString([(0, 5), (100, 5)]),
            shapely.LineString([(0, 50), (100, 50)]),
        ],
        crs=CRS,
    )
    pts = gpd.GeoSeries(shapely.points([(50, 4), (50, 40), (50, 500)]), crs=CRS)
    # the unnamed way is nearest to the first point: the nearest *named* street is used
    assert addresses.nearest_street_names(pts, edges, max_distance_m=150) == [
        "Rue A",
        "Avenue B",
        "",
    ]


def test_words_of_the_referent():
    assert street_in_text("Avenue du Maréchal Foch") == "avenue du Maréchal Foch"
    assert street_in_text("Mannerheimintie") == "Mannerheimintie"
    assert near_text("school", "École des Carmes") == "près de l'école des Carmes"
    assert near_text("station", "Monaco - Monte Carlo") == "près de la gare Monaco - Monte Carlo"
    assert near_text("police", None) == "près du commissariat"
    assert near_text("public_building", "Beausoleil") == "près du bâtiment public Beausoleil"
    assert near_text("police", "Hamrun Police Station") == "près de Hamrun Police Station"
    assert near_text("public_building", "Sous-préfecture de Redon") == (
        "près de la sous-préfecture de Redon"
    )
