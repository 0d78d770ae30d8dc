"""City scale: cold parse, warm end-to-end time and peak memory per study area (issue #13).

Areas (real OSM extracts; © OpenStreetMap contributors, ODbL):

* ``beausoleil`` — the commune (relation 174562) of the default extract
  ``data/osm/monaco-beausoleil-2016.osm.bz2``, with its shipped SYNTHETIC incidents;
* ``default-whole`` — a polygon over the whole default extract (Monaco and the communes
  around it);
* ``malta-sliema`` — one Malta council, Tas-Sliema (relation 6172199), of
  ``../shared/data/osm/malta-2018.osm.pbf``;
* ``malta-harbour`` — the harbour councils from Valletta to Birkirkara (≈ 21 km², the polygon
  ``data/areas/malta_harbour.geojson``, built from the extract's council boundaries);
* ``malta`` — the whole of Malta and Gozo as one study area (``data/areas/malta_whole.geojson``,
  the union of the 67 council boundaries, ≈ 315 km²);
* ``malta-dense`` — the DENSE CASE (issue #26): the built-up conurbation around the Grand
  Harbour and Marsamxett, the 14 harbour councils and the 18 built-up councils around them
  (:data:`DENSE_COUNCILS`, their boundaries read from the extract into the work folder),
  with every street node a candidate (``[candidates] min_street_count = 1``, ``merge_m = 0``):
  ≥ 9,000 candidate sites and thousands of buildings.

For the dense case, after the cold load, a child compiles the numba kernels (``compile``: once
per installation, as the first run after ``pip install`` does), then two more children run
``pipeline.run`` end to end: ``cold_run`` with an empty cache folder (no parse cache, no
coverage or step cache) and ``warm_run`` with the caches the first one left; each reports its
time per step. It prints
``RESULT case=malta-dense candidates= buildings= cold_s= warm_s= target_cold_s=30
target_warm_s=10 met=`` and writes ``benchmarks/results/scale.md``
(``python benchmarks/scale.py --areas malta-dense``).

For each area, three child processes, so that each one's peak resident memory is its own
(``ru_maxrss`` of the child, read with ``os.wait4`` — the per-child form of
``getrusage(RUSAGE_CHILDREN)``, which covers numpy and GEOS allocations that ``tracemalloc``
does not see):

1. ``cold``: load the town with an empty parse cache (``cold_parse_s``: the whole read of the
   extract and the study area), then write a seeded SYNTHETIC incident file scaled to the
   area (not timed) where the extract has none;
2. ``warm``: ``pipeline.run`` end to end (plan and every output) with the cache the cold
   child left (``warm_s``, ``peak_gib``);
3. ``osmnx``: osmnx's own cold parse of the same extract (``graph_from_xml`` and
   ``features_from_xml``), the former reader, where osmnx can read it (XML only: ``.osm``,
   ``.osm.bz2``; it cannot read PBF).

Run: ``python benchmarks/scale.py [--areas beausoleil,default-whole,...]``. Prints one
``RESULT area= cold_parse_s= warm_s= peak_gib= osmnx_cold_s=`` line per area, and whether the
issue's targets hold: ``malta-harbour`` < 90 s warm and < 4 GiB; ``malta`` < 600 s and < 8 GiB.
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
#: The shared extracts (not in a clone): $SITEPLANNER_SHARED, else shared/ beside the repository
SHARED = Path(os.environ.get("SITEPLANNER_SHARED") or ROOT.parent / "shared") / "data" / "osm"
DEFAULT = ROOT / "data" / "osm" / "monaco-beausoleil-2016.osm.bz2"
MALTA = SHARED / "malta-2018.osm.pbf"
DEM = ROOT / "data" / "dem" / "N43E007.hgt"
AREAS: dict[str, dict] = {
    "beausoleil": {
        "osm": DEFAULT,
        "boundary": 174562,
        "dem": DEM,
        "incidents": ROOT / "data" / "incidents" / "beausoleil_synthetic_2021-2023.csv",
    },
    "default-whole": {"osm": DEFAULT, "polygon": "extract", "dem": DEM},
    "malta-sliema": {"osm": MALTA, "boundary": 6172199},
    "malta-harbour": {"osm": MALTA, "polygon": ROOT / "data" / "areas" / "malta_harbour.geojson"},
    "malta": {"osm": MALTA, "polygon": ROOT / "data" / "areas" / "malta_whole.geojson"},
    "malta-dense": {
        "osm": MALTA,
        "polygon": "councils",
        "candidates": "min_street_count = 1\nmerge_m = 0",
    },
}
#: The dense case's councils (OSM relations of admin_level 8 in the 2018 extract): the 14 of
#: ``data/areas/malta_harbour.geojson`` (Valletta to Birkirkara) and the 18 built-up councils
#: around them, from Il-Mosta and Ħal Qormi to the Three Cities and Ħaż-Żabbar.
DENSE_COUNCILS = (
    # harbour: Valletta, Il-Furjana, Tal-Pietà, L-Imsida, Ta' Xbiex, Il-Gżira, Tas-Sliema,
    # San Ġiljan, Il-Ħamrun, Il-Marsa, Santa Venera, Birkirkara, San Ġwann, Is-Swieqi
    *(7510580, 7510581, 7510582, 7510584, 7510583, 7510588, 6172199, 7510589, 7510547),
    *(7510579, 7510548, 7510585, 7510587, 7510591),
    # around them: Raħal Ġdid, Santa Lucija, Il-Fgura, L-Isla, Bormla, Il-Birgu, Il-Kalkara,
    # Ħal Qormi, Pembroke, Ħal Balzan, Ħal Lija, L-Iklin, Ħaż-Żabbar, Ix-Xgħajra, Ħal Luqa,
    # Ħ'Attard, Iż-Żejtun, Il-Mosta
    *(7510577, 7510558, 7510560, 7510578, 7510576, 6172198, 7510575, 7510556, 7510590),
    *(7510550, 7510593, 7510586, 7510573, 7510574, 7510563, 7510551, 7510561, 7510594),
)
DENSE_TARGETS = {"malta-dense": (30.0, 10.0)}  # cold_s, warm_s (issue #26, on a quiet machine)
TARGETS = {"malta-harbour": (90.0, 4.0), "malta": (600.0, 8.0)}
INCIDENTS_PER_KM2_YEAR = 500  # ≈ the default town's synthetic file (1,500 a year on 2.8 km²)
MAX_PER_YEAR = 20_000


def extract_polygon(osm: Path, dest: Path) -> Path:
    """A polygon over the whole extract: the box of its street nodes (WGS84 GeoJSON)."""
    import geopandas as gpd
    import osmium
    import shapely

    class Box(osmium.SimpleHandler):
        def __init__(self) -> None:
            super().__init__()
            self.lo, self.hi = [180.0, 90.0], [-180.0, -90.0]

        def way(self, w) -> None:
            if "highway" not in w.tags:
                return
            for n in w.nodes:
                if n.location.valid():
                    x, y = n.location.lon, n.location.lat
                    self.lo = [min(self.lo[0], x), min(self.lo[1], y)]
                    self.hi = [max(self.hi[0], x), max(self.hi[1], y)]

    h = Box()
    h.apply_file(str(osm), locations=True)
    box = shapely.box(h.lo[0], h.lo[1], h.hi[0], h.hi[1]).buffer(
        -0.0005
    )  # clear of ways cut at the edge
    gpd.GeoSeries([box], crs="EPSG:4326").to_file(dest)
    return dest


def council_polygon(osm: Path, relations: tuple[int, ...], dest: Path) -> Path:
    """The union of some council boundaries (admin_level 8 relations) of ``osm`` (GeoJSON)."""
    import geopandas as gpd
    import osmium
    import shapely

    class Councils(osmium.SimpleHandler):
        def __init__(self) -> None:
            super().__init__()
            self.found: dict[int, object] = {}
            self.wkb = osmium.geom.WKBFactory()

        def area(self, a) -> None:
            if not a.from_way() and a.orig_id() in relations:
                self.found[a.orig_id()] = shapely.from_wkb(self.wkb.create_multipolygon(a))

    h = Councils()
    h.apply_file(str(osm), locations=True)
    if missing := sorted(set(relations) - set(h.found)):
        raise SystemExit(f"{osm}: council relations {missing} not found")
    union = shapely.union_all(list(h.found.values()))
    gpd.GeoSeries([union], crs="EPSG:4326").to_file(dest)
    return dest


def scenario_text(area: str, work: Path, incidents: Path) -> str:
    a = AREAS[area]
    poly = a.get("polygon")
    if poly in ("extract", "councils"):
        poly = work / f"{area}-{poly}.geojson"
    where = f"boundary = {a['boundary']}" if "boundary" in a else f'polygon = "{poly}"'
    dem = f'dem = "{a["dem"]}"' if a.get("dem") else ""
    return f"""
