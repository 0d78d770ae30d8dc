"""Shared fixtures: the real Beausoleil extract, parsed once into a cache outside the repository."""

from __future__ import annotations

import contextlib
import copyreg
import getpass
import io
import os
import pickle
import re
import shutil
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest

from siteplanner._gc import RUN_THRESHOLDS

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
#: The shared real data and tools (other towns' extracts, incident exports, the audit), which a
#: clone does not hold: ``$SITEPLANNER_SHARED``, else ``shared/`` beside the repository. Tests
#: that need them skip, saying which, when they are absent.
SHARED_ROOT = Path(os.environ.get("SITEPLANNER_SHARED") or ROOT.parent / "shared")
OSM = ROOT / "data" / "osm" / "monaco-beausoleil-2016.osm.bz2"
SCENARIO = ROOT / "scenarios" / "beausoleil.toml"
INCIDENTS = ROOT / "data" / "incidents" / "beausoleil_synthetic_2021-2023.csv"
# parsed OSM layers, keyed on the extract's hash: a temporary folder, never the repository
CACHE = Path(tempfile.gettempdir()) / f"siteplanner-test-cache-{getpass.getuser()}"

#: The test files that take longest (whole towns, clusters, fuzzers), with their rough seconds
#: on an idle 2-core machine (for scheduling only): each xdist worker starts with its share of
#: them, and the short tests fill in at the end (see :func:`pytest_collection_modifyitems`).
LONG_FILES = {
    "test_clips.py": 50,
    "test_fuzz.py": 40,
    "test_towns.py": 30,
    "test_batch_cluster.py": 26,
    "test_qgis.py": 25,
    "test_batch.py": 21,
    "test_robustness.py": 20,
    "test_patrol_outputs.py": 20,
    "test_cli.py": 8,
}
#: long files whose tests are independent (no module fixture, no shared counter): spread one by
#: one over the workers; the others' tests stay together, in their order, on one worker
SPLIT_FILES = ("test_clips.py",)
#: long files whose long tests need the shared data (they skip without it)
NEED_SHARED = ("test_towns.py",)
#: Files that compile no numba kernel and start no process (recorded on a run of the suite),
#: with their rough seconds: at the head of each worker's slice, so that the workers have work
#: while the kernels compile (see :func:`_numba_kernels_compiled`); the fuzzers are the first.
EARLY_FILES = {
    "test_fuzz.py": 40,
    "test_validate.py": 10,
    "test_simulate.py": 6,
    "test_osm.py": 5,
    "test_incident_exports.py": 4,
    "test_lighting.py": 4,
    "test_viewshed.py": 3,
}


#: how long an xdist worker waits for the kernels' compilation before compiling them itself
WARM_WAIT_S = 180.0


#: the garbage collector's thresholds in the test processes, those of a run
#: (:data:`siteplanner._gc.RUN_THRESHOLDS`; CPython's: 700, 10, 10): a worker holds the
#: session's towns and runs, so that each full collection walks millions of objects. Timed with
#: gc.callbacks on one suite run: 30 s in collections over both workers with CPython's, 14 s
#: with these
GC_THRESHOLDS = RUN_THRESHOLDS


