"""The test suite's time on a clean clone, as ``.ci/run`` runs it (#26: at most 3 minutes).

``python benchmarks/test_suite.py [--runs N]`` clones this checkout's HEAD into a temporary
folder and runs the README's second command there exactly, timed::

    pip install -e ".[test]" && ruff check . && python -m pytest -q -n logical --dist worksteal

Before each run it removes the tests' cache folder (``siteplanner-test-cache-<user>`` in the
temporary directory), so that each clone starts as CI does: no parsed extract, no compiled
numba kernel. Prints ``RESULT`` lines and writes ``benchmarks/results/test_suite.md``. It
re-installs this checkout (``pip install --no-deps -e .``) at the end, since the clone's
``pip install -e`` points the environment at the clone.

There is no peer to compare with here: the goal is a time budget, not a ratio. The machine
must be otherwise idle; the load average is written with the results.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMMAND = (
    'pip install -e ".[test]" && ruff check . && python -m pytest -q -n logical --dist worksteal'
)
TARGET_S = 180.0


def one_run(i: int) -> dict:
    """One clean clone and the command in it: its pytest time, whole time and summary line."""
    shutil.rmtree(
        Path(tempfile.gettempdir()) / f"siteplanner-test-cache-{getpass.getuser()}",
        ignore_errors=True,
    )
    with tempfile.TemporaryDirectory(prefix="siteplanner-suite-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        done = subprocess.run(
            ["bash", "-c", COMMAND], cwd=clone, capture_output=True, text=True, check=False
        )
        whole = time.perf_counter() - t0
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    m = re.search(r" in ([\d.]+)s", tail)
    if done.returncode or m is None:
        failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        raise SystemExit(
            f"run {i}: the command failed (exit {done.returncode}): {tail}\n" + "\n".join(failed)
        )
    return {"pytest_s": float(m.group(1)), "whole_s": whole, "summary": tail, "load": load}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    runs = []
    try:
        for i in range(1, args.runs + 1):
            r = one_run(i)
            runs.append(r)
            print(
                f"RESULT run={i} pytest_s={r['pytest_s']:.1f} whole_s={r['whole_s']:.1f} "
                f"target_s={TARGET_S:.0f} met={'yes' if r['pytest_s'] <= TARGET_S else 'no'} "
                f"load_before={r['load']:.1f}",
                flush=True,
            )
    finally:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(ROOT)],
            check=False,
            capture_output=True,
        )
    rows = "\n".join(
        f"| {i} | {r['load']:.1f} | {r['pytest_s']:.1f} | {r['whole_s']:.1f} | {r['summary']} |"
        for i, r in enumerate(runs, start=1)
    )
    body = (
        "Each run: a fresh clone of HEAD in a temporary folder, the tests' cache folder removed, "
        "the README's second command (`" + COMMAND + "`) timed. `pytest` is pytest's own time "
        "(its last line); `whole` adds the install and the lint. The numba kernels compile "
        "during the run (the clone has none).\n\n"
        "| run | load before | pytest (s) | whole command (s) | pytest's last line |\n"
        "| ---: | ---: | ---: | ---: | --- |\n" + rows + f"\n\nTarget: pytest ≤ {TARGET_S:.0f} s.\n"
    )
    _results.write(
        "test_suite",
        "The test suite on a clean clone",
        body,
        command="python benchmarks/test_suite.py --runs " + str(args.runs),
    )


if __name__ == "__main__":
    main()