name = "scale-{area}"
cache_dir = "{work / "cache"}"
[area]
osm = "{a["osm"]}"
{where}
margin_m = 150
{dem}
[[incidents]]
path = "{incidents}"
{"[candidates]" if a.get("candidates") else ""}
{a.get("candidates", "")}
[plan]
k = 10
[patrol]
n_candidates = 60
[[patrol.shifts]]
name = "soirée"
budget_min = 90
[output]
dir = "{work / ("out-" + area)}"
"""


def _scenario(area: str, work: Path):
    from siteplanner.scenario import load_scenario

    inc = AREAS[area].get("incidents") or work / f"{area}-incidents.csv"
    p = work / f"{area}.toml"
    text = scenario_text(area, work, inc)
    start = work / f"{area}-start.json"
    if start.is_file():  # no police station or town hall inside: a start point in the area
        text = text.replace("[patrol]\n", f"[patrol]\nstart = {json.loads(start.read_text())}\n")
    p.write_text(text, encoding="utf-8")
    return load_scenario(p, check_files=False), inc


def child_cold(area: str, work: Path) -> dict:
    """Load the town with an empty cache; write the area's SYNTHETIC incidents (not timed)."""
    import shutil

    from siteplanner.incidents import simulate
    from siteplanner.town import load as io

    if AREAS[area].get("polygon") == "extract":
        extract_polygon(AREAS[area]["osm"], work / f"{area}-extract.geojson")
    if AREAS[area].get("polygon") == "councils":
        council_polygon(AREAS[area]["osm"], DENSE_COUNCILS, work / f"{area}-councils.geojson")
    sc, inc = _scenario(area, work)
    shutil.rmtree(work / "cache", ignore_errors=True)
    t0 = time.perf_counter()
    town = io.scenario_town(sc)
    cold = time.perf_counter() - t0
    km2 = town.area.area / 1e6
    _patrol_start(area, work, town)
    if not Path(inc).is_file():
        per_year = int(min(MAX_PER_YEAR, max(300, INCIDENTS_PER_KM2_YEAR * km2)))
        df = simulate.simulate_incidents(
            town.graph, town.pois, area=town.area, seed=0, per_year=per_year
        )
        df[["id", "datetime", "category", "source", "lon", "lat"]].to_csv(
            inc, index=False, lineterminator="\n"
        )
    return {
        "cold_parse_s": cold,
        "area_km2": km2,
        "graph_nodes": town.graph.number_of_nodes(),
        "buildings": len(town.buildings),
    }


