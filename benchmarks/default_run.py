"""The default scenario's run, cold and warm: time of each step and of the outputs (issue #16).

Each run is a fresh child process (``pipeline.run`` on ``scenarios/beausoleil.toml``, as the
CLI does, imports included). The *cold* run starts with an empty OSM cache folder (the
extract is parsed again); the *warm* runs reuse it, as every run after the first does.
For each step the wall time and the CPU time of the process are printed: on a shared machine
the wall time grows with the load (printed too), the CPU time much less.

Targets: the outputs step ≤ 3 s, a warm run ≤ 1/5 of a cold one.

Run: ``PYTHONPATH=$PWD python benchmarks/default_run.py [--warm 2]`` (≈ 2 min).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "beausoleil.toml"

CHILD = r"""
import json, sys, time
from contextlib import contextmanager
t_wall, t_cpu = time.perf_counter(), time.process_time()
from pathlib import Path
from siteplanner import pipeline
from siteplanner.scenario import load_scenario

cpu = {}
_step = pipeline._step

@contextmanager
def timed(name, timings, on_step):
    c = time.process_time()
    with _step(name, timings, on_step):
        yield
    cpu[name] = round(time.process_time() - c, 3)

pipeline._step = timed
sc = load_scenario(sys.argv[1])
sc = sc.model_copy(update={"cache_dir": Path(sys.argv[2])})
res, files = pipeline.run(sc, out_dir=Path(sys.argv[3]))
wall = json.loads((Path(sys.argv[3]) / "summary.json").read_text())["timings_s"]
print(json.dumps({"wall": {k: v for k, v in wall.items() if k != "total"}, "cpu": cpu,
                  "total_wall": round(time.perf_counter() - t_wall, 3),
                  "total_cpu": round(time.process_time() - t_cpu, 3), "files": len(files)}))
"""


def run_once(cache: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run(
        [sys.executable, "-c", CHILD, str(SCENARIO), str(cache), str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=2, help="warm runs after the cold one")
    ap.add_argument(
        "--cache", type=Path, help="an existing parse cache: warm runs only (no cold run)"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="siteplanner_bench_") as tmp:
        cache, out = args.cache or Path(tmp) / "cache", Path(tmp) / "out"
        runs = [] if args.cache else [("cold", run_once(cache, out))]
        runs += [(f"warm {k}", run_once(cache, out)) for k in range(1, args.warm + 1)]
    load = os.getloadavg()[0]
    steps = list(runs[0][1]["wall"])
    print(f"load average {load:.1f} on {os.cpu_count()} CPU(s); wall / CPU seconds")
    print(f"{'step':<11}" + "".join(f"{name:>16}" for name, _ in runs))
    for s in steps + ["total"]:
        cells = []
        for _, r in runs:
            w = r["total_wall"] if s == "total" else r["wall"].get(s, float("nan"))
            c = r["total_cpu"] if s == "total" else r["cpu"].get(s, float("nan"))
            cells.append(f"{w:7.1f} / {c:5.1f}")
        print(f"{s:<11}" + "".join(f"{c:>16}" for c in cells))
    if args.cache:
        for name, r in runs:
            print(
                f"{name}: outputs step {r['wall']['outputs']:.1f} s wall, "
                f"{r['cpu']['outputs']:.1f} s CPU"
            )
        return
    cold = runs[0][1]
    for name, r in runs[1:]:
        print(
            f"{name}: {r['total_wall'] / cold['total_wall']:.2f} of the cold run's wall time, "
            f"{r['total_cpu'] / cold['total_cpu']:.2f} of its CPU time; outputs step "
            f"{r['wall']['outputs']:.1f} s wall, {r['cpu']['outputs']:.1f} s CPU"
        )


if __name__ == "__main__":
    main()
