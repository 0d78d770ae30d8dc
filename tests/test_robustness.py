"""Nothing lost, nothing leaked, same answer twice.

* A run killed (SIGKILL) after loading, after the coverage step and while writing its
  outputs leaves the previous outputs and the référent sûreté's review.csv byte-identical;
  the staging folder it leaves is cleaned by the next run.
* Two runs of the same scenario (in separate processes) give byte-identical GeoJSON, GPX
  and CSV files, and the same summary.json apart from timings.
* Semantic scenario errors that only the pipeline can see (a boundary that matches
  nothing, a study area without streets, k larger than the candidates, a budget below the
  cheapest site) are one clear error, never a traceback.
* No output coordinate equals an input incident (privacy), unless the scenario asks.

The runs use a small study area (an 800 m square in the centre of Beausoleil), so that
each takes seconds, through the same code path as the whole town.
"""

from __future__ import annotations

from io import BytesIO

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from siteplanner import pipeline
from siteplanner._errors import InfeasibleError, InputError
from siteplanner.cli import app
from siteplanner.scenario import load_scenario
from siteplanner.town import load as io

from .conftest import CACHE, INCIDENTS, OSM, ROOT, TINY_OSM

DEM = ROOT / "data" / "dem" / "N43E007.hgt"
#: files whose bytes must not depend on the run (summary.json is compared without timings)
STABLE_SUFFIXES = (".geojson", ".gpx", ".csv")


@pytest.fixture(scope="module")
def small(tmp_path_factory, town):
    """A folder with an 800 m study-area polygon in Beausoleil's centre and a scenario writer."""
    d = tmp_path_factory.mktemp("small")
    c = town.area.centroid
    sq = shapely.box(c.x - 400, c.y - 400, c.x + 400, c.y + 400).intersection(town.area)
    gpd.GeoSeries([sq], crs=town.crs).to_crs("EPSG:4326").to_file(d / "centre.geojson")
    start = gpd.GeoSeries([c], crs=town.crs).to_crs("EPSG:4326").iloc[0]
    return d, (round(start.x, 6), round(start.y, 6))


def write_scenario(
    folder: Path,
    start: tuple[float, float],
    *,
    plan: str = "k = 3",
    name: str = "centre",
    extra: str = "",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    polygon = folder / "centre.geojson"
    if not polygon.exists():
        (folder / "centre.geojson").write_bytes((folder.parent / "centre.geojson").read_bytes())
    text = f"""
name = "{name}"
cache_dir = "{CACHE}"
[area]
osm = "{OSM}"
polygon = "centre.geojson"
dem = "{DEM}"
[[incidents]]
path = "{INCIDENTS}"
[plan]
{plan}
[patrol]
start = [{start[0]}, {start[1]}]
n_candidates = 20
[[patrol.shifts]]
name = "soirée"
budget_min = 45
[output]
dir = "out"
{extra}
"""
    p = folder / f"{name}.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "siteplanner.cli", *args]


def _run_and_kill(cmd: list[str], *, when, timeout_s: float = 240.0) -> str:
    """Start ``cmd``, SIGKILL it as soon as ``when(stderr_so_far)`` is true; return its stderr."""
    err_path = (
        Path(os.environ.get("TMPDIR", "/tmp"))
        / f"siteplanner-kill-{os.getpid()}-{time.monotonic_ns()}.log"
    )
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "COLUMNS": "200"}
        )
        t0 = time.monotonic()
        try:
            while proc.poll() is None and time.monotonic() - t0 < timeout_s:
                if when(err_path.read_text(errors="replace")):
                    proc.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.005)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    text = err_path.read_text(errors="replace")
    err_path.unlink()
    assert proc.returncode == -signal.SIGKILL, (
        f"the run was not killed (exit {proc.returncode}):\n{text}"
    )
    return text


