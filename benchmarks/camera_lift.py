"""Do the proposed sites fall where real towns put their cameras? (issues #13, #25)

Two towns whose OpenStreetMap extracts map a real deployment of ``man_made=surveillance``
cameras (© OpenStreetMap contributors, ODbL), read through the plan's own camera filter:

* ``helsinki`` — the whole of ``../shared/data/osm/helsinki-2019.osm.bz2`` (1.5 km² of the
  centre, 221 mapped cameras);
* ``monaco-2026`` — the commune of Monaco (relation 2220322) in
  ``data/osm/monaco-2026.osm.pbf`` (32 mapped cameras), the check against over-fitting
  Helsinki.

Each town is planned with its cameras hidden (``[area] existing_cameras = "none"``) on seeded
SYNTHETIC incidents (:func:`siteplanner.incidents.simulate.simulate_incidents`, 500 a year per
km²), ``k`` new sites with the fast optimiser and every other key at its default.

The figure: ``proposed_share``, the share of proposed sites within 30 m of a mapped camera,
against ``baseline``, the same share among all candidate sites (what picking sites at random
would give). ``lift = proposed_share / baseline``, the shares averaged over the seeds; 1 means
the plan is no closer to the real cameras than chance, ``1 / baseline`` is the most it can be.

Run (from a checkout; the shipped figures come from exactly this command)::

    python benchmarks/camera_lift.py --towns helsinki,monaco-2026 --seeds 0,1,2,3,4

Options: ``--k N`` imposes another ``k`` on every town (default 40); ``--toml FILE`` appends
scenario tables (e.g. ``[weights]``) to every town's scenario, to measure a change of
defaults; ``--no-write`` leaves the results file alone.
Prints one line per town and seed, then one ``RESULT town=… lift=… baseline=…`` line per town,
and writes ``benchmarks/results/camera_lift.md`` (:mod:`benchmarks._results`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import write as write_md  # noqa: E402
from benchmarks.scale import SHARED, extract_polygon  # noqa: E402

NEAR_M = 30.0
INCIDENTS_PER_KM2_YEAR = 500


@dataclass(frozen=True)
class LiftTown:
    """A town of the benchmark: its extract, its study area and the ``k`` planned."""

    osm: Path
    k: int
    boundary: int | None = None  # else: a polygon over the whole extract


TOWNS: dict[str, LiftTown] = {
    "helsinki": LiftTown(osm=SHARED / "helsinki-2019.osm.bz2", k=40),
    "monaco-2026": LiftTown(
        osm=ROOT / "data" / "osm" / "monaco-2026.osm.pbf", k=40, boundary=2220322
    ),
}


def scenario_text(
    name: str, work: Path, incidents: Path, *, k: int, start: tuple[float, float] | None, hide: bool
) -> str:
    """The benchmark's scenario for town ``name``: defaults but for the area and ``k``."""
    t = TOWNS[name]
    where = (
        f"boundary = {t.boundary}" if t.boundary else f'polygon = "{work / (name + ".geojson")}"'
    )
    cams = 'existing_cameras = "none"' if hide else ""
    start_line = f"start = {list(start)}" if start else ""
    return f"""
name = "{name}-camera-lift"
cache_dir = "{ROOT / ".cache"}"
[area]
osm = "{t.osm}"
{where}
margin_m = 150
{cams}
[[incidents]]
path = "{incidents}"
[plan]
k = {k}
method = "fast"
[patrol]
{start_line}
n_candidates = 20
[[patrol.shifts]]
name = "soirée"
budget_min = 60
"""


def load_town(name: str, work: Path):
    """The town as its scenario loads it (mapped cameras included), and the patrol start of a
    polygon over the whole extract: its middle (Helsinki's centre maps no police station)."""
    import geopandas as gpd

    from siteplanner.scenario import load_scenario
    from siteplanner.town import load as io

    t = TOWNS[name]
    start = None
    if t.boundary is None:
        extract_polygon(t.osm, work / f"{name}.geojson")
        p = gpd.read_file(work / f"{name}.geojson").geometry.iloc[0].representative_point()
        start = (round(p.x, 6), round(p.y, 6))
    base = work / f"{name}-base.toml"
    text = scenario_text(name, work, work / "none.csv", k=t.k, start=start, hide=False)
    base.write_text(text, encoding="utf-8")
    return io.scenario_town(load_scenario(base, check_files=False)), start


def mapped_cameras(town) -> np.ndarray:
    """The extract's mapped cameras the plan would count (the reader's default filter), x/y."""
    from siteplanner.town import cameras

    feats = town.extras["camera_features"]
    cams = cameras.osm_cameras(feats).to_crs(town.crs)
    return np.column_stack([cams.geometry.x, cams.geometry.y])


def near_share(xy: np.ndarray, cams: np.ndarray) -> float:
    """Share of the points within :data:`NEAR_M` of a camera."""
    from scipy.spatial import cKDTree

    if not len(xy):
        return float("nan")
    d, _ = cKDTree(cams).query(xy)
    return float((d <= NEAR_M).mean())


