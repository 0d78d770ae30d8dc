"""The pyosmium reader (siteplanner.town.osm) on hand-built extracts with known answers and on the
shared real extracts (PBF, clipped, cut boundaries), and the existing cameras it yields."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pytest
import shapely
from shapely.geometry import box

from siteplanner._errors import InputError
from siteplanner.coverage import matrix as coverage
from siteplanner.coverage.sightlines import build_obstacles
from siteplanner.town import cameras, osm
from siteplanner.town import load as io

from .conftest import CACHE, OSM, SHARED_ROOT

SHARED = SHARED_ROOT / "data" / "osm"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared real extracts not present")


def _osm(tmp_path: Path, body: str, name: str = "t.osm") -> Path:
    path = tmp_path / name
    path.write_text(
        f"<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n{body}\n</osm>\n",
        encoding="utf-8",
    )
    return path


def _nodes(
    coords: dict[int, tuple[float, float]], tags: dict[int, dict[str, str]] | None = None
) -> str:
    out = []
    for i, (lon, lat) in coords.items():
        t = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).get(i, {}).items())
        out.append(f'<node id="{i}" lat="{lat}" lon="{lon}" version="1">{t}</node>')
    return "\n".join(out)


def _way(wid: int, refs: list[int], **tags: str) -> str:
    nds = "".join(f'<nd ref="{r}"/>' for r in refs)
    t = "".join(f'<tag k="{k.replace("__", ":")}" v="{v}"/>' for k, v in tags.items())
    return f'<way id="{wid}" version="1">{nds}{t}</way>'


# ---------------------------------------------------------------------------------------
# streets only
# ---------------------------------------------------------------------------------------

GRID = {
    i: (round(7.42 + 0.001 * (i % 10), 4), round(43.74 + 0.001 * (i // 10), 4))
    for i in range(1, 40)
}


def test_only_walkable_highways_become_streets(tmp_path):
    ways = [
        _way(100, [1, 2], highway="residential"),
        _way(101, [2, 3], highway="footway", foot="no"),
        _way(102, [3, 4], highway="motorway"),
        _way(103, [11, 12, 13, 11], building="yes"),  # an outline: never a street
        _way(104, [4, 5], highway="service", service="private"),
        _way(105, [5, 6], highway="path", access="private"),
        _way(106, [6, 7], highway="cycleway"),
        _way(107, [7, 8], highway="primary", sidewalk="separate"),
        _way(108, [21, 22], highway="trunk"),  # osmnx's walk type keeps trunk roads
        _way(109, [22, 23], highway="pedestrian", area="yes"),
        _way(110, [23, 24], highway="steps"),
        _way(111, [24, 25], landuse="residential"),
        _way(112, [25, 26], highway="motorway_link"),
        _way(113, [26, 27], highway="proposed"),
    ]
    path = _osm(tmp_path, _nodes(GRID) + "\n" + "\n".join(ways))
    g = osm.parse(path)["graph"]
    osmids = {d["osmid"] for _, _, d in g.edges(data=True)}
    assert osmids == {100, 108, 110}
    assert all(d["highway"] in ("residential", "trunk", "steps") for _, _, d in g.edges(data=True))
    assert 11 not in g and 25 not in g


def test_simplified_graph_keeps_intersections_and_dead_ends(tmp_path):
    """A T: way 200 runs 1-2-3-4, way 201 joins it at 3 from 13, way 202 continues 201 to 23."""
    body = (
        _nodes(GRID)
        + "\n"
        + "\n".join(
            [
                _way(200, [1, 2, 3, 4], highway="residential", name="Rue A"),
                _way(201, [13, 3], highway="footway"),
                _way(202, [23, 13], highway="footway"),
            ]
        )
    )
    g = osm.parse(_osm(tmp_path, body))["graph"]
    # node 2 is inside way 200, node 13 joins two ways end to end: both become geometry
    assert sorted(g.nodes) == [1, 3, 4, 23]
    assert g.nodes[3]["street_count"] == 3 and g.nodes[1]["street_count"] == 1
    assert g.number_of_edges() == 6  # three streets, both directions
    d = g.get_edge_data(23, 3)[0]
    assert sorted(d["osmid"]) == [201, 202] and d["highway"] == "footway"
    # 0.002° of latitude: 222.4 m on osmnx's sphere
    assert d["length"] == pytest.approx(2 * 6_371_009 * math.radians(0.001), rel=1e-6)
    assert d["geometry"].coords[0] == (GRID[23][0], GRID[23][1])
    assert g.get_edge_data(3, 23)[0]["geometry"].coords[0] == (GRID[3][0], GRID[3][1])
    ab = g.get_edge_data(1, 3)[0]
    assert ab["name"] == "Rue A" and len(ab["geometry"].coords) == 3
    assert g.graph["crs"] == "epsg:4326"


def test_way_clipped_at_the_edge_is_cut_with_one_warning(tmp_path, caplog):
    """Way 300 references node 99, absent: it is cut in two; way 301 loses its last node."""
    body = (
        _nodes(GRID)
        + "\n"
        + "\n".join(
            [
                _way(300, [1, 2, 99, 3, 4], highway="residential"),
                _way(301, [11, 12, 98], highway="residential"),
                _way(302, [21, 22, 97, 21], building="yes"),  # a clipped outline has no footprint
            ]
        )
    )
    caplog.set_level(logging.WARNING, logger="siteplanner")
    layers = osm.parse(_osm(tmp_path, body))
    g = layers["graph"]
    assert {(u, v) for u, v in g.edges() if u < v} == {(1, 2), (3, 4), (11, 12)}
    warnings = [r for r in caplog.records if "missing from the extract" in r.getMessage()]
    assert len(warnings) == 1
    assert "2 street way(s) and 1 other way(s)" in warnings[0].getMessage()
    assert ("way", 302) not in layers["features"].index


# ---------------------------------------------------------------------------------------
# boundaries, coast
# ---------------------------------------------------------------------------------------


def _commune(members: list[int], *, anchor: bool = True) -> str:
    """A 0.01° square commune 7.40-7.41 / 43.70-43.71 in four sides (ways 1-4), and a street."""
    corners = {
        501: (7.40, 43.70),
        502: (7.41, 43.70),
        503: (7.41, 43.71),
        504: (7.40, 43.71),
        505: (7.405, 43.705),
        506: (7.402, 43.702),
        507: (7.408, 43.702),
        508: (7.39, 43.69),
        509: (7.42, 43.72),
        510: (7.402, 43.708),
        511: (7.408, 43.708),
    }  # 508/509 widen the extract's bounds
    sides = {1: [501, 502], 2: [502, 503], 3: [503, 504], 4: [504, 501]}
    ways = [_way(w, sides[w], boundary="administrative") for w in sides if w in members]
    ways.append(_way(600, [506, 507], highway="residential"))
    ways.append(_way(602, [510, 511], highway="residential"))
    ways.append(_way(601, [508, 509], highway="track"))
    mem = "".join(f'<member type="way" ref="{w}" role="outer"/>' for w in sides)
    if anchor:
        mem += '<member type="node" ref="505" role="admin_centre"/>'
    rel = (
        f'<relation id="900" version="1">{mem}<tag k="type" v="boundary"/>'
        '<tag k="boundary" v="administrative"/><tag k="admin_level" v="8"/>'
        '<tag k="name" v="Carré"/></relation>'
    )
    return "\n".join([_nodes(corners, {505: {"place": "village", "name": "Carré"}}), *ways, rel])


def test_whole_boundary_is_a_polygon(tmp_path):
    path = _osm(tmp_path, _commune([1, 2, 3, 4]))
    check = osm.check_boundary(path, "Carré")
    assert (check.relation, check.members, check.present, check.complete) == (900, 4, 4, True)
    layers = osm.parse(path)
    name, geom = io.study_area_from_osm(layers["features"], 900, source="t", layers=layers)
    assert name == "Carré" and geom.equals(box(7.40, 43.70, 7.41, 43.71))


def test_cut_boundary_is_closed_along_the_bounds_with_a_warning(tmp_path, caplog):
    """Side 3 (the north one) is missing: the ring is closed along the extract's north edge."""
    path = _osm(tmp_path, _commune([1, 2, 4]))
    check = osm.check_boundary(path, 900)
    assert (check.members, check.present, check.complete, check.anchor_present) == (
        4,
        3,
        False,
        True,
    )
    layers = osm.parse(path)
    caplog.set_level(logging.WARNING, logger="siteplanner")
    _, geom = io.study_area_from_osm(layers["features"], 900, source="t", layers=layers)
    assert "3 of 4 member ways present" in caplog.text
    # the square, prolonged north to the extract's edge at 43.72 (within the bounds' 1e-6° margin)
    assert geom.symmetric_difference(box(7.40, 43.70, 7.41, 43.72)).area < 0.01 * 2e-6


