"""Town entrances (entrées de ville), and no number-plate reader as a municipal camera."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from siteplanner._errors import ScenarioError
from siteplanner.scenario import load_scenario
from siteplanner.town import entrances

from .conftest import SCENARIO


def test_roads_crossing_the_boundary_are_entrances():
    area = shapely.box(0, 0, 1000, 1000)
    lines = [
        shapely.LineString([(500, -100), (500, 100)]),  # primary, crosses once
        shapely.LineString(
            [(520, -100), (520, 100)]
        ),  # its other carriageway, 20 m away: same entrance
        shapely.LineString([(-100, 300), (100, 300)]),  # residential with through traffic
        shapely.LineString([(-100, 600), (100, 600)]),  # residential dead end: not an entrance
        shapely.LineString([(1100, 500), (900, 500)]),  # footway: not a road
        shapely.LineString([(300, 300), (400, 400)]),
    ]  # tertiary inside: no crossing
    edges = gpd.GeoDataFrame(
        {
            "highway": ["primary", "primary", "residential", "residential", "footway", "tertiary"],
            "name": ["D6007", "D6007", "Rue A", "Impasse B", "Sentier", "Rue C"],
        },
        geometry=lines,
        crs="EPSG:32632",
    )
    e = entrances.town_entrances(
        edges, area, through=np.array([False, False, True, False, True, False])
    )
    assert e["road"].tolist() == ["D6007", "Rue A"]
    assert e["entrance_id"].tolist() == ["E01", "E02"]
    assert (e["status"] == "proposition au partenaire État").all()
    assert e["note"].str.contains("L233-1").all()
    assert e.geometry.distance(area.boundary).max() < 1e-6


def test_default_town_entrances_are_listed_with_the_legal_note(default_run):
    res, out, _ = default_run
    e = res.entrances
    assert len(e) > 0
    # every entrance is on the commune's boundary, on a road of an accepted class
    assert e.geometry.distance(res.town.area.boundary).max() < 1e-6
    assert set(e["highway"]) <= set(entrances.MAIN_ROADS + entrances.THROUGH_ROADS)
    assert {"primary", "secondary", "tertiary"} & set(e["highway"])
    # none of them is a municipal site, and no municipal camera is a plate reader
    assert res.sites["kind"].isin(["lapi", "anpr"]).sum() == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "proposition au partenaire État" in html and "L233-1" in html and "385091" in html
    csv = (out / "entrances.csv").read_text(encoding="utf-8")
    assert csv.count("\n") == len(e) + 1 and "L233-1" in csv


@pytest.mark.parametrize("kind", ["lapi", "ANPR", "plate_reader"])
def test_plate_readers_as_municipal_cameras_are_refused(tmp_path, kind):
    text = SCENARIO.read_text(encoding="utf-8").replace(
        'model = "bullet_4mp_6mm"',
        f'model = "lecteur"\n[[camera.catalogue]]\nname = "lecteur"\nkind = "{kind}"',
    )
    text = text.replace('"../', f'"{SCENARIO.parent.parent}/')
    p = tmp_path / "lapi.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    msg = str(exc.value)
    assert "lapi.toml" in msg and "L233-1" in msg and "L233-2" in msg and "385091" in msg
    assert "27 June 2016" in msg and "fixed, ptz, multisensor" in msg
