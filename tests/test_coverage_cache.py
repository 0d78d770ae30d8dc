"""The coverage step's cache (siteplanner/coverage/cache.py) on the default town.

A hit gives the same fields of view, headings, coverage table and privacy figures as the
computation; a change of the buildings, the terrain, the camera model, a site's position or
the demand misses it; a corrupt entry is recomputed. The batched best-heading cut gives the
same polygons as the per-site one.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
import shapely
import shapely.affinity

from siteplanner.coverage import cache as cov_cache
from siteplanner.coverage import viewshed
from siteplanner.coverage.sightlines import build_obstacles
from siteplanner.scenario import load_scenario
from siteplanner.steps import coverage as step
from siteplanner.steps.demand import demand
from siteplanner.steps.load import load
from siteplanner.steps.sites import candidates
from tests.conftest import SCENARIO, copy_scenario


class Computed(Exception):
    """Raised instead of computing: the cache missed."""


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    """The default town's inputs, demand and candidates, loaded once."""
    sc = load_scenario(copy_scenario(SCENARIO, tmp_path_factory.mktemp("scenario")))
    inputs = load(sc)
    return inputs, demand(inputs), candidates(inputs)


def _with_cache(inputs, folder):
    sc = inputs.scenario.model_copy(update={"cache_dir": folder})
    return dataclasses.replace(inputs, scenario=sc)


def _wkb(polys) -> list[bytes]:
    return list(shapely.to_wkb(np.asarray(polys, dtype=object)))


def _same(a, b) -> None:
    assert _wkb(a.fov.polygons) == _wkb(b.fov.polygons)
    np.testing.assert_array_equal(a.fov.heading_deg, b.fov.heading_deg)
    assert a.A.shape == b.A.shape and (a.A != b.A).nnz == 0 and a.A.dtype == b.A.dtype
    assert a.sites.equals(b.sites)
    assert sorted(a.privacy_masks) == sorted(b.privacy_masks)
    assert _wkb([a.privacy_masks[k] for k in sorted(a.privacy_masks)]) == _wkb(
        [b.privacy_masks[k] for k in sorted(b.privacy_masks)]
    )


@pytest.fixture(scope="module")
def warm(steps, tmp_path_factory):
    """One computed coverage (cache missed, entry written) and its cache folder."""
    inputs, dem, cands = steps
    folder = tmp_path_factory.mktemp("coverage-cache")
    inputs = _with_cache(inputs, folder)
    first = step.coverage(inputs, dem, cands)
    return inputs, folder, first


def _misses(monkeypatch, inputs, dem, cands) -> bool:
    """Whether the coverage step computes (misses the cache) for these inputs."""

    def compute(*args, **kwargs):
        raise Computed

    monkeypatch.setattr(step, "compute_views", compute)
    try:
        step.coverage(inputs, dem, cands)
    except Computed:
        return True
    return False


def test_a_hit_gives_the_same_fields_of_view_table_and_privacy(warm, steps, monkeypatch):
    inputs, folder, first = warm
    _, dem, cands = steps
    entries = list(folder.glob("coverage-*.npz"))
    assert len(entries) == 1
    assert not _misses(monkeypatch, inputs, dem, cands)  # the second run reads the entry
    monkeypatch.undo()
    again = step.coverage(inputs, dem, cands)
    _same(first, again)
    assert first.fov.polygons and first.A.nnz > 0 and first.sites["privacy_mask"].any()


