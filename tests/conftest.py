"""Shared fixtures: the real Beausoleil extract, parsed once into a cache outside the repository."""

from __future__ import annotations

import getpass
import re
import tempfile
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
OSM = ROOT / "data" / "osm" / "monaco-beausoleil-2016.osm.bz2"
SCENARIO = ROOT / "scenarios" / "beausoleil.toml"
INCIDENTS = ROOT / "data" / "incidents" / "beausoleil_synthetic_2021-2023.csv"
# parsed OSM layers, keyed on the extract's hash: a temporary folder, never the repository
CACHE = Path(tempfile.gettempdir()) / f"siteplanner-test-cache-{getpass.getuser()}"

# a three-node street and a police station: the smallest extract osmnx reads
TINY_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
 <node id="1" lat="43.7400" lon="7.4200" version="1"/>
 <node id="2" lat="43.7410" lon="7.4200" version="1"/>
 <node id="3" lat="43.7410" lon="7.4215" version="1"/>
 <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
  <tag k="highway" v="residential"/></way>
 <node id="4" lat="43.7405" lon="7.4205" version="1"><tag k="amenity" v="police"/></node>
</osm>
"""


def copy_scenario(src: Path, dest_dir: Path, *, name: str | None = None) -> Path:
    """Copy a shipped scenario into ``dest_dir``: its relative paths made absolute, its cache
    folder the tests' temporary cache (so that no test writes into the repository)."""
    text = src.read_text(encoding="utf-8")
    text = re.sub(
        r'"((?:\.\./)+)', lambda m: '"' + (src.parent / m.group(1)).resolve().as_posix() + "/", text
    )
    text = re.sub(r'(?m)^cache_dir = "[^"]*"', f'cache_dir = "{CACHE.as_posix()}"', text)
    dest_dir.mkdir(parents=True, exist_ok=True)
    p = dest_dir / (name or src.name)
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="session")
def town():
    from siteplanner.town.load import load_town

    return load_town(OSM, boundary=174562, cache_dir=CACHE)


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """The default scenario run end to end once, into a temporary folder."""
    from siteplanner import pipeline
    from siteplanner.scenario import load_scenario

    out = tmp_path_factory.mktemp("beausoleil")
    sc = load_scenario(copy_scenario(SCENARIO, tmp_path_factory.mktemp("scenario")))
    res, files = pipeline.run(sc, out_dir=out)
    return res, out, files
