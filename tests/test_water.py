"""The sea and the mapped water (siteplanner.town.water): valid polygons before any union, water
areas cut by the extract's edge closed along its bounds, rivers assembled from relations."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from shapely.geometry import LineString, Polygon, box

from siteplanner.town import load as io
from siteplanner.town import osm, water

from .conftest import CACHE, ROOT
from .test_osm import _commune, _nodes, _osm, _way

BOWTIE = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])  # crosses itself at (1, 1)
BOUNDS = (0.0, 0.0, 10.0, 10.0)
EPS = 1e-5


def test_polygonal_keeps_the_areas_of_a_geometry_made_valid():
    fixed = water.polygonal(BOWTIE)
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon"
    assert fixed.area == pytest.approx(2.0)  # the two triangles
    square = box(0, 0, 1, 1)
    assert water.polygonal(square) is square
    assert water.polygonal(LineString([(0, 0), (1, 1)])).is_empty
    assert water.polygonal(None).is_empty
    mixed = shapely.GeometryCollection([square, LineString([(5, 5), (6, 6)])])
    assert water.polygonal(mixed).equals(square)


def test_land_share_makes_water_valid_before_the_union():
    """The union of a self-intersecting fountain and a pond raised a GEOS TopologyException."""
    pond = box(1, 0.5, 3, 1.5)
    with pytest.raises(shapely.errors.GEOSException):
        shapely.union_all([BOWTIE, pond])
    features = gpd.GeoDataFrame(
        {"natural": ["water", "water"]}, geometry=[BOWTIE, pond], crs="EPSG:4326"
    )
    area = box(-1, -1, 4, 4)
    land, mapped = water.land_share(area, features)
    assert mapped and land.is_valid
    wet = shapely.union_all([water.polygonal(BOWTIE), pond])
    assert land.area == pytest.approx(area.area - wet.area)


def test_a_self_intersecting_study_area_file_is_made_valid(tmp_path):
    """The union of the file's polygons as they were raised a GEOS TopologyException."""
    lon, lat = 7.42, 43.74
    bowtie = shapely.affinity.translate(shapely.affinity.scale(BOWTIE, 0.005, 0.005), lon, lat)
    square = box(lon + 0.005, lat + 0.002, lon + 0.015, lat + 0.008)
    gpd.GeoDataFrame(geometry=[bowtie, square], crs="EPSG:4326").to_file(tmp_path / "a.geojson")
    name, area = io.read_polygon(tmp_path / "a.geojson")
    expected = shapely.union_all([water.polygonal(bowtie), square])
    assert name == "a" and area.iloc[0].is_valid
    assert area.iloc[0].symmetric_difference(expected).area < 1e-12


def test_riverbank_and_reservoir_are_water():
    assert water.is_water({"waterway": "riverbank"}) and water.is_water({"landuse": "reservoir"})
    assert water.is_water({"natural": "water", "water": "river"})
    assert not water.is_water({"waterway": "river"}) and not water.is_water({"natural": "wood"})


# ---------------------------------------------------------------------------------------
# closing water the extract's edge cuts
# ---------------------------------------------------------------------------------------


def _points(*xy: tuple[float, float], n: int = 6) -> np.ndarray:
    """``n`` points around each of ``xy``."""
    return np.array([(x + 0.1 * k, y) for x, y in xy for k in range(n)])


def test_a_river_across_the_extract_is_the_band_without_buildings():
    banks = [[(0, 4), (10, 4)], [(10, 6), (0, 6)]]
    river = water.close_water(banks, BOUNDS, _points((2, 2), (5, 8)))
    assert river is not None and river.is_valid
    assert river.symmetric_difference(box(0, 4, 10, 6)).area < 100 * EPS


def test_a_lake_in_a_corner_is_the_side_without_buildings():
    shore = [[(6, 10), (6, 6), (10, 6)]]
    lake = water.close_water(shore, BOUNDS, _points((2, 2), (3, 8), (8, 2)))
    assert lake.symmetric_difference(box(6, 6, 10, 10)).area < 100 * EPS
    # the same shore with the buildings on the other side: the lake is the rest
    rest = water.close_water(shore, BOUNDS, _points((8, 8)))
    assert rest.area == pytest.approx(100 - 16, abs=100 * EPS)


def test_water_whose_side_the_data_cannot_tell_is_left_out():
    shore = [[(6, 10), (6, 6), (10, 6)]]
    assert water.close_water(shore, BOUNDS, np.zeros((0, 2))) is None  # no evidence
    assert water.close_water(shore, BOUNDS, _points((2, 2), (8, 8))) is None  # both sides
    assert water.close_water([], BOUNDS, _points((2, 2))) is None


