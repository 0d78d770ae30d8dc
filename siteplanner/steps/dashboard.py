"""The evaluation dashboard and the review's effects: tables the report shows, computed once.

:func:`dashboard` gives the dashboard's tables (aggregates only: counts below the scenario's
``min_count_shared`` read "< n"); :func:`review_effects` says, for each decision of the
référent sûreté, what it did to this run's plan and what the optimiser did instead. Both read
a result whose other steps are done; the pipeline stores them in its figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from siteplanner.vocab import small_count

if TYPE_CHECKING:
    from siteplanner.result import Result


def dashboard(res: Result) -> dict[str, pd.DataFrame]:
    """The evaluation dashboard's tables (aggregates only).

    Returns
    -------
    dict
        ``contexte_categories`` (incidents of the window per category and source),
        ``contexte_sites`` (incidents near schools, gares, bus stations and in QPVs),
        ``activite`` (cameras, patrols) and ``resultats`` (coverage, incidents in view).
        Counts below ``min_count_shared`` are written "< n".
    """
    mc = res.scenario.hotspots.min_count_shared
    win = res.window_incidents
    out: dict[str, pd.DataFrame] = {}
    if len(win):
        tab = pd.crosstab(win["category"], win["source"], margins=True, margins_name="total")
        out["contexte_categories"] = tab.map(lambda v: small_count(int(v), mc))
    else:
        out["contexte_categories"] = pd.DataFrame()
    out["contexte_sites"] = _context_sites(res)
    out["activite"] = _activity(res)
    out["resultats"] = _results(res)
    return out


def _count_in(zone, win) -> int:
    if not len(win):
        return 0
    return int(
        shapely.contains_xy(zone, win.geometry.x.to_numpy(), win.geometry.y.to_numpy()).sum()
    )


def _context_sites(res: Result) -> pd.DataFrame:
    """Incidents near schools, gares and bus stations, and in each QPV."""
    sc, win = res.scenario, res.window_incidents
    mc = sc.hotspots.min_count_shared
    rows = []
    pois = res.town.pois
    r = sc.weights.sensitive_radius_m
    labels = {
        "school": "établissements scolaires",
        "station": "gares",
        "bus_station": "gares routières",
    }
    zones = []
    for kind, label in labels.items():
        p = pois[(pois["kind"] == kind) & pois.intersects(res.town.area)]
        if not p.empty:
            zones.append((f"{label} ({len(p)}), within {r:g} m", p.buffer(r).union_all()))
    if res.qpv is not None and len(res.qpv):
        zones += [(f"QPV {name}", g) for name, g in zip(res.qpv["name"], res.qpv.geometry)]
    for text, zone in zones:
        n = _count_in(zone, win)
        rows.append(
            {
                "surroundings": text,
                "incidents": small_count(n, mc),
                "share": f"{n / len(win):.1%}" if len(win) else "–",
            }
        )
    return pd.DataFrame(rows, columns=["surroundings", "incidents", "share"])


def _activity(res: Result) -> pd.DataFrame:
    """Cameras existing and proposed, candidates examined, patrols."""
    s = res.sites
    e = res.coverage.existing
    act = [
        (
            "existing cameras",
            e.cameras
            if not e.cameras
            else f"{e.cameras} ({e.direction_mapped} with a mapped heading, "
            f"{e.assumed_360} seen all round, {e.assumed_best_heading} with the best heading "
            f"assumed; {e.blind} see nothing)",
        ),
        ("proposed sites (all phases)", int((s["status"] == "proposed").sum())),
        (f"proposed sites, {res.scenario.plan.phase_name}", len(res.proposed)),
        (
            "candidate sites examined",
            int((s["status"] == "candidate").sum() + (s["status"] == "proposed").sum()),
        ),
    ]
    for c in res.circuits:
        act.append(
            (
                f"patrol {c.name}",
                f"{c.length_m / 1000:.2f} km, {len(c.stops)} stops, {c.duration_min:.0f} of "
                f"{c.budget_min:.0f} min",
            )
        )
    return pd.DataFrame(act, columns=["indicator", "value"])


def _results(res: Result) -> pd.DataFrame:
    """Coverage and the window's incidents in view, before and after the next phase."""
    sc, win, s = res.scenario, res.window_incidents, res.sites
    mc = sc.hotspots.min_count_shared

    def in_view(mask: np.ndarray) -> int:
        polys = [
            res.fov.polygons[i] for i in np.flatnonzero(mask) if not res.fov.polygons[i].is_empty
        ]
        return _count_in(shapely.union_all(polys), win) if polys else 0

    existing = (s["status"] == "existing").to_numpy()
    nxt = existing | s["site_id"].isin(res.proposed["site_id"]).to_numpy()
    n_b, n_a = in_view(existing), in_view(nxt)
    resu = [
        ("demand weight covered, existing cameras", f"{res.coverage_before:.1%}"),
        (f"demand weight covered after {sc.plan.phase_name}", f"{res.coverage_after:.1%}"),
        ("incidents of the window in view, existing cameras", small_count(n_b, mc)),
        (f"incidents of the window in view after {sc.plan.phase_name}", small_count(n_a, mc)),
        (
            "share of the window's incidents in view after",
            f"{n_a / len(win):.1%}" if len(win) else "–",
        ),
    ]
    for pp in res.phase_plans:
        resu.append((f"coverage after {pp.phase.name}", f"{pp.coverage_share:.1%}"))
    return pd.DataFrame(resu, columns=["indicator", "value"])


