"""Do the proposed sites fall where a real town put its cameras? (issue #13)

Helsinki's centre (``../shared/data/osm/helsinki-2019.osm.bz2``, © OpenStreetMap contributors,
ODbL) maps 221 ``man_made=surveillance`` cameras: a real deployment. The plan runs with those
cameras hidden (``[area] existing_cameras = "none"``, or, where that option is not there yet,
the cameras dropped from the loaded town), on seeded SYNTHETIC incidents
(:func:`siteplanner.incidents.simulate.simulate_incidents`, scaled to the area), and proposes ``k``
sites.

The figure: the share of proposed sites within 30 m of a mapped camera, against the same share
among all candidate sites (what picking sites at random would give). ``lift`` = their ratio;
1 means the plan is no closer to the real cameras than chance.

Run: ``python benchmarks/camera_lift.py [--k 40] [--seeds 0,1,2]``. Prints
``RESULT lift= proposed_share= candidate_share=``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scale import SHARED, extract_polygon

HELSINKI = SHARED / "helsinki-2019.osm.bz2"
NEAR_M = 30.0
INCIDENTS_PER_KM2_YEAR = 500


def scenario_text(work: Path, incidents: Path, k: int, hide: bool) -> str:
    import geopandas as gpd

    # Helsinki's centre maps no police station: the patrols start in the middle of the area
    p = gpd.read_file(work / "helsinki.geojson").geometry.iloc[0].representative_point()
    start = (round(p.x, 6), round(p.y, 6))
    hide_line = 'existing_cameras = "none"' if hide else ""
    return f"""
name = "helsinki-camera-lift"
cache_dir = "{ROOT / ".cache"}"
[area]
osm = "{HELSINKI}"
polygon = "{work / "helsinki.geojson"}"
margin_m = 150
{hide_line}
[[incidents]]
path = "{incidents}"
[plan]
k = {k}
method = "fast"
[patrol]
start = {list(start)}
n_candidates = 20
[[patrol.shifts]]
name = "soirée"
budget_min = 60
"""


def load_scenario_hiding_cameras(work: Path, incidents: Path, k: int):
    """The scenario with ``existing_cameras = "none"``; where the option is not there yet, a
    scenario without it, and the cameras dropped from the town as ``plan`` loads it."""
    from siteplanner._errors import ScenarioError
    from siteplanner.scenario import load_scenario
    from siteplanner.town import load as io

    p = work / "helsinki.toml"
    p.write_text(scenario_text(work, incidents, k, hide=True), encoding="utf-8")
    try:
        sc = load_scenario(p)
        if str(getattr(sc.area, "existing_cameras", "")) == "none":
            return sc
    except ScenarioError:
        pass
    p.write_text(scenario_text(work, incidents, k, hide=False), encoding="utf-8")
    load_town = io.load_town

    def without_cameras(*a, **kw):
        import dataclasses

        town = load_town(*a, **kw)
        pois = town.pois[town.pois["kind"] != "camera"].reset_index(drop=True)
        return dataclasses.replace(town, pois=pois)

    io.load_town = without_cameras
    logging.getLogger(__name__).warning(
        'existing_cameras = "none" not available: cameras hidden by the script'
    )
    return load_scenario(p)


def mapped_cameras(town):
    """The extract's mapped outdoor cameras (the reader's default filter), in the town's CRS."""
    try:
        from siteplanner.town import cameras
    except ImportError:  # the former reader: cameras are POIs of kind "camera"
        return town.pois[town.pois["kind"] == "camera"]
    feats = town.extras.get("camera_features")
    if feats is None:
        return town.pois[town.pois["kind"] == "camera"]
    return cameras.osm_cameras(feats).to_crs(town.crs)


def near_share(xy: np.ndarray, cams: np.ndarray) -> float:
    from scipy.spatial import cKDTree

    if not len(xy):
        return float("nan")
    d, _ = cKDTree(cams).query(xy)
    return float((d <= NEAR_M).mean())


def load_town(work: Path, k: int):
    """The Helsinki study area as the scenario loads it, mapped cameras included."""
    from siteplanner.scenario import load_scenario
    from siteplanner.town import load as io

    base = work / "base.toml"
    base.write_text(scenario_text(work, work / "none.csv", k, hide=False), encoding="utf-8")
    sc0 = load_scenario(base, check_files=False)
    return io.scenario_town(sc0)


def run_seed(work: Path, town, cam_xy: np.ndarray, seed: int, k: int) -> tuple[float, float, int]:
    from siteplanner import pipeline
    from siteplanner.incidents import simulate

    per_year = int(max(300, INCIDENTS_PER_KM2_YEAR * town.area.area / 1e6))
    inc = work / f"incidents-{seed}.csv"
    df = simulate.simulate_incidents(
        town.graph, town.pois, area=town.area, seed=seed, per_year=per_year
    )
    df[["id", "datetime", "category", "source", "lon", "lat"]].to_csv(
        inc, index=False, lineterminator="\n"
    )
    sc = load_scenario_hiding_cameras(work, inc, k)
    res = pipeline.plan(sc)
    assert not res.sites["existing"].any(), "the mapped cameras must be hidden"
    cand = res.sites[~res.sites["existing"]]
    prop = res.proposed
    pxy = np.column_stack([prop.geometry.x, prop.geometry.y])
    cxy = np.column_stack([cand.geometry.x, cand.geometry.y])
    return near_share(pxy, cam_xy), near_share(cxy, cam_xy), len(prop)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=40)
    ap.add_argument("--seeds", default="0")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="siteplanner-lift-") as tmp:
        work = Path(tmp)
        extract_polygon(HELSINKI, work / "helsinki.geojson")
        town = load_town(work, args.k)
        cams = mapped_cameras(town)
        cam_xy = np.column_stack([cams.geometry.x, cams.geometry.y])
        m = len(cam_xy)
        rows = [run_seed(work, town, cam_xy, int(s), args.k) for s in args.seeds.split(",")]
    for s, (p, c, n) in zip(args.seeds.split(","), rows):
        print(
            f"seed {s}: {n} proposed sites, {p:.1%} within {NEAR_M:.0f} m "
            f"of one of {m} mapped cameras; "
            f"all candidates {c:.1%}"
        )
    p = float(np.mean([r[0] for r in rows]))
    c = float(np.mean([r[1] for r in rows]))
    print(
        f"RESULT lift={p / c if c else float('nan'):.2f} proposed_share={p:.3f} "
        f"candidate_share={c:.3f} "
        f"k={args.k} seeds={args.seeds}"
    )


if __name__ == "__main__":
    main()
