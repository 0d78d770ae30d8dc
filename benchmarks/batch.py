"""Many communes: the 67 Malta councils with ``--scheduler local`` and on Dask (issue #26).

Both runs are the CLI, as a user types it, each in a child process whose wall time is
measured from start to exit (imports and, for Dask, the start of the cluster included):

* ``siteplanner batch FOLDER --scheduler local`` (one commune after the other, one process);
* ``siteplanner batch FOLDER --scheduler dask --workers 2``: a ``LocalCluster`` of 2 worker
  processes with one thread each.

Each run starts from an empty cache folder (the Malta extract is parsed and each council's
study area built, as on a first batch): a worker keeps the parsed extract and the
island's incident file for the councils after its first. Both runs write into the same
output folder, the Dask one second, as a user's second batch would: it starts the councils
that took longest last time first. Every file of every council must be the same in both runs
(``summary.json`` apart from its timings, ``plan.gpkg`` by its features).

Target: ``speedup`` = local / Dask ≥ 1.6 on 2 cores. Prints
``RESULT communes=67 workers=2 local_s=… dask_s=… speedup=…`` and writes
``benchmarks/results/batch.md``.

Run: ``PYTHONPATH=$PWD python benchmarks/batch.py`` (all 67: ≈ 15–30 min on 2 cores);
``--limit 6`` for a quick check (the first 6 councils by file name; the results file
says how many were run).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MALTA = ROOT / "scenarios" / "malta"
WORKERS = 2


def copy_scenarios(files: list[Path], dest: Path, cache: Path) -> Path:
    """The scenario files in ``dest``, their relative paths made absolute, ``cache`` their cache."""
    dest.mkdir(parents=True)
    for src in files:
        text = re.sub(
            r'"((?:\.\./)+)',
            lambda m: '"' + (src.parent / m.group(1)).resolve().as_posix() + "/",
            src.read_text(encoding="utf-8"),
        )
        text = re.sub(r'(?m)^cache_dir = "[^"]*"', f'cache_dir = "{cache.as_posix()}"', text)
        (dest / src.name).write_text(text, encoding="utf-8")
    return dest


def run_cli(folder: Path, out: Path, *scheduler: str) -> tuple[float, float]:
    """``siteplanner batch`` in a child process: wall seconds, and CPU seconds (user + system)
    of the child and its own children (the local cluster's worker processes)."""
    cmd = [sys.executable, "-m", "siteplanner.cli", "batch", str(folder), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([*cmd, *scheduler], capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd + list(scheduler))} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def fingerprint(commune: Path) -> dict[str, str]:
    """Each output file's SHA-256 (summary.json without timings, plan.gpkg by its features)."""
    import pyogrio

    out = {}
    for p in sorted(commune.iterdir()):
        if not p.is_file():
            continue
        if p.name == "summary.json":
            s = json.loads(p.read_text(encoding="utf-8"))
            s.pop("timings_s")
            data = json.dumps(s, sort_keys=True).encode()
        elif p.suffix == ".gpkg":
            frames = [pyogrio.read_dataframe(p, layer=str(x)) for x in pyogrio.list_layers(p)[:, 0]]
            data = "".join(
                (f.to_wkt() if hasattr(f, "to_wkt") else f).to_csv() for f in frames
            ).encode()
        else:
            data = p.read_bytes()
        out[p.name] = hashlib.sha256(data).hexdigest()
    return out


def commune_seconds(out: Path, stems: list[str]) -> dict[str, float]:
    """Each commune's own run time (its summary.json), on whichever process ran it."""
    return {
        s: json.loads((out / s / "summary.json").read_text(encoding="utf-8"))["timings_s"]["total"]
        for s in stems
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="only the first N councils (a quick check)")
    args = ap.parse_args()
    files = sorted(MALTA.glob("*.toml"))[: args.limit]
    stems = [f.stem for f in files]
    n = len(files)
    print(f"{n} Malta councils, local then Dask ({WORKERS} workers); load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="siteplanner_batch_") as tmp:
        tmp, out = Path(tmp), Path(tmp) / "out"
        loads = [os.getloadavg()[0]]
        folder, cache = tmp / "scenarios", tmp / "cache"
        copy_scenarios(files, folder, cache)
        local_s, local_cpu = run_cli(folder, out, "--scheduler", "local")
        loads.append(os.getloadavg()[0])
        print(f"local: {local_s:.1f} s, CPU {local_cpu:.1f} s")
        local_prints = {s: fingerprint(out / s) for s in stems}
        local_each = commune_seconds(out, stems)
        shutil.rmtree(cache)  # the Dask run starts from an empty cache too
        dask_s, dask_cpu = run_cli(folder, out, "--scheduler", "dask", "--workers", str(WORKERS))
        loads.append(os.getloadavg()[0])
        print(f"dask: {dask_s:.1f} s, CPU {dask_cpu:.1f} s")
        dask_each = commune_seconds(out, stems)
        differ = [s for s in stems if fingerprint(out / s) != local_prints[s]]
    speedup = local_s / dask_s
    ratio = sum(dask_each.values()) / sum(local_each.values())
    load = max(loads)
    print(
        f"RESULT communes={n} workers={WORKERS} local_s={local_s:.1f} dask_s={dask_s:.1f} "
        f"speedup={speedup:.2f} identical={n - len(differ)}/{n} "
        f"commune_time_ratio={ratio:.2f} local_cpu_s={local_cpu:.1f} dask_cpu_s={dask_cpu:.1f} "
        f"load={load:.1f}"
    )
    if differ:
        print(f"outputs differ between local and Dask for: {', '.join(differ)}")
    same = n - len(differ)
    met = "met" if speedup >= 1.6 else "NOT met"
    slow = sorted(stems, key=lambda s: -local_each[s])[:5]
    body = f"""| communes | workers | local (s) | Dask (s) | speedup | target | identical outputs |
| ---: | ---: | ---: | ---: | ---: | --- | ---: |
| {n} | {WORKERS} | {local_s:.1f} | {dask_s:.1f} | {speedup:.2f} | ≥ 1.6: {met} | {same}/{n} |

Wall times of the whole CLI (imports, and the cluster's start for Dask, included), each run
from an empty cache folder. A commune's own run time (its `summary.json`) summed over the
communes: {sum(local_each.values()):.1f} s in the local process, {sum(dask_each.values()):.1f} s
on the workers (ratio {ratio:.2f}: how much slower a commune runs on a worker, with another
worker beside it on 2 cores). CPU time (user + system, every process of the run): local
{local_cpu:.1f} s, Dask {dask_cpu:.1f} s (the scheduler, the workers' imports, and each worker's
own parse of the extract and of the incident file included). Highest load average seen
during the runs: {load:.1f} (2 cores, shared machine: wall times grow with it).

Longest communes (local, s): {", ".join(f"{s} {local_each[s]:.1f}" for s in slow)}.
"""
    of = "" if args.limit is None else f" (the first {n} of {len(list(MALTA.glob('*.toml')))})"
    write(
        "batch",
        f"Many communes: the Malta councils{of}, local and on Dask",
        body,
        command="PYTHONPATH=$PWD python benchmarks/batch.py"
        + ("" if args.limit is None else f" --limit {args.limit}"),
    )


if __name__ == "__main__":
    main()