def _patrol_start(area: str, work: Path, town) -> None:
    """Where the area has neither a police station nor a town hall, give the patrols a start."""
    import geopandas as gpd

    from siteplanner._errors import InputError
    from siteplanner.town import jurisdiction

    try:
        jurisdiction.patrol_start(town.pois, town.area, town.crs, start=None, source=area)
    except InputError:
        p = (
            gpd.GeoSeries([town.area.representative_point()], crs=town.crs)
            .to_crs("EPSG:4326")
            .iloc[0]
        )
        (work / f"{area}-start.json").write_text(json.dumps([round(p.x, 6), round(p.y, 6)]))


def child_warm(area: str, work: Path) -> dict:
    """Run the area end to end with a warm cache."""
    from siteplanner import pipeline

    sc, _ = _scenario(area, work)
    t0 = time.perf_counter()
    res, files = pipeline.run(sc, out_dir=work / f"out-{area}")
    total = time.perf_counter() - t0
    return {
        "warm_s": total,
        "timings_s": res.timings_s,
        "candidates": int((~res.sites["existing"]).sum()),
        "demand_points": len(res.demand),
        "incidents": len(res.incidents),
        "files": len(files),
        "intersections": sum(
            1 for _, d in res.town.graph.nodes(data=True) if d.get("street_count", 0) >= 3
        ),
    }


