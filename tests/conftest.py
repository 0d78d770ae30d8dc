"""Shared fixtures: the real Beausoleil extract (parsed once, cached in the repo's .cache)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
OSM = ROOT / "data" / "osm" / "monaco-beausoleil-2016.osm.bz2"
SCENARIO = ROOT / "scenarios" / "beausoleil.toml"
INCIDENTS = ROOT / "data" / "incidents" / "beausoleil_synthetic_2021-2023.csv"
CACHE = ROOT / ".cache"


@pytest.fixture(scope="session")
def town():
    from siteplanner.io import load_town

    return load_town(OSM, boundary=174562, cache_dir=CACHE)


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """The default scenario run end to end once, into a temporary folder."""
    from siteplanner import pipeline
    from siteplanner.scenario import load_scenario

    out = tmp_path_factory.mktemp("beausoleil")
    sc = load_scenario(SCENARIO)
    res, files = pipeline.run(sc, out_dir=out)
    return res, out, files