# ---------------------------------------------------------------------------------------
# the reader: relations and clipped ways
# ---------------------------------------------------------------------------------------

RIVER = {811: (7.395, 43.704), 812: (7.415, 43.704), 813: (7.415, 43.706), 814: (7.395, 43.706)}


def _riverbank_relation() -> str:
    """A river (waterway=riverbank, the tagging before 2020) from 43.704 to 43.706 across the
    commune of test_osm, a multipolygon of two member ways."""
    rel = (
        '<relation id="850" version="1"><member type="way" ref="801" role="outer"/>'
        '<member type="way" ref="802" role="outer"/><tag k="type" v="multipolygon"/>'
        '<tag k="waterway" v="riverbank"/></relation>'
    )
    return "\n".join([_nodes(RIVER), _way(801, [811, 812, 813]), _way(802, [813, 814, 811]), rel])


def test_a_river_relation_is_assembled_and_leaves_the_study_area(tmp_path):
    path = _osm(tmp_path, _commune([1, 2, 3, 4]) + "\n" + _riverbank_relation())
    river = osm.parse(path)["features"].loc[("relation", 850)].geometry
    assert river.equals(box(7.395, 43.704, 7.415, 43.706))
    town = io.load_town(path, boundary=900, cache_dir=None, margin_m=0)
    land = box(7.40, 43.70, 7.41, 43.71).difference(box(7.40, 43.704, 7.41, 43.706))
    land = gpd.GeoSeries([land], crs="EPSG:4326").to_crs(town.crs).iloc[0]
    assert town.area.symmetric_difference(land).area < 1.0  # m²


def _lake_cut_by_the_east_edge() -> str:
    """A lake from 7.417 east beyond the extract's edge (7.42): nodes 822-823 are missing."""
    shore = {821: (7.417, 43.695), 824: (7.417, 43.715)}
    return _nodes(shore) + "\n" + _way(820, [821, 822, 823, 824, 821], natural="water")


def test_a_lake_cut_by_the_extract_edge_is_closed_along_it(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="siteplanner")
    layers = osm.parse(_osm(tmp_path, _commune([1, 2, 3, 4]) + "\n" + _lake_cut_by_the_east_edge()))
    lake = layers["features"].loc[("way", 820)].geometry
    assert lake.geom_type == "Polygon"
    assert lake.symmetric_difference(box(7.417, 43.695, 7.42, 43.715)).area < 1e-7
    assert "1 water area(s) cut by the extract's edge: 1 closed" in caplog.text
    assert "left out" not in caplog.text


def test_a_cut_lake_with_no_land_around_is_left_out(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="siteplanner")
    far = _nodes({1: (7.39, 43.69), 2: (7.42, 43.72)})
    layers = osm.parse(_osm(tmp_path, far + "\n" + _lake_cut_by_the_east_edge()))
    lake = layers["features"].loc[("way", 820)].geometry
    assert lake.geom_type == "LineString"  # its shore, not an area
    assert "0 closed along its bounds" in caplog.text and "; 1 left out, their" in caplog.text


def test_the_rhine_leaves_a_study_area_across_it(tmp_path):
    """In the Liechtenstein extract the Rhine is a closed way tagged waterway=riverbank, once
    left in the study area: a box across it near Vaduz loses the river's part of it."""
    extract = ROOT / "data" / "osm" / "liechtenstein-2015.osm.pbf"
    feats = io.read_osm(extract, cache_dir=CACHE)["features"]
    rhine = feats.loc[("way", 123503275)].geometry
    assert feats.loc[("way", 123503275), "name"] == "Rhein"
    area = box(9.504, 47.136, 9.513, 47.144)
    gpd.GeoDataFrame(geometry=[area], crs="EPSG:4326").to_file(tmp_path / "vaduz.geojson")
    town = io.load_town(extract, area_path=tmp_path / "vaduz.geojson", cache_dir=None)
    expected = gpd.GeoSeries([area.difference(rhine)], crs="EPSG:4326").to_crs(town.crs).iloc[0]
    assert town.area.symmetric_difference(expected).area < 10.0  # m²
    river = gpd.GeoSeries([area.intersection(rhine)], crs="EPSG:4326").to_crs(town.crs).iloc[0]
    assert river.area > 0.1 * (river.area + expected.area)  # 110 m of a 680 m box
