"""Step 6, ``optimise``: the next deployment phases, and the sites annotated with them.

The next phase (``[plan] k`` cameras or ``budget_eur``) and the later ones
(``[[plan.phases]]``) are planned in turn, each keeping the sites of the earlier ones
(:func:`siteplanner.optimise.phases.plan_phases`). The sites the référent sûreté accepted (or
moved: the new position ``<site_id>-M`` is accepted) are fixed sites of the next phase: they
count in its ``k`` and its cost. No two sites of the plan stand closer than ``[plan]
min_spacing_m`` (20 m): new sites, accepted ones, earlier phases' and existing cameras, except
a camera head added on an existing camera's support (``mount = "existing_support"``) beside
that camera. The annotated sites table carries every per-site
figure the outputs show (status, phase, rank, gains, cost and funded share, rounded once by
:func:`siteplanner.optimise.phases.funded_eur`), and :func:`phase_table` gives each phase's
figures as the optimiser logged them: the sums over the same sites, so that no two outputs
can disagree.
"""

from __future__ import annotations

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


def optimise_phases(
    inputs: Inputs, demand: Demand, cands: Candidates, cov: Coverage, dec: Decisions
) -> PhasePlans:
    """Plan the phases and annotate the sites with them."""
    sc = inputs.scenario
    sites = cov.sites.copy()
    weight = demand.weight
    existing = sites["existing"].to_numpy(bool)
    reuse = sites["mount"].eq("existing_support").to_numpy(bool) & ~existing
    phase_plans = optimise.plan_phases(
        cov.A,
        weight,
        scenario_phases(sc),
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
        accepted=np.flatnonzero(dec.accepted & ~dec.rejected & ~existing),
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


def scenario_phases(sc: Scenario) -> list[optimise.Phase]:
    """The phases the scenario asks for (the référent's accepted sites count in the next one's
    ``k``: :func:`siteplanner.optimise.phases.plan_phases`)."""
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
) -> None:
    """Add the plan's columns (status, phase, rank, gains, cost shares, what each site covers).

    The sites the référent sûreté accepted (``PhasePlan.accepted``) rank first in their phase.
    """
    n = len(sites)
    status = np.where(sites["existing"], "existing", "candidate").astype(object)
    phase = np.where(status == "existing", "existing", None).astype(object)
    rank = np.full(n, np.nan)
    gain = np.full(n, np.nan)
    solver = np.full(n, None, dtype=object)
    gap = np.full(n, np.nan)
    r = 0
    for pp in phase_plans:
        for i, g in zip(pp.plan.selected, pp.plan.marginal_gain):
            r += 1
            status[i], phase[i], rank[i], gain[i] = "proposed", pp.phase.name, r, g
            solver[i], gap[i] = pp.plan.solver, pp.plan.gap
    # sites accepted by the référent sûreté are part of the next phase, ranked first
    acc = phase_plans[0].accepted if phase_plans else ()
    if len(acc):
        rank = np.where(np.isnan(rank), rank, rank + len(acc))
        for j, i in enumerate(acc, start=1):
            status[i], phase[i], rank[i] = "proposed", phase_plans[0].phase.name, j
            solver[i], gap[i] = "review: accepted", 0.0
    sites["status"] = status
    sites["phase"] = phase
    sites["rank"] = rank
    sites["solver"] = solver
    sites["gap"] = gap
    funded = optimise.funded_eur(sites["cost_eur"].to_numpy(float), sc.plan.funded_share)
    sites["funded_eur"] = np.where(status == "proposed", funded, 0.0)
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
    """One row per phase: the figures every output shows, as the optimiser logged them.

    ``k`` is the phase's asked number of sites (the référent's accepted sites included),
    ``sites`` its proposed sites (with that phase in the annotated sites: the plan's new sites
    and the accepted ones), ``cost_eur``, ``funded_eur`` and ``town_eur`` the
    :class:`~siteplanner.optimise.phases.PhasePlan`'s: the sums over those same sites of their
    ``cost_eur`` and ``funded_eur`` (each rounded once, to the euro), so that the log,
    summary.json, plan.csv, sites.geojson, plan.gpkg and prefecture.csv cannot disagree.
    """
    rows = []
    for pp in phase_plans:
        s = sites[(sites["status"] == "proposed") & (sites["phase"] == pp.phase.name)]
        s = s.sort_values(["rank", "site_id"], kind="stable")
        rows.append(
            {
                "phase": pp.phase.name,
                "year": pp.phase.year or "",
                "k": pp.phase.k if pp.phase.k is not None else "",
                "budget_eur": pp.phase.budget_eur if pp.phase.budget_eur is not None else "",
                "sites": len(s),
                "cost_eur": pp.cost_eur,
                "funded_eur": pp.funded_eur,
                "town_eur": pp.town_eur,
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
