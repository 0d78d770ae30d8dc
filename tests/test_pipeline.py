"""End to end on the default scenario: the six outputs are there, valid, and the plan helps."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import rasterio
from PIL import Image

OUTPUTS = (
    "sites.geojson",
    "viewsheds.geojson",
    "patrols.geojson",
    "hotspots.tif",
    "map.png",
    "summary.json",
)


def _lonlat_ok(path):
    obj = json.loads(path.read_text())
    assert obj["type"] == "FeatureCollection"
    assert "crs" not in obj  # RFC 7946: WGS84 only, no crs member
    coords = []

    def walk(c):
        if isinstance(c[0], (int, float)):
            coords.append(c)
        else:
            for x in c:
                walk(x)

    for f in obj["features"]:
        walk(f["geometry"]["coordinates"])
    arr = np.array(coords)
    # Beausoleil: lon ≈ 7.42, lat ≈ 43.74 (not swapped, not projected)
    assert np.all((arr[:, 0] > 7.3) & (arr[:, 0] < 7.6) & (arr[:, 1] > 43.6) & (arr[:, 1] < 43.9))
    return obj


def test_all_outputs_written_and_valid(default_run):
    res, out, files = default_run
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    assert not list(out.glob(".staging-*")) and not list(out.glob("*.tmp*"))

    sites = _lonlat_ok(out / "sites.geojson")
    props = [f["properties"] for f in sites["features"]]
    proposed = [
        p for p in props if p["status"] == "proposed" and p["phase"] == res.scenario.plan.phase_name
    ]
    assert len(proposed) == res.scenario.plan.k
    later = [
        p for p in props if p["status"] == "proposed" and p["phase"] != res.scenario.plan.phase_name
    ]
    # the later phase keeps the next phase's sites and stays within its budget
    for ph in res.scenario.plan.phases:
        cost = sum(p["cost_eur"] for p in later if p["phase"] == ph.name)
        assert ph.budget_eur is None or cost <= ph.budget_eur + 1e-6
    assert sorted(p["rank"] for p in proposed) == list(range(1, res.scenario.plan.k + 1))
    for p in proposed:
        for key in (
            "site_id",
            "phase",
            "covered_weight",
            "marginal_gain",
            "covered_incidents",
            "sensitive_sites",
        ):
            assert key in p
        assert p["marginal_gain"] > 0
    gains = [p["marginal_gain"] for p in sorted(proposed, key=lambda p: p["rank"])]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["selected_site_ids"] == [
        p["site_id"] for p in sorted(proposed, key=lambda p: p["rank"])
    ]
    assert summary["coverage"]["after"] > summary["coverage"]["before"]
    assert abs(summary["coverage"]["after"] - summary["coverage"]["before"] - sum(gains)) < 1e-4
    assert summary["synthetic_incidents"] is True
    assert {"load", "hotspots", "candidates", "coverage", "optimise", "patrol"} <= set(
        summary["timings_s"]
    )

    views = _lonlat_ok(out / "viewsheds.geojson")
    assert {f["properties"]["site_id"] for f in views["features"]} == {p["site_id"] for p in props}
    vs = gpd.read_file(out / "viewsheds.geojson").to_crs(res.town.crs)
    assert (vs.area > 0).all()
    assert (vs.area <= np.pi * res.fov.range_m**2 + 1).all()  # within range

    patrols = _lonlat_ok(out / "patrols.geojson")
    circuits = [f for f in patrols["features"] if f["properties"]["feature"] == "circuit"]
    assert circuits and circuits[0]["geometry"]["type"] == "LineString"
    for c in circuits:
        line = c["geometry"]["coordinates"]
        assert line[0] == line[-1]  # back to the police station
        assert c["properties"]["duration_min"] <= c["properties"]["budget_min"] + 1e-6
        assert c["properties"]["length_m"] > 0
    best = {c["properties"]["circuit"]: c["properties"]["prize"] for c in circuits}
    for shift in res.scenario.patrol.shifts:
        alts = [name for name in best if name.startswith(f"{shift.name} variante")]
        if (
            shift.variants
        ):  # as many as asked, or the run says how many different circuits qualified
            assert len(alts) == res.counts["patrol_variants"][shift.name]["found"] <= shift.variants
        # seeded alternatives stay within the stated share of the best prize
        assert all(best[a] >= shift.variants_within * best[shift.name] - 1e-9 for a in alts)

    with rasterio.open(out / "hotspots.tif") as r:
        assert r.crs.to_epsg() == 32632
        band = r.read(1)
        assert band.max() > 0 and np.isfinite(band).all()
        assert "window" in r.tags()
    with Image.open(out / "map.png") as im:
        assert im.size[0] >= 1000


def test_outputs_share_aggregates_not_incidents(default_run):
    """No output coordinate equals an input incident position."""
    res, out, _ = default_run
    inc = res.incidents.to_crs("EPSG:4326")
    inc_xy = {(round(x, 6), round(y, 6)) for x, y in zip(inc.geometry.x, inc.geometry.y)}
    for name in ("sites.geojson", "viewsheds.geojson", "patrols.geojson"):
        g = gpd.read_file(out / name)
        pts = g.get_coordinates()
        assert not ({(round(x, 6), round(y, 6)) for x, y in zip(pts.x, pts.y)} & inc_xy), name
