"""One result, many files: every figure shown in more than one output is the same everywhere.

The default scenario is run before and after a review by the référent sûreté (one accept, one
reject, one move). Each output is read back as a user would read it, and the phase figures, the
site lists, the coverage and the privacy masks are compared across all of them.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from siteplanner import review

ROOT = Path(__file__).resolve().parents[1]


def _figures(out: Path) -> dict[str, dict[str, tuple]]:
    """Per output, per phase: (sorted site ids, cost €, funded €)."""
    figs: dict[str, dict[str, tuple]] = {}
    summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    plan = pd.read_csv(out / "plan.csv", keep_default_na=False)
    figs["summary.json"] = {
        p["phase"]: (p["sites"], round(p["cost_eur"]), round(p["funded_eur"]))
        for p in summ["phases"]
    }
    figs["plan.csv"] = {
        r["phase"]: (r["sites"], round(r["cost_eur"]), round(r["funded_eur"]))
        for r in plan.to_dict("records")
    }
    ids_plan = {r["phase"]: sorted(str(r["site_ids"]).split()) for r in plan.to_dict("records")}
    for name, gdf in [
        ("sites.geojson", gpd.read_file(out / "sites.geojson")),
        ("plan.gpkg", gpd.read_file(out / "plan.gpkg", layer="proposed_sites")),
    ]:
        prop = gdf[gdf["status"] == "proposed"]
        figs[name] = {
            ph: (len(g), round(g["cost_eur"].sum()), round(g["funded_eur"].sum()))
            for ph, g in prop.groupby("phase")
        }
        for ph, g in prop.groupby("phase"):
            assert sorted(g["site_id"]) == ids_plan[ph], (name, ph)
    with open(out / "prefecture.csv", encoding="utf-8") as f:
        pref = [r for r in csv.DictReader(f) if r["status"] == "proposed"]
    for ph in ids_plan:
        assert sorted(r["camera_id"] for r in pref if r["phase"] == ph) == ids_plan[ph], (
            "prefecture",
            ph,
        )
    # the HTML outputs: every proposed site has its sheet and its marker, and nothing else does
    proposed = sorted(i for ids in ids_plan.values() for i in ids)
    report = (out / "report.html").read_text(encoding="utf-8")
    webmap = (out / "map.html").read_text(encoding="utf-8")
    sheets = sorted(set(re.findall(r"id=['\"]site-([^'\"]+)['\"]", report)))
    assert sheets == proposed
    markers = set(re.findall(r"class=\"site\" data-site=\"([^\"]+)\"", webmap))
    assert set(proposed) <= markers
    # the report's cost of the next phase is the same figure as summary.json's
    first = summ["phases"][0]
    cost_txt = f"{first['cost_eur']:,.0f} €".replace(",", " ")
    funded_txt = f"{first['funded_eur']:,.0f} €".replace(",", " ")
    assert cost_txt in report and funded_txt in report
    return figs


def _check_consistent(out: Path) -> None:
    figs = _figures(out)
    ref = figs["summary.json"]
    assert ref, "no phase in summary.json"
    for name, f in figs.items():
        assert f == ref, f"{name} disagrees with summary.json: {f} != {ref}"
    # coverage: summary.json's figure is plan.csv's, and the privacy masks are the sites' flags
    summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    plan = pd.read_csv(out / "plan.csv")
    assert np.allclose([p["coverage"] for p in summ["phases"]], plan["coverage_share"], atol=1e-6)
    assert summ["coverage"]["after"] == pytest.approx(summ["phases"][0]["coverage"], abs=1e-6)
    sites = gpd.read_file(out / "sites.geojson")
    masks = gpd.read_file(out / "plan.gpkg", layer="privacy_masks")
    flagged = set(
        sites.loc[sites["privacy_mask"].astype(bool) & (sites["status"] == "proposed"), "site_id"]
    )
    assert summ["privacy"]["sites_with_mask"] == len(flagged)
    if "site_id" in masks:
        assert set(masks["site_id"]) <= set(sites["site_id"])
    # the privacy masks: the same sites in sites.geojson, plan.gpkg and prefecture.csv
    pref = pd.read_csv(out / "prefecture.csv", keep_default_na=False)
    pref_masked = set(pref.loc[pref["privacy_mask"] == "oui", "camera_id"])
    gpkg_masked = set(masks["site_id"]) if "site_id" in masks else set()
    all_flagged = set(sites.loc[sites["privacy_mask"].astype(bool), "site_id"])
    assert pref_masked == gpkg_masked == all_flagged


def test_outputs_agree_before_and_after_review(default_run, reviewed_run):
    res0, out0, _ = default_run
    _check_consistent(out0)

    res1, out1, sc, (acc, rej, mov) = reviewed_run
    before = sc.review_path.read_bytes()
    _check_consistent(out1)
    assert sc.review_path.read_bytes() == before  # the review file is never rewritten

    summ = json.loads((out1 / "summary.json").read_text(encoding="utf-8"))
    n_rows = len(review.read_review(sc.review_path).rows)
    assert summ["review"]["decisions"] == {
        "accept": 1,
        "reject": 1,
        "move": 1,
        "pending": n_rows - 3,
    }
    # the decisions hold: no new site where a site was refused or moved away from
    radius = summ["review"]["reject_radius_m"]
    s1 = res1.sites.set_index("site_id")
    prop = res1.sites[res1.sites["status"] == "proposed"]
    for refused in (rej, mov):
        d = prop[prop["site_id"] != f"{mov}-M"].distance(s1.geometry[refused])
        assert (d > radius).all(), (refused, d.min())
    assert s1.at[acc, "status"] == "proposed" and s1.at[f"{mov}-M", "status"] == "proposed"
    assert s1.at[rej, "status"] != "proposed" and s1.at[mov, "status"] != "proposed"
    html = (out1 / "report.html").read_text(encoding="utf-8")
    assert f"within {radius:g} m kept out" in html


def test_phase_figures_are_the_logged_ones_and_k_counts_the_accepted_sites(
    default_run, reviewed_run
):
    """#24: after a review plan.csv said k = 8 (10 asked, less the accepted and the moved
    site) where summary.json said 10, and the log's phase cost and funded share differed from
    the outputs' (the accepted sites' cost, and 1 € of rounding). The phase holds the
    référent's accepted sites: k = 10 everywhere, and plan.csv's money is the PhasePlan's, the
    figures optimise.phases logs."""
    res0, out0, _ = default_run
    res1, out1, sc, (acc, _, mov) = reviewed_run
    for res, out in ((res0, out0), (res1, out1)):
        plan = pd.read_csv(out / "plan.csv", keep_default_na=False)
        summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert plan["phase"].tolist() == [pp.phase.name for pp in res.phase_plans]
        for pp, row in zip(res.phase_plans, plan.to_dict("records")):
            logged = (pp.cost_eur, pp.funded_eur, pp.town_eur)
            assert (row["cost_eur"], row["funded_eur"], row["town_eur"]) == logged, row["phase"]
            assert row["sites"] == len(pp.sites) == len(row["site_ids"].split())
        first = plan.iloc[0]
        assert int(first["k"]) == sc.plan.k == summ["plan"]["k"] == first["sites"] == 10
    p3 = res1.phase_plans[0]
    ids = res1.sites["site_id"].to_numpy()
    assert sorted(ids[list(p3.accepted)]) == sorted([acc, f"{mov}-M"])
    assert len(p3.plan.selected) == sc.plan.k - 2
    assert {acc, f"{mov}-M"} <= set(pd.read_csv(out1 / "plan.csv")["site_ids"][0].split())
