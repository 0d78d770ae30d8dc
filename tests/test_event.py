"""Event mode: perimeter entrances, nomad cameras, patrols around the perimeter, event sheet."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from siteplanner._errors import InputError
from siteplanner.modes import event
from siteplanner.scenario import load_scenario

from .conftest import ROOT, SCENARIO, copy_scenario

EXAMPLE = ROOT / "data" / "examples" / "fete_musique_beausoleil_EXEMPLE.toml"


def test_entrances_of_a_perimeter():
    perimeter = shapely.box(0, 0, 100, 100)
    edges = gpd.GeoDataFrame(
        {
            "name": ["Rue A", "Rue A", "Sentier", "Rue B"],
            "highway": ["residential", "residential", "footway", "tertiary"],
        },
        geometry=[
            shapely.LineString([(50, -20), (50, 20)]),  # crosses the south edge
            shapely.LineString([(55, -20), (55, 20)]),  # 5 m from it: the same filtering point
            shapely.LineString([(-20, 50), (20, 50)]),  # a path through the west edge
            shapely.LineString([(20, 20), (80, 80)]),
        ],  # inside: no entrance
        crs="EPSG:32632",
    )
    f = event.perimeter_entrances(edges, perimeter, merge_m=15)
    assert f["street"].tolist() == ["Rue A", "Sentier"]
    assert f["kind"].tolist() == ["vehicle", "pedestrian"]
    assert f["point_id"].tolist() == ["F01", "F02"]
    assert f.geometry.distance(perimeter.boundary).max() < 1e-9


def test_event_demand_weights():
    street = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
    w = event.event_demand(street, np.array([[5.0, 0.0]]), np.array([[100.0, 10.0], [5.0, 5.0]]))
    assert w.tolist() == [1 + 3 + 2, 1 + 2, 1]


def test_bad_event_files_are_one_clear_error(tmp_path):
    p = tmp_path / "ev.toml"
    p.write_text(
        'name = "x"\ndate = 2026-06-21\nhours = [18, 24]\nattendance = 10\n', encoding="utf-8"
    )
    with pytest.raises(InputError, match="exactly one of `perimeter`"):
        event.load_event(p)
    p.write_text(
        'name = "x"\ndate = 2026-06-21\nhours = [18, 24]\nattendance = 10\nvenue = [7.4, 43.7]\n'
        "atendance = 3\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="atendance: unknown key"):
        event.load_event(p)
    p.write_text(
        'name = "x"\ndate = 2026-06-21\nhours = [18, 24]\nattendance = 10\n'
        'perimeter = "nope.geojson"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="nope.geojson not found"):
        event.load_event(p)


@pytest.fixture(scope="module")
def fete(tmp_path_factory):
    sc = load_scenario(copy_scenario(SCENARIO, tmp_path_factory.mktemp("fete")))
    ev = event.load_event(EXAMPLE)
    return sc, ev, event.plan_event(sc, ev)


def test_example_event_plan_on_the_default_town(fete):
    _, ev, ep = fete
    assert len(ep.cameras) == ev.n_cameras() == 5
    assert ep.cameras.within(ep.perimeter.buffer(10.0 + 1e-6)).all()
    assert len(ep.filtering) > 0
    assert ep.filtering.geometry.distance(ep.perimeter.boundary).max() < 1e-6
    assert 0 < ep.coverage_share <= 1 and 0 <= ep.entrance_coverage <= 1
    assert len(ep.circuits) == ev.patrol.teams
    for c in ep.circuits:
        assert c.duration_min <= ev.patrol.budget_min + 1e-9
        assert c.nodes[0] == c.nodes[-1]
        # the circuits stay around the perimeter
        assert c.geometry.within(ep.perimeter.buffer(400))
    t = event.tables(ep)
    assert t["cameras"]["camera"].tolist() == ["C1", "C2", "C3", "C4", "C5"]


def test_event_outputs_and_cli(fete, tmp_path):
    from typer.testing import CliRunner

    from siteplanner.cli import app

    out = tmp_path / "ev"
    r = CliRunner().invoke(
        app,
        ["-q", "event", str(copy_scenario(SCENARIO, tmp_path / "sc")), "--event", str(EXAMPLE)]
        + ["-o", str(out)],
    )
    assert r.exit_code == 0, r.output
    for name in (
        "event_sheet.pdf",
        "event_sheet.png",
        "event_cameras.csv",
        "event_filtering_points.csv",
        "event.geojson",
        "event_patrol_1.gpx",
    ):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "event_sheet.pdf").read_bytes()[:4] == b"%PDF"
    g = gpd.read_file(out / "event.geojson")
    assert g.crs.to_epsg() == 4326
    assert set(g["feature"]) == {
        "perimeter",
        "nomad_camera",
        "camera_view",
        "filtering_point",
        "patrol",
    }