def test_cut_boundary_without_a_known_inside_is_refused(tmp_path):
    path = _osm(tmp_path, _commune([1, 2, 4], anchor=False))
    assert osm.check_boundary(path, 900).anchor_present is False
    layers = osm.parse(path)
    with pytest.raises(InputError, match="3 of 4 member ways present.*polygon ="):
        io.study_area_from_osm(layers["features"], 900, source="t", layers=layers)


def test_boundary_with_no_member_in_the_extract_fails_before_the_parse(tmp_path):
    path = _osm(tmp_path, _commune([]))
    with pytest.raises(InputError, match="none of its 4 member ways.*polygon ="):
        osm.check_boundary(path, 900)
    with pytest.raises(InputError, match="no administrative boundary relation 901"):
        osm.check_boundary(path, 901)


def test_sea_is_clipped_off_the_study_area(tmp_path, caplog):
    """A coastline running west to east through the middle, land on its left (north)."""
    coast = {701: (7.39, 43.705), 702: (7.42, 43.705)}
    body = (
        _commune([1, 2, 3, 4])
        + "\n"
        + _nodes(coast)
        + "\n"
        + _way(700, [701, 702], natural="coastline")
    )
    path = _osm(tmp_path, body)
    caplog.set_level(logging.WARNING, logger="siteplanner")
    town = io.load_town(path, boundary=900, cache_dir=None, margin_m=0)
    assert "50.0 % of the study area" in caplog.text
    north = (
        gpd.GeoSeries([box(7.40, 43.705, 7.41, 43.71)], crs="EPSG:4326").to_crs(town.crs).iloc[0]
    )
    assert town.area.symmetric_difference(north).area < 1.0  # m²
    assert sorted(town.graph.nodes) == [510, 511]
    # reversed, the land is the south half, with the other street
    body_rev = body.replace('<nd ref="701"/><nd ref="702"/>', '<nd ref="702"/><nd ref="701"/>')
    town = io.load_town(
        _osm(tmp_path, body_rev, "rev.osm"), boundary=900, cache_dir=None, margin_m=0
    )
    assert sorted(town.graph.nodes) == [506, 507]


