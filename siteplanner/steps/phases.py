"""Step 6, ``optimise``: the next deployment phases, and the sites annotated with them.

The next phase (``[plan] k`` cameras or ``budget_eur``) and the later ones
(``[[plan.phases]]``) are planned in turn, each keeping the sites of the earlier ones
(:func:`siteplanner.optimise.phases.plan_phases`). The sites the référent sûreté accepted belong to
the next phase and count in its ``k``. No two sites of the plan stand closer than ``[plan]
min_spacing_m`` (20 m): new sites, accepted ones, earlier phases' and existing cameras, except
a camera head added on an existing camera's support (``mount = "existing_support"``) beside
that camera. The annotated sites table carries every per-site
figure the outputs show (status, phase, rank, gains, cost and funded share), and
:func:`phase_table` sums it per phase, so that no two outputs can disagree.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siteplanner.coverage import matrix as cov_mod
from siteplanner.optimise import phases as optimise
from siteplanner.result import Candidates, Coverage, Decisions, Demand, Inputs, PhasePlans
from siteplanner.scenario import Scenario
from siteplanner.steps import night as night_mod
from siteplanner.steps.review import review_outcomes
from siteplanner.town import jurisdiction
from siteplanner.town import load as io
from siteplanner.vocab import SENSITIVE_KINDS

log = logging.getLogger(__name__)


def optimise_phases(
    inputs: Inputs, demand: Demand, cands: Candidates, cov: Coverage, dec: Decisions
) -> PhasePlans:
    """Plan the phases and annotate the sites with them."""
    sc = inputs.scenario
    sites = cov.sites.copy()
    weight = demand.weight
    existing = sites["existing"].to_numpy(bool)
    reuse = sites["mount"].eq("existing_support").to_numpy(bool) & ~existing
    phases = scenario_phases(sc, n_accepted=int((dec.accepted & ~dec.rejected & ~existing).sum()))
    phase_plans = optimise.plan_phases(
        cov.A,
        weight,
        phases,
        cost_eur=sites["cost_eur"].to_numpy(float),
        fixed=dec.fixed,
        excluded=dec.excluded,
        funded_share=sc.plan.funded_share,
        method=sc.plan.method,
        time_limit_s=sc.plan.time_limit_s,
        min_spacing_m=sc.plan.min_spacing_m,
        site_xy=cands.xy,
        backup_share=sc.plan.backup_share,
        existing=existing,
        reuse_support=reuse,
    )
    k_max = min(int((~existing).sum() - len(dec.excluded)), max(60, 3 * (sc.plan.k or 10)))
    curve = optimise.coverage_curve(
        cov.A,
        weight,
        k_max=max(k_max, 0),
        fixed=np.flatnonzero(existing),
        excluded=dec.excluded,
        min_spacing_m=sc.plan.min_spacing_m,
        site_xy=cands.xy,
        existing=existing,
        reuse_support=reuse,
    )
    annotate_sites(
        sites,
        cov.A,
        weight,
        cov.fov,
        demand.window_incidents,
        inputs.town,
        sc,
        phase_plans=phase_plans,
        accepted=dec.accepted & ~existing,
    )
    night = None
    if sc.lighting is not None:  # night coverage of the plan (issue #17)
        night = night_mod.night_coverage(
            sc,
            cov.A_day,
            weight,
            cands.xy,
            demand.xy,
            phase_plans[0].plan,
            cands.model,
            existing,
            cov.lit_streets,
        )
    return PhasePlans(
        plans=phase_plans,
        sites=sites,
        table=phase_table(sites, phase_plans),
        curve=np.asarray(curve, float),
        review_outcomes=review_outcomes(sites, dec.review, round(dec.radius_m, 1)),
        night=night,
    )


def scenario_phases(sc: Scenario, *, n_accepted: int = 0) -> list[optimise.Phase]:
    """The phases the scenario asks for; the référent's accepted sites count in the next one."""
    phases = [
        optimise.Phase(
            name=sc.plan.phase_name,
            year=sc.plan.phase_year or 0,
            k=sc.plan.k if sc.plan.budget_eur is None else None,
            budget_eur=sc.plan.budget_eur,
        )
    ]
    phases += [
        optimise.Phase(name=ph.name, year=ph.year, k=ph.k, budget_eur=ph.budget_eur)
        for ph in sc.plan.phases
    ]
    if n_accepted and phases[0].k is not None:
        left = phases[0].k - n_accepted
        if left < 1:
            log.warning(
                "the référent sûreté accepted %d site(s), k = %d: the next phase proposes "
                "one more site",
                n_accepted,
                phases[0].k,
            )
        phases[0] = optimise.Phase(name=phases[0].name, year=phases[0].year, k=max(left, 1))
    return phases


