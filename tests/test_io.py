"""The OSM loader on the real extract, its cache, and the atomic writers."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from siteplanner import files
from siteplanner._errors import InputError
from siteplanner.town import load as io

from .conftest import CACHE, OSM, TINY_OSM


def test_loader_reads_beausoleil(town):
    assert town.name == "Beausoleil"
    assert town.crs == "EPSG:32632"
    # the commune is ≈ 2.8 km² (INSEE: 2.77 km²)
    assert 2.5e6 < town.area.area < 3.1e6
    assert nx.is_weakly_connected(town.graph)
    assert town.graph.number_of_nodes() > 400
    assert len(town.buildings) > 3000
    assert town.buildings.crs == town.crs
    assert (town.buildings["height_m"] > 0).all()
    kinds = set(town.pois["kind"])
    assert {"school", "bus_stop", "police", "townhall"} <= kinds
    # every layer lies within the area plus its margin
    grown = town.area.buffer(town.margin_m + 1)
    assert town.pois.within(grown).all()
    xs = np.array([d["x"] for _, d in town.graph.nodes(data=True)])
    assert 300_000 < xs.min() < xs.max() < 400_000  # projected metres, UTM 32N
    # street_count present for candidate intersections
    assert max(d["street_count"] for _, d in town.graph.nodes(data=True)) >= 3


def test_unknown_boundary_names_what_exists(town):
    with pytest.raises(InputError, match="no administrative boundary relation 999"):
        io.load_town(OSM, boundary=999, cache_dir=CACHE)
    with pytest.raises(InputError, match="Beausoleil"):
        io.load_town(OSM, boundary="Nowhere-sur-Mer", cache_dir=CACHE)


def test_missing_extract_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="OSM extract not found"):
        io.read_osm(tmp_path / "absent.osm.bz2", cache_dir=tmp_path)


def test_corrupt_cache_is_rebuilt(tmp_path, town):
    """A cache entry that is not a valid pickle is ignored and rewritten (on a tiny extract)."""
    osm = tmp_path / "tiny.osm"
    osm.write_text(TINY_OSM, encoding="utf-8")
    cache = tmp_path / "cache"
    first = io.read_osm(osm, cache_dir=cache)
    entries = list(cache.glob("osm-*.pickle"))
    assert len(entries) == 1
    entries[0].write_bytes(b"not a pickle")
    again = io.read_osm(osm, cache_dir=cache)
    assert again["graph"].number_of_nodes() == first["graph"].number_of_nodes()
    assert len(list(cache.glob("osm-*.pickle"))) == 1
    assert entries[0].read_bytes()[:1] != b"n"  # rewritten
    # a changed file gets a new key
    osm.write_text(osm.read_text().replace('lon="7.4215"', 'lon="7.4216"'), encoding="utf-8")
    io.read_osm(osm, cache_dir=cache)
    assert len(list(cache.glob("osm-*.pickle"))) == 2


def test_atomic_writer_keeps_previous_file_on_failure(tmp_path):
    dest = tmp_path / "summary.json"
    files.write_json(dest, {"a": 1})
    with pytest.raises(RuntimeError):
        with files.atomic_path(dest) as tmp:
            tmp.write_text("half-written")
            raise RuntimeError("killed")
    assert json.loads(dest.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_edges_gdf_one_row_per_street(town):
    edges = io.edges_gdf(town.graph, town.crs)
    assert edges.crs == town.crs
    assert len(edges) <= town.graph.number_of_edges()
    assert abs(edges["length"].sum() - edges.length.sum()) / edges.length.sum() < 0.02


def _stale_stage(out: Path, name: str, files: dict[str, str], *, complete: bool) -> Path:
    stage = out / name
    stage.mkdir(parents=True)
    for f, text in files.items():
        (stage / f).write_text(text)
    if complete:
        (stage / ".complete").write_text("1\n")
    return stage


def test_staged_folder_finishes_a_run_killed_while_moving_and_drops_one_killed_while_writing(
    tmp_path,
):
    from siteplanner.files import staged_folder

    out = tmp_path / "out"
    out.mkdir()
    for f in ("a.txt", "b.txt", "notes.txt"):
        (out / f).write_text("old")
    # run 1 was killed while moving its files: a.txt is already in place, b.txt is not
    (out / "a.txt").write_text("run 1")
    _stale_stage(out, ".staging-run1", {"b.txt": "run 1"}, complete=True)
    # run 2 was killed while writing: nothing of it may show
    _stale_stage(out, ".staging-run2", {"a.txt": "run 2, half written"}, complete=False)
    with staged_folder(out) as (stage, written):
        # the interrupted runs are dealt with before this run writes anything
        assert (out / "a.txt").read_text() == "run 1" and (out / "b.txt").read_text() == "run 1"
        assert [p.name for p in out.glob(".staging-*")] == [stage.name]
        (stage / "c.txt").write_text("run 3")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", "c.txt", "notes.txt"]
    assert (out / "notes.txt").read_text() == "old"  # not ours: never touched
    assert [p.name for p in written] == ["c.txt"]


def test_staged_folder_moves_nothing_when_the_run_fails(tmp_path):
    from siteplanner.files import staged_folder

    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with staged_folder(out) as (stage, _):
            (stage / "a.txt").write_text("new")
            raise RuntimeError("a step failed")
    assert [p.name for p in out.iterdir()] == ["a.txt"] and (out / "a.txt").read_text() == "old"


def test_every_format_gives_the_same_layers(tmp_path):
    """The tiny extract as .osm, .osm.gz, .osm.bz2 and .osm.pbf (written by pyosmium)."""
    import bz2
    import gzip

    import osmium

    xml = tmp_path / "tiny.osm"
    xml.write_text(TINY_OSM, encoding="utf-8")
    (tmp_path / "tiny.osm.gz").write_bytes(gzip.compress(TINY_OSM.encode()))
    (tmp_path / "tiny.osm.bz2").write_bytes(bz2.compress(TINY_OSM.encode()))
    with osmium.SimpleWriter(str(tmp_path / "tiny.osm.pbf")) as w:
        for obj in osmium.FileProcessor(str(xml)):
            w.add(obj)
    got = {}
    for name in ("tiny.osm", "tiny.osm.gz", "tiny.osm.bz2", "tiny.osm.pbf"):
        layers = io.read_osm(tmp_path / name, cache_dir=None)
        g = layers["graph"]
        got[name] = (
            sorted(g.nodes),
            sorted((u, v) for u, v in g.edges()),
            round(sum(d["length"] for _, _, d in g.edges(data=True)), 6),
            list(layers["features"].index),
        )
    assert len(set(map(repr, got.values()))) == 1
    nodes, edges, length, feats = got["tiny.osm"]
    # the street's two ends (its middle node is a vertex); the police station is a feature
    assert nodes == [1, 3] and edges == [(1, 3), (3, 1)] and feats == [("node", 4)]
    assert length == pytest.approx(2 * 231.698, abs=0.01)  # osmnx gave 231.698 m each way


def test_unknown_boundary_fails_before_the_heavy_pass(tmp_path, monkeypatch):
    from siteplanner.town import osm

    xml = tmp_path / "tiny.osm"
    xml.write_text(TINY_OSM, encoding="utf-8")

    def heavy(*a, **k):
        raise AssertionError("the nodes-and-ways pass ran")

    monkeypatch.setattr(osm, "_collect", heavy)
    with pytest.raises(InputError, match="no administrative boundary relation 5"):
        io.load_town(xml, boundary=5, cache_dir=None)


def _signed_area(ring) -> float:
    c = np.asarray(ring, float)
    return 0.5 * float(np.sum(c[:-1, 0] * c[1:, 1] - c[1:, 0] * c[:-1, 1]))


def test_geojson_rings_follow_rfc7946(tmp_path):
    """Exteriors counter-clockwise and holes clockwise (RFC 7946 §3.1.6), whatever the input."""
    import geopandas as gpd
    from shapely.geometry import MultiPolygon, Polygon

    from siteplanner.files import write_geojson

    cw_outer = [(0, 0), (0, 100), (100, 100), (100, 0), (0, 0)]  # clockwise in x/y
    ccw_hole = [(10, 10), (20, 10), (20, 20), (10, 20), (10, 10)]  # counter-clockwise
    poly = Polygon(cw_outer, [ccw_hole])
    multi = MultiPolygon([poly, Polygon([(200, 0), (200, 50), (250, 50), (200, 0)])])
    gdf = gpd.GeoDataFrame({"k": [1, 2]}, geometry=[poly, multi], crs="EPSG:2154")
    gdf = gdf.set_geometry(gdf.geometry.translate(700000, 6600000))
    assert _signed_area(poly.exterior.coords) < 0  # the input breaks the rule
    write_geojson(tmp_path / "p.geojson", gdf)
    feats = json.loads((tmp_path / "p.geojson").read_text())["features"]
    polys = [feats[0]["geometry"]["coordinates"], *feats[1]["geometry"]["coordinates"]]
    assert len(polys) == 3
    for rings in polys:
        assert _signed_area(rings[0]) > 0
        assert all(_signed_area(h) < 0 for h in rings[1:])
    assert len(polys[0]) == 2  # the hole is kept


def test_walk_graph_projection_and_street_counts_match_osmnx(town):
    """The walk graph is projected and its streets counted without importing osmnx: the same
    graph, to the pickled byte, as osmnx's project_graph and count_streets_per_node give."""
    import pickle

    import osmnx as ox

    layers = io.read_osm(OSM, cache_dir=CACHE)
    g = layers["graph"].subgraph(list(layers["graph"].nodes)[:3000]).copy()
    assert io.streets_per_node(g) == ox.stats.count_streets_per_node(g)
    ours, theirs = io.project_graph(g, town.crs), ox.project_graph(g, to_crs=town.crs)
    assert pickle.dumps(ours) == pickle.dumps(theirs) and ours.number_of_edges() > 1000
