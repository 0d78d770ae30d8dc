"""Run every shipped scenario and the shared audit on its outputs; write the table per town.

    python scripts/audit_towns.py                      # the shipped towns, then docs/audit.md
    python scripts/audit_towns.py --malta              # ... and the 67 Malta councils
    python scripts/audit_towns.py scenarios/redon.toml # only these scenarios (table printed)
    python scripts/audit_towns.py --jobs 2             # two runs at a time

Each scenario runs with ``siteplanner run`` into ``outputs/audit/<name>/`` (a subprocess, so that
one town's failure does not stop the others), then ``audit_outputs.py OUT EXTRACT`` re-reads the
scenario's OpenStreetMap extract on its own and checks the outputs: streets, buildings, commune,
consistency, and what a référent sûreté refuses on sight (see ``../shared/tools/README.md``).
The audit is not part of a clone: ``--audit`` gives its path (default
``../shared/tools/audit_outputs.py`` beside the repository).

The table (``docs/audit.md`` when every shipped town ran) gives per town the RESULT lines a
référent reads first and the audit's verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [
    "beausoleil.toml",
    "beausoleil_2026.toml",
    "helsinki.toml",
    "redon.toml",
    "schaan.toml",
    "tas-sliema.toml",
    "monaco-2026.toml",
    "riviera/cap-d-ail.toml",
    "riviera/la-turbie.toml",
]
#: RESULT keys shown in the table, with their column titles.
COLUMNS = {
    "candidates": "candidates",
    "proposed_sites": "proposed",
    "coverage": "coverage before → after",
    "proposed_underground": "underground",
    "proposed_inside_building": "in building",
    "proposed_blind": "blind",
    "site_spacing_min_m": "min spacing (m)",
    "proposed_near_existing": "< 15 m of existing",
    "patrol_stop_spacing_min_m": "min stop spacing (m)",
    "bike_on_steps_m": "bike on steps (m)",
    "itineraries_incomplete": "itineraries incomplete",
    "geojson_rings_wrong": "rings wrong",
}


def extract_of(scenario: Path) -> Path:
    """The OSM extract a scenario reads (``[area] osm``, relative to the scenario file)."""
    area = tomllib.loads(scenario.read_text(encoding="utf-8"))["area"]
    return (scenario.parent / area["osm"]).resolve()


def run_one(scenario: Path, out_root: Path, audit: Path) -> dict:
    """Run a scenario, audit its outputs; the RESULT values, the FAIL lines and the verdict."""
    name = scenario.relative_to(ROOT / "scenarios").with_suffix("").as_posix().replace("/", "_")
    out = out_root / name
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "siteplanner.cli", "-q", "run", str(scenario), "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    row: dict = {
        "scenario": scenario.relative_to(ROOT).as_posix(),
        "run_s": time.perf_counter() - t0,
    }
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no message)"]
        row.update(verdict=f"run failed: {tail[0]}", results={}, fails=[])
        return row
    checked = subprocess.run(
        [sys.executable, str(audit), str(out), str(extract_of(scenario))],
        capture_output=True,
        text=True,
    )
    results = dict(re.findall(r"^RESULT (\w+)=(\S+)$", checked.stdout, re.M))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    cov = summary.get("coverage", {})
    results["coverage"] = f"{cov.get('before', 0):.1%} → {cov.get('after', 0):.1%}"
    results["candidates"] = str(summary.get("candidates", {}).get("kept", "–"))
    fails = re.findall(r"^FAIL (.+)$", checked.stdout, re.M)
    verdict = "all checks hold" if "all checks hold" in checked.stdout else f"{len(fails)} fail"
    if checked.returncode not in (0, 1):
        verdict = f"audit crashed: {(checked.stderr.strip().splitlines() or ['?'])[-1]}"
    row.update(verdict=verdict, results=results, fails=fails)
    return row


def _cell(value: str | None) -> str:
    if value is None:
        return "–"
    try:
        x = float(value)
    except ValueError:
        return value
    return f"{x:.0f}" if x == int(x) else f"{x:.1f}"


def table(rows: list[dict]) -> str:
    """The markdown table, one row per scenario."""
    head = ["scenario", *COLUMNS.values(), "run (s)", "audit"]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * len(head)) + " |"]
    for r in rows:
        cells = [f"`{r['scenario']}`", *(_cell(r["results"].get(k)) for k in COLUMNS)]
        lines.append("| " + " | ".join([*cells, f"{r['run_s']:.0f}", r["verdict"]]) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path)
    parser.add_argument("--malta", action="store_true", help="also the 67 Malta councils")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "audit")
    parser.add_argument(
        "--audit",
        type=Path,
        default=Path(os.environ.get("SITEPLANNER_SHARED") or ROOT.parent / "shared")
        / "tools"
        / "audit_outputs.py",
    )
    args = parser.parse_args()
    if not args.audit.is_file():
        print(f"{args.audit}: the shared audit is not there; give its path with --audit")
        return 2
    chosen = [p.resolve() for p in args.scenarios] or [ROOT / "scenarios" / s for s in SHIPPED]
    if args.malta:
        chosen += sorted((ROOT / "scenarios" / "malta").glob("*.toml"))
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_one, s, args.out, args.audit) for s in chosen]
        for f in as_completed(futures):  # one line per town as it ends: a long batch shows progress
            r = f.result()
            print(f"{r['scenario']}: {r['verdict']} ({r['run_s']:.0f} s)", flush=True)
        rows = [f.result() for f in futures]
    text = table(rows)
    print(text)
    for r in rows:
        for f in r["fails"]:
            print(f"FAIL {r['scenario']}: {f}")
    held = sum(r["verdict"] == "all checks hold" for r in rows)
    print(f"{held} of {len(rows)} scenarios: all checks hold")
    if not args.scenarios:
        doc = ROOT / "docs" / "audit.md"
        doc.write_text(
            "# The shared audit on every shipped scenario\n\n"
            f"Written by `python scripts/audit_towns.py{' --malta' if args.malta else ''}` "
            f"(siteplanner at `{_commit()}`): each scenario run with `siteplanner run`, then "
            "`audit_outputs.py OUT EXTRACT`. SYNTHETIC incidents where the scenario says so.\n\n"
            f"{text}\n\n{held} of {len(rows)} scenarios: all checks hold.\n",
            encoding="utf-8",
        )
    return 0 if held == len(rows) else 1


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "siteplanner"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return done.stdout.strip() + ("+changes" if dirty else "")


if __name__ == "__main__":
    sys.exit(main())
