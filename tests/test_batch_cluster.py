"""``siteplanner batch --address``: a real Dask scheduler and two worker processes on loopback.

The scheduler (``dask scheduler``) and two workers (``dask worker ADDRESS --nworkers 1
--nthreads 1``) run as processes of their own, as on a cluster; the batch is the CLI, a
process too. Once the first commune's outputs are written, the worker that is running another
commune is killed (SIGKILL): the scheduler gives that commune to the other worker, every
commune finishes, and each one's files are the same as those of ``--scheduler local``.

The communes are Beausoleil's central 800 m square (a polygon study area) with three patrol
budgets, so that each takes seconds through the same code path as a whole town.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from siteplanner.modes.batch import run_batch

from .conftest import CACHE, INCIDENTS, OSM, ROOT

pytest.importorskip("distributed")

#: summary.json is compared without its timings; a GeoPackage holds timestamps (its features
#: are compared); every other file byte for byte
_NOT_BYTES = ("summary.json", "plan.gpkg")
_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "COLUMNS": "200",
}


def _communes(folder: Path, town) -> Path:
    """Three scenario files on Beausoleil's central 800 m square, with three patrol budgets."""
    scen = folder / "scenarios"
    scen.mkdir()
    c = town.area.centroid
    square = shapely.box(c.x - 400, c.y - 400, c.x + 400, c.y + 400).intersection(town.area)
    gpd.GeoSeries([square], crs=town.crs).to_crs("EPSG:4326").to_file(scen / "centre.geojson")
    start = gpd.GeoSeries([c], crs=town.crs).to_crs("EPSG:4326").iloc[0]
    for name, budget_min in (("court", 30), ("moyen", 35), ("long", 40)):
        (scen / f"{name}.toml").write_text(
            f"""name = "Beausoleil {name}"
cache_dir = "{CACHE.as_posix()}"
[area]
osm = "{OSM.as_posix()}"
polygon = "centre.geojson"
[[incidents]]
path = "{INCIDENTS.as_posix()}"
[plan]
k = 2
[patrol]
start = [{start.x:.6f}, {start.y:.6f}]
n_candidates = 12
[[patrol.shifts]]
name = "soirée"
budget_min = {budget_min}
[output]
dir = "out"
""",
            encoding="utf-8",
        )
    return scen


def _start(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as f:
        return subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, env=_ENV, cwd=ROOT)


def _wait_for(what: str, ok, timeout_s: float, procs: list[subprocess.Popen]):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        got = ok()
        if got:
            return got
        dead = [p.args for p in procs if p.poll() is not None]
        assert not dead, f"{dead} ended while waiting for {what}"
        time.sleep(0.1)
    raise AssertionError(f"no {what} after {timeout_s:.0f} s")


def _same_outputs(a: Path, b: Path) -> None:
    import pyogrio

    names = sorted(p.name for p in a.iterdir() if p.is_file())
    assert names == sorted(p.name for p in b.iterdir() if p.is_file()), (a, b)
    assert "sites.geojson" in names and "map.html" in names
    for name in names:
        if name not in _NOT_BYTES:
            assert (a / name).read_bytes() == (b / name).read_bytes(), f"{a.name}/{name} differs"
    sa, sb = (json.loads((d / "summary.json").read_text(encoding="utf-8")) for d in (a, b))
    sa.pop("timings_s"), sb.pop("timings_s")
    assert sa == sb, f"{a.name}/summary.json differs"
    layers = [str(x) for x in pyogrio.list_layers(a / "plan.gpkg")[:, 0]]
    assert layers == [str(x) for x in pyogrio.list_layers(b / "plan.gpkg")[:, 0]]
    for layer in layers:
        fa = pyogrio.read_dataframe(a / "plan.gpkg", layer=layer)
        fb = pyogrio.read_dataframe(b / "plan.gpkg", layer=layer)
        assert fa.equals(fb), f"{a.name}/plan.gpkg layer {layer} differs"


def test_batch_on_a_real_cluster_survives_a_killed_worker(tmp_path, town):
    from distributed import Client

    scen = _communes(tmp_path, town)
    procs: list[subprocess.Popen] = []
    client = None
    try:
        sched_file = tmp_path / "scheduler.json"
        procs.append(
            _start(
                ["dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
                + ["--scheduler-file", str(sched_file)],
                tmp_path / "scheduler.log",
            )
        )
        # the local scheduler's outputs, while the cluster starts
        local = run_batch(scen, scheduler="local", out_root=tmp_path / "local", progress=False)
        assert all(r.ok for r in local), [r.error for r in local]
        address = _wait_for(
            "scheduler file",
            lambda: sched_file.is_file() and json.loads(sched_file.read_text()).get("address"),
            30,
            procs,
        )
        assert address.startswith("tcp://127.0.0.1:")
        workers = {}
        for name in ("w0", "w1"):
            workers[name] = _start(
                ["dask", "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-nanny"]
                + ["--no-dashboard", "--name", name, "--local-directory", str(tmp_path / name)],
                tmp_path / f"{name}.log",
            )
            procs.append(workers[name])
        client = Client(address, timeout="30s")
        client.wait_for_workers(2, timeout=60)

        # the cluster's run starts from an empty cache folder: each commune parses and computes
        # its steps (seconds, not the cached steps' fraction of one), so that a worker is still
        # running one when the first is written
        for toml in scen.glob("*.toml"):
            text = toml.read_text(encoding="utf-8")
            cold = (tmp_path / "cold-cache").as_posix()
            toml.write_text(text.replace(CACHE.as_posix(), cold), encoding="utf-8")
        out = tmp_path / "dask"
        batch = _start(
            [sys.executable, "-m", "siteplanner.cli", "batch", str(scen), "--address", address]
            + ["--out", str(out)],
            tmp_path / "batch.log",
        )
        procs.append(batch)
        _wait_for("first commune", lambda: list(out.glob("*/summary.json")), 120, procs)
        info = client.scheduler_info()["workers"]
        busy = [
            info[addr]["name"]
            for addr, keys in client.processing().items()
            if addr in info and any(str(k).startswith("siteplanner-") for k in keys)
        ]
        assert busy, "no worker was running a commune when the first one finished"
        workers[busy[0]].send_signal(signal.SIGKILL)
        workers[busy[0]].wait(timeout=10)
        assert batch.wait(timeout=180) == 0, (tmp_path / "batch.log").read_text()
        assert "3 of 3 commune(s) done" in (tmp_path / "batch.log").read_text()
        assert len(client.scheduler_info()["workers"]) == 1  # the killed one is gone
        for r in local:
            _same_outputs(tmp_path / "local" / r.scenario.stem, out / r.scenario.stem)
    finally:
        if client is not None:
            client.close()
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