def _instead(res: Result, site_id: str, *, moved: bool = False) -> str:
    """The optimiser's answer to a reject or a move, from the run's review outcomes."""
    out = res.review_outcomes
    if out.empty or site_id not in set(out["site_id"]):
        return ""
    r = out[out["site_id"] == site_id].iloc[0]
    radius = res.decisions.counts["review_radius_m"]
    text = ""
    if pd.notna(r.get("excluded_nearby")) and radius:
        text += f"; {int(r['excluded_nearby'])} other candidate(s) within {radius:g} m kept out"
    if isinstance(r.get("instead"), str) and not moved:
        text += f"; nearest proposed site now {r['instead']} at {r['instead_distance_m']:.0f} m"
    return text


def review_effects(res: Result) -> pd.DataFrame:
    """Each review decision and its effect on this run's plan (empty when there is no review)."""
    rv = res.review
    cols = ["site", "site_id", "decision", "comment", "reviewer", "date", "effect"]
    if rv is None:
        return pd.DataFrame(columns=cols)
    s = res.sites.set_index("site_id")
    names = res.figures.addresses
    label = {
        str(res.sites.at[i, "site_id"]): str(names.at[i, "label"])
        for i in names.index
        if i in res.sites.index
    }
    rows = []
    for r in rv.rows:
        st = s["status"].get(r.site_id)
        if r.decision == "accept":
            eff = (
                f"fixed in the plan, rank {int(s.at[r.site_id, 'rank'])}"
                if st == "proposed"
                else f"accepted; status now {st or 'unknown'}"
            )
        elif r.decision == "reject":
            eff = (
                "excluded from the plan; the optimiser chose another site in its place"
                if st != "proposed"
                else "still proposed (check the review file)"
            )
            eff += _instead(res, r.site_id)
        elif r.decision == "move":
            mid = f"{r.site_id}-M"
            if mid in s.index:
                cw0 = s["covered_weight"].get(r.site_id, np.nan)
                cw1 = s.at[mid, "covered_weight"]
                moved_m = s.geometry[mid].distance(s.geometry[r.site_id])
                eff = (
                    f"evaluated at the new position ({label.get(mid, mid)}, {moved_m:.0f} m "
                    f"away) as {mid}: covers {cw1:.2%} of demand weight"
                    + (f" (was {cw0:.2%})" if np.isfinite(cw0) else "")
                    + f"; status {s.at[mid, 'status']}"
                )
            else:
                eff = "moved position not evaluated (outside the study area?)"
            eff += _instead(res, r.site_id, moved=True)
        else:
            eff = "no decision yet: the site stays as the optimiser proposed it"
        rows.append(
            {
                "site": label.get(r.site_id, ""),
                "site_id": r.site_id,
                "decision": r.decision,
                "comment": r.comment,
                "reviewer": r.reviewer,
                "date": r.date,
                "effect": eff,
            }
        )
    return pd.DataFrame(rows, columns=cols)