# ---------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------


def test_not_an_osm_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "town.geojson"
    bad.write_text("{}")
    with pytest.raises(InputError, match="not an OpenStreetMap file name"):
        io.read_osm(bad, cache_dir=None)
    garbage = tmp_path / "town.osm.pbf"
    garbage.write_bytes(b"\x00\x01 not a pbf" * 50)
    with pytest.raises(InputError, match="could not be read as an OpenStreetMap extract"):
        io.read_osm(garbage, cache_dir=None)
    broken = tmp_path / "town.osm.bz2"
    broken.write_bytes(b"BZh9 truncated")
    with pytest.raises(InputError, match="town.osm.bz2"):
        io.read_osm(broken, cache_dir=None)


def _walkable_way_ids(path: Path) -> set[int]:
    fp = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(
        osmium.filter.KeyFilter("highway")
    )
    # (a way of one node, as two of the default extract's, is no street)
    return {
        w.id for w in fp if osm.is_walkable(dict(w.tags)) and len({n.ref for n in w.nodes}) >= 2
    }


def _edge_way_ids(g) -> set[int]:
    out: set[int] = set()
    for _, _, d in g.edges(data=True):
        out |= set(d["osmid"]) if isinstance(d["osmid"], list) else {d["osmid"]}
    return out


def test_default_extract_streets_only(town):
    """Every edge of the study's graph is made of walkable highway ways (an independent pass)."""
    walkable = _walkable_way_ids(OSM)
    assert _edge_way_ids(town.graph) <= walkable
    assert all(d.get("highway") is not None for _, _, d in town.graph.edges(data=True))
    # and the extract's whole graph is made of all of them, nothing else
    layers = io.read_osm(OSM, cache_dir=CACHE)
    assert _edge_way_ids(layers["graph"]) == walkable


@needs_shared
@pytest.mark.parametrize("name", ["monaco-2026.osm.pbf", "liechtenstein-2015.osm.pbf"])
def test_pbf_extracts_are_read(name):
    path = SHARED / name
    layers = osm.parse(path)
    g, f = layers["graph"], layers["features"]
    assert g.number_of_nodes() > 1000
    assert _edge_way_ids(g) <= _walkable_way_ids(path)
    assert (f["building"].notna() & f.geom_type.isin(["Polygon", "MultiPolygon"])).sum() > 500
    assert f.crs == "EPSG:4326"


