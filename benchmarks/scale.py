"""How each step's cost grows with the study area (issue #8).

Three study areas of the shipped extract ``data/osm/monaco-beausoleil-2016.osm.bz2``:

* ``beausoleil`` — the commune (OSM admin relation 174562);
* ``riviera`` — Beausoleil + Cap-d'Ail + La Turbie (relations 174562, 174956, 174958), as
  one polygon;
* ``whole`` — the whole extract's bounding box, Monaco included (≈23,000 buildings).

Each area runs end to end (``pipeline.run``: plan and every output) in a fresh child
process, so that its peak memory is the child's own peak resident set size (read with
``os.wait4``, which covers numpy and GEOS allocations that ``tracemalloc`` does not see)
and no cache warmed by one area helps the next -- except the OSM parse cache, which every
real run also uses (``.cache``, parsed once in ≈45 s). Time per step comes from the run's
own ``timings_s``. The same scenario settings are used for every area (k = 10, the three
SYNTHETIC incident files, the DEM).

Run: ``python benchmarks/scale.py`` (≈ 3-5 min). Target: ``whole`` in under 120 s and 4 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OSM = ROOT / "data" / "osm" / "monaco-beausoleil-2016.osm.bz2"
DEM = ROOT / "data" / "dem" / "N43E007.hgt"
CACHE = ROOT / ".cache"
INCIDENTS = [ROOT / "data" / "incidents" / f"{t}_synthetic_2021-2023.csv" for t in ("beausoleil", "cap-d-ail", "la-turbie")]
RIVIERA = (174562, 174956, 174958)
AREAS = ("beausoleil", "riviera", "whole")
STEPS = ("load", "hotspots", "candidates", "coverage", "optimise", "patrol", "outputs")


def prepare(work: Path) -> None:
    """Write the riviera and whole-extract polygons (WGS84 GeoJSON) into ``work``."""
    import geopandas as gpd
    import shapely

    from siteplanner import io

    layers = io.read_osm(OSM, cache_dir=CACHE)
    feats = layers["features"]
    polys = [io.study_area_from_osm(feats, rel, source=str(OSM))[1] for rel in RIVIERA]
    gpd.GeoSeries([shapely.union_all(polys)], crs="EPSG:4326").to_file(work / "riviera.geojson")
    g = layers["graph"]
    xs = [d["x"] for _, d in g.nodes(data=True)]
    ys = [d["y"] for _, d in g.nodes(data=True)]
    fx0, fy0, fx1, fy1 = feats.total_bounds
    box = shapely.box(max(min(xs), fx0), max(min(ys), fy0), min(max(xs), fx1), min(max(ys), fy1))
    gpd.GeoSeries([box], crs="EPSG:4326").to_file(work / "whole.geojson")


def scenario_text(area: str, work: Path) -> str:
    where = "boundary = 174562" if area == "beausoleil" else f'polygon = "{work / (area + ".geojson")}"'
    incs = "\n".join(f'[[incidents]]\npath = "{p}"' for p in INCIDENTS)
    return f"""