@pytest.fixture(scope="module")
def previous(small):
    """A complete run of the small scenario (the 'previous outputs') and its review.csv."""
    d, start = small
    sc_path = write_scenario(d / "prev", start)
    review = sc_path.with_name(sc_path.stem + ".review.csv")
    review.write_text(
        "site_id,decision,moved_lon,moved_lat,comment,reviewer,date\n"
        "S-none,pending,,,site inconnu: ignoré,référent,2024-01-15\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(app, ["run", str(sc_path)])  # in-process: the runs below are not
    assert r.exit_code == 0, r.output
    return sc_path, review, d / "prev" / "out"


def test_killed_runs_leave_previous_outputs_and_review_intact(previous):
    sc_path, review, out = previous
    before = _snapshot(out)
    review_before = review.read_bytes()
    assert {"sites.geojson", "viewsheds.geojson", "patrols.geojson", "summary.json"} <= set(before)

    def staging_has_a_file(_: str) -> bool:
        return any(any(s.iterdir()) for s in out.glob(".staging-*") if s.is_dir())

    kill_points = {
        "after load": lambda log: "step load done" in log,
        "after coverage": lambda log: "step coverage done" in log,
        "while writing outputs": lambda log: staging_has_a_file(log),
    }
    for label, when in kill_points.items():
        log = _run_and_kill(_cli("run", str(sc_path)), when=when)
        assert _snapshot(out) == before, f"killed {label}: the previous outputs changed"
        assert review.read_bytes() == review_before, f"killed {label}: review.csv changed"
        assert not [p for p in out.iterdir() if p.is_file() and p.name not in before], (
            f"killed {label}: junk left"
        )
        if label == "after coverage":
            assert "step coverage done" in log and "step outputs" not in log
    # the kill while writing left a staging folder; the next complete run removes it
    assert list(out.glob(".staging-*")), "expected the killed run to leave its staging folder"
    r = CliRunner().invoke(app, ["run", str(sc_path)])
    assert r.exit_code == 0, r.output
    assert not list(out.glob(".staging-*")) and not list(out.glob(".*.tmp*"))
    assert set(_snapshot(out)) == set(before)
    assert review.read_bytes() == review_before


def test_two_runs_give_byte_identical_outputs(previous, small):
    """Same scenario, another process and folder: same bytes (summary.json: timings aside)."""
    sc_path, _, out = previous
    d, start = small
    other = write_scenario(d / "again", start)
    (other.with_name(other.stem + ".review.csv")).write_bytes(
        sc_path.with_name(sc_path.stem + ".review.csv").read_bytes()
    )
    r = subprocess.run(_cli("run", str(other)), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    a, b = _snapshot(out), _snapshot(d / "again" / "out")
    assert set(a) == set(b)
    stable = sorted(n for n in a if n.endswith(STABLE_SUFFIXES))
    assert {"sites.geojson", "viewsheds.geojson", "patrols.geojson"} <= set(stable)
    for name in stable:
        assert a[name] == b[name], f"{name} differs between two runs"
    sa, sb = json.loads(a["summary.json"]), json.loads(b["summary.json"])
    sa.pop("timings_s"), sb.pop("timings_s")
    assert sa == sb
    for name in sorted(
        n for n in a if n.endswith(".gpkg")
    ):  # GeoPackage: same features (the file holds timestamps)
        import pyogrio

        layers = [str(lyr) for lyr in pyogrio.list_layers(out / name)[:, 0]]
        assert layers == [str(lyr) for lyr in pyogrio.list_layers(d / "again" / "out" / name)[:, 0]]
        for layer in layers:
            fa = pyogrio.read_dataframe(out / name, layer=layer)
            fb = pyogrio.read_dataframe(d / "again" / "out" / name, layer=layer)
            if isinstance(fa, gpd.GeoDataFrame):
                assert list(fa.geometry.to_wkb()) == list(fb.geometry.to_wkb()), (name, layer)
                fa, fb = fa.drop(columns=fa.geometry.name), fb.drop(columns=fb.geometry.name)
            assert fa.equals(fb), (name, layer)
    za, zb = np.load(out / "coverage.npz"), np.load(d / "again" / "out" / "coverage.npz")
    assert sorted(za.files) == sorted(zb.files)
    for k in za.files:
        assert np.array_equal(za[k], zb[k]), k


def test_no_output_coordinate_is_an_incident(default_run):
    """Shared outputs hold aggregates: no point, vertex or demand point equals an incident
    (the default scenario's whole run, which other tests share)."""
    res, out, _ = default_run
    assert res.scenario.output.include_incident_points is False
    df = pd.read_csv(INCIDENTS)
    inc_wgs = {(round(x, 6), round(y, 6)) for x, y in zip(df["lon"], df["lat"])}
    checked = 0
    for f in sorted(out.iterdir()):
        if f.suffix in (".geojson", ".gpx"):
            g = gpd.read_file(f, layer="track_points") if f.suffix == ".gpx" else gpd.read_file(f)
            pts = g.get_coordinates()
            assert not ({(round(x, 6), round(y, 6)) for x, y in zip(pts.x, pts.y)} & inc_wgs), (
                f.name
            )
            checked += len(pts)
        elif f.suffix == ".csv":
            t = pd.read_csv(f)
            cols = [c for c in t.columns if c.lower() in ("lon", "lat", "longitude", "latitude")]
            if len(cols) == 2:
                lon, lat = sorted(cols, key=lambda c: c.lower().startswith("la"))
                assert not (
                    {(round(x, 6), round(y, 6)) for x, y in zip(t[lon], t[lat])} & inc_wgs
                ), f.name
    assert checked > 10
    # the demand points in coverage.npz are street samples, not incident positions
    z = np.load(out / "coverage.npz")
    xy_key = next(k for k in z.files if "xy" in k and "demand" in k)
    proj = gpd.GeoSeries.from_xy(df["lon"], df["lat"], crs="EPSG:4326").to_crs("EPSG:32632")
    inc_proj = {(round(x, 2), round(y, 2)) for x, y in zip(proj.x, proj.y)}
    assert not ({(round(x, 2), round(y, 2)) for x, y in z[xy_key]} & inc_proj)


# ------------------------------------------------------------------------------------------
# semantic errors, through the pipeline
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_town(small):
    d, _ = small
    return io.load_town(OSM, area_path=d / "centre.geojson", cache_dir=CACHE)


def _plan(small, small_town, name: str, plan: str):
    d, start = small
    sc = load_scenario(write_scenario(d / name, start, plan=plan, name=name))
    return pipeline.plan(sc, town=small_town)  # the town is loaded once for these tests


def test_k_larger_than_the_candidates_is_one_clear_error(small, small_town):
    with pytest.raises(InfeasibleError) as err:
        _plan(small, small_town, "bigk", "k = 100000")
    msg = str(err.value)
    assert "100000" in msg or "100,000" in msg
    assert "candidate" in msg


def test_budget_below_the_cheapest_site_is_one_clear_error(small, small_town):
    with pytest.raises(InfeasibleError) as err:
        _plan(small, small_town, "poor", "budget_eur = 10")
    assert "cheapest" in str(err.value) and "budget" in str(err.value)


def test_cli_reports_semantic_errors_without_traceback(small, small_town):
    d, start = small  # small_town filled the parse cache the CLI's run reads
    sc = write_scenario(d / "cli", start, plan="budget_eur = 10", name="cli")
    r = CliRunner().invoke(app, ["run", str(sc), "--out", str(d / "cli" / "out")])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert "error:" in r.output and "cheapest" in r.output and "Traceback" not in r.output
    assert not (d / "cli" / "out").exists()  # a failed run writes nothing


def test_boundary_matching_nothing_names_what_exists():
    with pytest.raises(InputError) as err:
        io.load_town(OSM, boundary="Nowhere-sur-Mer", cache_dir=CACHE)
    msg = str(err.value)
    assert "Nowhere-sur-Mer" in msg and "Beausoleil" in msg and OSM.name in msg


def test_study_area_without_streets_is_one_clear_error(tmp_path):
    sea = tmp_path / "sea.geojson"  # a square in the Mediterranean, 10 km off Monaco
    gpd.GeoSeries([shapely.box(7.40, 43.62, 7.41, 43.63)], crs="EPSG:4326").to_file(sea)
    with pytest.raises(InputError) as err:
        io.load_town(OSM, area_path=sea, cache_dir=CACHE)
    assert "no walkable street" in str(err.value) and str(sea) in str(err.value)


def test_stale_or_truncated_cache_entries_are_rebuilt(tmp_path, caplog):
    """A cache entry whose recorded hash is not the extract's, or a truncated one, is never
    trusted."""
    from siteplanner.files import dump_pickle, load_pickle

    def loads(data: bytes):
        return load_pickle(BytesIO(data))

    osm = tmp_path / "tiny.osm"
    osm.write_text(TINY_OSM, encoding="utf-8")
    cache = tmp_path / "cache"
    first = io.read_osm(osm, cache_dir=cache)
    (entry,) = cache.glob("osm-*.pickle")
    good = entry.read_bytes()
    # stale: same file name, but the payload records another extract's hash and other layers
    payload = loads(good)
    payload["sha256"] = "0" * 64
    payload["layers"] = {"graph": None, "features": None}
    buf = BytesIO()
    dump_pickle(payload, buf)
    entry.write_bytes(buf.getvalue())
    caplog.set_level("WARNING", logger="siteplanner")
    again = io.read_osm(osm, cache_dir=cache)
    assert "does not match" in caplog.text
    # the street's two ends (its middle node is a vertex of the edge; the police node is no street)
    assert again["graph"].number_of_nodes() == first["graph"].number_of_nodes() == 2
    assert loads(entry.read_bytes())["sha256"] == io.file_sha256(osm)
    # truncated (a copy interrupted half-way): rebuilt, never a traceback
    entry.write_bytes(good[: len(good) // 2])
    caplog.clear()
    again = io.read_osm(osm, cache_dir=cache)
    assert "unreadable" in caplog.text and again["graph"].number_of_nodes() == 2
    assert entry.read_bytes() == good or loads(entry.read_bytes())["sha256"] == io.file_sha256(osm)
    assert not list(cache.glob(".*tmp*"))  # the cache is written atomically
