"""The scenario schema: the default loads; misspelt keys, wrong values and missing files fail."""

from __future__ import annotations

import pytest

from siteplanner._errors import ScenarioError
from siteplanner.scenario import load_scenario

from .conftest import SCENARIO


def test_default_scenario_is_valid():
    sc = load_scenario(SCENARIO)
    assert sc.name == "Beausoleil"
    assert sc.area.boundary == 174562
    assert sc.resolve(sc.area.osm).is_file()
    assert sc.plan.k == 10
    assert sc.camera.chosen().name == sc.camera.model


def _write(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text, encoding="utf-8")
    return p


BASE = f"""
name = "t"
[area]
osm = "{SCENARIO.parent.parent / "data/osm/monaco-beausoleil-2016.osm.bz2"}"
boundary = 174562
"""


def test_unknown_key_is_rejected_with_its_path(tmp_path):
    with pytest.raises(ScenarioError) as err:
        load_scenario(_write(tmp_path, BASE + "[plan]\nkk = 3\n"))
    assert "plan.kk: unknown key" in str(err.value)


def test_wrong_types_and_values_are_listed_together(tmp_path):
    text = BASE + '[plan]\nk = "ten"\n[camera]\nmodel = "nope"\n[hotspots]\nstreet_spacing_m = 50\n'
    with pytest.raises(ScenarioError) as err:
        load_scenario(_write(tmp_path, text))
    msg = str(err.value)
    assert "plan.k" in msg and "camera" in msg and "hotspots.street_spacing_m" in msg


def test_area_needs_exactly_one_definition(tmp_path):
    with pytest.raises(ScenarioError, match="exactly one of `boundary`"):
        load_scenario(_write(tmp_path, BASE + 'polygon = "x.geojson"\n'))


def test_missing_input_file_named(tmp_path):
    with pytest.raises(ScenarioError, match=r"incidents\[0\]\.path: file .*nope\.csv not found"):
        load_scenario(_write(tmp_path, BASE + '[[incidents]]\npath = "nope.csv"\n'))


def test_not_toml(tmp_path):
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(_write(tmp_path, "name = \n"))