def child_osmnx(area: str, work: Path) -> dict:
    """osmnx's cold parse of the area's extract (the former reader)."""
    import warnings

    import osmnx as ox

    from siteplanner.town.load import FEATURE_TAGS

    path = AREAS[area]["osm"]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ox.graph_from_xml(path, simplify=True, retain_all=True)
        ox.features_from_xml(path, tags=FEATURE_TAGS)
    return {"osmnx_cold_s": time.perf_counter() - t0}


def child_compile(area: str, work: Path) -> dict:
    """Compile the numba kernels (once per installation, cached beside the modules) on tiny
    inputs, so that the cold run measures a cold cache folder, not a fresh install."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from siteplanner.hotspots.streets import lixel_density, lixelize
    from siteplanner.patrol.search import solve_orienteering

    t0 = time.perf_counter()
    line = gpd.GeoSeries([shapely.LineString([(0, 0), (120, 0)])], crs="EPSG:32632")
    lix = lixelize(gpd.GeoDataFrame(geometry=line), lixel_m=50.0)
    lixel_density(lix, np.ones(len(lix)), bandwidth_m=100.0)
    xy = np.random.default_rng(0).uniform(0, 1000, (6, 2))
    travel = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) / 80.0
    solve_orienteering(travel, np.full(5, 10.0), np.arange(1.0, 6.0), budget_min=60.0, seed=0)
    return {"compile_s": time.perf_counter() - t0}


def child_cold_run(area: str, work: Path) -> dict:
    """The dense case end to end with an empty cache folder: no parse cache, no coverage cache."""
    import shutil

    shutil.rmtree(work / "cache", ignore_errors=True)
    return child_warm(area, work)


CHILDREN = {
    "cold": child_cold,
    "warm": child_warm,
    "osmnx": child_osmnx,
    "compile": child_compile,
    "cold_run": child_cold_run,
    "warm_run": child_warm,
}


def measure(kind: str, area: str, work: Path) -> dict:
    """Run one child; its JSON result with ``wall_s`` and ``peak_gib`` (the child's peak RSS)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        extra = ["--malta", str(AREAS["malta"]["osm"])] if AREAS["malta"]["osm"] != MALTA else []
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                kind,
                "--areas",
                area,
                "--work",
                str(work),
                *extra,
            ],
            stdout=out,
            stderr=err,
            text=True,
            cwd=ROOT,
        )
        _, status, ru = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        text, etext = out.read(), err.read()
    if code != 0:
        return {"error": (etext.strip().splitlines() or [f"exit {code}"])[-1][:300]}
    data = json.loads(text.strip().splitlines()[-1])
    data["wall_s"] = wall
    data["peak_gib"] = ru.ru_maxrss * 1024 / 2**30  # ru_maxrss is in KiB on Linux
    data["cpu_s"] = (
        ru.ru_utime + ru.ru_stime
    )  # the child's CPU time: wall time on a busy machine is larger
    return data


def run_area(area: str, work: Path, osmnx_done: dict[Path, dict]) -> dict:
    print(f"{area}: cold load ...", file=sys.stderr, flush=True)
    row = {"area": area}
    cold = measure("cold", area, work)
    if "error" in cold:
        return {**row, "error": f"cold load: {cold['error']}"}
    row.update(cold, cold_peak_gib=cold["peak_gib"])
    if area in DENSE_TARGETS:
        return _run_dense(row, area, work)
    print(f"{area}: warm run ...", file=sys.stderr, flush=True)
    warm = measure("warm", area, work)
    if "error" in warm:
        return {**row, "error": f"warm run: {warm['error']}"}
    row.update(warm, warm_cpu_s=warm["cpu_s"])
    osm = AREAS[area]["osm"]
    if osm.name.endswith((".osm", ".osm.bz2")):
        if osm not in osmnx_done:
            print(f"{area}: osmnx cold parse ...", file=sys.stderr, flush=True)
            osmnx_done[osm] = measure("osmnx", area, work)
        row["osmnx_cold_s"] = osmnx_done[osm].get("osmnx_cold_s")
    return row


