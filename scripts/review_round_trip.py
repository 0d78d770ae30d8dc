"""The référent sûreté's round trip on the default scenario, audited (issue #15).

Runs ``scenarios/beausoleil.toml`` in a temporary copy, writes a review that accepts the first
proposed site, rejects the second and moves the third by about 8 m, runs again, and prints for
both runs: each output's figures of the next phase (sites, cost, funded share), the decisions
counted in ``summary.json``, the distance from each refused place to the nearest new site, and
the shared audit (``../shared/tools/audit_outputs.py``).

    python scripts/review_round_trip.py
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siteplanner import pipeline, review
from siteplanner.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
AUDIT = ROOT.parent / "shared" / "tools" / "audit_outputs.py"


def phase_figures(out: Path, phase: str) -> dict[str, tuple]:
    """Sites, cost and funded share of ``phase`` as each output states them."""
    summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    p = next(p for p in summ["phases"] if p["phase"] == phase)
    rows = {"summary.json": (p["sites"], round(p["cost_eur"]), round(p["funded_eur"]))}
    plan = pd.read_csv(out / "plan.csv").set_index("phase").loc[phase]
    rows["plan.csv"] = (int(plan["sites"]), round(plan["cost_eur"]), round(plan["funded_eur"]))
    for name, gdf in (
        ("sites.geojson", gpd.read_file(out / "sites.geojson")),
        ("plan.gpkg", gpd.read_file(out / "plan.gpkg", layer="proposed_sites")),
    ):
        g = gdf[(gdf["status"] == "proposed") & (gdf["phase"] == phase)]
        rows[name] = (len(g), round(g["cost_eur"].sum()), round(g["funded_eur"].sum()))
    with open(out / "prefecture.csv", encoding="utf-8") as f:
        pref = [r for r in csv.DictReader(f) if r["status"] == "proposed" and r["phase"] == phase]
    rows["prefecture.csv"] = (len(pref), None, None)
    return rows


def audit(out: Path, osm: Path) -> str:
    p = subprocess.run(
        [sys.executable, str(AUDIT), str(out), str(osm)], capture_output=True, text=True
    )
    return (p.stdout.strip().splitlines() or ["(no output)"])[-1]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="siteplanner_review_") as tmp:
        d = Path(tmp) / "scenarios"  # the scenario's relative paths resolve as in the repository
        d.mkdir()
        shutil.copy(ROOT / "scenarios" / "beausoleil.toml", d)
        (Path(tmp) / "data").symlink_to(ROOT / "data")
        (ROOT / ".cache").mkdir(exist_ok=True)
        (Path(tmp) / ".cache").symlink_to(ROOT / ".cache")
        sc = load_scenario(d / "beausoleil.toml")
        osm = sc.resolve(sc.area.osm)
        res0, _ = pipeline.run(sc, out_dir=Path(tmp) / "before")
        phase = sc.plan.phase_name
        top = res0.proposed.sort_values("rank")["site_id"].tolist()
        acc, rej, mov = top[0], top[1], top[2]
        p = res0.sites.set_index("site_id").to_crs("EPSG:4326").geometry[mov]
        review.init_review(res0, sc.review_path)
        text = sc.review_path.read_text(encoding="utf-8")
        for sid, row in (
            (acc, "accept,,,bon emplacement,Lt Dupont,2026-11-30"),
            (rej, "reject,,,vue sur des entrées,Lt Dupont,2026-11-30"),
            (mov, f"move,{p.x + 0.0001:.7f},{p.y:.7f},de l'autre côté,Lt Dupont,2026-11-30"),
        ):
            text = text.replace(f"{sid},pending,,,,,", f"{sid},{row}")
        sc.review_path.write_text(text, encoding="utf-8")
        res1, _ = pipeline.run(load_scenario(d / "beausoleil.toml"), out_dir=Path(tmp) / "after")
        print(f"review: accept {acc}, reject {rej}, move {mov} (by about 8 m)")
        for label, out in (("before", Path(tmp) / "before"), ("after", Path(tmp) / "after")):
            print(f"\n{label} the review — {phase} (sites, cost €, funded €):")
            for name, figs in phase_figures(out, phase).items():
                print(f"  {name:15} {figs}")
            summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            print(f"  decisions in summary.json: {summ['review']['decisions']}")
            print(f"  audit: {audit(out, osm)}")
        s1 = res1.sites
        new = s1[(s1["status"] == "proposed") & ~s1["site_id"].isin([acc, f"{mov}-M"])]
        radius = res1.decisions.radius_m
        for sid in (rej, mov):
            d_m = new.distance(s1.set_index("site_id").geometry[sid]).min()
            print(
                f"\nnearest new site to the refused place {sid}: {d_m:.0f} m (radius {radius:g} m)"
            )


if __name__ == "__main__":
    main()