name = "scale-{area}"
cache_dir = "{CACHE}"
[area]
osm = "{OSM}"
{where}
margin_m = 150
dem = "{DEM}"
{incs}
[plan]
k = 10
[patrol]
n_candidates = 60
[[patrol.shifts]]
name = "soirée"
budget_min = 90
[output]
dir = "{work / ('out-' + area)}"
"""


def child(area: str, work: Path) -> None:
    """Run one area end to end and print its timings and counts as JSON (last line)."""
    import logging

    from siteplanner import pipeline
    from siteplanner.scenario import load_scenario

    logging.basicConfig(level=logging.WARNING)
    p = work / f"{area}.toml"
    p.write_text(scenario_text(area, work), encoding="utf-8")
    sc = load_scenario(p)
    t0 = time.perf_counter()
    res, files = pipeline.run(sc, out_dir=work / f"out-{area}")
    total = time.perf_counter() - t0
    print(json.dumps({"area": area, "total_s": total, "timings_s": res.timings_s, "buildings": len(res.town.buildings),
                      "candidates": int((~res.sites["existing"]).sum()), "demand_points": len(res.demand),
                      "graph_nodes": res.town.graph.number_of_nodes(), "incidents": len(res.incidents),
                      "area_km2": res.town.area.area / 1e6, "files": len(files)}))


def measure_rss(area: str, work: Path) -> dict:
    """Like :func:`measure`, reading the child's own peak RSS with ``os.wait4``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, __file__, "--child", area, "--work", str(work)], stdout=out, stderr=err,
                                text=True)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        text, etext = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{area}: the run failed (exit {proc.returncode})\n{etext[-3000:]}")
    data = json.loads(text.strip().splitlines()[-1])
    data["wall_s"] = wall
    data["peak_gib"] = ru.ru_maxrss * 1024 / 2**30  # ru_maxrss is in KiB on Linux
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child")
    ap.add_argument("--work")
    ap.add_argument("--areas", default=",".join(AREAS))
    args = ap.parse_args()
    if args.child:
        child(args.child, Path(args.work))
        return
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="siteplanner-scale-") as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                        f"from benchmarks.scale import prepare; from pathlib import Path; prepare(Path({str(work)!r}))"],
                       check=True, cwd=ROOT)
        rows = []
        for area in args.areas.split(","):
            print(f"running {area} ...", file=sys.stderr, flush=True)
            rows.append(measure_rss(area, work))
    # table: one column per area, one row per step
    print(f"\n{'':24}" + "".join(f"{r['area']:>14}" for r in rows))
    for key, fmt in [("area_km2", "{:.2f}"), ("buildings", "{:,}"), ("graph_nodes", "{:,}"), ("demand_points", "{:,}"),
                     ("candidates", "{:,}"), ("incidents", "{:,}")]:
        print(f"{key:24}" + "".join(f"{fmt.format(r[key]):>14}" for r in rows))
    for step in STEPS:
        print(f"{'step ' + step + ' (s)':24}" + "".join(f"{r['timings_s'].get(step, float('nan')):>14.1f}" for r in rows))
    print(f"{'total (s)':24}" + "".join(f"{r['total_s']:>14.1f}" for r in rows))
    print(f"{'process wall (s)':24}" + "".join(f"{r['wall_s']:>14.1f}" for r in rows))
    print(f"{'peak RSS (GiB)':24}" + "".join(f"{r['peak_gib']:>14.2f}" for r in rows))
    if len(rows) >= 2:
        # growth: log-log slope of each step's time against the number of buildings
        b = np.log([r["buildings"] for r in rows])
        print("\ngrowth with the number of buildings (log-log slope; 1 = linear):")
        for step in STEPS + ("total",):
            t = np.array([r["total_s"] if step == "total" else r["timings_s"].get(step, np.nan) for r in rows])
            ok = t > 0.05
            slope = np.polyfit(b[ok], np.log(t[ok]), 1)[0] if ok.sum() >= 2 else float("nan")
            share = t[-1] / rows[-1]["total_s"]
            print(f"  {step:12} slope {slope:5.2f}   share of the largest area's time {share:6.1%}")
        dom = max(STEPS, key=lambda s: rows[-1]["timings_s"].get(s, 0))
        print(f"dominant step on {rows[-1]['area']}: {dom}")
    whole = next((r for r in rows if r["area"] == "whole"), None)
    if whole:
        ok = whole["total_s"] < 120 and whole["peak_gib"] < 4
        print(f"target whole < 120 s and < 4 GiB: {'met' if ok else 'NOT met'} "
              f"({whole['total_s']:.1f} s, {whole['peak_gib']:.2f} GiB)")
    for r in rows:
        print(f"RESULT area={r['area']} total_s={r['total_s']:.1f} peak_gib={r['peak_gib']:.2f} "
              f"buildings={r['buildings']} candidates={r['candidates']}")


if __name__ == "__main__":
    main()
