"""Many communes at once: one scenario per commune, run on Dask (or in this process).

An intercommunal plan (a CISPD, a métropole) is a folder of scenario files, one per
commune. :func:`run_batch` runs each through :func:`siteplanner.pipeline.run` as one task:

* ``scheduler="dask"``: on a ``dask.distributed`` cluster -- a ``LocalCluster`` of
  ``n_workers`` processes on this machine by default, or the scheduler at ``address``
  (``tcp://scheduler:8786``) of a real cluster, whose workers see the same files (a shared
  folder) and have siteplanner installed;
* ``scheduler="local"``: one after the other in this process (no Dask needed).

Results come back as they finish (with a progress bar); a commune that fails does not stop
the others: its error is captured as a message in its :class:`BatchResult`. The list is
returned in scenario-file order, so the summary does not depend on which worker was faster.

What goes through the scheduler is small: a scenario's path out, a :class:`BatchResult`
back. Each process keeps what the communes share (:func:`keep_loaded_files`: the parsed OSM
extract, the incident files validated without an area), so the communes of one extract read
it once per worker, not once per commune. The local cluster's workers run one thread each
(:data:`WORKER_ENV`), and the tasks start longest first (:func:`expected_seconds`). A worker
that dies loses its commune to another worker, which runs it again.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from siteplanner._errors import InputError, SiteplannerError

log = logging.getLogger(__name__)

__all__ = ["BatchResult", "find_scenarios", "run_batch", "run_one"]


@dataclass(frozen=True)
class BatchResult:
    """What one commune's run gave.

    Attributes
    ----------
    scenario
        The scenario file.
    name
        The scenario's name (the file's stem when it could not be read).
    ok
        Whether the run finished and wrote its outputs.
    out_dir
        Where the outputs went (None when the run failed before choosing it).
    seconds
        Wall time of the run on its worker.
    coverage_before, coverage_after
        Share of the demand weight seen before and after the new sites.
    new_sites
        Number of proposed sites.
    cost_eur
        Installation cost of the proposed sites.
    files
        Number of files written.
    error
        The error message (one line per problem) when ``ok`` is false.
    """

    scenario: Path
    name: str
    ok: bool
    out_dir: Path | None = None
    seconds: float = 0.0
    coverage_before: float | None = None
    coverage_after: float | None = None
    new_sites: int | None = None
    cost_eur: float | None = None
    files: int = 0
    error: str | None = None


def find_scenarios(scenario_dir: str | Path) -> list[Path]:
    """The scenario files (``*.toml``) of a folder, sorted by name."""
    folder = Path(scenario_dir)
    if not folder.is_dir():
        raise InputError(
            f"{folder}: not a folder of scenario files (expected a directory holding one .toml "
            "per commune)"
        )
    files = sorted(p for p in folder.glob("*.toml") if p.is_file())
    if not files:
        raise InputError(f"{folder}: no scenario file (*.toml) in this folder")
    return files


def run_one(scenario: str | Path, out_root: str | Path | None = None) -> BatchResult:
    """Run one scenario; never raises for a bad commune (the error is in the result).

    Parameters
    ----------
    scenario
        The scenario file.
    out_root
        Write into ``out_root / <scenario stem>`` instead of the scenario's ``output.dir``.
    """
    from siteplanner import pipeline
    from siteplanner.optimise.milp import silence_highs_banner
    from siteplanner.scenario import load_scenario

    silence_highs_banner()  # a Dask worker is a process of its own: no banner there either
    scenario = Path(scenario)
    t0 = time.perf_counter()
    name, out = scenario.stem, None
    try:
        sc = load_scenario(scenario)
        name = sc.name
        out = Path(out_root) / scenario.stem if out_root is not None else sc.resolve(sc.output.dir)
        res, files = pipeline.run(sc, out_dir=out)
    except SiteplannerError as exc:
        return BatchResult(
            scenario=scenario,
            name=name,
            ok=False,
            out_dir=out,
            seconds=round(time.perf_counter() - t0, 3),
            error=str(exc),
        )
    except Exception as exc:  # noqa: BLE001 - one commune's bug must not stop the others
        tb = traceback.format_exc(limit=-3)
        return BatchResult(
            scenario=scenario,
            name=name,
            ok=False,
            out_dir=out,
            seconds=round(time.perf_counter() - t0, 3),
            error=f"unexpected {type(exc).__name__}: {exc}\n{tb}",
        )
    return BatchResult(
        scenario=scenario,
        name=name,
        ok=True,
        out_dir=out,
        seconds=round(time.perf_counter() - t0, 3),
        coverage_before=round(float(res.coverage_before), 6),
        coverage_after=round(float(res.coverage_after), 6),
        new_sites=len(res.plan.selected),
        cost_eur=round(float(res.plan.cost_eur), 0),
        files=len(files),
    )


def keep_loaded_files(keep: bool = True) -> None:
    """Keep what the communes of a batch share in this process, or stop keeping it.

    The parsed OSM extract and the incident files validated without an area: the communes
    of one extract then read it once per process, not once per commune (the results are the
    same; :mod:`siteplanner.incidents.kept`). A Dask worker keeps them for its life; the
    local scheduler until the batch ends.
    """
    from siteplanner.incidents.kept import keep_validated_files
    from siteplanner.town.load import keep_parsed_extracts

    keep_parsed_extracts(1 if keep else 0)
    keep_validated_files(2 if keep else 0)


def run_on_worker(scenario: str, out_root: str | None) -> BatchResult:
    """:func:`run_one` as a Dask task: the worker process keeps what the communes share."""
    keep_loaded_files()
    return run_one(scenario, out_root)


def run_batch(
    scenario_dir: str | Path,
    *,
    scheduler: Literal["dask", "local"] = "dask",
    address: str | None = None,
    n_workers: int = 2,
    out_root: str | Path | None = None,
    progress: bool = True,
    on_done: Callable[[BatchResult], None] | None = None,
) -> list[BatchResult]:
    """Run every scenario of a folder, one task per commune.

    Parameters
    ----------
    scenario_dir
        Folder of scenario files (``*.toml``), one per commune.
    scheduler
        ``"dask"`` (dask.distributed) or ``"local"`` (in this process, one after the other).
    address
        A running Dask scheduler (``tcp://host:8786``); default: a ``LocalCluster`` of
        ``n_workers`` single-threaded worker processes, closed at the end.
    n_workers
        Workers of the local cluster.
    out_root
        Write each commune into ``out_root / <scenario stem>`` instead of its ``output.dir``.
    progress
        Show a progress bar (rich) on stderr.
    on_done
        Called with each result as it arrives.

    Returns
    -------
    list of BatchResult
        One per scenario file, in file-name order; failed communes have ``ok=False`` and
        their error message.
    """
    files = find_scenarios(scenario_dir)
    if scheduler not in ("dask", "local"):
        raise InputError(f"scheduler: {scheduler!r} is not known; accepted: 'dask' or 'local'")
    if n_workers < 1:
        raise InputError(f"n_workers: {n_workers}; accepted: an integer ≥ 1")
    out_root = None if out_root is None else str(Path(out_root).resolve())
    log.info(
        "batch of %d scenario(s) from %s on %s",
        len(files),
        scenario_dir,
        "this process"
        if scheduler == "local"
        else (address or f"a local Dask cluster of {n_workers} worker(s)"),
    )
    results: dict[Path, BatchResult] = {}

    def done(r: BatchResult) -> None:
        results[r.scenario] = r
        if r.ok:
            log.info(
                "%s: done in %.1f s, coverage %.1f%% → %.1f%%",
                r.name,
                r.seconds,
                100 * (r.coverage_before or 0),
                100 * (r.coverage_after or 0),
            )
        else:
            log.warning("%s: failed: %s", r.name, (r.error or "").splitlines()[0])
        if on_done:
            on_done(r)

    with _progress(len(files), enabled=progress) as advance:
        if scheduler == "local":
            keep_loaded_files()
            try:
                for f in files:
                    done(run_one(f.resolve(), out_root))
                    advance()
            finally:
                keep_loaded_files(False)
        else:
            _run_dask(
                files, out_root, address=address, n_workers=n_workers, done=done, advance=advance
            )
    return [results[f.resolve()] for f in files]


#: Set in each worker process of the local cluster: one thread per process, never more, so
#: that two workers on two cores do not fight over them (Dask sets the first three already).
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


#: No sampling of the running task's stack (every 10 ms) nor of the GIL (every 1 ms) on the
#: local cluster's workers: a commune is one long task, whose profile nobody looks at.
QUIET_WORKER = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
}


def expected_seconds(scenario: Path, out_root: str | None) -> float:
    """How long the commune took last time (its ``summary.json``), 0 when never run.

    The Dask tasks start longest first, so that no long commune is left for the end while
    the other workers idle.
    """
    from siteplanner.scenario import load_scenario

    try:
        if out_root is not None:
            out = Path(out_root) / scenario.stem
        else:
            sc = load_scenario(scenario)
            out = sc.resolve(sc.output.dir)
        last = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        return float(last["timings_s"]["total"])
    except (OSError, ValueError, KeyError, TypeError, SiteplannerError):
        return 0.0


def _run_dask(
    files: list[Path],
    out_root: str | None,
    *,
    address: str | None,
    n_workers: int,
    done: Callable[[BatchResult], None],
    advance: Callable[[], None],
) -> None:
    """One task per commune; only its scenario path goes out and its small result comes back."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise InputError(
            "scheduler 'dask' needs dask.distributed: pip install 'dask[distributed]' "
            "(or use --scheduler local)"
        ) from exc
    import dask

    cluster = None
    try:
        if address is None:
            with dask.config.set(QUIET_WORKER):  # handed to the worker processes
                cluster = LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,  # one commune per process at a time: no GIL to share
                    processes=True,
                    dashboard_address=None,
                    # no dashboard; its HTTP server on a free loopback port, not 8787 (busy
                    # when another cluster runs on the machine)
                    scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                    env=WORKER_ENV,
                )
            client = Client(cluster)
        else:
            client = Client(address, timeout="30s")
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise InputError(
            f"cannot reach the Dask scheduler {address or '(local cluster)'}: {exc}"
        ) from exc
    expected = {f: expected_seconds(f.resolve(), out_root) for f in files}
    order = sorted(range(len(files)), key=lambda i: (-expected[files[i]], i))
    try:
        futures = {}
        for rank, i in enumerate(order):  # longest first; never run: in file order
            f = files[i]
            fut = client.submit(
                run_on_worker,
                str(f.resolve()),
                out_root,
                key=f"siteplanner-{f.stem}-{i}",
                pure=False,
                priority=len(files) - rank,
            )
            futures[fut] = f
        for fut in as_completed(futures):
            f = futures[fut]
            try:
                r = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (memory, kill): that commune failed
                r = BatchResult(
                    scenario=f.resolve(),
                    name=f.stem,
                    ok=False,
                    error=f"the Dask task failed: {type(exc).__name__}: {exc}",
                )
            done(r)
            advance()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class _progress:
    """A rich progress bar (or nothing), as a context manager yielding ``advance()``."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.enabled, self.bar, self.task = total, enabled, None, None

    def __enter__(self) -> Callable[[], None]:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("communes"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task("batch", total=self.total)
        return self.advance

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