def town_scenario(name: str, work: Path, town, seed: int, *, k: int, start, extra: str):
    """Seeded SYNTHETIC incidents for the town and its scenario, cameras hidden."""
    from siteplanner.incidents import simulate
    from siteplanner.scenario import load_scenario

    per_year = int(max(300, INCIDENTS_PER_KM2_YEAR * town.area.area / 1e6))
    inc = work / f"{name}-incidents-{seed}.csv"
    df = simulate.simulate_incidents(
        town.graph, town.pois, area=town.area, seed=seed, per_year=per_year
    )
    df[["id", "datetime", "category", "source", "lon", "lat"]].to_csv(
        inc, index=False, lineterminator="\n"
    )
    p = work / f"{name}-{seed}.toml"
    text = scenario_text(name, work, inc, k=k, start=start, hide=True)
    p.write_text(text + "\n" + extra, encoding="utf-8")
    return load_scenario(p)


def run_seed(name: str, work: Path, town, cams: np.ndarray, seed: int, **kw) -> dict:
    """One plan: the shares of proposed sites and of all candidates near a mapped camera."""
    from siteplanner import pipeline

    sc = town_scenario(name, work, town, seed, **kw)
    res = pipeline.plan(sc, town=town)
    sites = res.sites
    assert not sites["existing"].any(), "the mapped cameras must be hidden"
    cand, prop = sites[~sites["existing"]], res.proposed
    return {
        "seed": seed,
        "proposed": len(prop),
        "candidates": len(cand),
        "proposed_share": near_share(np.column_stack([prop.geometry.x, prop.geometry.y]), cams),
        "baseline": near_share(np.column_stack([cand.geometry.x, cand.geometry.y]), cams),
    }


def run_town(name: str, seeds: list[int], *, k: int | None, extra: str) -> dict:
    """Every seed of one town, and the town's figures (shares averaged over the seeds)."""
    with tempfile.TemporaryDirectory(prefix=f"siteplanner-lift-{name}-") as tmp:
        work = Path(tmp)
        town, start = load_town(name, work)
        cams = mapped_cameras(town)
        k = k or TOWNS[name].k
        rows = [run_seed(name, work, town, cams, s, k=k, start=start, extra=extra) for s in seeds]
    p = float(np.mean([r["proposed_share"] for r in rows]))
    c = float(np.mean([r["baseline"] for r in rows]))
    return {
        "town": name,
        "cameras": len(cams),
        "k": k,
        "rows": rows,
        "proposed_share": p,
        "baseline": c,
        "lift": p / c if c else float("nan"),
    }


def result_line(t: dict, seeds: str) -> str:
    return (
        f"RESULT town={t['town']} lift={t['lift']:.2f} baseline={t['baseline']:.3f} "
        f"proposed_share={t['proposed_share']:.3f} k={t['k']} seeds={seeds} "
        f"cameras={t['cameras']}"
    )


def seed_line(t: dict, r: dict) -> str:
    return (
        f"{t['town']} seed {r['seed']}: {r['proposed']} proposed sites, "
        f"{r['proposed_share']:.1%} within {NEAR_M:.0f} m of one of {t['cameras']} mapped "
        f"cameras; all {r['candidates']} candidates {r['baseline']:.1%}"
    )


def write_results(towns: list[dict], seeds: str, command: str) -> None:
    table = [
        "| town | mapped cameras | k | proposed within 30 m | all candidates (baseline) | lift |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in towns:
        table.append(
            f"| {t['town']} | {t['cameras']} | {t['k']} | {t['proposed_share']:.1%} | "
            f"{t['baseline']:.1%} | {t['lift']:.2f} |"
        )
    lines = [seed_line(t, r) for t in towns for r in t["rows"]]
    lines += [result_line(t, seeds) for t in towns]
    body = "\n".join(table) + "\n\n```text\n" + "\n".join(lines) + "\n```\n"
    write_md("camera_lift", "Camera lift: proposed sites near real cameras", body, command=command)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--towns", default=",".join(TOWNS), help="comma-separated: " + ", ".join(TOWNS))
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--k", type=int, default=None, help="one k for every town")
    ap.add_argument("--toml", type=Path, default=None, help="tables appended to each scenario")
    ap.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    names = args.towns.split(",")
    unknown = [n for n in names if n not in TOWNS]
    if unknown:
        ap.error(f"unknown town(s) {', '.join(unknown)}; accepted: {', '.join(TOWNS)}")
    extra = args.toml.read_text(encoding="utf-8") if args.toml else ""
    seeds = [int(s) for s in args.seeds.split(",")]
    towns = [run_town(n, seeds, k=args.k, extra=extra) for n in names]
    for t in towns:
        for r in t["rows"]:
            print(seed_line(t, r))
    for t in towns:
        print(result_line(t, args.seeds))
    if not args.no_write:
        command = "python benchmarks/camera_lift.py " + " ".join(argv or sys.argv[1:])
        write_results(towns, args.seeds, command.strip())


if __name__ == "__main__":
    main()
