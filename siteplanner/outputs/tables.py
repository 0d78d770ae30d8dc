"""The tables every output shares, read off the :class:`~siteplanner.result.Result`.

``summary.json``'s content (:func:`summary`), the sites, fields of view and patrols as
frames (:func:`sites_frame`, :func:`viewsheds_frame`, :func:`patrols_frame`: ``*.geojson``,
``plan.gpkg`` and ``map.html`` show the same rows), the phase table (``plan.csv``) and the
coverage curve. They select and format; they compute nothing.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siteplanner import __version__

if TYPE_CHECKING:
    from siteplanner.result import Result


def summary(res: Result, timings_s: dict[str, float] | None = None) -> dict[str, Any]:
    """The content of ``summary.json`` (``timings_s``: the run's, with the outputs step)."""
    sc, p = res.scenario, res.plan
    sel_ids = res.proposed["site_id"].tolist()
    phases = res.phases
    first = phases.iloc[0].to_dict() if len(phases) else {}
    out = {
        "siteplanner_version": __version__,
        "scenario": sc.name,
        "study_area": res.town.name,
        "crs": res.town.crs,
        "synthetic_incidents": res.synthetic,
        "data": {
            "osm": res.town.source,
            "incident_files": sorted(set(res.incidents["file"])) if len(res.incidents) else [],
        },
        "window": res.grid.window,
        "hotspot_method": res.grid.method,
        "hotspot_forecast": (
            res.demand_.forecast.summary() if res.demand_.forecast is not None else None
        ),
        "inputs": res.counts,
        "camera": {
            "model": sc.camera.model,
            "covered_at": sc.camera.covered_at,
            "range_m": res.fov.range_m,
            "fov_deg": res.fov.fov_deg,
        },
        "coverage": {
            "before": round(res.coverage_before, 6),
            "after": round(res.coverage_after, 6),
        },
        "candidates": res.candidates.screening,
        "selected_site_ids": sel_ids,
        "phases": [
            {
                "phase": r["phase"],
                "year": r["year"] or None,
                "sites": int(r["sites"]),
                "cost_eur": r["cost_eur"],
                "funded_eur": r["funded_eur"],
                "town_eur": r["town_eur"],
                "coverage": r["coverage_share"],
                "solver": r["solver"],
                "gap": r["gap"],
            }
            for r in phases.to_dict("records")
        ],
        "privacy": {
            "sites_with_mask": int(
                res.sites.loc[res.sites["status"] == "proposed", "privacy_mask"].sum()
            ),
            "policy": sc.candidates.privacy_policy,
        },
        "existing_cameras": {
            **dataclasses.asdict(res.coverage.existing),
            "assumption": existing_cameras_text(res),
        },
        "plan": {
            "k": int(first.get("sites", 0)),  # plan.csv's sites of the next phase
            "min_spacing_m": sc.plan.min_spacing_m,
            "solver": p.solver,
            "gap": round(p.gap, 9),
            "optimal": p.optimal,
            "status": p.status,
            "solver_message": p.solver_message,
            "cost_eur": first.get("cost_eur", 0.0),
            "funded_eur": first.get("funded_eur", 0.0),
            "town_eur": first.get("town_eur", 0.0),
        },
        "review": {
            "decisions": res.decisions.counts["review_decisions"],
            "reject_radius_m": res.decisions.counts["review_radius_m"],
        },
        "patrols": [
            {
                "name": c.name,
                "length_m": round(c.length_m, 1),
                "duration_min": round(c.duration_min, 1),
                "stops": len(c.stops),
                "budget_min": c.budget_min,
            }
            for c in res.circuits
        ],
        "timings_s": dict(res.timings_s if timings_s is None else timings_s),
    }
    out.update(_issue17_summary(res))
    return out


def existing_cameras_text(res: Result) -> str:
    """How the existing cameras are modelled, in one paragraph (report and ``summary.json``)."""
    e, sc = res.coverage.existing, res.scenario
    if not e.cameras:
        return (
            f"No existing camera in the study area ([area] existing_cameras = "
            f'"{sc.area.existing_cameras}"): the plan starts from none.'
        )
    text = (
        f"{e.cameras} existing camera(s), kept as fixed sites of the plan: "
        f"{e.direction_mapped} with a mapped direction, {e.no_direction} without"
    )
    how = []
    if e.assumed_360:
        how.append(f"{e.assumed_360} dome or panning camera(s) given a 360° view")
    if e.assumed_best_heading:
        wedge = "a 360° view" if e.fov_deg >= 360 else f"a {e.fov_deg:.0f}° field of view"
        how.append(
            f"{e.assumed_best_heading} given the best of {e.n_headings} headings (the one that "
            f"sees the most demand) with {wedge}"
        )
    text += f" ({'; '.join(how)})" if how else ""
    text += f"; all see to the {e.model}'s range, {e.range_m:g} m."
    if e.moved_off_wall:
        text += (
            f" {e.moved_off_wall} mapped on or just inside a building's outline look from just "
            "outside its wall."
        )
    if e.blind:
        text += (
            f" {e.blind} see nothing ({e.inside_building} standing inside a building, probably "
            "indoor cameras)."
        )
    beta = sc.plan.backup_share
    text += " A new site counts only the demand no existing camera sees" + (
        f" (and {beta:.0%} of the weight a camera already sees, as backup)." if beta else "."
    )
    return text


def _issue17_summary(res: Result) -> dict[str, Any]:
    """summary.json keys of issue #17 (night coverage, field notes, entrances)."""
    out: dict[str, Any] = {}
    if res.night is not None:
        n = res.night
        out["night"] = {
            "coverage": {
                k: {kk: round(vv, 6) for kk, vv in v.items()} for k, v in n.coverage.items()
            },
            "lost_to_darkness_share": round(n.lost_share, 6),
            "lost_of_covered_share": round(n.lost_of_covered, 6),
            "darkest_phase": n.darkest,
            "off_hours": n.off,
            "night_hours": n.night,
            "ir_range_m": n.ir_range_m,
        }
    if res.field_notes is not None and "outcome" in res.field_notes:
        f = res.field_notes
        out["field_notes"] = [
            {"note_id": a, "category": b, "outcome": c, "addressed_by": d}
            for a, b, c, d in zip(f["note_id"], f["category"], f["outcome"], f["addressed_by"])
        ]
    if res.entrances is not None:
        out["town_entrances"] = {
            "count": len(res.entrances),
            "status": "proposition au partenaire État",
            "roads": sorted(set(res.entrances["road"])),
        }
    return out


def sites_frame(res: Result) -> gpd.GeoDataFrame:
    """``sites.geojson``: existing and proposed cameras."""
    s = res.sites[res.sites["status"].isin(["existing", "proposed"])].copy()
    s = s.sort_values(["status", "rank", "site_id"], kind="stable")
    cols = [
        "site_id",
        "status",
        "phase",
        "rank",
        "kind",
        "mount",
        "covered_weight",
        "marginal_gain",
        "covered_incidents",
        "sensitive_sites",
        "cost_eur",
        "funded_eur",
        "solver",
        "gap",
        "heading_deg",
        "fov_deg",
        "range_m",
        "reach_m",
        "privacy_facade_m",
        "privacy_entrances",
        "privacy_mask",
        "heading_source",
        "name",
    ]
    out = s[cols + ["geometry"]].copy()
    names = res.figures.addresses.reindex(out.index)
    out.insert(1, "address", names["address"].fillna("").to_numpy())
    out.insert(2, "near", names["near"].fillna("").to_numpy())
    out["rank"] = out["rank"].astype("Int64")
    out["covered_weight"] = out["covered_weight"].round(6)
    out["marginal_gain"] = out["marginal_gain"].round(6)
    out["synthetic_incidents"] = res.synthetic
    return out.reset_index(drop=True)


def viewsheds_frame(res: Result) -> gpd.GeoDataFrame:
    """``viewsheds.geojson``: one field-of-view polygon per existing or proposed site."""
    s = res.sites[res.sites["status"].isin(["existing", "proposed"])].sort_values(
        ["status", "rank", "site_id"], kind="stable"
    )
    geoms = [res.fov.polygons[i] for i in s.index]
    return gpd.GeoDataFrame(
        {
            "site_id": s["site_id"].to_numpy(),
            "status": s["status"].to_numpy(),
            "heading_deg": s["heading_deg"].to_numpy(),
            "fov_deg": s["fov_deg"].to_numpy(),
            "range_m": s["range_m"].to_numpy(),
            "covered_at": res.scenario.camera.covered_at,
            "camera_model": res.scenario.camera.model,
            "camera_kind": np.where(s["existing"], "existing", res.scenario.camera.chosen().kind),
            **{f"{lvl}_m": s[f"{lvl}_m"].to_numpy() for lvl in res.coverage.ranges},
            "privacy_facade_m": s["privacy_facade_m"].to_numpy(),
            "privacy_entrances": s["privacy_entrances"].to_numpy(),
            "privacy_mask": s["privacy_mask"].to_numpy(),
        },
        geometry=geoms,
        crs=res.town.crs,
    )


def patrols_frame(res: Result) -> gpd.GeoDataFrame:
    """``patrols.geojson``: one LineString per circuit, then its stops as Points."""
    rows, geoms = [], []
    for c in res.circuits:
        rows.append(
            {
                "circuit": c.name,
                "feature": "circuit",
                "length_m": round(c.length_m, 1),
                "duration_min": round(c.duration_min, 1),
                "budget_min": c.budget_min,
                "speed_kmh": c.speed_kmh,
                "stops": len(c.stops),
                "order": None,
                "eta_min": None,
                "dwell_min": None,
                "prize": round(c.prize, 6),
                "name": c.name,
            }
        )
        geoms.append(c.geometry)
        for st in c.stops:
            rows.append(
                {
                    "circuit": c.name,
                    "feature": "stop",
                    "length_m": None,
                    "duration_min": None,
                    "budget_min": c.budget_min,
                    "speed_kmh": c.speed_kmh,
                    "stops": None,
                    "order": st.order,
                    "eta_min": round(st.eta_min, 1),
                    "dwell_min": st.dwell_min,
                    "prize": round(st.prize, 6),
                    "name": st.name,
                }
            )
            geoms.append(shapely.Point(st.x, st.y))
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=res.town.crs)


def plan_table(res: Result) -> pd.DataFrame:
    """``plan.csv``: one row per phase (cost, funded and town shares, coverage reached, sites)."""
    return res.phases


def curve_table(res: Result) -> pd.DataFrame:
    """``coverage_curve.csv``: covered share after 0, 1, … new cameras (greedy order).

    With the gain of each camera.
    """
    c = np.asarray(res.curve, float)
    return pd.DataFrame(
        {
            "new_cameras": np.arange(len(c)),
            "coverage_share": np.round(c, 6),
            "gain": np.round(np.r_[0.0, np.diff(c)] if len(c) else c, 6),
        }
    )


def slug(s: str) -> str:
    """A file-name part of a circuit's name (ASCII, lower case, underscores)."""
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-zA-Z0-9]+", "_", s).strip("_").lower() or "circuit"