@needs_shared
def test_cut_beausoleil_in_the_2026_extract_is_closed_with_a_warning(caplog):
    """monaco-2026 holds 7 of Beausoleil's 8 boundary ways; its admin_centre is outside."""
    path = SHARED / "monaco-2026.osm.pbf"
    check = osm.check_boundary(path, 174562)
    assert (check.name, check.members, check.present) == ("Beausoleil", 8, 7)
    assert check.anchor_present is False
    layers = osm.parse(path)
    caplog.set_level(logging.WARNING, logger="siteplanner")
    _, area = io.study_area_from_osm(layers["features"], 174562, source=str(path), layers=layers)
    assert "7 of 8 member ways present" in caplog.text
    # against the whole commune of the 2016 extract: mostly the same land (INSEE: 2.77 km²)
    whole = io.read_osm(OSM, cache_dir=CACHE)["features"].loc[("relation", 174562)].geometry
    assert area.intersection(whole).area / whole.area > 0.95
    assert area.intersection(whole).area / area.area > 0.9


@needs_shared
def test_clipped_ways_of_redon_are_counted_once(caplog):
    caplog.set_level(logging.WARNING, logger="siteplanner")
    layers = osm.parse(SHARED / "redon-centre-2019.osm.bz2")
    msgs = [r.getMessage() for r in caplog.records if "missing from the extract" in r.getMessage()]
    assert len(msgs) == 1 and layers["clipped_ways"] > 0
    n_streets, n_other = (int(w) for w in msgs[0].split(":")[1].split() if w.isdigit())
    assert n_streets + n_other == layers["clipped_ways"]
    assert layers["graph"].number_of_nodes() > 100


def test_monaco_country_is_clipped_to_land(caplog, tmp_path):
    """Relation 1124039 (Monaco, with its territorial waters): 93 % sea; the land is ≈ 2.0 km²."""
    caplog.set_level(logging.WARNING, logger="siteplanner")
    # a cache of its own: the warning is logged when the study area is built, not when read back
    town = io.load_town(OSM, boundary=1124039, cache_dir=tmp_path, margin_m=0)
    assert "of the study area" in caplog.text and "sea or water" in caplog.text
    assert 1.8e6 < town.area.area < 2.3e6
    # read again (from the cache now): the warnings are told again
    caplog.clear()
    again = io.load_town(OSM, boundary=1124039, cache_dir=CACHE, margin_m=0)
    assert again.area.equals(town.area)
    assert "sea or water" in caplog.text and "1124039 (Monaco) is cut" in caplog.text


# ---------------------------------------------------------------------------------------
# existing cameras
# ---------------------------------------------------------------------------------------


def test_camera_direction_is_parsed():
    assert cameras.parse_direction("NE") == 45.0
    assert cameras.parse_direction("ssw") == 202.5
    assert cameras.parse_direction("127,5") == 127.5
    assert cameras.parse_direction("-90") == 270.0
    assert cameras.parse_direction("45;225") == 45.0
    assert cameras.parse_direction("350-10") == 0.0
    assert math.isnan(cameras.parse_direction("towards the bank"))
    assert math.isnan(cameras.parse_direction(None))


def test_osm_cameras_filter_indoor_and_keep_direction(tmp_path):
    cams = {801: (7.401, 43.701), 802: (7.402, 43.701), 803: (7.403, 43.701)}
    tags = {
        801: {
            "man_made": "surveillance",
            "surveillance": "public",
            "camera:direction": "E",
            "camera:angle": "30",
        },
        802: {"man_made": "surveillance", "surveillance": "indoor"},
        803: {"man_made": "surveillance", "surveillance:type": "camera"},
    }
    layers = osm.parse(_osm(tmp_path, _nodes(cams, tags)))
    out = cameras.osm_cameras(layers["features"])
    assert out["site_id"].tolist() == ["E801", "E803"]
    assert out["heading_deg"].iloc[0] == 90.0 and math.isnan(out["heading_deg"].iloc[1])
    assert out["tilt_deg"].iloc[0] == 30.0
    assert out["heading_source"].tolist() == [cameras.FROM_OSM, cameras.ASSUMED]
    assert len(cameras.osm_cameras(layers["features"], exclude={})) == 3