def annotate_sites(
    sites: gpd.GeoDataFrame,
    A,
    weight: np.ndarray,
    fov: cov_mod.FieldsOfView,
    win: gpd.GeoDataFrame,
    town: io.Town,
    sc: Scenario,
    *,
    phase_plans: list[optimise.PhasePlan],
    accepted: np.ndarray | None = None,
) -> None:
    """Add the plan's columns (status, phase, rank, gains, cost shares, what each site covers)."""
    n = len(sites)
    status = np.where(sites["existing"], "existing", "candidate").astype(object)
    phase = np.where(status == "existing", "existing", None).astype(object)
    rank = np.full(n, np.nan)
    gain = np.full(n, np.nan)
    solver = np.full(n, None, dtype=object)
    gap = np.full(n, np.nan)
    accepted = np.zeros(n, bool) if accepted is None else accepted
    r = 0
    for pp in phase_plans:
        for i, g in zip(pp.plan.selected, pp.plan.marginal_gain):
            r += 1
            status[i], phase[i], rank[i], gain[i] = "proposed", pp.phase.name, r, g
            solver[i], gap[i] = pp.plan.solver, pp.plan.gap
    # sites accepted by the référent sûreté are part of the next phase, ranked first
    acc = np.flatnonzero(accepted)
    if len(acc):
        rank = np.where(np.isnan(rank), rank, rank + len(acc))
        for j, i in enumerate(acc, start=1):
            status[i], phase[i], rank[i] = "proposed", sc.plan.phase_name, j
            solver[i], gap[i] = "review: accepted", 0.0
    sites["status"] = status
    sites["phase"] = phase
    sites["rank"] = rank
    sites["solver"] = solver
    sites["gap"] = gap
    sites["funded_eur"] = np.where(
        status == "proposed", np.round(sites["cost_eur"] * sc.plan.funded_share, 0), 0.0
    )
    total = float(weight.sum()) or 1.0
    sites["covered_weight"] = np.asarray(A @ weight).ravel() / total
    sites["marginal_gain"] = gain / total
    # incidents of the window inside each field of view (an aggregate count, never the points)
    inc_xy = np.column_stack([win.geometry.x, win.geometry.y]) if len(win) else np.zeros((0, 2))
    sites["covered_incidents"] = (
        np.asarray(cov_mod.coverage_matrix(fov.polygons, inc_xy).sum(axis=1)).ravel().astype(int)
        if len(inc_xy)
        else 0
    )
    sites["sensitive_sites"] = sensitive_names(sites, fov, town)


def sensitive_names(sites: gpd.GeoDataFrame, fov: cov_mod.FieldsOfView, town: io.Town) -> list[str]:
    """Each site's sensitive sites within its range; those outside the commune are marked so."""
    sens = town.pois[town.pois["kind"].isin(SENSITIVE_KINDS)]
    if sens.empty or not len(sites):
        return [""] * len(sites)
    inside = jurisdiction.inside_flags(sens.geometry, town.area)
    labels = [
        (nm if isinstance(nm, str) and nm else k.replace("_", " "))
        + ("" if ok else " (hors commune)")
        for nm, k, ok in zip(sens["name"], sens["kind"], inside)
    ]
    sxy = np.column_stack([sens.geometry.x, sens.geometry.y])
    near = cKDTree(sxy).query_ball_point(
        np.column_stack([sites.geometry.x, sites.geometry.y]), r=fov.range_m
    )
    return [
        "" if p.is_empty else "; ".join(sorted({labels[j] for j in nb}))
        for p, nb in zip(fov.polygons, near)
    ]


def phase_table(sites: pd.DataFrame, phase_plans: list[optimise.PhasePlan]) -> pd.DataFrame:
    """One row per phase, from the annotated sites: the figures every output shows.

    The sites of a phase are the proposed sites with that phase (sites the référent sûreté
    accepted included); its cost and funded share are the sums of those sites' ``cost_eur`` and
    ``funded_eur`` (each rounded to the euro), so that summary.json, plan.csv, sites.geojson,
    plan.gpkg and prefecture.csv cannot disagree.
    """
    rows = []
    for pp in phase_plans:
        s = sites[(sites["status"] == "proposed") & (sites["phase"] == pp.phase.name)]
        s = s.sort_values(["rank", "site_id"], kind="stable")
        cost = float(s["cost_eur"].round(0).sum())
        funded = float(s["funded_eur"].sum())
        rows.append(
            {
                "phase": pp.phase.name,
                "year": pp.phase.year or "",
                "k": pp.phase.k if pp.phase.k is not None else "",
                "budget_eur": pp.phase.budget_eur if pp.phase.budget_eur is not None else "",
                "sites": len(s),
                "cost_eur": cost,
                "funded_eur": funded,
                "town_eur": cost - funded,
                "coverage_share": round(pp.coverage_share, 6),
                "solver": pp.plan.solver,
                "gap": round(pp.plan.gap, 9),
                "site_ids": " ".join(s["site_id"].astype(str)),
            }
        )
    cols = [
        "phase",
        "year",
        "k",
        "budget_eur",
        "sites",
        "cost_eur",
        "funded_eur",
        "town_eur",
        "coverage_share",
        "solver",
        "gap",
        "site_ids",
    ]
    return pd.DataFrame(rows, columns=cols)
