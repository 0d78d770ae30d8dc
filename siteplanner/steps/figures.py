"""Step 8, ``figures``: what the outputs show beyond the plan, computed once.

- the L251-3 privacy figures of every existing and proposed site (:func:`site_privacy`);
- each site's name as a référent sûreté says it: the address or crossing and the nearest
  landmark (:func:`siteplanner.town.addresses.site_addresses`), for the shown and reviewed
  sites;
- the plan map's frame: its extent, scale bar and the zoom panel's window over the densest
  cluster of proposed sites (:func:`map_frame`);
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

from siteplanner.coverage import evidence
from siteplanner.coverage.privacy import Privacy, privacy_action
from siteplanner.hotspots import forecast as hotspots
from siteplanner.hotspots.grids import DensityGrid, sample_grid
from siteplanner.optimise import phases as optimise
from siteplanner.result import Coverage, Demand, Figures, Inputs, MapFrame, Patrols, PhasePlans
from siteplanner.scenario import Scenario
from siteplanner.steps import night as night_mod
from siteplanner.town import addresses as addresses_mod
from siteplanner.town import entrances as entrances_mod
from siteplanner.town import field_notes, lighting
from siteplanner.town import load as io
from siteplanner.vocab import LAPI_NOTE

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
    named = sites[sites.index.isin(shown.index) | _reviewed(sites, plans)]
    addresses = addresses_mod.site_addresses(
        named.geometry,
        town.graph,
        streets,
        town.pois,
        house_numbers=town.extras.get("house_numbers"),
    )
    prop = sites[sites["status"] == "proposed"]
    range_m = float(cov.fov.range_m)
    frame = map_frame(  # a cluster within 12 ranges; framed with a range around its sites
        town.area,
        np.column_stack([prop.geometry.x, prop.geometry.y]),
        side_m=max(12 * range_m, 350.0),
        pad_m=range_m,
        min_side_m=max(4 * range_m, 200.0),
    )
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
        map_frame=frame,
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


def _reviewed(sites: pd.DataFrame, plans: PhasePlans) -> np.ndarray:
    """Which sites the review file names (their sheets say where a moved site came from)."""
    out = plans.review_outcomes
    ids = set(out["site_id"].astype(str)) if len(out) else set()
    return sites["site_id"].astype(str).isin(ids).to_numpy()


def densest_window(xy: np.ndarray, side_m: float) -> tuple[float, float, float, float] | None:
    """The square of side ``side_m`` that holds the most points (centred on one of their means).

    Returns ``(xmin, ymin, xmax, ymax)``, or None without points.
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    if not len(xy):
        return None
    half = side_m / 2
    near = (np.abs(xy[:, None, 0] - xy[None, :, 0]) <= half) & (
        np.abs(xy[:, None, 1] - xy[None, :, 1]) <= half
    )
    best = int(np.argmax(near.sum(axis=1)))
    cx, cy = xy[near[best]].mean(axis=0)
    return cx - half, cy - half, cx + half, cy + half


def _nice_length(span_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^n m), at most a fifth of ``span_m``."""
    target = span_m / 5
    base = 10 ** np.floor(np.log10(target))
    return float(max(b * base for b in (1, 2, 5) if b * base <= target))


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _bar_box(extent: tuple, bar: tuple) -> tuple[float, float, float, float]:
    """The room a scale bar and its label take (the label stands above the bar)."""
    w, h = extent[2] - extent[0], extent[3] - extent[1]
    x, y, length = bar
    return x - 0.01 * w, y - 0.01 * h, x + length + 0.01 * w, y + 0.075 * h


#: The zoom panel of the plan map is about this share of the map's size on the page: a window
#: wider than this share of the map would not magnify it.
ZOOM_SHARE = 1 / 3


def _in(xy: np.ndarray, win: tuple) -> np.ndarray:
    x, y = xy[:, 0], xy[:, 1]
    return (x >= win[0]) & (x <= win[2]) & (y >= win[1]) & (y <= win[3])


def _count_in(xy: np.ndarray, win: tuple) -> int:
    return int(_in(xy, win).sum())


def map_frame(
    area: Any,
    proposed_xy: np.ndarray,
    *,
    side_m: float,
    pad_m: float = 0.0,
    min_side_m: float | None = None,
    margin_m: float = 60.0,
) -> MapFrame:
    """The plan map's extent, scale bar and zoom window (computed once; the map draws them).

    The extent is the study area with ``margin_m`` around it. The densest cluster of proposed
    sites is the square of ``side_m`` that holds the most (:func:`densest_window`); the zoom
    window frames it: the square around its sites with ``pad_m`` around them, at least
    ``min_side_m`` and at most ``side_m`` wide (None: ``side_m`` always), moved inside the
    extent. The zoom is left out when no two proposed sites make a cluster, when the study
    area is not larger than the window in both directions, or when the window spans more than
    :data:`ZOOM_SHARE` of the map (the panel, about that share of the map's size on the page,
    would show the cluster no larger than the map itself does). The scale bar stands in the
    lower left corner; when the window covers that corner, the window moves up or right off
    the bar if it keeps every site of its cluster, else the bar goes to the lower right
    corner, else to the upper left one (the north arrow is upper right).
    """
    extent = tuple(float(v) for v in area.buffer(margin_m).bounds)
    x0, y0, x1, y1 = extent
    w, h = x1 - x0, y1 - y0
    length = _nice_length(w)
    corners = [
        (x0 + 0.04 * w, y0 + 0.04 * h, length),
        (x1 - 0.04 * w - length, y0 + 0.04 * h, length),
        (x0 + 0.04 * w, y1 - 0.1 * h, length),
    ]
    ax0, ay0, ax1, ay1 = area.bounds
    xy = np.asarray(proposed_xy, float).reshape(-1, 2)
    win = densest_window(xy, side_m)
    side = float(side_m)
    if win is not None and min_side_m is not None:  # the square around the cluster's sites
        c = xy[_in(xy, win)]
        lo, hi = c.min(axis=0), c.max(axis=0)
        side = float(np.clip((hi - lo).max() + 2 * pad_m, min(min_side_m, side_m), side_m))
        cx, cy = (lo + hi) / 2
        win = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    if (
        win is None
        or _count_in(xy, win) < 2
        or side >= min(ax1 - ax0, ay1 - ay0)
        or side > max(w, h) * ZOOM_SHARE
    ):
        return MapFrame(extent, corners[0], None, 0, side)
    dx = max(x0 - win[0], 0.0) - max(win[2] - x1, 0.0)  # inside the extent
    dy = max(y0 - win[1], 0.0) - max(win[3] - y1, 0.0)
    win = (win[0] + dx, win[1] + dy, win[2] + dx, win[3] + dy)
    bar, box = corners[0], _bar_box(extent, corners[0])
    if _overlap(win, box):
        n = _count_in(xy, win)
        shifts = sorted(
            [(box[3] - win[1], 0.0, box[3] - win[1]), (box[2] - win[0], box[2] - win[0], 0.0)]
        )
        moved = [(win[0] + mx, win[1] + my, win[2] + mx, win[3] + my) for _, mx, my in shifts]
        moved = [m for m in moved if m[2] <= x1 and m[3] <= y1 and _count_in(xy, m) >= n]
        free = [c for c in corners[1:] if not _overlap(win, _bar_box(extent, c))]
        if moved:
            win = moved[0]
        elif free:
            bar = free[0]
    return MapFrame(extent, bar, tuple(float(v) for v in win), _count_in(xy, win), side)


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