def test_cameras_file(tmp_path):
    f = tmp_path / "cams.csv"
    f.write_text("name;lon;lat;heading_deg;fov_deg\nMairie;7.40;43.70;SW;90\nPlace;7.41;43.71;;\n")
    out = cameras.read_cameras(f)
    assert out["site_id"].tolist() == ["X0001", "X0002"]
    assert out["heading_deg"].iloc[0] == 225.0 and out["fov_deg"].iloc[0] == 90.0
    assert out["heading_source"].tolist() == [cameras.FROM_FILE, cameras.ASSUMED]
    f.write_text("lon,lat,heading_deg,fov_deg\n7.40,43.70,up,400\n")
    with pytest.raises(InputError, match=r"row 1: heading_deg 'up'.*\n.*row 1: fov_deg 400"):
        cameras.read_cameras(f)
    f.write_text("x,y\n1000000,6300000\n")
    with pytest.raises(InputError, match="existing_cameras_crs"):
        cameras.read_cameras(f)
    assert cameras.read_cameras(f, crs="EPSG:2154").crs == "EPSG:2154"


def test_known_heading_is_kept_instead_of_the_best():
    """No building: a camera told to look east sees east even when the targets lie north."""
    obstacles = build_obstacles(gpd.GeoSeries([], crs="EPSG:32632"))
    xy = np.array([[0.0, 0.0], [100.0, 0.0]])
    targets = np.array([[0.0, 20.0], [100.0, 20.0]])
    fov = coverage.fields_of_view(
        obstacles,
        xy,
        range_m=30,
        fov_deg=60,
        n_headings=8,
        target_xy=targets,
        fixed_heading_deg=np.array([90.0, np.nan]),
        site_fov_deg=np.array([40.0, np.nan]),
    )
    assert fov.heading_deg.tolist() == [90.0, 0.0]
    east, north = fov.polygons
    assert east.centroid.x > 10 and abs(east.centroid.y) < 1
    assert north.centroid.y > 10
    # the 40° wedge of the fixed camera: area of a 40° sector of radius 30
    assert east.area == pytest.approx(math.pi * 30**2 * 40 / 360, rel=0.02)
    assert shapely.contains_xy(north, 100.0, 20.0)


def _scenario(tmp_path: Path, area: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(f'name = "t"\n[area]\nboundary = 174562\n{area}\n', encoding="utf-8")
    return p


def test_scenario_accepts_pbf_and_camera_choices(tmp_path):
    from siteplanner._errors import ScenarioError
    from siteplanner.scenario import load_scenario

    pbf = tmp_path / "town.osm.pbf"
    pbf.write_bytes(b"")
    sc = load_scenario(_scenario(tmp_path, f'osm = "{pbf}"'))
    assert sc.area.existing_cameras == "osm" and sc.area.camera_exclude == {
        "surveillance": ("indoor",)
    }
    sc = load_scenario(
        _scenario(tmp_path, f'osm = "{pbf}"\nexisting_cameras = "none"\ncamera_exclude = {{}}')
    )
    assert sc.area.existing_cameras == "none" and sc.area.cameras_file is None
    cams = tmp_path / "cams.csv"
    cams.write_text("lon,lat\n7.4,43.7\n")
    sc = load_scenario(_scenario(tmp_path, f'osm = "{pbf}"\nexisting_cameras = "cams.csv"'))
    assert sc.resolve(sc.area.cameras_file) == cams
    with pytest.raises(ScenarioError, match="existing_cameras: file .*absent.csv not found"):
        load_scenario(_scenario(tmp_path, f'osm = "{pbf}"\nexisting_cameras = "absent.csv"'))
    geo = tmp_path / "town.geojson"
    geo.write_text("{}")
    with pytest.raises(ScenarioError, match="area.osm.*not named like an OpenStreetMap extract"):
        load_scenario(_scenario(tmp_path, f'osm = "{geo}"'))


def test_pipeline_existing_cameras_choice(tmp_path, town):
    """ "none" gives no camera; a file gives its own, in the town's CRS, with their headings."""
    from siteplanner.scenario import load_scenario
    from siteplanner.steps.load import existing_cameras

    cams = tmp_path / "cams.csv"
    cams.write_text("name,lon,lat,heading_deg\nMairie,7.4232,43.7427,NE\nPlace,7.4240,43.7435,\n")
    sc = load_scenario(_scenario(tmp_path, f'osm = "{OSM}"\nexisting_cameras = "cams.csv"'))
    out = existing_cameras(sc, town)
    assert out.crs == town.crs and out["site_id"].tolist() == ["X0001", "X0002"]
    assert out["heading_deg"].iloc[0] == 45.0
    assert out["heading_source"].tolist() == [cameras.FROM_FILE, cameras.ASSUMED]
    sc = load_scenario(_scenario(tmp_path, f'osm = "{OSM}"\nexisting_cameras = "none"'))
    assert len(existing_cameras(sc, town)) == 0
