"""Night coverage: street lighting from OSM `lit`, the lighting file, and the night tables."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import osmium
import pytest
import shapely
from scipy.sparse import csr_matrix

from siteplanner._errors import InputError
from siteplanner.town import lighting

from .conftest import ROOT

OSM_2026 = ROOT / "data" / "osm" / "monaco-2026.osm.pbf"
# Malta (1,404 ways tagged lit), shipped in data/osm
MALTA = ROOT / "data" / "osm" / "malta-2018.osm.pbf"


def _streets(names, lits, crs="EPSG:32632"):
    """Two parallel streets 100 m long, 50 m apart (a hand-built town)."""
    geoms = [shapely.LineString([(0, 50 * i), (100, 50 * i)]) for i in range(len(names))]
    return gpd.GeoDataFrame(
        {
            "u": range(len(names)),
            "v": range(1, len(names) + 1),
            "key": 0,
            "name": names,
            "lit": lits,
        },
        geometry=geoms,
        crs=crs,
    )


def test_state_of_osm_values():
    assert lighting.state_of("yes") == "until_off"
    assert lighting.state_of("24/7") == "all_night"
    assert lighting.state_of("automatic") == "on_demand"
    assert lighting.state_of("limited") == "until_off"
    assert lighting.state_of("No") == "unlit"
    assert lighting.state_of(" yes;no ") == "until_off"
    assert lighting.state_of(None) == "unknown"
    assert lighting.state_of("bright") is None


def test_lit_in_phase():
    st = np.array(["all_night", "on_demand", "until_off", "unlit", "unknown"], dtype=object)
    assert lighting.lit_in_phase(st, "day").all()
    assert lighting.lit_in_phase(st, "night").tolist() == [True, True, True, False, True]
    assert lighting.lit_in_phase(st, "night", unknown_lit=False).tolist() == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert lighting.lit_in_phase(st, "extinction").tolist() == [True, True, False, False, False]


def test_phase_of_hours():
    night, off = (19, 7), (1, 5)
    assert lighting.phase_of_hours((9, 17), night=night, off=off) == "day"
    assert lighting.phase_of_hours((18, 24), night=night, off=off) == "night"
    assert lighting.phase_of_hours((20, 2), night=night, off=off) == "extinction"
    assert lighting.phase_of_hours((20, 2), night=night, off=None) == "night"
    assert lighting.phase_of_hours(None, night=night, off=off) == "extinction"
    assert (
        lighting.phase_of_hours((5, 7), night=night, off=off) == "night"
    )  # 5 h is after the extinction


def test_night_matrix_keeps_lit_points_and_infrared_range():
    # one camera at the origin; points at 10, 40 and 80 m; only the point at 80 m is on a lit street
    A = csr_matrix(np.ones((1, 3)))
    site = np.array([[0.0, 0.0]])
    pts = np.array([[10.0, 0.0], [40.0, 0.0], [80.0, 0.0]])
    lit = np.array([False, False, True])
    M = lighting.night_matrix(A, site, pts, lit, ir_range_m=30.0)
    assert M.toarray().tolist() == [[1, 0, 1]]
    # a camera whose minimum illumination a lit street does not reach sees only in its IR range
    M = lighting.night_matrix(A, site, pts, lit, ir_range_m=30.0, sees_lit=False)
    assert M.toarray().tolist() == [[1, 0, 0]]
    # no infrared, a dark town: nothing at night
    assert lighting.night_matrix(A, site, pts, np.zeros(3, bool), ir_range_m=0.0).nnz == 0
    # what is not covered by day is never covered by night
    A0 = csr_matrix(np.array([[0, 1, 0]]))
    assert lighting.night_matrix(
        A0, site, pts, np.ones(3, bool), ir_range_m=1000
    ).toarray().tolist() == [[0, 1, 0]]


def test_night_coverage_on_a_hand_built_town():
    edges = _streets(["Rue Claire", "Rue Noire"], [None, None])
    states = np.array(["until_off", "unlit"], dtype=object)
    sources = np.array(["osm", "osm"], dtype=object)
    # 4 demand points: two on each street, the camera at (0, 25) sees all of them by day
    demand = np.array([[10.0, 0.0], [90.0, 0.0], [10.0, 50.0], [90.0, 50.0]])
    weight = np.array([1.0, 1.0, 2.0, 4.0])
    A = csr_matrix(np.ones((1, 4)))
    site = np.array([[0.0, 25.0]])
    nc = lighting.night_coverage(
        A,
        weight,
        site,
        demand,
        edges,
        states,
        sources,
        before=[],
        after=[0],
        ir_range_m=30.0,
        sees_lit=True,
        sees_dark=False,
        unknown_lit=True,
        night=(19, 7),
        off=(1, 5),
    )
    assert nc.coverage["day"]["after"] == pytest.approx(1.0)
    # night: the lit street (weights 1 + 1) and the dark point within 30 m (weight 2): 4 of 8
    assert nc.coverage["night"]["after"] == pytest.approx(4 / 8)
    # extinction: only the two points within 30 m of the camera (weights 1 + 2)
    assert nc.coverage["extinction"]["after"] == pytest.approx(3 / 8)
    assert nc.lost_share == pytest.approx(5 / 8)
    assert nc.coverage["day"]["before"] == 0.0
    ds = nc.dark_streets.set_index("street")
    assert ds.loc["Rue Noire", "weight_lost"] == pytest.approx(4 / 8)
    assert ds.loc["Rue Claire", "weight_lost"] == pytest.approx(1 / 8)


@pytest.mark.parametrize("extract", [OSM_2026, MALTA], ids=["monaco-2026", "malta-2018"])
def test_read_osm_lit_matches_an_independent_count(extract):
    if not extract.is_file():
        pytest.skip(f"{extract.name} is missing from data/osm")

    class Count(osmium.SimpleHandler):
        def __init__(self):
            super().__init__()
            self.lit = {}

        def way(self, w):
            if "highway" in w.tags and "lit" in w.tags:
                self.lit[w.id] = w.tags["lit"]

    h = Count()
    h.apply_file(str(extract))
    got = lighting.read_osm_lit(extract)
    assert got == h.lit and len(got) > 1000
    states = {lighting.state_of(v) for v in got.values()}
    assert states <= {"until_off", "all_night", "unlit", "on_demand"} and "unlit" in states
    some = sorted(got)[:5]
    assert lighting.read_osm_lit(extract, some) == {w: got[w] for w in some}


@pytest.fixture(scope="module")
def graph_2026(tmp_path_factory):
    """The street graph of the recent extract (highways only, written as XML for osmnx)."""
    import osmnx as ox

    xml = tmp_path_factory.mktemp("osm2026") / "highways.osm"
    with osmium.BackReferenceWriter(str(xml), ref_src=str(OSM_2026), overwrite=True) as w:
        for o in osmium.FileProcessor(str(OSM_2026), osmium.osm.WAY).with_filter(
            osmium.filter.KeyFilter("highway")
        ):
            w.add(o)
    g = ox.graph_from_xml(xml, simplify=True, retain_all=True)
    return ox.project_graph(g, to_crs="EPSG:32632")


def test_edges_take_the_lit_tag_of_their_ways_on_the_recent_extract(graph_2026):
    from siteplanner.town import load as io

    edges = io.edges_gdf(graph_2026, "EPSG:32632")
    way_ids = lighting.edge_way_ids(graph_2026, edges)
    osm_lit = lighting.read_osm_lit(OSM_2026)
    values = lighting.edge_lit_values(graph_2026, edges, osm_lit)
    # every edge made of a tagged way carries a tag, and only those
    for ids, v in zip(way_ids, values):
        assert (v is not None) == any(w in osm_lit for w in ids)
        if v is not None:
            assert v in {osm_lit[w] for w in ids if w in osm_lit}
    states, sources = lighting.street_states(values)
    assert {"until_off", "all_night", "unknown"} <= set(states)
    assert (sources == "osm").sum() == sum(v is not None for v in values)


def test_lighting_file_csv_overrides_osm(tmp_path):
    edges = _streets(["A", "B"], [None, None])
    way_ids = [(101,), (102, 103)]
    f = tmp_path / "eclairage.csv"
    f.write_text("osm_way_id,lit\n103,24/7\n999,no\n", encoding="utf-8")
    vals = lighting.read_lighting_file(f, edges, way_ids)
    assert vals.isna().tolist() == [True, False] and vals.iloc[1] == "24/7"
    states, sources = lighting.street_states(["no", "yes"], vals.tolist())
    assert states.tolist() == ["unlit", "all_night"]
    assert sources.tolist() == ["osm", "file"]


def test_lighting_file_lines_match_nearby_streets(tmp_path):
    edges = _streets(["A", "B"], [None, None])
    lines = gpd.GeoDataFrame(
        {"lit": ["no"]}, geometry=[shapely.LineString([(0, 53), (100, 53)])], crs=edges.crs
    )
    f = tmp_path / "eclairage.geojson"
    lines.to_crs("EPSG:4326").to_file(f, driver="GeoJSON")
    vals = lighting.read_lighting_file(f, edges, [(1,), (2,)], match_m=10)
    assert vals.isna().tolist() == [True, False] and vals.iloc[1] == "no"


def test_lighting_file_bad_rows_are_one_error_naming_them(tmp_path):
    f = tmp_path / "eclairage.csv"
    f.write_text("osm_way_id,lit\n12,bright\nabc,yes\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        lighting.read_lighting_file(f, _streets(["A"], [None]), [(12,)])
    msg = str(exc.value)
    assert (
        "eclairage.csv" in msg
        and "row 2" in msg
        and "'bright'" in msg
        and "row 3" in msg
        and "24/7" in msg
    )
    f.write_text("way,lit\n12,yes\n", encoding="utf-8")
    with pytest.raises(InputError, match="osm_way_id"):
        lighting.read_lighting_file(f, _streets(["A"], [None]), [(12,)])


def test_scenario_lighting_section_is_checked(tmp_path):
    from siteplanner._errors import ScenarioError
    from siteplanner.scenario import load_scenario

    from .conftest import SCENARIO

    base = SCENARIO.read_text(encoding="utf-8").replace('"../', f'"{SCENARIO.parent.parent}/')
    p = tmp_path / "nuit.toml"
    p.write_text(base + '\n[lighting]\noff = [1, 5]\nfile = "eclairage.csv"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"lighting.file: file .*eclairage.csv not found"):
        load_scenario(p)
    p.write_text(base + "\n[lighting]\nof = [1, 5]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"lighting.of: unknown key"):
        load_scenario(p)
    p.write_text(base + "\n[lighting]\noff = [3, 3]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="two different integers"):
        load_scenario(p)
    p.write_text(base + "\n[lighting]\noff = [1, 5]\n", encoding="utf-8")
    sc = load_scenario(p)
    assert sc.lighting.off == (1, 5) and sc.camera.chosen().ir_range_m == 30
