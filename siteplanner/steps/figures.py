"""Step 8, ``figures``: what the outputs show beyond the plan, computed once.

- the L251-3 privacy figures of every existing and proposed site (:func:`site_privacy`);
- each site's address, the nearest named street (:func:`nearest_street_names`);
- the hotspot segments: the window's incidents counted on the streets, small counts blanked so
  that no single incident can be located (:func:`hotspot_segments`);
- the town entrances (a proposition to the State partner), the outcome of every field note of
  the marches exploratoires, and the incidents in view by category with their evidence class.

The outputs read these from the :class:`~siteplanner.result.Result`; none recomputes them.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siteplanner.town import entrances as entrances_mod
from siteplanner.coverage import evidence
from siteplanner.town import field_notes, load as io, lighting
from siteplanner.hotspots import forecast as hotspots
from siteplanner.optimise import phases as optimise
from siteplanner.coverage.privacy import Privacy, privacy_action
from siteplanner.result import Coverage, Demand, Figures, Inputs, Patrols, PhasePlans
from siteplanner.scenario import Scenario
from siteplanner.vocab import LAPI_NOTE
from siteplanner.steps import night as night_mod
from siteplanner.hotspots.grids import DensityGrid
from siteplanner.hotspots.grids import sample_grid

log = logging.getLogger(__name__)


def figures(
    inputs: Inputs, demand: Demand, cov: Coverage, plans: PhasePlans, patrols: Patrols
) -> Figures:
    """Privacy, addresses, hotspot segments, entrances, field-note outcomes and evidence."""
    sc, town = inputs.scenario, inputs.town
    sites = plans.sites
    streets = inputs.streets
    shown = _shown(sites)
    privacy = site_privacy(sites, cov.privacy_masks, sc.candidates.privacy_policy, town.crs)
    addresses = pd.Series(nearest_street_names(shown.geometry, streets), index=shown.index)
    segments = hotspot_segments(
        town, streets, demand.window_incidents, demand.grid, sc, synthetic=inputs.synthetic
    )
    counts: dict[str, Any] = {}
    notes = None
    if demand.notes is not None:
        notes = note_outcomes(inputs, demand.notes, sites, cov, plans, patrols, streets)
        counts["field_notes"] = {
            k: int(v) for k, v in notes["outcome"].value_counts().sort_index().items()
        }
    entrances = entrances_table = None
    if sc.entrances is not None:
        entrances = town_entrances(town, sc, streets)
        entrances_table = entrances_mod.entrances_table(entrances).assign(legal_note=LAPI_NOTE)
        counts["town_entrances"] = len(entrances)
    return Figures(
        privacy=privacy,
        addresses=addresses,
        hotspot_segments=segments,
        entrances=entrances,
        entrances_table=entrances_table,
        field_notes=notes,
        evidence=_evidence(demand, sites, cov, sc),
        coverage_arrays=optimise.coverage_arrays(
            optimise.CoverageProblem(
                A=cov.A.tocsr(),
                demand_weight=demand.weight,
                demand_xy=demand.xy,
                site_id=sites["site_id"].to_numpy(str),
                site_cost_eur=sites["cost_eur"].to_numpy(float),
                existing=sites["existing"].to_numpy(bool),
                crs=town.crs,
            )
        ),
        counts=counts,
    )


def _shown(sites: pd.DataFrame) -> pd.DataFrame:
    """The existing and proposed sites, in the order every output lists them."""
    s = sites[sites["status"].isin(["existing", "proposed"])]
    return s.sort_values(["status", "rank", "site_id"], kind="stable")


def site_privacy(
    sites: gpd.GeoDataFrame, masks: dict[int, Any], policy: str, crs: str
) -> gpd.GeoDataFrame:
    """The L251-3 privacy figures of every existing and proposed site, as one table.

    The figures are the coverage step's (``privacy_facade_m``, ``privacy_entrances`` and the
    mask polygons measured at recognition range by
    :func:`siteplanner.coverage.privacy.privacy_figures`).

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed like the sites: ``site_id``, ``facade_m``, ``n_entrances``, ``action``
        (``ok``, ``mask`` or ``exclude``) and the mask polygon as geometry (empty if none).
    """
    shown = _shown(sites)
    rows, geoms = [], []
    for i in shown.index:
        p = Privacy(
            float(sites.at[i, "privacy_facade_m"]),
            int(sites.at[i, "privacy_entrances"]),
            masks.get(i, shapely.Polygon()),
        )
        rows.append(
            {
                "site_id": sites.at[i, "site_id"],
                "facade_m": round(p.facade_m, 1),
                "n_entrances": p.n_entrances,
                "action": privacy_action(p, policy=policy),
            }
        )
        geoms.append(p.mask)
    return gpd.GeoDataFrame(pd.DataFrame(rows, index=shown.index), geometry=geoms, crs=crs)


def nearest_street_names(
    points: gpd.GeoSeries, edges: gpd.GeoDataFrame, *, max_distance_m: float = 150.0
) -> list[str]:
    """The name of the nearest named street of each point ("" when none within ``max_distance_m``).

    Parameters
    ----------
    points
        Points in the edges' CRS.
    edges
        Street edges with a ``name`` column (e.g. :func:`siteplanner.town.load.edges_gdf`).
    max_distance_m
        Farther streets are not used as an address.
    """
    named = edges[edges["name"].notna() & (edges["name"].astype(str) != "")]
    if named.empty or len(points) == 0:
        return [""] * len(points)
    tree = shapely.STRtree(named.geometry.values)
    idx = tree.query_nearest(points.values, max_distance=max_distance_m, all_matches=False)
    out = [""] * len(points)
    names = named["name"].astype(str).to_numpy()
    for p, e in zip(idx[0], idx[1]):
        out[int(p)] = names[int(e)]
    return out


def hotspot_segments(
    town: io.Town,
    streets: gpd.GeoDataFrame,
    win: gpd.GeoDataFrame,
    grid: DensityGrid,
    sc: Scenario,
    *,
    synthetic: bool,
    max_distance_m: float = 30.0,
) -> gpd.GeoDataFrame:
    """Street segments with the window's incidents counted on them (aggregates, safe to share).

    Each incident of the time window is attributed to its nearest street segment within
    ``max_distance_m``; segments with fewer than the scenario's ``min_count_shared``
    incidents get no count (null) so that no single incident can be located. ``intensity``
    is the hotspot surface (same units as ``hotspots.tif``) at the segment's midpoint.
    """
    edges = streets[streets.intersects(town.area)].reset_index(drop=True)
    counts = np.zeros(len(edges))
    if len(win) and len(edges):
        tree = shapely.STRtree(edges.geometry.values)
        idx = tree.query_nearest(
            win.geometry.values, max_distance=max_distance_m, all_matches=False
        )
        counts = np.bincount(idx[1], minlength=len(edges)).astype(float)
    shared = hotspots.suppress_small(counts, min_count=sc.hotspots.min_count_shared)
    mid = shapely.line_interpolate_point(edges.geometry.values, 0.5, normalized=True)
    intensity = sample_grid(grid, np.column_stack([shapely.get_x(mid), shapely.get_y(mid)]))
    out = gpd.GeoDataFrame(
        {
            "name": edges["name"],
            "length_m": edges["length"].round(1),
            "incidents": pd.array(np.where(np.isnan(shared), np.nan, shared), dtype="Float64"),
            "intensity": np.round(intensity, 3),
            "window": grid.window,
            "synthetic_incidents": synthetic,
        },
        geometry=edges.geometry.values,
        crs=town.crs,
    )
    out["incidents"] = out["incidents"].round(0).astype("Int64")
    per = (
        out["incidents"].astype("Float64")
        * 100.0
        / np.maximum(out["length_m"].to_numpy(float), 1.0)
    )
    out["per_100m"] = per.round(2)
    return out


def town_entrances(town: io.Town, sc: Scenario, streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The roads that cross the commune's boundary (a proposition to the State partner)."""
    through = (
        entrances_mod.through_traffic(town.graph, streets, town.area)
        if sc.entrances.residential
        else np.zeros(len(streets), bool)
    )
    return entrances_mod.town_entrances(
        streets, town.area, through=through, merge_m=sc.entrances.merge_m
    )


