"""The référent sûreté's round trip on the default scenario, audited (issues #15, #25).

Runs ``scenarios/beausoleil.toml`` in a temporary copy, writes a review that accepts the first
proposed site, rejects the second and moves the third by about 8 m, into a building: the run
must refuse it in one line naming the row and the nearest valid point (asserted), and leave the
outputs of the first run as they were. The référent then moves it to the point suggested, the
run goes through, and the script prints for both runs: each output's figures of the next phase
(sites, cost, funded share), the decisions counted in ``summary.json``, the moved site's own
field of view, trench and reach, the distance from each refused place to the nearest new site,
and the shared audit (``../shared/tools/audit_outputs.py``), whose checks on the proposed sites
must hold (``proposed_inside_building=0``, ``proposed_blind=0``, ``proposed_underground=0``;
asserted).

    python -m scripts.review_round_trip [--keep DIR]   # from the repository root: this checkout
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siteplanner import pipeline, review
from siteplanner._errors import InputError
from siteplanner.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
AUDIT = (
    Path(os.environ.get("SITEPLANNER_SHARED") or ROOT.parent / "shared")
    / "tools"
    / "audit_outputs.py"
)


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


def audit(out: Path, osm: Path) -> dict[str, str]:
    """The shared audit's RESULT lines (name → value) and its last line (``"audit"``)."""
    p = subprocess.run(
        [sys.executable, str(AUDIT), str(out), str(osm)], capture_output=True, text=True
    )
    lines = p.stdout.strip().splitlines() or ["(no output)"]
    found = dict(re.findall(r"^RESULT (\w+)=(\S+)$", p.stdout, re.M))
    found["audit"] = lines[-1]
    return found


def write_review(path: Path, base: str, rows: dict[str, str]) -> None:
    """The review file: the pending rows of ``base``, with ``rows`` (site id → decision row)."""
    text = base
    for sid, row in rows.items():
        text = text.replace(f"{sid},pending,,,,,", f"{sid},{row}")
    path.write_text(text, encoding="utf-8")


def main(keep: Path | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="siteplanner_review_") as tmp:
        tmp = Path(keep) if keep is not None else Path(tmp)
        d = tmp / "scenarios"  # the scenario's relative paths resolve as in the repository
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "scenarios" / "beausoleil.toml", d)
        for name in ("data", ".cache"):
            (ROOT / name).mkdir(exist_ok=True)
            if not (tmp / name).exists():
                (tmp / name).symlink_to(ROOT / name)
        sc = load_scenario(d / "beausoleil.toml")
        sc.review_path.unlink(missing_ok=True)
        osm = sc.resolve(sc.area.osm)
        res0, _ = pipeline.run(sc, out_dir=tmp / "before")
        phase = sc.plan.phase_name
        top = res0.proposed.sort_values("rank")["site_id"].tolist()
        acc, rej, mov = top[0], top[1], top[2]
        p = res0.sites.set_index("site_id").to_crs("EPSG:4326").geometry[mov]
        review.init_review(res0, sc.review_path)
        base = sc.review_path.read_text(encoding="utf-8")
        decided = {
            acc: "accept,,,bon emplacement,Lt Dupont,2026-11-30",
            rej: "reject,,,vue sur des entrées,Lt Dupont,2026-11-30",
        }
        # 1. a move of about 8 m east, into a building: refused in one line
        bad = f"move,{p.x + 0.0001:.7f},{p.y:.7f},de l'autre côté,Lt Dupont,2026-11-30"
        write_review(sc.review_path, base, {**decided, mov: bad})
        review_bytes = sc.review_path.read_bytes()
        report_bytes = (tmp / "before" / "report.html").read_bytes()
        try:
            pipeline.run(load_scenario(d / "beausoleil.toml"), out_dir=tmp / "before")
        except InputError as exc:
            msg = str(exc)
        else:
            raise AssertionError("a move into a building was not refused")
        print(f"move of {mov} into a building refused:\n  {msg}")
        assert "\n" not in msg and msg.startswith(f"{sc.review_path}: line ")
        assert f"(site {mov}): the moved point" in msg and "is inside a building" in msg
        found = re.search(r"nearest valid point: moved_lon=(\S+), moved_lat=(\S+) \(", msg)
        assert found, msg
        assert sc.review_path.read_bytes() == review_bytes  # never rewritten
        assert (tmp / "before" / "report.html").read_bytes() == report_bytes  # nothing lost
        # 2. the référent moves it to the point suggested: accepted
        good = f"move,{found[1]},{found[2]},de l'autre côté,Lt Dupont,2026-11-30"
        write_review(sc.review_path, base, {**decided, mov: good})
        res1, _ = pipeline.run(load_scenario(d / "beausoleil.toml"), out_dir=tmp / "after")
        print(f"\nreview: accept {acc}, reject {rej}, move {mov} to {found[1]}, {found[2]}")
        s1 = res1.sites.set_index("site_id")
        i0, i1 = (res1.sites.index[res1.sites["site_id"] == x][0] for x in (mov, f"{mov}-M"))
        for label, sid, i in (("original", mov, i0), ("moved", f"{mov}-M", i1)):
            print(
                f"  {label:8} {sid:15} {res1.figures.addresses.at[i, 'label']}: field of view "
                f"{res1.fov.polygons[i].area:.0f} m², trench {s1.at[sid, 'trench_m']:.0f} m, "
                f"reach {s1.at[sid, 'reach_m']:.0f} m, cost {s1.at[sid, 'cost_eur']:.0f} €"
            )
        assert not res1.fov.polygons[i1].is_empty
        for label, out in (("before", tmp / "before"), ("after", tmp / "after")):
            print(f"\n{label} the review — {phase} (sites, cost €, funded €):")
            for name, figs in phase_figures(out, phase).items():
                print(f"  {name:15} {figs}")
            summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            print(f"  decisions in summary.json: {summ['review']['decisions']}")
            a = audit(out, osm)
            checks = ("proposed_inside_building", "proposed_blind", "proposed_underground")
            print("  audit: " + ", ".join(f"{k}={a.get(k)}" for k in checks) + f"; {a['audit']}")
            assert all(a.get(k) == "0" for k in checks), a
        new = s1[(s1["status"] == "proposed") & ~s1.index.isin([acc, f"{mov}-M"])]
        radius = res1.decisions.radius_m
        for sid in (rej, mov):
            d_m = new.distance(s1.geometry[sid]).min()
            print(
                f"\nnearest new site to the refused place {sid}: {d_m:.0f} m (radius {radius:g} m)"
            )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="run in this folder and keep it")
    main(ap.parse_args().keep)