def _run_dense(row: dict, area: str, work: Path) -> dict:
    """The dense case: end to end with no cache at all (``cold_run``), then again (``warm_run``).

    The numba kernels are compiled first (``compile``, once per installation): a cold run is
    an empty cache folder, as for a new town, not a new installation."""
    row["compile"] = measure("compile", area, work)
    for kind in ("cold_run", "warm_run"):
        print(f"{area}: {kind} ...", file=sys.stderr, flush=True)
        load0 = os.getloadavg()[0]
        out = measure(kind, area, work)
        if "error" in out:
            return {**row, "error": f"{kind}: {out['error']}"}
        row[kind] = {**out, "load_before": load0, "load_after": os.getloadavg()[0]}
    row.update(row["warm_run"], warm_cpu_s=row["warm_run"]["cpu_s"])
    return row


def dense_report(rows: list[dict]) -> str:
    """RESULT line and per-step table of the dense case(s); returns the Markdown table."""
    md = []
    for r in rows:
        if r["area"] not in DENSE_TARGETS or "error" in r:
            continue
        cold, warm = r["cold_run"], r["warm_run"]
        t_cold, t_warm = DENSE_TARGETS[r["area"]]
        met = cold["warm_s"] <= t_cold and warm["warm_s"] <= t_warm
        cov_c, cov_w = cold["timings_s"]["coverage"], warm["timings_s"]["coverage"]
        print(
            f"RESULT case={r['area']} candidates={warm['candidates']} buildings={r['buildings']} "
            f"cold_s={cold['warm_s']:.1f} warm_s={warm['warm_s']:.1f} target_cold_s={t_cold:.0f} "
            f"target_warm_s={t_warm:.0f} met={str(met).lower()} coverage_cold_s={cov_c:.1f} "
            f"coverage_warm_s={cov_w:.1f} cold_cpu_s={cold['cpu_s']:.1f} "
            f"warm_cpu_s={warm['cpu_s']:.1f} load_avg={cold['load_before']:.1f}-"
            f"{warm['load_after']:.1f} area_km2={r['area_km2']:.2f} "
            f"demand_points={warm['demand_points']}"
        )
        md += [
            f"## {r['area']}: {r['area_km2']:.1f} km², {warm['candidates']:,} candidate sites, "
            f"{r['buildings']:,} buildings, {warm['demand_points']:,} demand points, "
            f"{warm['incidents']:,} SYNTHETIC incidents",
            "",
            f"Load average (1 min) {cold['load_before']:.1f} before the cold run, "
            f"{warm['load_after']:.1f} after the warm one (2 cores). The numba kernels were "
            f"compiled before, once for the installation "
            f"({r.get('compile', {}).get('compile_s', float('nan')):.1f} s, not counted).",
            "",
            "| step | cold (no cache) s | warm (caches present) s |",
            "| --- | ---: | ---: |",
        ]
        for step in cold["timings_s"]:
            if step != "total":
                md.append(
                    f"| {step} | {cold['timings_s'][step]:.2f} | "
                    f"{warm['timings_s'].get(step, float('nan')):.2f} |"
                )
        rest = [
            run["warm_s"] - sum(v for k, v in run["timings_s"].items() if k != "total")
            for run in (cold, warm)
        ]
        md.append(f"| outputs (the rest of `pipeline.run`) | {rest[0]:.2f} | {rest[1]:.2f} |")
        md += [
            f"| **end to end (`pipeline.run`)** | **{cold['warm_s']:.1f}** | "
            f"**{warm['warm_s']:.1f}** |",
            f"| CPU time of the child | {cold['cpu_s']:.1f} | {warm['cpu_s']:.1f} |",
            f"| peak memory (GiB) | {cold['peak_gib']:.2f} | {warm['peak_gib']:.2f} |",
            "",
            f"Targets (issue #26, on a quiet machine): cold ≤ {t_cold:.0f} s, "
            f"warm ≤ {t_warm:.0f} s: "
            f"**{'met' if met else 'NOT met'}**.",
            "",
        ]
    return "\n".join(md)


