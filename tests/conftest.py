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

# a three-node street and a police station: the smallest extract osmnx reads
TINY_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
 <node id="1" lat="43.7400" lon="7.4200" version="1"/>
 <node id="2" lat="43.7410" lon="7.4200" version="1"/>
 <node id="3" lat="43.7410" lon="7.4215" version="1"/>
 <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
 <node id="4" lat="43.7405" lon="7.4205" version="1"><tag k="amenity" v="police"/></node>
</osm>
"""


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