def pytest_configure(config):
    """Sets :data:`GC_THRESHOLDS`. Under pytest-xdist, the controller compiles the numba
    kernels in a background process (``tests/_warm_numba.py``) while the workers start and
    collect; a worker waits for it before it compiles a kernel or starts a process (see
    :func:`_numba_kernels_compiled`). On a fresh clone the kernels are then compiled once,
    instead of once by each worker and by each process a test starts before a worker's cache
    is written."""
    import gc
    import subprocess
    import sys

    gc.set_threshold(*GC_THRESHOLDS)
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        return
    done = Path(tempfile.mkdtemp(prefix="siteplanner-numba-")) / "done"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    config._siteplanner_warm_done = done
    config._siteplanner_warm = subprocess.Popen(
        [sys.executable, "-m", "tests._warm_numba", str(done)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ["SITEPLANNER_TEST_NUMBA_DONE"] = str(done)  # the workers inherit it


def pytest_unconfigure(config):
    proc = getattr(config, "_siteplanner_warm", None)
    if proc is not None:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        shutil.rmtree(config._siteplanner_warm_done.parent, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _numba_kernels_compiled():
    """In an xdist worker, until the controller's compilation of the kernels is done (see
    :func:`pytest_configure`): the tests that need no kernel run at once, and a test waits for
    it (at most :data:`WARM_WAIT_S`) only when it is about to compile a kernel or to start a
    process (which would compile them again), so that no core sits idle meanwhile."""
    import multiprocessing.process
    import subprocess
    import time

    import numba.core.dispatcher

    done = os.environ.get("SITEPLANNER_TEST_NUMBA_DONE")
    if not (done and os.environ.get("PYTEST_XDIST_WORKER")) or Path(done).exists():
        yield
        return
    ready = [False]

    def wait() -> None:
        t0 = time.monotonic()
        while not Path(done).exists() and time.monotonic() - t0 < WARM_WAIT_S:
            time.sleep(0.05)
        ready[0] = True

    patched = [
        (numba.core.dispatcher.Dispatcher, "compile"),
        (subprocess.Popen, "__init__"),
        (multiprocessing.process.BaseProcess, "start"),
    ]
    originals = [getattr(cls, name) for cls, name in patched]

    def waiting(method):
        def call(*args, **kwargs):
            if not ready[0]:
                wait()
            return method(*args, **kwargs)

        return call

    for (cls, name), method in zip(patched, originals):
        setattr(cls, name, waiting(method))
    try:
        yield
    finally:
        for (cls, name), method in zip(patched, originals):
            setattr(cls, name, method)


@pytest.fixture(autouse=True)
def _logging_as_it_was():
    """An in-process CLI call sets up logging as the command does for its process: the
    siteplanner logger's level (``--quiet``: warnings only) and handler, a handler on the root
    logger, Python's warning hook. Put back after each test, so that the next one sees what it
    logs (``caplog``) whichever tests its worker ran before."""
    import logging
    import warnings

    ours, top = logging.getLogger("siteplanner"), logging.getLogger()
    level, handlers, propagate = ours.level, ours.handlers[:], ours.propagate
    top_handlers, show = set(top.handlers), warnings.showwarning
    yield
    ours.setLevel(level)
    ours.handlers[:], ours.propagate = handlers, propagate
    for h in [h for h in top.handlers if getattr(h, "siteplanner", False)]:
        if h not in top_handlers:
            top.removeHandler(h)
    warnings.showwarning = show


def pytest_collection_modifyitems(config, items):
    """Long tests first. Under xdist (``--dist worksteal``), whose first schedule gives each of
    the N workers one contiguous slice of the collection (the i-th gets ``rest // (N - i)``
    tests) and whose idle workers then steal the tail of the others' queues: the long files and
    :data:`EARLY_FILES` are dealt out so that each slice starts with its share of them (greedily
    by their rough seconds; in each slice, the early files first), then the short tests in their
    order. Every worker collects the same order."""
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    rough = {**LONG_FILES, **EARLY_FILES}
    groups: dict[tuple[str, str], list] = {}
    short = []
    for item in items:
        name = item.path.name
        if name not in rough:
            short.append(item)
            continue
        key = (name, item.nodeid if name in SPLIT_FILES else "")
        groups.setdefault(key, []).append(item)

    def weight(key: tuple[str, str]) -> float:
        if key[0] in NEED_SHARED and not SHARED_ROOT.is_dir():
            return 1.0  # they skip
        n = sum(1 for k in groups if k[0] == key[0])
        return rough[key[0]] / n

    dealt: list[list] = [[] for _ in range(workers)]
    load = [0.0] * workers
    # the early files first (each slice gets its share of them), then the long ones
    for early in (True, False):
        mine = [k for k in groups if (k[0] in EARLY_FILES) == early]
        for key in sorted(mine, key=weight, reverse=True):  # stable: ties keep their order
            i = load.index(min(load))
            dealt[i].append(key)
            load[i] += weight(key)
    slices = [[item for key in keys for item in groups[key]] for keys in dealt]
    rest, order = len(items), []
    for i, mine in enumerate(slices):
        size = rest // (workers - i)
        take = max(0, size - len(mine))
        order += mine + short[:take]
        short = short[take:]
        rest -= size
    items[:] = order + short


@contextlib.contextmanager
def session_folder(tmp_path_factory, name: str) -> Iterator[Path]:
    """A folder that every pytest-xdist worker of this session shares, held under an exclusive
    lock while the ``with`` block runs: the first worker writes what the others then read.

    Without xdist (or without ``fcntl``) the folder is this process's own.
    """
    base = tmp_path_factory.getbasetemp()
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: one folder per worker
        fcntl = None
    if fcntl is not None and os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above each worker's own
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(base / f"{name}.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder


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


def _mappingproxy(d: dict) -> types.MappingProxyType:
    return types.MappingProxyType(d)


def _dumps(value) -> bytes:
    """``pickle.dumps``, read-only mappings (``MappingProxyType``) included: for this cache
    only, so that the package's own pickling is never helped."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[types.MappingProxyType] = lambda m: (_mappingproxy, (dict(m),))
    pickler.dump(value)
    return buf.getvalue()


def once_per_session(tmp_path_factory, name: str, compute):
    """``compute(folder)`` run once in the session, by the first xdist worker that asks, in a
    folder of its own; the other workers read its value, pickled beside (a cache of this
    session, never an expectation). For the whole runs that many tests only read."""
    with session_folder(tmp_path_factory, name) as shared:
        value_file = shared / "value.pickle"
        if value_file.is_file():
            return pickle.loads(value_file.read_bytes())
        value = compute(Path(tempfile.mkdtemp(dir=shared)))
        tmp = value_file.with_suffix(".tmp")
        tmp.write_bytes(_dumps(value))
        tmp.replace(value_file)
        return value


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """The default scenario run end to end once in the session, into a temporary folder.
    Returns (result, output folder, files written)."""

    def run(folder: Path):
        from siteplanner import pipeline
        from siteplanner.scenario import load_scenario

        out = folder / "beausoleil"
        sc = load_scenario(copy_scenario(SCENARIO, folder / "scenario"))
        res, files = pipeline.run(sc, out_dir=out)
        return res, out, files

    return once_per_session(tmp_path_factory, "default_run", run)


REVIEW_HEADER = "site_id,decision,moved_lon,moved_lat,comment,reviewer,date\n"


def point_in_building(res, site_id: str) -> tuple[float, float]:
    """(lon, lat) inside the building nearest a site: a move the référent must not make."""
    import geopandas as gpd

    p = res.sites.set_index("site_id").geometry[site_id]
    b = res.town.buildings
    inner = b.geometry.iloc[int(b.distance(p).to_numpy().argmin())].representative_point()
    ll = gpd.GeoSeries([inner], crs=res.town.crs).to_crs("EPSG:4326").iloc[0]
    return ll.x, ll.y


def point_on_street(res, site_id: str, along_m: float = 10.0) -> tuple[float, float]:
    """(lon, lat) ``along_m`` along a street leaving a site's node, clear of every building by
    a metre and inside the commune: a move a référent may make."""
    import geopandas as gpd

    s = res.sites.set_index("site_id")
    g, node = res.town.graph, int(s.at[site_id, "node"])
    blocks = res.town.buildings
    for _, _, d in sorted(g.edges(node, data=True), key=lambda e: (e[1], str(e[2].get("name")))):
        line = d["geometry"]
        if line.length < 2 * along_m or d.get("tunnel"):
            continue
        q = line.interpolate(along_m)
        near = blocks.iloc[blocks.sindex.query(q.buffer(1.0), predicate="intersects")]
        if near.empty and res.town.area.contains(q):
            ll = gpd.GeoSeries([q], crs=res.town.crs).to_crs("EPSG:4326").iloc[0]
            return ll.x, ll.y
    raise AssertionError(f"no street point clear of buildings near {site_id}")


@pytest.fixture(scope="session")
def reviewed_run(default_run, tmp_path_factory):
    """The default scenario run again after a review, once in the session: the first proposed
    site accepted, the second rejected, the third moved 10 m along one of its streets. Returns
    (result, output folder, scenario, (accepted, rejected, moved) site ids)."""

    def run(folder: Path):
        from siteplanner import pipeline, review
        from siteplanner.scenario import load_scenario

        res0, _, _ = default_run
        sc = load_scenario(copy_scenario(SCENARIO, folder / "reviewed"))
        acc, rej, mov = res0.proposed.sort_values("rank")["site_id"].tolist()[:3]
        lon, lat = point_on_street(res0, mov)
        review.init_review(res0, sc.review_path)
        text = sc.review_path.read_text(encoding="utf-8")
        for sid, row in (
            (acc, "accept,,,bon emplacement,Lt Dupont,2026-11-30"),
            (rej, "reject,,,vue sur des entrées,Lt Dupont,2026-11-30"),
            (mov, f"move,{lon:.7f},{lat:.7f},de l'autre côté,Lt Dupont,2026-11-30"),
        ):
            text = text.replace(f"{sid},pending,,,,,", f"{sid},{row}")
        sc.review_path.write_text(text, encoding="utf-8")
        out = folder / "reviewed_out"
        res1, _ = pipeline.run(sc, out_dir=out)
        return res1, out, sc, (acc, rej, mov)

    return once_per_session(tmp_path_factory, "reviewed_run", run)
