"""Step 5, ``review``: the référent sûreté's decisions, as the optimiser must apply them.

An accepted site is kept in the next phase. A rejected site refuses its place, not only its
id: no new site within ``[review] reject_radius_m`` of it (by default the camera's
identification range, at least 25 m), unless the référent accepts one there. A moved site
leaves its original place refused in the same way, and its new position ``<site_id>-M`` is
accepted. Sites that see nothing, and sites with a privacy mask under
``privacy_policy = "exclude"``, are excluded too.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siteplanner._errors import InputError
from siteplanner.result import Candidates, Coverage, Decisions, Inputs
from siteplanner.scenario import Scenario


def review(inputs: Inputs, cands: Candidates, cov: Coverage) -> Decisions:
    """The sites the optimiser must keep (``fixed``) and leave out (``excluded``)."""
    sc, rv, sites = inputs.scenario, cands.review, cov.sites
    existing = sites["existing"].to_numpy()
    ids = sites["site_id"].to_numpy()
    none = np.zeros(len(ids), bool)
    accepted = np.isin(ids, sorted(rv.accepted | {f"{m}-M" for m in rv.moved})) if rv else none
    rejected = np.isin(ids, sorted(rv.rejected | set(rv.moved))) if rv else none
    fixed = np.flatnonzero(existing | (accepted & ~rejected))
    empty = np.asarray([p.is_empty for p in cov.fov.polygons])
    refuse_blind_moves(rv, ids, empty)
    privacy_out = (
        (sc.candidates.privacy_policy == "exclude")
        & sites["privacy_mask"].to_numpy(bool)
        & ~accepted
    )
    radius_m = review_radius_m(sc, cov.ranges)
    near_decided = review_exclusion(cands.xy, ids, rv, radius_m) & ~rejected & ~accepted & ~existing
    excluded = np.flatnonzero(
        (empty | rejected | near_decided | privacy_out)
        & ~existing
        & ~np.isin(np.arange(len(ids)), fixed)
    )
    counts = {
        "excluded_sites": {
            "empty_view": int((empty & ~existing).sum()),
            "review_rejected_or_moved": int(rejected.sum()),
            "review_radius": int(near_decided.sum()),
            "privacy_policy": int(privacy_out.sum()),
        },
        "review_decisions": review_counts(rv),
        "review_radius_m": round(radius_m, 1),
    }
    return Decisions(
        review=rv,
        accepted=accepted,
        rejected=rejected,
        fixed=fixed,
        excluded=excluded,
        radius_m=radius_m,
        counts=counts,
        per_site=site_decisions(sites, rv),
    )


def refuse_blind_moves(review, site_ids: np.ndarray, empty: np.ndarray) -> None:
    """A position the référent sûreté moved a site to must see something: else one error.

    A position on a street outside buildings sees at least its street; one that sees nothing
    (walls or terrain block every heading) would be a blind camera fixed in the plan.
    """
    if review is None or not review.moved:
        return
    blind = []
    for sid, (lon, lat) in sorted(review.moved.items()):
        pos = np.flatnonzero(site_ids == f"{sid}-M")
        if len(pos) and empty[pos[0]]:
            row = review.row(sid)
            blind.append(
                f"line {row.line if row is not None else '?'} (site {sid}): the moved point "
                f"{lon:.7f}, {lat:.7f} sees nothing (walls or terrain block every heading); "
                "move it onto the open street"
            )
    if blind:
        raise InputError(f"{review.source}: " + "; ".join(blind))


def site_decisions(sites: gpd.GeoDataFrame, review) -> pd.DataFrame:
    """The référent sûreté's decision on each site, as its sheet and popup show it.

    Indexed like ``sites``: ``decision`` (``accept``, ``reject``, ``move`` or ``pending``),
    ``comment``, ``reviewer``, ``date`` (as written in the review file), ``moved_from`` (for
    a moved site ``<site_id>-M``, the site it was moved from, else "") and ``moved_by_m`` (the
    distance moved, 0 for the others). A moved site carries its original's decision, ``move``:
    never ``pending``.
    """
    ids = sites["site_id"].astype(str).to_numpy()
    out = pd.DataFrame(
        {
            "decision": "pending",
            "comment": "",
            "reviewer": "",
            "date": "",
            "moved_from": "",
            "moved_by_m": 0.0,
        },
        index=sites.index,
    )
    if review is None:
        return out
    where = {sid: i for i, sid in zip(sites.index, ids)}
    for r in review.rows:
        targets = [r.site_id] + ([f"{r.site_id}-M"] if r.decision == "move" else [])
        for sid in targets:
            if sid not in where:
                continue
            i = where[sid]
            out.loc[i, ["decision", "comment", "reviewer", "date"]] = [
                r.decision,
                r.comment,
                r.reviewer,
                r.date,
            ]
            if sid != r.site_id and r.site_id in where:
                out.at[i, "moved_from"] = r.site_id
                out.at[i, "moved_by_m"] = round(
                    float(sites.geometry.loc[i].distance(sites.geometry.loc[where[r.site_id]])), 1
                )
    return out


def review_radius_m(sc: Scenario, ranges: dict[str, float]) -> float:
    """Radius around a rejected site (or a moved site's original place) where no new site goes.

    The scenario's ``[review] reject_radius_m``, else the camera's identification range (the
    distance at which the camera would still identify a person at the refused spot) with a
    floor of 25 m, so that a refused place is not taken back by a candidate across the street.
    """
    if sc.review.reject_radius_m is not None:
        return float(sc.review.reject_radius_m)
    r = ranges.get("identification")
    return max(float(r), 25.0) if r and np.isfinite(r) and r > 0 else 25.0


def review_exclusion(
    site_xy: np.ndarray, site_ids: np.ndarray, review, radius_m: float
) -> np.ndarray:
    """Sites within ``radius_m`` of a site the référent sûreté rejected or moved away.

    A rejection refuses a place, not only a candidate id: without this, the optimiser picks a
    candidate a few metres away and undoes the decision. Returns a boolean mask over the sites
    (the rejected and moved sites themselves included).
    """
    out = np.zeros(len(site_ids), bool)
    if review is None:
        return out
    refused = sorted(set(review.rejected) | set(review.moved))
    idx = np.flatnonzero(np.isin(site_ids, refused))
    if len(idx) == 0 or len(site_xy) == 0:
        return out
    tree = cKDTree(site_xy)
    for i in idx:
        out[tree.query_ball_point(site_xy[i], r=radius_m)] = True
    return out


def review_counts(review) -> dict[str, int]:
    """Decisions of the review file counted by kind (every kind present, 0 when none)."""
    counts = {d: 0 for d in ("accept", "reject", "move", "pending")}
    if review is not None:
        for r in review.rows:
            counts[r.decision] = counts.get(r.decision, 0) + 1
    return counts


def review_outcomes(sites: gpd.GeoDataFrame, review, radius_m: float) -> pd.DataFrame:
    """What the optimiser did instead of each decision: one row per review row.

    ``instead`` is the nearest site proposed in this run to the decided site (for a move, its
    new position ``<site_id>-M``; for a reject, the site that took its place nearby) and
    ``instead_distance_m`` its distance; ``excluded_nearby`` counts the candidates kept out by
    the decision's radius.
    """
    cols = ["site_id", "decision", "status_now", "instead", "instead_distance_m", "excluded_nearby"]
    if review is None:
        return pd.DataFrame(columns=cols)
    by_id = sites.set_index("site_id")
    prop = sites[sites["status"] == "proposed"]
    rows = []
    for r in review.rows:
        if r.site_id not in by_id.index:
            rows.append(
                {"site_id": r.site_id, "decision": r.decision, "status_now": "unknown site"}
            )
            continue
        p = by_id.geometry[r.site_id]
        status = str(by_id.at[r.site_id, "status"])
        row = {"site_id": r.site_id, "decision": r.decision, "status_now": status}
        if r.decision in ("reject", "move"):
            others = prop[prop["site_id"] != r.site_id]
            if r.decision == "move" and f"{r.site_id}-M" in by_id.index:
                others = prop[prop["site_id"] == f"{r.site_id}-M"]
                others = others if len(others) else prop[prop["site_id"] != r.site_id]
            if len(others):
                d = others.distance(p)
                j = d.idxmin()
                row["instead"] = str(others.at[j, "site_id"])
                row["instead_distance_m"] = round(float(d[j]), 1)
            near = sites[(sites.distance(p) <= radius_m) & ~sites["existing"].astype(bool)]
            row["excluded_nearby"] = int(
                (near["site_id"] != r.site_id).sum() - (near["site_id"] == f"{r.site_id}-M").sum()
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)