def test_a_corrupt_entry_is_recomputed(warm, steps, caplog):
    inputs, folder, first = warm
    _, dem, cands = steps
    (entry,) = folder.glob("coverage-*.npz")
    good = entry.read_bytes()
    entry.write_bytes(good[: len(good) // 2])  # truncated, as by a full disk
    with caplog.at_level(logging.WARNING, logger="siteplanner.coverage.cache"):
        again = step.coverage(inputs, dem, cands)
    assert "unreadable" in caplog.text
    _same(first, again)
    assert cov_cache.read(entry, _key_of(entry)) is not None  # rewritten whole


def _key_of(entry) -> str:
    with np.load(entry, allow_pickle=False) as z:
        return str(z["key"])


def test_an_entry_for_other_inputs_is_not_trusted(warm):
    _, folder, _ = warm
    (entry,) = folder.glob("coverage-*.npz")
    assert cov_cache.read(entry, "0" * 64) is None


def test_changed_buildings_miss(warm, steps, monkeypatch):
    inputs, _, first = warm
    _, dem, cands = steps
    town = inputs.town
    b = town.buildings.copy()
    # the building nearest the first site that sees something moves 2 m
    i = int(np.flatnonzero([not p.is_empty for p in first.fov.polygons])[0])
    j = int(b.distance(first.sites.geometry.iloc[i]).to_numpy().argmin())
    b.loc[b.index[j], "geometry"] = shapely.affinity.translate(b.geometry.iloc[j], 2.0, 0.0)
    moved = dataclasses.replace(inputs, town=dataclasses.replace(town, buildings=b))
    assert _misses(monkeypatch, moved, dem, cands)
    taller = town.buildings.assign(height_m=town.buildings["height_m"] + 0.5)
    raised = dataclasses.replace(inputs, town=dataclasses.replace(town, buildings=taller))
    assert _misses(monkeypatch, raised, dem, cands)


def test_changed_camera_model_or_headings_miss(warm, steps, monkeypatch):
    inputs, _, _ = warm
    _, dem, cands = steps
    other = next(m for m in inputs.scenario.camera.catalogue if m.name != cands.model.name)
    assert _misses(monkeypatch, inputs, dem, dataclasses.replace(cands, model=other))
    longer = cands.model.model_copy(update={"focal_mm": cands.model.focal_mm * 1.1})
    assert _misses(monkeypatch, inputs, dem, dataclasses.replace(cands, model=longer))
    cam = inputs.scenario.camera.model_copy(update={"n_headings": 12})
    sc = inputs.scenario.model_copy(update={"camera": cam})
    assert _misses(monkeypatch, dataclasses.replace(inputs, scenario=sc), dem, cands)


def test_a_moved_candidate_misses(warm, steps, monkeypatch):
    inputs, _, _ = warm
    _, dem, cands = steps
    sites = cands.sites.copy()
    last = sites.geometry.iloc[-1]
    sites.loc[sites.index[-1], "geometry"] = shapely.Point(last.x + 1.0, last.y)
    assert _misses(monkeypatch, inputs, dem, dataclasses.replace(cands, sites=sites))


def test_changed_demand_or_terrain_misses(warm, steps, monkeypatch):
    inputs, _, _ = warm
    _, dem, cands = steps
    pts = dem.points.assign(weight=dem.points["weight"] * 2.0)
    assert _misses(monkeypatch, inputs, dataclasses.replace(dem, points=pts), cands)
    real = step.read_dem

    def higher(*args, **kwargs):
        grid, transform = real(*args, **kwargs)
        return grid + 1.0, transform

    monkeypatch.setattr(step, "read_dem", higher)
    assert _misses(monkeypatch, inputs, dem, cands)


def test_the_key_follows_each_part():
    base = {
        "buildings": np.asarray([shapely.box(0, 0, 10, 10)], dtype=object),
        "terrain": {"dem": np.zeros((2, 2)), "transform": (30.0, 0.0, 0.0, 0.0, -30.0, 0.0)},
        "n_headings": 8,
        "xy": np.zeros((3, 2)),
    }
    key = cov_cache.cache_key(base)
    assert key == cov_cache.cache_key(dict(base))
    changes = [
        {"buildings": np.asarray([shapely.box(0, 0, 10, 11)], dtype=object)},
        {"terrain": {**base["terrain"], "dem": np.ones((2, 2))}},
        {"terrain": None},
        {"n_headings": 9},
        {"xy": np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 1e-9]])},
    ]
    assert len({key} | {cov_cache.cache_key({**base, **c}) for c in changes}) == 1 + len(changes)


def test_batched_best_headings_equal_the_per_site_cut():
    """Four blocks round a crossroads; targets along one street: each site's heading is the one
    whose wedge holds the most target weight seen, and its field of view the isovist cut by
    that wedge alone — the same polygon, to the bit, as cutting site by site."""
    blocks = [shapely.box(x, y, x + 40, y + 40) for x in (-50, 10) for y in (-50, 10)]
    obstacles = build_obstacles(np.asarray(blocks, dtype=object))
    origins = np.array([[0.0, 0.0], [0.0, 30.0], [-30.0, 0.0], [5.0, -60.0]])
    targets = np.column_stack([np.linspace(-80, 80, 81), np.zeros(81)])  # the east-west street
    weight = np.where(targets[:, 0] > 0, 2.0, 1.0)
    heads, polys = viewshed.best_headings(
        obstacles, origins, 60.0, 70.0, n_headings=8, target_xy=targets, target_weight=weight
    )
    fulls = viewshed.isovists(obstacles, origins, 60.0)
    for o, full, h, p in zip(origins, fulls, heads, polys):
        seen = shapely.contains_xy(full, targets[:, 0], targets[:, 1])
        bearing = np.degrees(np.arctan2(targets[:, 0] - o[0], targets[:, 1] - o[1]))
        scores = [
            weight[seen & (np.abs((bearing - c + 180.0) % 360.0 - 180.0) <= 35.0)].sum()
            for c in range(0, 360, 45)
        ]
        assert h == 45.0 * int(np.argmax(scores))
        cut = shapely.intersection(viewshed._wedge(tuple(o), 60.0, h, 70.0), full)
        assert shapely.to_wkb(p) == shapely.to_wkb(cut)
    assert heads[0] == 90.0  # at the crossroads, east: the heavier half of the street
    wedges = viewshed._wedges(origins, 60.0, heads, 70.0)
    for o, h, w in zip(origins, heads, wedges):
        assert shapely.to_wkb(w) == shapely.to_wkb(viewshed._wedge(tuple(o), 60.0, h, 70.0))
