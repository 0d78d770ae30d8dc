"""The commune is the jurisdiction: patrol start, trench ends and patrol streets stay inside it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box
from typer.testing import CliRunner

from siteplanner import pipeline
from siteplanner._errors import InputError
from siteplanner.cli import app
from siteplanner.scenario import load_scenario
from siteplanner.town import jurisdiction
from siteplanner.vocab import SENSITIVE_KINDS

from .conftest import CACHE, INCIDENTS, OSM
from .test_candidates import CRS, grid_graph

AREA = box(-10, -10, 110, 210)  # the grid's two left columns (x = 0 and 100)


def pois(*rows):
    kinds, names, ids, geoms = zip(*rows) if rows else ((), (), (), ())
    return gpd.GeoDataFrame(
        {"kind": list(kinds), "name": list(names), "osm_id": list(ids)},
        geometry=list(geoms),
        crs=CRS,
    )


def test_patrol_start_is_a_police_station_inside_else_the_town_hall_else_an_error():
    inside_police = ("police", "Police municipale", "node/1", Point(0, 100))
    outside_police = ("police", "Sûreté publique", "node/2", Point(200, 100))
    townhall = ("townhall", "Mairie", "way/3", Point(100, 0))
    a = jurisdiction.patrol_start(
        pois(outside_police, inside_police, townhall), AREA, CRS, start=None, source="t"
    )
    assert (a.x, a.y) == (0, 100) and "node/1" in a.label
    a = jurisdiction.patrol_start(pois(outside_police, townhall), AREA, CRS, start=None, source="t")
    assert (a.x, a.y) == (100, 0) and "town hall" in a.label
    with pytest.raises(InputError, match=r"patrol\] start = \[lon, lat\]") as e:
        jurisdiction.patrol_start(pois(outside_police), AREA, CRS, start=None, source="t.toml")
    assert "1 police station(s) in the margin" in str(e.value) and str(e.value).startswith("t.toml")


def test_patrol_start_given_outside_the_area_is_refused():
    area = gpd.GeoSeries([box(7.42, 43.73, 7.43, 43.74)], crs="EPSG:4326").to_crs(CRS).iloc[0]
    a = jurisdiction.patrol_start(pois(), area, CRS, start=(7.425, 43.735), source="t")
    assert a.label == "scenario patrol.start" and area.contains(Point(a.x, a.y))
    with pytest.raises(InputError, match="outside the study area"):
        jurisdiction.patrol_start(pois(), area, CRS, start=(7.45, 43.735), source="t")


def test_trench_ends_inside_the_area_or_the_scenario_point():
    rows = [
        ("police", None, "node/2", Point(200, 100)),
        ("townhall", "Mairie", "way/3", Point(100, 0)),
        ("police", None, "node/1", Point(0, 100)),
    ]
    ends = jurisdiction.trench_ends(pois(*rows), AREA, CRS, csu=None, source="t")
    assert sorted((e.x, e.y) for e in ends) == [(0, 100), (100, 0)]
    assert jurisdiction.trench_ends(pois(rows[0]), AREA, CRS, csu=None, source="t") == []


def test_area_subgraph_keeps_the_streets_inside_connected_to_the_start():
    g = grid_graph()
    sub = jurisdiction.area_subgraph(g, AREA, keep=0)
    assert sorted(sub.nodes) == [0, 1, 10, 11, 20, 21]
    # no street leaves the area: the edges to column x = 200 are gone
    assert all(u % 10 < 2 and v % 10 < 2 for u, v in sub.edges())
    assert sub.number_of_edges() == 2 * 7
    # a part cut off from the start is left out
    two = shapely.union_all([box(-10, -10, 110, 10), box(-10, 190, 110, 210)])
    assert sorted(jurisdiction.area_subgraph(g, two, keep=0).nodes) == [0, 1]


def test_default_run_patrols_and_sites_stay_in_the_commune(default_run):
    res, _, _ = default_run
    area = res.town.area.buffer(jurisdiction.EDGE_TOLERANCE_M)
    for c in res.circuits:
        assert area.covers(c.geometry), c.name
        assert all(area.covers(Point(s.x, s.y)) for s in c.stops)
    new = res.sites[~res.sites["existing"]]
    assert shapely.covers(res.town.area, new.geometry.values).all()
    # the trenches end inside: the police station and the town hall of Beausoleil, not Monaco's
    assert res.counts["trench_ends"] and all(
        lbl.split()[0] in ("police", "townhall") for lbl in res.counts["trench_ends"]
    )
    inside = res.town.pois[res.town.pois["kind"].isin(["police", "townhall"])]
    inside = inside[shapely.covers(res.town.area, inside.geometry.values)]
    assert len(res.counts["trench_ends"]) == len(inside)
    # sensitive sites of Monaco in the margin are marked as outside the commune
    labels = "; ".join(res.sites["sensitive_sites"].dropna())
    sens = res.town.pois[res.town.pois["kind"].isin(SENSITIVE_KINDS)]
    if not shapely.covers(res.town.area, sens.geometry.values).all():
        assert "(hors commune)" in labels


def _no_police_scenario(town, tmp_path):
    """A 500 m square of Beausoleil, inside the commune, with no police station or town hall."""
    anchors = town.pois[town.pois["kind"].isin(["police", "townhall"])]
    axy = np.column_stack([anchors.geometry.x, anchors.geometry.y])
    for n, d in town.graph.nodes(data=True):
        sq = box(d["x"] - 250, d["y"] - 250, d["x"] + 250, d["y"] + 250)
        if town.area.contains(sq) and np.hypot(*(axy - [d["x"], d["y"]]).T).min() > 600:
            break
    else:  # pragma: no cover - the commune is large enough
        pytest.skip("no such square")
    gpd.GeoSeries([sq], crs=town.crs).to_crs("EPSG:4326").to_file(tmp_path / "square.geojson")
    p = tmp_path / "square.toml"
    p.write_text(
        f'name = "square"\ncache_dir = "{CACHE}"\n'
        f'[area]\nosm = "{OSM}"\npolygon = "square.geojson"\n'
        f'[[incidents]]\npath = "{INCIDENTS}"\n[plan]\nk = 2\n',
        encoding="utf-8",
    )
    return p


def test_no_police_town_fails_early_in_plan_and_in_validate(town, tmp_path):
    p = _no_police_scenario(town, tmp_path)
    steps = []
    with pytest.raises(
        InputError, match=r"no police station .* and no town hall .*set \[patrol\] start"
    ):
        pipeline.plan(load_scenario(p), on_step=steps.append)
    assert steps == ["load"]  # before hotspots, candidates and coverage
    r = CliRunner().invoke(app, ["validate", str(p)])
    assert r.exit_code == 1 and "patrol] start" in r.output.replace("\n", " ")
    # with a start inside the square, validate says yes
    c = gpd.read_file(tmp_path / "square.geojson").geometry.iloc[0].centroid
    p.write_text(p.read_text() + f"[patrol]\nstart = [{c.x}, {c.y}]\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["validate", str(p)])
    assert r.exit_code == 0, r.output
    assert "scenario patrol.start" in r.output


def test_area_streets_are_networkx_subgraph_copies_in_the_same_order(town):
    """area_subgraph copies the streets without networkx's filter views: the same nodes and
    edges, with their data, in the same order as ``edge_subgraph(...).copy()`` and
    ``subgraph(...).copy()`` (the order the patrol search meets them in)."""
    import networkx as nx

    from siteplanner.town.jurisdiction import _view_copy

    g = town.graph
    edges = [e for i, e in enumerate(g.edges(keys=True)) if i % 3]
    for ours, theirs in [
        (_view_copy(g, {n for e in set(edges) for n in e[:2]}, set(edges)), g.edge_subgraph(edges)),
        (_view_copy(g, set(list(g.nodes)[:40])), g.subgraph(list(g.nodes)[:40])),  # few nodes
    ]:
        theirs = theirs.copy()
        assert list(ours.nodes(data=True)) == list(theirs.nodes(data=True))
        assert list(ours.edges(keys=True, data=True)) == list(theirs.edges(keys=True, data=True))
        assert [list(a) for a in ours._pred.values()] == [list(a) for a in theirs._pred.values()]
    assert 0 < ours.number_of_nodes() < g.number_of_nodes()
    assert nx.utils.graphs_equal(_view_copy(g, set(g.nodes)), g)
