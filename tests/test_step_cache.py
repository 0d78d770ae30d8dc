"""The step cache (siteplanner/steps/stepcache.py) on the default town.

The demand step: a hit gives the same hotspot surface, street forecast and demand points as
the computation, and writes the same log lines; a moved incident, a changed [hotspots] or
[weights] setting or a changed street misses it; a corrupt entry is recomputed. The incident
files: a hit gives the same reads; a file changed by one byte misses.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
from io import BytesIO

import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity

from siteplanner.files import load_pickle
from siteplanner.scenario import load_scenario
from siteplanner.steps import demand as step
from siteplanner.steps import load as load_step
from siteplanner.steps import stepcache
from siteplanner.steps.load import load
from tests.conftest import CACHE, SCENARIO, copy_scenario


class Computed(Exception):
    """Raised instead of computing: the cache missed."""


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """The default town's inputs with their own cache folder, and one computed demand."""
    sc = load_scenario(copy_scenario(SCENARIO, tmp_path_factory.mktemp("scenario")))
    folder = tmp_path_factory.mktemp("demand-cache")
    inputs = load(sc)
    inputs = dataclasses.replace(inputs, scenario=sc.model_copy(update={"cache_dir": folder}))
    return inputs, folder, step.demand(inputs)


def _misses(monkeypatch, inputs) -> bool:
    """Whether the demand step computes (misses the cache) for these inputs."""

    def compute(*args, **kwargs):
        raise Computed

    monkeypatch.setattr(step, "compute_demand", compute)
    try:
        step.demand(inputs)
    except Computed:
        return True
    finally:
        monkeypatch.undo()
    return False


def _entry(data: bytes) -> dict:
    return load_pickle(BytesIO(data))


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.points, b.points, check_exact=True)
    pd.testing.assert_frame_equal(a.forecast.segments, b.forecast.segments, check_exact=True)
    assert (a.forecast.method, a.forecast.params) == (b.forecast.method, b.forecast.params)
    np.testing.assert_array_equal(a.grid.values, b.grid.values)
    np.testing.assert_array_equal(a.xy, b.xy)
    assert a.counts == b.counts


def test_a_hit_gives_the_computed_demand_and_its_log(warm, monkeypatch, caplog):
    inputs, folder, first = warm
    assert len(list(folder.glob("demand-*.pickle"))) == 1
    assert not _misses(monkeypatch, inputs)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="siteplanner"):
        again = step.demand(inputs)
    _same(first, again)
    assert first.points["weight"].sum() > 0 and first.forecast.segments["score"].max() > 0
    entry = _entry(next(folder.glob("demand-*.pickle")).read_bytes())
    logged = [r.getMessage() for r in caplog.records if r.name != stepcache.log.name]
    assert logged == [msg for _, _, msg in entry["records"]] and any(
        "street forecast" in m for m in logged
    )


def test_a_corrupt_entry_is_recomputed(warm, caplog):
    inputs, folder, first = warm
    (entry,) = folder.glob("demand-*.pickle")
    good = entry.read_bytes()
    entry.write_bytes(good[: len(good) // 2])  # truncated, as by a full disk
    with caplog.at_level(logging.WARNING, logger="siteplanner.steps.stepcache"):
        again = step.demand(inputs)
    assert "unreadable" in caplog.text
    _same(first, again)
    assert entry.read_bytes() != good[: len(good) // 2]  # rewritten whole
    assert _entry(entry.read_bytes())["key"] == _entry(good)["key"]


def test_moved_incident_or_changed_settings_miss(warm, monkeypatch):
    inputs, _, _ = warm
    inc = inputs.incidents.copy()
    p = inc.geometry.iloc[0]
    inc.loc[inc.index[0], "geometry"] = shapely.Point(p.x + 1.0, p.y)
    assert _misses(monkeypatch, dataclasses.replace(inputs, incidents=inc))
    other = inc.assign(category=inc["category"].where(inc.index != inc.index[1], "other"))
    assert _misses(monkeypatch, dataclasses.replace(inputs, incidents=other))
    sc = inputs.scenario
    for part, change in [
        ("hotspots", {"segment_m": sc.hotspots.segment_m + 5}),
        ("weights", {"main_streets": sc.weights.main_streets + 0.5}),
    ]:
        new = getattr(sc, part).model_copy(update=change)
        changed = dataclasses.replace(inputs, scenario=sc.model_copy(update={part: new}))
        assert _misses(monkeypatch, changed)


def test_a_changed_street_misses(warm, monkeypatch):
    inputs, _, _ = warm
    streets = inputs.streets.copy()
    line = streets.geometry.iloc[0]
    streets.loc[streets.index[0], "geometry"] = shapely.affinity.translate(line, 0.5, 0.0)
    assert _misses(monkeypatch, dataclasses.replace(inputs, streets=streets))
    assert not _misses(monkeypatch, inputs)  # and the unchanged inputs still hit


def test_an_entry_for_other_inputs_is_not_trusted(warm):
    _, folder, _ = warm
    (entry,) = folder.glob("demand-*.pickle")
    assert stepcache._read(entry, "0" * 64) is None


def test_incident_reads_are_cached_on_the_file_bytes(tmp_path, monkeypatch):
    from tests.conftest import INCIDENTS

    csv = tmp_path / "incidents.csv"
    csv.write_bytes(INCIDENTS.read_bytes())
    sc = load_scenario(copy_scenario(SCENARIO, tmp_path / "scenario"))
    spec = sc.incidents[0].model_copy(update={"path": csv})
    sc = sc.model_copy(update={"incidents": [spec], "cache_dir": tmp_path / "cache"})
    town = load(sc.model_copy(update={"cache_dir": CACHE})).town  # the parse cache of the tests
    first = load_step.read_scenario_incidents(sc, area=town.area, crs=town.crs)  # computed
    assert len(list((tmp_path / "cache").glob("incidents-*.pickle"))) == 1

    def computed(*args, **kwargs):
        raise Computed

    monkeypatch.setattr(load_step.kept, "read_incident_file", computed)
    again = load_step.read_scenario_incidents(sc, area=town.area, crs=town.crs)  # a hit
    pd.testing.assert_frame_equal(first[0].frame, again[0].frame, check_exact=True)
    assert first[0].counts == again[0].counts and len(first[0].frame) > 1000
    text = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    last = text[-1].split(",")
    csv.write_text("".join(text[:-1]) + ",".join([last[0] + "9", *last[1:]]), encoding="utf-8")
    with pytest.raises(Computed):  # one byte more: read again
        load_step.read_scenario_incidents(sc, area=town.area, crs=town.crs)


def test_geometry_pickles_keep_shapes_and_shared_objects():
    import geopandas as gpd

    from siteplanner.files import dump_pickle

    line = shapely.LineString([(0, 0), (1.5, 2.25), (3, -1)])
    frame = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[line, shapely.Point(1e-9, 7)], crs=32632)
    obj = {"a": line, "b": [line, shapely.Polygon([(0, 0), (1, 0), (1, 1)])], "f": frame}
    buf = BytesIO()
    dump_pickle(obj, buf)
    buf.seek(0)
    back = load_pickle(buf)
    assert back["a"].equals_exact(line, 0) and back["b"][0] is back["a"]  # one object, twice
    assert back["b"][1].equals_exact(obj["b"][1], 0)
    pd.testing.assert_frame_equal(back["f"], frame)
    with pytest.raises(ValueError):
        load_pickle(BytesIO(pickle.dumps(obj)))  # a plain pickle is not taken for one