def note_outcomes(
    inputs: Inputs,
    notes: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    cov: Coverage,
    plans: PhasePlans,
    patrols: Patrols,
    edges: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """One outcome per field note: camera, patrol circuit, unlit street, not addressed."""
    sc, town = inputs.scenario, inputs.town
    shown = sites[sites["status"].isin(["proposed", "existing"])].sort_values(
        ["status", "rank"], kind="stable"
    )
    labels = [
        f"{sid} (existing)" if st == "existing" else f"{sid} (proposed, rank {int(r)})"
        for sid, st, r in zip(shown["site_id"], shown["status"], shown["rank"])
    ]
    # the streets' lighting: the coverage step's when the scenario has [lighting], else read here
    lt = sc.lighting
    _, states, _ = cov.lit_streets or night_mod.street_lighting(sc, town, edges, inputs.paths)
    lit = lighting.lit_in_phase(states, "night", unknown_lit=lt is None or lt.unknown == "lit")
    patrol_m = float(notes["patrol_m"].max()) if len(notes) else 25.0
    out = field_notes.note_outcomes(
        notes,
        notes["inside"].to_numpy(bool),
        fov=[cov.fov.polygons[i] for i in shown.index],
        site_labels=labels,
        circuits=[(c.name, c.geometry) for c in patrols.circuits],
        edges=edges,
        street_lit=lit,
        patrol_m=patrol_m,
    )
    night = plans.night
    if night is not None:  # a camera that sees a note by day may not see it in the dark
        night_lit = lighting.lit_in_phase(states, night.darkest, unknown_lit=lt.unknown == "lit")
        xy = dict(zip(shown["site_id"], zip(shown.geometry.x, shown.geometry.y)))
        ir = sc.camera.chosen().ir_range_m
        for i in np.flatnonzero(out["outcome"].to_numpy() == "camera"):
            g = out.geometry.iloc[i]
            j = int(edges.sindex.nearest(g, return_all=False)[1][0])
            sids = [b.split(" ")[0] for b in out["addressed_by"].iloc[i].split("; ")]
            if not night_lit[j] and all(g.distance(shapely.Point(xy[sid])) > ir for sid in sids):
                out.iloc[i, out.columns.get_loc("addressed_by")] += (
                    f" — by day only: dark in the {night.darkest}"
                )
    return out.drop(columns=["patrol_m"])


def _evidence(
    demand: Demand, sites: gpd.GeoDataFrame, cov: Coverage, sc: Scenario
) -> pd.DataFrame | None:
    """Incidents of the window inside the fields of view of the existing and proposed cameras,
    by category, with the evidence class (the report's table)."""
    win = demand.window_incidents
    if win is None or not len(win):
        return None
    shown = sites.index[sites["status"].isin(["existing", "proposed"])]
    polys = [cov.fov.polygons[i] for i in shown if not cov.fov.polygons[i].is_empty]
    if not polys:
        covered = np.zeros(len(win), bool)
    else:
        union = shapely.union_all(polys)
        covered = shapely.contains_xy(union, win.geometry.x.to_numpy(), win.geometry.y.to_numpy())
    return evidence.covered_counts(
        win["category"].to_numpy(), covered, min_count=sc.hotspots.min_count_shared
    )
