"""The patrol files of shipped towns agree (#25): the itinerary text, the GPX and patrols.geojson
list the same stops, in the same order, at the same places, each place once and each name once.

Runs the default town (the shared ``default_run``), Il-Ħamrun (Malta: seven stops near its
police station, an itinerary that listed one of them) and Helsinki (bike and foot shifts).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import gpxpy
import numpy as np
import pyproj
import pytest

from siteplanner.scenario import load_scenario

from .conftest import ROOT, copy_scenario

STOP_LINE = re.compile(r"^\s*\d+\. STOP (\d+): (.*) — arrive at ")


def stop_lists(out: Path) -> dict[str, dict[str, list]]:
    """Per circuit: the stops ``(order, name)`` as the itinerary text, the GPX and
    patrols.geojson list them, and the GPX's and GeoJSON's stop coordinates (lon, lat)."""
    found: dict[str, dict[str, list]] = {}
    for txt in sorted(out.glob("patrol_*_itinerary.txt")):
        head, *rest = txt.read_text(encoding="utf-8").splitlines()
        circuit = head.rsplit(": ", 1)[0].split(": ")[0]
        said = [m.groups() for m in map(STOP_LINE.match, rest) if m]
        found.setdefault(circuit, {})["text"] = [(int(o), n) for o, n in said]
        found[circuit]["announced"] = int(re.search(r"(\d+) stops", head).group(1))
    for g in sorted(out.glob("patrol_*.gpx")):
        gpx = gpxpy.parse(g.read_text(encoding="utf-8"))
        wps = [w.name.split(". ", 1) for w in gpx.waypoints]
        found.setdefault(gpx.name, {})["gpx"] = [(int(o), n) for o, n in wps]
        found[gpx.name]["gpx_xy"] = [(w.longitude, w.latitude) for w in gpx.waypoints]
    for f in json.loads((out / "patrols.geojson").read_text(encoding="utf-8"))["features"]:
        p = f["properties"]
        if p["feature"] != "stop":
            continue
        c = found.setdefault(p["circuit"], {})
        c.setdefault("geojson", []).append((int(p["order"]), p["name"]))
        c.setdefault("geojson_xy", []).append(tuple(f["geometry"]["coordinates"][:2]))
    return found


def check_patrol_files(out: Path, spacing_m: float = 100.0) -> int:
    """Assert the three lists agree for every circuit; the number of stops checked."""
    lists = stop_lists(out)
    assert lists, "no patrol circuit written"
    crs = str(np.load(out / "coverage.npz", allow_pickle=False)["crs"])
    to_m = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    n = 0
    for name, c in lists.items():
        text, gpx, geo = c.get("text", []), c.get("gpx", []), c.get("geojson", [])
        assert text == gpx == geo, f"{name}: text {text}, GPX {gpx}, GeoJSON {geo}"
        assert len(text) == c["announced"], f"{name}: {c['announced']} announced, {len(text)} said"
        assert [o for o, _ in text] == list(range(1, len(text) + 1))
        names = [nm for _, nm in text]
        assert len(set(names)) == len(names), f"{name}: a name twice: {names}"
        if len(text) > 1:
            assert np.allclose(c["gpx_xy"], c["geojson_xy"], atol=1e-6)
            x, y = to_m.transform(*np.array(c["geojson_xy"]).T)
            d = np.hypot(x[:, None] - x[None], y[:, None] - y[None])
            np.fill_diagonal(d, np.inf)
            assert d.min() >= spacing_m - 0.5, f"{name}: two stops {d.min():.0f} m apart"
        n += len(text)
    return n


def test_default_town_patrol_files_agree(default_run):
    _res, out, _files = default_run
    assert check_patrol_files(out) >= 5


@pytest.mark.parametrize(
    "src",
    [ROOT / "scenarios" / "malta" / "il-hamrun_7510547.toml", ROOT / "scenarios" / "helsinki.toml"],
    ids=["malta-il-hamrun", "helsinki"],
)
def test_town_patrol_files_agree(src, tmp_path):
    from siteplanner import pipeline

    sc = load_scenario(copy_scenario(src, tmp_path / "scenario"))
    out = tmp_path / "out"
    res, _files = pipeline.run(sc, out_dir=out)
    assert check_patrol_files(out) >= 4
    for c in res.circuits:  # stops on the graph of the circuit's own mode
        assert c.mode == {s.name: s.mode for s in sc.patrol.shifts}[c.name.split(" variante")[0]]


def test_a_patrol_that_stays_at_its_start_is_drawn(tmp_path, town):
    """Beausoleil's central 800 m square with a 20-minute shift: the start sits on a scrap of
    three street nodes inside the square, so the circuit is one stop at the start, 0 m walked.
    The run writes every file (the patrol figure used to fail on the empty extent: "Axis
    limits cannot be NaN or Inf"), and the itinerary says what the circuit is."""
    import geopandas as gpd
    import shapely

    from siteplanner import pipeline

    from .conftest import CACHE, INCIDENTS, OSM

    c = town.area.centroid
    square = shapely.box(c.x - 400, c.y - 400, c.x + 400, c.y + 400).intersection(town.area)
    gpd.GeoSeries([square], crs=town.crs).to_crs("EPSG:4326").to_file(tmp_path / "centre.geojson")
    start = gpd.GeoSeries([c], crs=town.crs).to_crs("EPSG:4326").iloc[0]
    toml = tmp_path / "centre.toml"
    toml.write_text(
        f'name = "Beausoleil centre"\ncache_dir = "{CACHE.as_posix()}"\n'
        f'[area]\nosm = "{OSM.as_posix()}"\npolygon = "centre.geojson"\n'
        f'[[incidents]]\npath = "{INCIDENTS.as_posix()}"\n[plan]\nk = 2\n'
        f"[patrol]\nstart = [{start.x:.6f}, {start.y:.6f}]\nn_candidates = 12\n"
        '[[patrol.shifts]]\nname = "soirée"\nbudget_min = 20\n[output]\ndir = "out"\n',
        encoding="utf-8",
    )
    res, files = pipeline.run(load_scenario(toml))
    (circuit,) = res.circuits
    assert circuit.length_m == 0 and len(circuit.stops) == 1
    names = {Path(f).name for f in files}
    assert {"report.html", "map.html", "patrol_soiree_itinerary.txt"} <= names
    text = (tmp_path / "out" / "patrol_soiree_itinerary.txt").read_text(encoding="utf-8")
    assert text.startswith("soirée: 0.00 km") and "STOP 1" in text