def report(rows: list[dict]) -> None:
    ok_rows = [r for r in rows if "error" not in r]
    print(f"\n{'':22}" + "".join(f"{r['area']:>15}" for r in ok_rows))
    for key, fmt in [
        ("area_km2", "{:.2f}"),
        ("graph_nodes", "{:,}"),
        ("intersections", "{:,}"),
        ("demand_points", "{:,}"),
        ("candidates", "{:,}"),
        ("buildings", "{:,}"),
        ("incidents", "{:,}"),
        ("cold_parse_s", "{:.1f}"),
        ("osmnx_cold_s", "{:.1f}"),
        ("warm_s", "{:.1f}"),
        ("warm_cpu_s", "{:.1f}"),
        ("peak_gib", "{:.2f}"),
    ]:
        print(
            f"{key:22}"
            + "".join(
                f"{(fmt.format(r[key]) if r.get(key) is not None else 'n/a'):>15}" for r in ok_rows
            )
        )
    steps = sorted({s for r in ok_rows for s in r.get("timings_s", {})} - {"total"})
    for s in steps:
        print(
            f"{'  step ' + s + ' (s)':22}"
            + "".join(f"{r['timings_s'].get(s, float('nan')):>15.1f}" for r in ok_rows)
        )
    for r in rows:
        if "error" in r:
            print(f"RESULT area={r['area']} error={r['error']!r}")
            continue
        ox_s = f"{r['osmnx_cold_s']:.1f}" if r.get("osmnx_cold_s") is not None else "n/a"
        print(
            f"RESULT area={r['area']} cold_parse_s={r['cold_parse_s']:.1f} "
            f"warm_s={r['warm_s']:.1f} peak_gib={r['peak_gib']:.2f} osmnx_cold_s={ox_s} "
            f"warm_cpu_s={r['warm_cpu_s']:.1f} area_km2={r['area_km2']:.2f} "
            f"intersections={r['intersections']} demand_points={r['demand_points']}"
        )
        if r["area"] in TARGETS:
            t_s, t_gib = TARGETS[r["area"]]
            met = r["warm_s"] < t_s and r["peak_gib"] < t_gib
            print(
                f"target {r['area']} < {t_s:.0f} s warm and < {t_gib:.0f} GiB: "
                f"{'met' if met else 'NOT met'}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", choices=sorted(CHILDREN))
    ap.add_argument("--work")
    ap.add_argument("--areas", default=",".join(AREAS))
    ap.add_argument("--keep", help="work folder to keep (default: a temporary one)")
    ap.add_argument(
        "--malta",
        help=f"another Malta extract (e.g. a clipped .osm.bz2 for osmnx), instead of {MALTA.name}",
    )
    args = ap.parse_args()
    if args.malta:
        for a in AREAS.values():
            if a["osm"] == MALTA:
                a["osm"] = Path(args.malta).resolve()
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(CHILDREN[args.child](args.areas, Path(args.work))))
        return
    areas = args.areas.split(",")
    if bad := [a for a in areas if a not in AREAS]:
        raise SystemExit(f"unknown area(s) {bad}; accepted: {', '.join(AREAS)}")
    with tempfile.TemporaryDirectory(prefix="siteplanner-scale-") as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        done: dict[Path, dict] = {}
        rows = [run_area(a, work, done) for a in areas]
    report(rows)
    if md := dense_report(rows):
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import _results

        _results.write(
            "scale",
            "Dense city centre: cold and warm runs (issue #26)",
            md,
            command="python benchmarks/scale.py " + " ".join(sys.argv[1:]),
        )


if __name__ == "__main__":
    main()
