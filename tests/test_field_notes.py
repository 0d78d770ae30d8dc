"""Marches exploratoires: reading walk notes, raising demand, and one outcome per note."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from siteplanner import vocab
from siteplanner._errors import InputError
from siteplanner.town import field_notes

from .conftest import ROOT

EXAMPLE = ROOT / "data" / "examples" / "marche_exploratoire_beausoleil_EXEMPLE.csv"


def test_example_file_reads_and_is_marked_as_an_example():
    n = field_notes.read_notes(EXAMPLE)
    assert len(n) == 15
    assert set(n["category"]) == set(field_notes.CATEGORIES)  # every category is shown
    assert n["comment"].str.startswith("[EXEMPLE inventé]").all()
    assert n["walk"].str.startswith("EXEMPLE").all()
    assert set(n.geom_type) == {"Point", "LineString"}
    assert n["note_id"].is_unique


def test_categories_in_english_and_french():
    assert field_notes.category_code("Dark spot") == "dark_spot"
    assert field_notes.category_code("point sombre") == "dark_spot"
    assert field_notes.category_code("Sentiment d’insécurité") == "feeling_unsafe"
    assert field_notes.category_code("LAMPADAIRE EN PANNE") == "broken_lamp"
    assert field_notes.category_code("recoin caché") == "hidden_corner"
    assert field_notes.category_code("autre") == "other"
    assert field_notes.category_code("bruit") is None


def test_bad_notes_are_one_error_naming_each_row(tmp_path):
    f = tmp_path / "marche.csv"
    f.write_text(
        "category,comment,date,walk,lon,lat\n"
        "point sombre,ok,2026-03-12,w,7.42,43.74\n"
        "bruit,?,2026-03-12,w,7.42,43.74\n"
        "autre,?,pas une date,w,7.42,43.74\n"
        "autre,?,2026-03-12,w,720,43.74\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        field_notes.read_notes(f)
    msg = str(exc.value)
    assert "marche.csv" in msg and "row 5" in msg and "720" in msg
    f.write_text(
        "category,comment,date,walk,lon,lat\nbruit,?,2026-03-12,w,7.42,43.74\n"
        "autre,?,pas une date,w,7.42,43.74\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        field_notes.read_notes(f)
    msg = str(exc.value)
    assert "row 2: category 'bruit'" in msg and "dark_spot" in msg and "row 3: date" in msg
    f.write_text("category,comment,date,lon,lat\nautre,?,2026-03-12,7.42,43.74\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column 'walk'"):
        field_notes.read_notes(f)
    assert field_notes.read_notes(f, walk="marche du 1er mars")["walk"].tolist() == [
        "marche du 1er mars"
    ]


def test_geojson_lines_and_points(tmp_path):
    g = gpd.GeoDataFrame(
        {
            "category": ["hidden corner", "dark spot"],
            "comment": ["a", "b"],
            "date": ["2026-03-12", "2026-03-12"],
            "walk": ["w", "w"],
        },
        geometry=[shapely.Point(7.42, 43.74), shapely.LineString([(7.42, 43.74), (7.43, 43.74)])],
        crs="EPSG:4326",
    )
    f = tmp_path / "marche.geojson"
    g.to_file(f, driver="GeoJSON")
    n = field_notes.read_notes(f)
    assert n["category"].tolist() == ["hidden_corner", "dark_spot"]
    assert n.geom_type.tolist() == ["Point", "LineString"]


def _notes(geoms, cats):
    return gpd.GeoDataFrame(
        {"note_id": [f"n{i}" for i in range(len(geoms))], "category": cats},
        geometry=geoms,
        crs="EPSG:32632",
    )


def test_notes_raise_demand_nearby_by_category_weight():
    xy = np.array([[0.0, 0.0], [30.0, 0.0], [200.0, 0.0], [1000.0, 0.0]])
    w = np.array([1.0, 1.0, 1.0, 5.0])  # mean 2
    notes = _notes(
        [shapely.Point(0, 0), shapely.LineString([(180, 0), (220, 0)]), shapely.Point(5000, 0)],
        ["feeling_unsafe", "broken_lamp", "dark_spot"],
    )
    area = shapely.box(-100, -100, 1100, 100)
    new, inside = field_notes.notes_demand(
        xy,
        w,
        notes,
        area,
        weights={"feeling_unsafe": 1.5, "broken_lamp": 0.5, "dark_spot": 1.0},
        radius_m=50,
    )
    assert inside.tolist() == [True, True, False]
    assert new.tolist() == [1 + 1.5 * 2, 1 + 1.5 * 2, 1 + 0.5 * 2, 5.0]


def test_every_note_gets_exactly_one_outcome_in_priority_order():
    edges = gpd.GeoDataFrame(
        {"name": ["Rue Claire", "Rue Noire"]},
        geometry=[
            shapely.LineString([(0, 0), (500, 0)]),
            shapely.LineString([(0, 300), (500, 300)]),
        ],
        crs="EPSG:32632",
    )
    fov = [shapely.box(0, -20, 50, 20)]
    circuit = ("soirée", shapely.LineString([(200, 0), (300, 0)]))
    notes = _notes(
        [
            shapely.Point(10, 0),  # in the camera's view (and on a lit street)
            shapely.Point(250, 5),  # on the patrol circuit
            shapely.Point(400, 300),  # on the unlit street
            shapely.Point(450, 0),  # none of these
            shapely.Point(260, 300),
        ],  # outside the study area
        ["dark_spot"] * 5,
    )
    out = field_notes.note_outcomes(
        notes,
        np.array([True, True, True, True, False]),
        fov=fov,
        site_labels=["N1 (proposed, rank 1)"],
        circuits=[circuit],
        edges=edges,
        street_lit=np.array([True, False]),
    )
    assert out["outcome"].tolist() == [
        "camera",
        "patrol",
        "unlit_street",
        "not_addressed",
        "outside_area",
    ]
    assert out["addressed_by"].tolist() == ["N1 (proposed, rank 1)", "soirée", "Rue Noire", "", ""]
    assert set(out["outcome"]) <= set(vocab.OUTCOMES)


def test_scenario_field_notes_are_checked(tmp_path):
    from siteplanner._errors import ScenarioError
    from siteplanner.scenario import load_scenario

    from .conftest import SCENARIO

    base = SCENARIO.read_text(encoding="utf-8").replace('"../', f'"{SCENARIO.parent.parent}/')
    p = tmp_path / "marche.toml"
    p.write_text(base + '\n[[field_notes]]\npath = "nope.csv"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"field_notes\[0\].path: file .*nope.csv not found"):
        load_scenario(p)
    p.write_text(
        base + f'\n[[field_notes]]\npath = "{EXAMPLE}"\n[field_notes.weights]\nnoise = 2\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match=r"field_notes.0.weights.noise"):
        load_scenario(p)
