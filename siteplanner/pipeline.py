"""The one place that runs every step, in order, for a scenario.

``load → hotspots → candidates → coverage → next phase → patrol → outputs``

:func:`plan` computes everything and returns a :class:`Result` without writing anything;
:func:`write_outputs` writes the result's files into a staging folder and moves each into
the output folder only when all are written (a run killed half-way leaves the previous
outputs as they were). :func:`run` does both.
"""

from __future__ import annotations

import dataclasses
import logging
from io import BytesIO
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from . import (
    __version__,
    candidates,
    coverage,
    hotspots,
    incidents,
    io,
    jurisdiction,
    optimise,
    patrol,
    privacy,
    viewshed,
    windows,
)
from ._errors import InputError
from .scenario import Scenario, Window
from .vocab import SENSITIVE_KINDS

log = logging.getLogger(__name__)

StepCallback = Callable[[str], None]


@dataclass
class Result:
    """Everything a run computed (what the outputs are written from)."""

    scenario: Scenario
    town: io.Town
    incidents: gpd.GeoDataFrame
    window_incidents: gpd.GeoDataFrame
    grid: hotspots.DensityGrid
    demand: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    fov: coverage.FieldsOfView
    A: csr_matrix
    plan: optimise.Plan
    circuits: list[patrol.Circuit]
    timings_s: dict[str, float] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    qpv: gpd.GeoDataFrame | None = None
    privacy_masks: dict[int, Any] = field(default_factory=dict)
    phase_plans: list[optimise.PhasePlan] = field(default_factory=list)
    curve: np.ndarray | None = None
    review: Any = None
    shift_prizes: dict[str, Any] = field(default_factory=dict)
    review_outcomes: pd.DataFrame | None = None
    phases: pd.DataFrame | None = None
    quarantine_csv: str = "file,line,reason\n"
    night: Any = None  # lighting.NightCoverage when the scenario has [lighting] (issue #17)
    entrances: Any = None  # town entrances, proposition au partenaire État (issue #17)
    field_notes: Any = None  # field_notes.NoteOutcomes of the marches exploratoires (issue #17)

    @property
    def synthetic(self) -> bool:
        return bool(len(self.incidents)) and bool(self.incidents["synthetic"].any())

    @property
    def coverage_before(self) -> float:
        """Share of the demand weight the existing cameras see."""
        total = self.plan.total_weight
        ex = np.flatnonzero(self.sites["existing"].to_numpy())
        return (
            coverage.covered_weight(self.A, self.demand["weight"].to_numpy(float), ex) / total
            if total
            else 0.0
        )

    @property
    def proposed(self) -> gpd.GeoDataFrame:
        """The proposed sites of the next phase, in rank order."""
        s = self.sites[
            (self.sites["status"] == "proposed")
            & (self.sites["phase"] == self.scenario.plan.phase_name)
        ]
        return s.sort_values("rank", kind="stable")

    @property
    def coverage_after(self) -> float:
        return self.plan.coverage_share


@contextmanager
def _step(name: str, timings: dict[str, float], on_step: StepCallback | None) -> Iterator[None]:
    if on_step:
        on_step(name)
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 3)
    log.info("step %s done in %.1f s", name, timings[name])


def time_window(w: Window) -> windows.TimeWindow:
    """The analysis time window of a scenario window."""
    return windows.TimeWindow(
        name=w.name,
        hours=w.hours,
        days=w.days,
        school_holidays=w.school_holidays,
        public_holidays=w.public_holidays,
        period=w.period,
    )


def read_qpv(path: Path, crs: str, area) -> gpd.GeoDataFrame:
    """QPV polygons clipped to the study area; invalid shapes repaired with make_valid (logged)."""
    try:
        q = gpd.read_file(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot be read as QPV polygons ({exc})") from exc
    if q.crs is None:
        raise InputError(f"{path}: QPV file has no CRS")
    invalid = ~q.geometry.is_valid
    if invalid.any():
        log.warning(
            "%s: repaired %d invalid QPV polygon(s) with shapely.make_valid",
            path.name,
            int(invalid.sum()),
        )
        q["geometry"] = shapely.make_valid(q.geometry.values)
    q = q.to_crs(crs)
    q = q[q.intersects(area.buffer(500))]
    name_col = next((c for c in ("nom_qp", "NOM_QP", "name", "nom") if c in q.columns), None)
    q = q.assign(name=q[name_col] if name_col else [f"QPV {i + 1}" for i in range(len(q))])
    return q[["name", "geometry"]].reset_index(drop=True)


def read_dem(
    path: Path, crs: str, bounds: tuple[float, float, float, float], cell_m: float = 30.0
) -> tuple[np.ndarray, Any]:
    """The DEM resampled (bilinear) to the study CRS on a ``cell_m`` grid over ``bounds``."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.warp import Resampling, reproject

    xmin, ymin, xmax, ymax = bounds
    cols = int(np.ceil((xmax - xmin) / cell_m))
    rows = int(np.ceil((ymax - ymin) / cell_m))
    transform = from_origin(xmin, ymax, cell_m, cell_m)
    out = np.full((rows, cols), np.nan, dtype=np.float32)
    try:
        with rasterio.open(path) as src:
            reproject(
                rasterio.band(src, 1),
                out,
                dst_transform=transform,
                dst_crs=crs,
                resampling=Resampling.bilinear,
                dst_nodata=np.nan,
            )
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: cannot be read as an elevation raster ({exc})") from exc
    if np.isnan(out).all():
        raise InputError(f"{path}: the DEM does not cover the study area")
    return np.where(np.isnan(out) | (out < -1000), np.nanmin(out), out), transform


def anchors(town: io.Town, sc: Scenario) -> tuple[jurisdiction.Anchor, list[jurisdiction.Anchor]]:
    """The patrol start and the cable trench ends, inside the study area (cheap; raises early)."""
    source = str(sc.path or sc.name)
    start = jurisdiction.patrol_start(
        town.pois, town.area, town.crs, start=sc.patrol.start, source=source
    )
    ends = jurisdiction.trench_ends(
        town.pois, town.area, town.crs, csu=sc.candidates.csu, source=source
    )
    return start, ends


def area_node(town: io.Town, x: float, y: float) -> int:
    """The graph node inside the study area nearest a point (any node if none is inside)."""
    ids, xy = candidates.node_xy(town.graph)
    inside = shapely.contains_xy(town.area, xy[:, 0], xy[:, 1])
    pool = np.flatnonzero(inside) if inside.any() else np.arange(len(ids))
    return int(ids[pool[cKDTree(xy[pool]).query((x, y))[1]]])


PATROL_SNAP_M = 50.0  # a demand point further than this from the patrol graph gives no stop prize


def patrol_graph(
    town: io.Town, start: jurisdiction.Anchor, demand_xy: np.ndarray
) -> tuple[int, Any, np.ndarray]:
    """The patrol's start node, its graph (the streets inside the area, connected to the start)
    and each demand point's node on it (``-1`` when none within :data:`PATROL_SNAP_M`)."""
    start_node = area_node(town, start.x, start.y)
    g = jurisdiction.area_subgraph(town.graph, town.area, keep=start_node)
    gids, gxy = candidates.node_xy(g)
    d, j = cKDTree(gxy).query(demand_xy) if len(demand_xy) else (np.zeros(0), np.zeros(0, int))
    node = np.where(d <= PATROL_SNAP_M, gids[j] if len(gids) else -1, -1)
    return start_node, g, node


def read_scenario_incidents(sc: Scenario, *, area, crs: str) -> list[incidents.IncidentRead]:
    """Every ``[[incidents]]`` file of the scenario, read with its mapping (same reader everywhere)."""
    return [
        incidents.read_incident_file(
            f.spec(sc.resolve(f.path)),
            area=area,
            crs=crs,
            categories=sc.categories,
            timezone=sc.timezone,
        )
        for f in sc.incidents
    ]


def merge_reads(
    sc: Scenario, reads: list[incidents.IncidentRead], crs: str
) -> tuple[gpd.GeoDataFrame, int]:
    """The files' incidents in one frame, cross-source duplicates dropped (the observatory's rule)."""
    if reads:
        return incidents.merge_sources(
            [r.frame for r in reads],
            distance_m=sc.observatory.duplicate_distance_m,
            minutes=sc.observatory.duplicate_minutes,
        )
    cols = {c: [] for c in incidents.OUTPUT_COLUMNS + ("synthetic", "file")}
    return gpd.GeoDataFrame(cols, geometry=[], crs=crs), 0


def window_incidents(
    sc: Scenario, inc: gpd.GeoDataFrame, tw: windows.TimeWindow
) -> tuple[gpd.GeoDataFrame, np.ndarray, int]:
    """The incidents of the hotspot window, their category weights, and how many have no hour."""
    win = inc[incidents.window_mask(inc, tw)].reset_index(drop=True)
    if len(win) == 0:
        raise InputError(
            f"{sc.path}: no incident in the study area and time window {tw.name!r}; "
            "check [[incidents]] files and [hotspots.window]"
        )
    cat_w = win["category"].map(lambda c: sc.weights.categories.get(c, 1.0)).to_numpy(float)
    n_no_hour = (
        int((win["time_precision"] == "date").sum()) if "time_precision" in win.columns else 0
    )
    return win, cat_w, n_no_hour


def hotspot_grid(
    sc: Scenario, win: gpd.GeoDataFrame, cat_w: np.ndarray, *, bounds, area, window: str
) -> hotspots.DensityGrid:
    """The scenario's hotspot surface: its method with the incident times and category weights.

    The default method trains on the earlier incidents and validates on the later ones (its
    inner temporal hold-out), with each incident weighted by its category, as the scenario
    says; the cell side is the scenario's or one sized to the area (:func:`hotspots.grid_cell_m`).
    """
    xy = np.column_stack([win.geometry.x, win.geometry.y])
    dated = win["datetime"].notna().to_numpy() if len(win) else np.zeros(0, bool)
    times = win["datetime"].reset_index(drop=True) if dated.any() else None
    cell_m = hotspots.grid_cell_m(bounds, len(win), area_m2=area.area, cell_m=sc.hotspots.cell_m)
    weight = None if sc.hotspots.method == "near_repeat" else cat_w
    if sc.hotspots.method == "near_repeat" and times is None:
        raise InputError(
            f'{sc.path}: [hotspots] method = "near_repeat" needs incident times; the files are undated'
        )
    return hotspots.predict(
        sc.hotspots.method,
        xy,
        weight=weight,
        train_time=times,
        bounds=bounds,
        cell_m=cell_m,
        bandwidth_m=sc.hotspots.bandwidth_m,
        area=area,
        window=window,
    )


def plan(sc: Scenario, *, on_step: StepCallback | None = None) -> Result:
    """Run every analysis step of a scenario and return the results (nothing is written)."""
    timings: dict[str, float] = {}
    counts: dict[str, Any] = {}

    # 1. load --------------------------------------------------------------------------------
    if sc.area is None:
        raise InputError(
            f"{sc.path}: no [area] (OSM extract and boundary or polygon): a camera plan needs streets; "
            f"run `siteplanner incidents {sc.path}` for the incident maps without streets"
        )
    with _step("load", timings, on_step):
        town = io.scenario_town(sc)
        # the jurisdiction's anchors, before any heavy work: a town without a patrol start fails here
        start_anchor, trench_anchors = anchors(town, sc)
        reads = read_scenario_incidents(sc, area=town.area, crs=town.crs)
        inc, n_dup = merge_reads(sc, reads, town.crs)
        qpv = read_qpv(sc.resolve(sc.area.qpv), town.crs, town.area) if sc.area.qpv else None
        existing_file = _existing_cameras(sc, town)
        counts.update(town.summary())
        counts["incidents"] = len(inc)
        counts["incident_rows"] = incidents.ingest_counts(reads)
        counts["incident_duplicates_dropped"] = n_dup
        counts["incidents_by_category"] = {
            k: int(v) for k, v in inc["category"].value_counts().sort_index().items()
        }
        counts["incidents_by_source"] = {
            k: int(v) for k, v in inc["source"].value_counts().sort_index().items()
        }
        counts["qpv"] = 0 if qpv is None else len(qpv)

    # 2. hotspots ----------------------------------------------------------------------------
    with _step("hotspots", timings, on_step):
        tw = time_window(sc.hotspots.window)
        win, cat_w, n_no_hour = window_incidents(sc, inc, tw)
        counts["incidents_in_window"] = len(win)
        counts["incidents_in_window_no_hour"] = n_no_hour
        xy = np.column_stack([win.geometry.x, win.geometry.y])
        xmin, ymin, xmax, ymax = town.area.buffer(town.margin_m).bounds
        bounds = (np.floor(xmin), np.floor(ymin), np.ceil(xmax), np.ceil(ymax))
        grid = hotspot_grid(sc, win, cat_w, bounds=bounds, area=town.area, window=tw.name)
        counts["hotspot_cell_m"] = grid.cell_m
        edges = io.edges_gdf(town.graph, town.crs)
        demand_xy, _ = hotspots.street_points(edges, spacing_m=sc.hotspots.street_spacing_m)
        inside = shapely.contains_xy(town.area, demand_xy[:, 0], demand_xy[:, 1])
        demand_xy = demand_xy[inside]
        intensity = hotspots.sample_grid(grid, demand_xy)
        sens: dict[str, Any] = {
            k: np.column_stack([g.geometry.x, g.geometry.y])
            for k in SENSITIVE_KINDS
            if len(g := town.pois[town.pois["kind"] == k])
        }
        if qpv is not None and len(qpv):
            sens["qpv"] = qpv.union_all()
        mult = coverage.sensitive_multiplier(
            demand_xy, sens, sc.weights.sensitive, radius_m=sc.weights.sensitive_radius_m
        )
        demand = coverage.demand_table(demand_xy, intensity, mult, town.crs)
        demand, notes = _field_notes_demand(
            sc, town, demand, demand_xy
        )  # marches exploratoires (#17)
        counts["demand_points"] = len(demand)
        # sensitive sites in the margin raise demand inside the commune, and are counted apart
        sens_pois = town.pois[town.pois["kind"].isin(SENSITIVE_KINDS)]
        counts["sensitive_sites_outside_area"] = int(
            (~jurisdiction.inside_flags(sens_pois.geometry, town.area)).sum()
        )

    # 3. candidates --------------------------------------------------------------------------
    with _step("candidates", timings, on_step):
        exclusion = None
        if sc.candidates.exclusion:
            exclusion = (
                gpd.read_file(sc.resolve(sc.candidates.exclusion)).to_crs(town.crs).union_all()
            )
        pois = town.pois[town.pois["kind"] != "camera"]  # existing cameras: existing_file
        sites = candidates.candidate_sites(
            town.graph,
            town.area,
            pois,
            town.buildings,
            min_street_count=sc.candidates.min_street_count,
            street_lamps=sc.candidates.street_lamps,
            public_facades=sc.candidates.public_facades,
            exclusion=exclusion,
            existing=existing_file,
        )
        model = sc.camera.chosen()
        node_ids, node_xy = candidates.node_xy(town.graph)
        tree = cKDTree(node_xy)
        csu_nodes = [area_node(town, a.x, a.y) for a in trench_anchors]
        counts["trench_ends"] = [a.label for a in trench_anchors]
        costs = candidates.site_costs(
            sites,
            town.graph,
            csu_nodes,
            camera_eur=model.price_eur,
            mast_eur=sc.candidates.mast_eur,
            facade_mount_eur=sc.candidates.facade_mount_eur,
            trench_eur_per_m=sc.candidates.trench_eur_per_m,
        )
        sites = pd.concat([sites, costs], axis=1)
        review = None
        if sc.review_path.is_file():
            from . import review as review_mod

            review = review_mod.read_review(sc.review_path, sites["site_id"].tolist())
            sites = _apply_moves(sites, review, town, tree, node_ids, csu_nodes, sc, model)
        cam_info = existing_file.set_index("site_id")[["heading_deg", "fov_deg", "heading_source"]]
        cam_info = cam_info.rename(
            columns={"heading_deg": "fixed_heading_deg", "fov_deg": "fixed_fov_deg"}
        )
        sites = sites.join(cam_info, on="site_id")
        sites["heading_source"] = sites["heading_source"].where(sites["existing"], "assumed best")
        counts["candidate_sites"] = int((~sites["existing"]).sum())
        counts["existing_cameras"] = int(sites["existing"].sum())

    # 4. coverage ----------------------------------------------------------------------------
    with _step("coverage", timings, on_step):
        ranges = camera_ranges(model)
        range_m = ranges[sc.camera.covered_at]
        fov_deg = coverage.wedge_fov_deg(
            model.fov_deg
            if model.fov_deg
            else viewshed.horizontal_fov_deg(model.focal_mm, model.sensor_width_mm),
            model.kind,
        )
        obstacles = viewshed.build_obstacles(
            town.buildings.geometry, heights_m=town.buildings["height_m"].to_numpy()
        )
        terrain = None
        if sc.area.dem:
            dem, transform = read_dem(
                sc.resolve(sc.area.dem), town.crs, town.area.buffer(town.margin_m + range_m).bounds
            )
            terrain = {
                "dem": dem,
                "transform": transform,
                "camera_height_m": model.mount_height_m,
                "target_height_m": sc.camera.target_height_m,
            }
        sites_xy = np.column_stack([sites.geometry.x, sites.geometry.y])
        fov = coverage.fields_of_view(
            obstacles,
            sites_xy,
            range_m=range_m,
            fov_deg=fov_deg,
            n_headings=sc.camera.n_headings,
            target_xy=demand_xy,
            target_weight=demand["weight"].to_numpy(),
            terrain=terrain,
            fixed_heading_deg=sites["fixed_heading_deg"].to_numpy(float),
            site_fov_deg=sites["fixed_fov_deg"].to_numpy(float),
        )
        if sc.camera.coverage == "network":
            A = coverage.network_coverage_matrix(
                town.graph, sites["node"].tolist(), demand_xy, range_m=range_m
            )
        else:
            A = coverage.coverage_matrix(fov.polygons, demand_xy)
        sites["heading_deg"] = np.round(fov.heading_deg, 1)
        # a camera's own field of view counts with its known heading, or when it sees all round
        own_fov = sites["fixed_fov_deg"].to_numpy(float)
        used = np.isfinite(own_fov) & (
            np.isfinite(sites["fixed_heading_deg"].to_numpy(float)) | (own_fov >= 360)
        )
        sites["fov_deg"] = np.where(used, own_fov, fov.fov_deg)
        sites = sites.drop(columns=["fixed_heading_deg", "fixed_fov_deg"])
        sites["range_m"] = round(range_m, 1)
        sites["reach_m"] = np.round(
            candidates.network_reach_m(town.graph, sites["node"].tolist(), distance_m=150.0), 0
        )
        for lvl, r in ranges.items():
            sites[f"{lvl}_m"] = round(r, 1)
        privacy_masks = _privacy(sites, fov, town, ranges["recognition"])
        counts["coverage_nonzeros"] = int(A.nnz)
        A_day, lit_streets = A, None
        if (
            sc.lighting is not None
        ):  # a plan for a night window counts what cameras see at night (#17)
            lit_streets = _street_lighting(sc, town)
            A = _window_matrix(sc, A, sites_xy, demand_xy, model, lit_streets, counts)

    # 5. next phase --------------------------------------------------------------------------
    with _step("optimise", timings, on_step):
        weight = demand["weight"].to_numpy(float)
        existing = sites["existing"].to_numpy()
        ids = sites["site_id"].to_numpy()
        accepted = (
            np.isin(ids, sorted(review.accepted | {f"{m}-M" for m in review.moved}))
            if review
            else np.zeros(len(ids), bool)
        )
        rejected = (
            np.isin(ids, sorted(review.rejected | set(review.moved)))
            if review
            else np.zeros(len(ids), bool)
        )
        fixed = np.flatnonzero(existing | (accepted & ~rejected))
        empty = np.asarray([p.is_empty for p in fov.polygons])
        privacy_out = (
            (sc.candidates.privacy_policy == "exclude")
            & sites["privacy_mask"].to_numpy(bool)
            & ~accepted
        )
        radius_m = review_radius_m(sc, ranges)
        near_decided = (
            review_exclusion(sites_xy, ids, review, radius_m) & ~rejected & ~accepted & ~existing
        )
        excluded = np.flatnonzero(
            (empty | rejected | near_decided | privacy_out)
            & ~existing
            & ~np.isin(np.arange(len(ids)), fixed)
        )
        counts["excluded_sites"] = {
            "empty_view": int((empty & ~existing).sum()),
            "review_rejected_or_moved": int(rejected.sum()),
            "review_radius": int(near_decided.sum()),
            "privacy_policy": int(privacy_out.sum()),
        }
        counts["review_decisions"] = review_counts(review)
        counts["review_radius_m"] = round(radius_m, 1)
        cost = sites["cost_eur"].to_numpy(float)
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
        # accepted sites of the référent sûreté belong to the next phase: count them in its k
        n_accepted = int((accepted & ~rejected & ~existing).sum())
        if n_accepted and phases[0].k is not None:
            left = phases[0].k - n_accepted
            if left < 1:
                log.warning(
                    "the référent sûreté accepted %d site(s), k = %d: the next phase proposes one more site",
                    n_accepted,
                    phases[0].k,
                )
            phases[0] = optimise.Phase(name=phases[0].name, year=phases[0].year, k=max(left, 1))
        phase_plans = optimise.plan_phases(
            A,
            weight,
            phases,
            cost_eur=cost,
            fixed=fixed,
            excluded=excluded,
            funded_share=sc.plan.funded_share,
            method=sc.plan.method,
            time_limit_s=sc.plan.time_limit_s,
            min_spacing_m=sc.plan.min_spacing_m,
            site_xy=sites_xy,
            backup_share=sc.plan.backup_share,
        )
        result_plan = phase_plans[0].plan
        k_max = min(int((~existing).sum() - len(excluded)), max(60, 3 * (sc.plan.k or 10)))
        curve = optimise.coverage_curve(
            A, weight, k_max=max(k_max, 0), fixed=np.flatnonzero(existing), excluded=excluded
        )
        _annotate_sites(
            sites,
            A,
            weight,
            result_plan,
            fov,
            win,
            town,
            sc,
            phase_plans=phase_plans,
            accepted=accepted & ~existing,
        )

    # 5b. night coverage (issue #17) ----------------------------------------------------------
    night = None
    if sc.lighting is not None:
        with _step("night coverage", timings, on_step):
            night = _night_coverage(
                sc, A_day, weight, sites_xy, demand_xy, result_plan, model, existing, lit_streets
            )

    # 6. patrol ------------------------------------------------------------------------------
    with _step("patrol", timings, on_step):
        chosen = list(result_plan.fixed) + list(result_plan.selected)
        seen = (
            np.asarray(A[chosen].sum(axis=0)).ravel() > 0 if chosen else np.zeros(A.shape[1], bool)
        )
        # the patrols ride the commune's own streets: the part of the graph inside the area
        start, pgraph, demand_node = patrol_graph(town, start_anchor, demand_xy)
        start_label = start_anchor.label
        # each shift's prize: the hotspot intensity of its own time window, where the cameras do not see
        shift_prizes: dict[str, pd.Series] = {}
        for s_ in sc.patrol.shifts:
            if s_.window is None:
                w_int = weight
            else:
                stw = time_window(s_.window)
                m = incidents.window_mask(win, stw)
                if m.sum() < 3:
                    log.warning(
                        "shift %r: only %d incident(s) in its window %r; using the whole window's hotspots",
                        s_.name,
                        int(m.sum()),
                        stw.name,
                    )
                    w_int = weight
                else:
                    g_s = hotspots.predict(
                        "kde",
                        xy[m],
                        weight=cat_w[m],
                        bounds=bounds,
                        cell_m=grid.cell_m,
                        bandwidth_m=sc.hotspots.bandwidth_m or 100.0,
                        window=stw.name,
                    )
                    w_int = hotspots.sample_grid(g_s, demand_xy) * demand["multiplier"].to_numpy()
            prize_pt = patrol.uncovered_prizes(w_int, _shift_seen(s_, seen, night).astype(float))
            on = (
                demand_node >= 0
            )  # points with no street of the patrol graph near them earn nothing
            np_ = pd.Series(prize_pt[on]).groupby(demand_node[on]).sum()
            shift_prizes[s_.name] = np_[np_ > 0]
        allp = pd.concat(shift_prizes.values(), axis=1).fillna(0.0)
        score = allp.max(axis=1).sort_values(ascending=False, kind="stable")
        cand_nodes = score.index[: sc.patrol.n_candidates].astype(int).tolist()
        shifts = [
            patrol.Shift(
                name=s_.name,
                budget_min=s_.budget_min,
                speed_kmh=s_.speed(),
                dwell_min=s_.dwell_min,
                teams=s_.teams,
                prizes=tuple(shift_prizes[s_.name].reindex(cand_nodes).fillna(0.0).tolist()),
            )
            for s_ in sc.patrol.shifts
        ]
        circuits = patrol.plan_circuits(
            pgraph, start, cand_nodes, score.reindex(cand_nodes).tolist(), shifts=shifts, seed=0
        )
        counts["patrol_variants"] = {}
        for s_, sh in zip(sc.patrol.shifts, shifts):
            if s_.variants:  # seeded alternatives within a share of the best prize (the best one is already planned)
                with warnings.catch_warnings():  # fewer than asked: logged here, said in the report
                    warnings.simplefilter("ignore", UserWarning)
                    alt = patrol.variants(
                        pgraph,
                        start,
                        cand_nodes,
                        list(sh.prizes),
                        n=s_.variants + 1,
                        within_share=s_.variants_within,
                        budget_min=sh.budget_min,
                        speed_kmh=sh.speed_kmh,
                        dwell_min=sh.dwell_min,
                        seed=0,
                        name=f"{s_.name} variante",
                    )
                circuits += [
                    dataclasses.replace(c, name=f"{s_.name} variante {j}")
                    for j, c in enumerate(alt[1:], start=1)
                ]
                counts["patrol_variants"][s_.name] = {
                    "asked": s_.variants,
                    "found": len(alt) - 1,
                    "within_share": s_.variants_within,
                }
                if len(alt) - 1 < s_.variants:
                    log.warning(
                        "shift %r: %d of %d variant(s) found: no other circuit within %.0f %% of the best "
                        "prize has at least half of its stops new",
                        s_.name,
                        len(alt) - 1,
                        s_.variants,
                        100 * s_.variants_within,
                    )
        circuits = patrol.name_stops(circuits, town.graph, town.pois)
        counts["patrol_start"] = start_label

    res = Result(
        scenario=sc,
        town=town,
        incidents=inc,
        window_incidents=win,
        grid=grid,
        demand=demand,
        sites=sites,
        fov=fov,
        A=A,
        plan=result_plan,
        circuits=circuits,
        timings_s=timings,
        counts=counts,
        qpv=qpv,
        privacy_masks=privacy_masks,
        phase_plans=phase_plans,
        curve=curve,
        review=review,
        shift_prizes={k: v.to_dict() for k, v in shift_prizes.items()},
        night=night,
        field_notes=notes,
        quarantine_csv=incidents.quarantine_csv(reads),
        review_outcomes=review_outcomes(sites, review, counts["review_radius_m"]),
        phases=phase_table(sites, phase_plans),
    )
    _issue17_steps(res, timings, on_step)
    return res


# ---------------------------------------------------------------------------------------------
# issue #17: night coverage, marches exploratoires, town entrances
# ---------------------------------------------------------------------------------------------


def _street_lighting(
    sc: Scenario, town: io.Town
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """The streets, their lighting state and its source (OSM `lit`, the lighting file, assumed)."""
    from . import lighting

    lt = sc.lighting
    edges = io.edges_gdf(town.graph, town.crs)
    way_ids = lighting.edge_way_ids(town.graph, edges)
    osm_lit = lighting.read_osm_lit(sc.resolve(sc.area.osm), {w for ids in way_ids for w in ids})
    osm_values = lighting.edge_lit_values(town.graph, edges, osm_lit)
    file_values = (
        lighting.read_lighting_file(sc.resolve(lt.file), edges, way_ids, match_m=lt.match_m)
        if lt is not None and lt.file
        else None
    )
    states, sources = lighting.street_states(osm_values, file_values)
    return edges, states, sources


def _window_matrix(
    sc: Scenario,
    A,
    sites_xy: np.ndarray,
    demand_xy: np.ndarray,
    model,
    lit_streets,
    counts: dict[str, Any],
):
    """The coverage table the plan optimises: the night table of the hotspot window's darkest phase."""
    from . import lighting

    lt = sc.lighting
    phase = lighting.phase_of_hours(sc.hotspots.window.hours, night=lt.night, off=lt.off)
    counts["plan_lighting_phase"] = phase
    if (
        phase == "day" or sc.hotspots.window.hours is None
    ):  # a whole-day window is planned on daytime coverage
        counts["plan_lighting_phase"] = "day"
        return A
    edges, states, _ = lit_streets
    lit = lighting.lit_in_phase(
        states[lighting.nearest_street(demand_xy, edges)], phase, unknown_lit=lt.unknown == "lit"
    )
    log.info(
        "the hotspot window %r is at night: the plan counts what cameras see in the %s",
        sc.hotspots.window.name,
        phase,
    )
    return lighting.night_matrix(
        A,
        sites_xy,
        demand_xy,
        lit,
        ir_range_m=model.ir_range_m,
        sees_lit=model.min_lux <= lt.lit_lux,
        sees_dark=model.min_lux <= lt.dark_lux,
    )


def _night_coverage(
    sc: Scenario,
    A,
    weight: np.ndarray,
    sites_xy: np.ndarray,
    demand_xy: np.ndarray,
    plan_: optimise.Plan,
    model,
    existing: np.ndarray,
    lit_streets,
) -> Any:
    """Night coverage of the plan: street lighting from OSM `lit` and the lighting file."""
    from . import lighting

    lt = sc.lighting
    edges, states, sources = lit_streets
    return lighting.night_coverage(
        A,
        weight,
        sites_xy,
        demand_xy,
        edges,
        states,
        sources,
        before=np.flatnonzero(existing),
        after=list(plan_.fixed) + list(plan_.selected),
        ir_range_m=model.ir_range_m,
        sees_lit=model.min_lux <= lt.lit_lux,
        sees_dark=model.min_lux <= lt.dark_lux,
        unknown_lit=lt.unknown == "lit",
        night=lt.night,
        off=lt.off,
    )


def _shift_seen(shift, seen: np.ndarray, night) -> np.ndarray:
    """What the cameras see during a patrol shift: the night coverage in its darkest phase."""
    if night is None:
        return seen
    from . import lighting

    hours = shift.window.hours if shift.window is not None else None
    phase = lighting.phase_of_hours(hours, night=night.night, off=night.off)
    phase = phase if phase in night.seen_by_phase else "night"
    return night.seen_by_phase[phase]


def _issue17_steps(res: Result, timings: dict[str, float], on_step: StepCallback | None) -> None:
    """Field-note outcomes and town entrances (after the patrol: notes on circuits count)."""
    sc = res.scenario
    if res.field_notes is not None:
        with _step("field notes", timings, on_step):
            res.field_notes = _note_outcomes(res)
    if sc.entrances is not None:
        with _step("entrances", timings, on_step):
            from . import entrances

            edges = io.edges_gdf(res.town.graph, res.town.crs)
            through = (
                entrances.through_traffic(res.town.graph, edges, res.town.area)
                if sc.entrances.residential
                else np.zeros(len(edges), bool)
            )
            res.entrances = entrances.town_entrances(
                edges, res.town.area, through=through, merge_m=sc.entrances.merge_m
            )
            res.counts["town_entrances"] = len(res.entrances)


def _write_issue17(res: Result, stage: Path) -> None:
    """Tables of issue #17: town entrances, field-note outcomes, night coverage and dark streets."""
    from . import entrances, report_sections

    def csv(df: pd.DataFrame) -> str:
        return df.to_csv(index=False, lineterminator="\n")

    if res.entrances is not None:
        t = entrances.entrances_table(res.entrances).assign(legal_note=entrances.LAPI_NOTE)
        io.write_text(stage / "entrances.csv", csv(t))
    if res.field_notes is not None and "outcome" in res.field_notes:
        io.write_text(stage / "field_notes.csv", csv(report_sections.notes_table(res)))
    if res.night is not None:
        io.write_text(stage / "night_coverage.csv", csv(report_sections.night_table(res)))
        io.write_text(stage / "night_dark_streets.csv", csv(res.night.dark_streets.round(6)))


def _field_notes_demand(
    sc: Scenario, town: io.Town, demand: gpd.GeoDataFrame, demand_xy: np.ndarray
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """Read the walks' notes and raise the demand near them (each file with its own weights)."""
    if not sc.field_notes:
        return demand, None
    from . import field_notes

    weight = demand["weight"].to_numpy(float)
    frames = []
    for spec in sc.field_notes:
        notes = field_notes.read_notes(sc.resolve(spec.path), walk=spec.walk, crs=spec.crs).to_crs(
            town.crs
        )
        weight, inside = field_notes.notes_demand(
            demand_xy, weight, notes, town.area, weights=spec.weights, radius_m=spec.radius_m
        )
        frames.append(notes.assign(inside=inside, patrol_m=spec.patrol_m))
    notes = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=town.crs)
    if (~notes["inside"]).any():
        log.warning(
            "%d field note(s) outside the study area: listed in the report, no demand raised",
            int((~notes["inside"]).sum()),
        )
    return demand.assign(weight=weight), notes


def _note_outcomes(res: Result) -> gpd.GeoDataFrame:
    """One outcome per field note: camera, patrol circuit, unlit street, not addressed."""
    from . import field_notes, lighting

    sc, town = res.scenario, res.town
    shown = res.sites[res.sites["status"].isin(["proposed", "existing"])].sort_values(
        ["status", "rank"], kind="stable"
    )
    labels = [
        f"{sid} (existing)" if st == "existing" else f"{sid} (proposed, rank {int(r)})"
        for sid, st, r in zip(shown["site_id"], shown["status"], shown["rank"])
    ]
    edges = io.edges_gdf(town.graph, town.crs)
    way_ids = lighting.edge_way_ids(town.graph, edges)
    osm_lit = lighting.read_osm_lit(sc.resolve(sc.area.osm), {w for ids in way_ids for w in ids})
    lt = sc.lighting
    file_values = (
        lighting.read_lighting_file(sc.resolve(lt.file), edges, way_ids, match_m=lt.match_m)
        if lt is not None and lt.file
        else None
    )
    states, _ = lighting.street_states(
        lighting.edge_lit_values(town.graph, edges, osm_lit), file_values
    )
    lit = lighting.lit_in_phase(states, "night", unknown_lit=lt is None or lt.unknown == "lit")
    notes = res.field_notes
    patrol_m = float(notes["patrol_m"].max()) if len(notes) else 25.0
    out = field_notes.note_outcomes(
        notes,
        notes["inside"].to_numpy(bool),
        fov=[res.fov.polygons[i] for i in shown.index],
        site_labels=labels,
        circuits=[(c.name, c.geometry) for c in res.circuits],
        edges=edges,
        street_lit=lit,
        patrol_m=patrol_m,
    )
    if res.night is not None:  # a camera that sees a note by day may not see it in the dark
        night_lit = lighting.lit_in_phase(
            states, res.night.darkest, unknown_lit=lt.unknown == "lit"
        )
        xy = dict(zip(shown["site_id"], zip(shown.geometry.x, shown.geometry.y)))
        ir = sc.camera.chosen().ir_range_m
        for i in np.flatnonzero(out["outcome"].to_numpy() == "camera"):
            g = out.geometry.iloc[i]
            j = int(edges.sindex.nearest(g, return_all=False)[1][0])
            sids = [b.split(" ")[0] for b in out["addressed_by"].iloc[i].split("; ")]
            if not night_lit[j] and all(g.distance(shapely.Point(xy[sid])) > ir for sid in sids):
                out.iloc[i, out.columns.get_loc("addressed_by")] += (
                    f" — by day only: dark in the {res.night.darkest}"
                )
    res.counts["field_notes"] = {
        k: int(v) for k, v in out["outcome"].value_counts().sort_index().items()
    }
    return out.drop(columns=["patrol_m"])


def _privacy(
    sites: gpd.GeoDataFrame, fov: coverage.FieldsOfView, town: io.Town, recognition_m: float
) -> dict[int, Any]:
    """L251-3 figures of each site: residential façade and entrances seen at recognition range."""
    res_b = town.buildings[town.buildings["residential"]]
    ent = town.pois[town.pois["kind"] == "entrance"]
    ent_xy = np.column_stack([ent.geometry.x, ent.geometry.y]) if len(ent) else np.zeros((0, 2))
    facade, n_ent, masks = np.zeros(len(sites)), np.zeros(len(sites), int), {}
    sindex = res_b.sindex
    for i, p in enumerate(fov.polygons):
        if p.is_empty:
            continue
        o = sites.geometry.iloc[i]
        near = res_b.iloc[sindex.query(o.buffer(recognition_m + 1), predicate="intersects")]
        pr = privacy.privacy_figures(
            p,
            (o.x, o.y),
            residential=near.geometry,
            entrances_xy=ent_xy,
            recognition_range_m=recognition_m,
        )
        facade[i], n_ent[i] = pr.facade_m, pr.n_entrances
        if not pr.mask.is_empty:
            masks[i] = pr.mask
    sites["privacy_facade_m"] = np.round(facade, 1)
    sites["privacy_entrances"] = n_ent
    sites["privacy_mask"] = (facade > 0) | (n_ent > 0)
    return masks


def _apply_moves(
    sites: gpd.GeoDataFrame,
    review,
    town: io.Town,
    tree: cKDTree,
    node_ids: np.ndarray,
    csu_nodes: list[int],
    sc: Scenario,
    model,
) -> gpd.GeoDataFrame:
    """Add a site ``<site_id>-M`` at each position the référent sûreté moved a site to."""
    if not review.moved:
        return sites
    rows = []
    for sid, (lon, lat) in sorted(review.moved.items()):
        p = gpd.GeoSeries.from_xy([lon], [lat], crs="EPSG:4326").to_crs(town.crs).iloc[0]
        orig = sites[sites["site_id"] == sid]
        kind = orig["kind"].iloc[0] if len(orig) else "intersection"
        mount = orig["mount"].iloc[0] if len(orig) else "mast"
        _, j = tree.query((p.x, p.y))
        rows.append(
            {
                "site_id": f"{sid}-M",
                "kind": kind,
                "mount": mount,
                "existing": False,
                "name": f"moved from {sid}",
                "node": int(node_ids[j]),
                "geometry": p,
            }
        )
    moved = gpd.GeoDataFrame(rows, geometry="geometry", crs=town.crs)
    costs = candidates.site_costs(
        moved,
        town.graph,
        csu_nodes,
        camera_eur=model.price_eur,
        mast_eur=sc.candidates.mast_eur,
        facade_mount_eur=sc.candidates.facade_mount_eur,
        trench_eur_per_m=sc.candidates.trench_eur_per_m,
    )
    moved = pd.concat([moved, costs], axis=1)
    return pd.concat([sites, moved[sites.columns]], ignore_index=True)


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


def review_counts(review) -> dict[str, int]:
    """Decisions of the review file counted by kind (every kind present, 0 when none)."""
    counts = {d: 0 for d in ("accept", "reject", "move", "pending")}
    if review is not None:
        for r in review.rows:
            counts[r.decision] = counts.get(r.decision, 0) + 1
    return counts


def _existing_cameras(sc: Scenario, town: io.Town) -> gpd.GeoDataFrame:
    """The existing cameras the scenario asks for (``[area] existing_cameras``), town's CRS."""
    from . import cameras

    feats = town.extras.get("camera_features", gpd.GeoDataFrame(geometry=[], crs=town.crs))
    if sc.area.existing_cameras == "none":
        out = cameras.osm_cameras(feats.iloc[:0])
    elif sc.area.existing_cameras == "osm":
        out = cameras.osm_cameras(feats, exclude=sc.area.camera_exclude)
    else:
        out = cameras.read_cameras(
            sc.resolve(sc.area.cameras_file), crs=sc.area.existing_cameras_crs
        )
    out = out.to_crs(town.crs) if out.crs is not None else out.set_crs(town.crs)
    log.info(
        "existing cameras (%s): %d, of which %d with a known heading",
        sc.area.existing_cameras,
        len(out),
        int(np.isfinite(out["heading_deg"].to_numpy(float)).sum()),
    )
    return out


def camera_ranges(model) -> dict[str, float]:
    """Range of a catalogue camera at each DORI level (EN 62676-4)."""
    if model.range_m is not None:
        return {
            lvl: float(model.range_m) * viewshed.DORI_PPM["observation"] / ppm
            for lvl, ppm in viewshed.DORI_PPM.items()
        }
    return {
        lvl: viewshed.dori_range_m(model.focal_mm, model.sensor_width_mm, model.width_px, ppm)
        for lvl, ppm in viewshed.DORI_PPM.items()
    }


def _annotate_sites(
    sites: gpd.GeoDataFrame,
    A: csr_matrix,
    weight: np.ndarray,
    plan_: optimise.Plan,
    fov: coverage.FieldsOfView,
    win: gpd.GeoDataFrame,
    town: io.Town,
    sc: Scenario,
    *,
    phase_plans: list[optimise.PhasePlan] = (),
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
    for pp in phase_plans or []:
        for i, g in zip(pp.plan.selected, pp.plan.marginal_gain):
            r += 1
            status[i] = "proposed"
            phase[i] = pp.phase.name
            rank[i] = r
            gain[i] = g
            solver[i] = pp.plan.solver
            gap[i] = pp.plan.gap
    if not phase_plans:
        for r, (i, g) in enumerate(zip(plan_.selected, plan_.marginal_gain), start=1):
            status[i], phase[i], rank[i], gain[i], solver[i], gap[i] = (
                "proposed",
                sc.plan.phase_name,
                r,
                g,
                plan_.solver,
                plan_.gap,
            )
    # sites accepted by the référent sûreté are part of the next phase, ranked first
    acc = np.flatnonzero(accepted)
    if len(acc):
        rank = np.where(np.isnan(rank), rank, rank + len(acc))
        for j, i in enumerate(acc, start=1):
            status[i], phase[i], rank[i], solver[i], gap[i] = (
                "proposed",
                sc.plan.phase_name,
                j,
                "review: accepted",
                0.0,
            )
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
        np.asarray(coverage.coverage_matrix(fov.polygons, inc_xy).sum(axis=1)).ravel().astype(int)
        if len(inc_xy)
        else 0
    )
    sites["sensitive_sites"] = sensitive_names(sites, fov, town)


def sensitive_names(
    sites: gpd.GeoDataFrame, fov: coverage.FieldsOfView, town: io.Town
) -> list[str]:
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


# ---------------------------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------------------------


def summary(res: Result) -> dict[str, Any]:
    """The content of ``summary.json``."""
    sc, p = res.scenario, res.plan
    sel_ids = res.proposed["site_id"].tolist()
    phases = res.phases if res.phases is not None else phase_table(res.sites, res.phase_plans)
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
        "plan": {
            "k": len(sel_ids),
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
            "decisions": res.counts.get("review_decisions", review_counts(None)),
            "reject_radius_m": res.counts.get("review_radius_m"),
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
        "timings_s": res.timings_s,
    }
    out.update(_issue17_summary(res))
    return out


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
            **{f"{lvl}_m": s[f"{lvl}_m"].to_numpy() for lvl in viewshed.DORI_PPM},
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


def coverage_problem(res: Result) -> optimise.CoverageProblem:
    return optimise.CoverageProblem(
        A=res.A.tocsr(),
        demand_weight=res.demand["weight"].to_numpy(float),
        demand_xy=np.column_stack([res.demand.geometry.x, res.demand.geometry.y]),
        site_id=res.sites["site_id"].to_numpy(str),
        site_cost_eur=res.sites["cost_eur"].to_numpy(float),
        existing=res.sites["existing"].to_numpy(bool),
        crs=res.town.crs,
    )


def write_outputs(res: Result, out_dir: Path) -> list[Path]:
    """Write every output into ``out_dir`` (staged, then moved into place file by file)."""
    from . import plot

    with io.staged_folder(out_dir) as (stage, written):
        io.write_geojson(stage / "sites.geojson", sites_frame(res))
        io.write_geojson(stage / "viewsheds.geojson", viewsheds_frame(res))
        io.write_geojson(stage / "patrols.geojson", patrols_frame(res))
        io.write_with(stage / "hotspots.tif", lambda p: hotspots_tif(res, p))
        arrays = optimise.coverage_arrays(coverage_problem(res))
        io.write_with(stage / "coverage.npz", lambda p: np.savez_compressed(p, **arrays))
        for c in res.circuits:
            io.write_text(stage / f"patrol_{_slug(c.name)}.gpx", patrol.to_gpx(c, res.town.crs))
        overview = plot.plan_map(res, scheme=res.scenario.output.map_classes)
        buf = BytesIO()
        overview.savefig(buf, dpi=150, format="png", metadata={"Software": None})
        io.write_with(stage / "map.png", lambda p: Path(p).write_bytes(buf.getvalue()))
        write_plan_tables(res, stage)
        _write_issue17(res, stage)  # entrances.csv, field_notes.csv, night_coverage.csv (#17)
        from . import export, report, webmap

        export.write_exports(res, stage)  # plan.gpkg (QGIS styles), prefecture.csv
        # report.html (report.pdf when [output] pdf = true); the overview map is drawn once
        report.write_report(
            res,
            stage,
            pdf=res.scenario.output.pdf,
            overview=overview,
            overview_png=report.shrink_png(buf.getvalue(), 80 / 150),
        )
        webmap.write_map(res, stage)  # map.html
        io.write_text(
            stage / "quarantine.csv", res.quarantine_csv
        )  # incident rows set aside (line, reason)
        io.write_json(stage / "summary.json", summary(res))
    return written


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


def plan_table(res: Result) -> pd.DataFrame:
    """``plan.csv``: one row per phase (cost, funded and town shares, coverage reached, sites)."""
    return res.phases if res.phases is not None else phase_table(res.sites, res.phase_plans)


def curve_table(res: Result) -> pd.DataFrame:
    """``coverage_curve.csv``: covered share after 0, 1, … new cameras (greedy order), and the gain of each."""
    c = np.asarray(res.curve if res.curve is not None else [], float)
    return pd.DataFrame(
        {
            "new_cameras": np.arange(len(c)),
            "coverage_share": np.round(c, 6),
            "gain": np.round(np.r_[0.0, np.diff(c)] if len(c) else c, 6),
        }
    )


def write_plan_tables(res: Result, stage: Path) -> None:
    """plan.csv, coverage_curve.csv and its figure, and one itinerary per patrol circuit."""
    from . import plot

    io.write_text(stage / "plan.csv", plan_table(res).to_csv(index=False, lineterminator="\n"))
    io.write_text(
        stage / "coverage_curve.csv", curve_table(res).to_csv(index=False, lineterminator="\n")
    )
    curve = plot.coverage_curve(res)
    io.write_with(
        stage / "coverage_curve.png",
        lambda p: curve.savefig(p, dpi=120, format="png", metadata={"Software": None}),
    )
    for c in res.circuits:
        lines = [
            f"{c.name}: {c.length_m / 1000:.2f} km, {c.duration_min:.0f} min of {c.budget_min:.0f}, {len(c.stops)} stops"
        ]
        lines += [
            f"{i:>3}. {line}"
            for i, line in enumerate(patrol.itinerary_lines(res.town.graph, c), start=1)
        ]
        io.write_text(stage / f"patrol_{_slug(c.name)}_itinerary.txt", "\n".join(lines) + "\n")


def _slug(s: str) -> str:
    import re
    import unicodedata

    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-zA-Z0-9]+", "_", s).strip("_").lower() or "circuit"


def hotspots_tif(res: Result, path: Path) -> None:
    """Write the density raster as a GeoTIFF with its CRS and window in the tags."""
    import rasterio

    g = res.grid
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=g.values.shape[0],
        width=g.values.shape[1],
        count=1,
        dtype="float32",
        crs=res.town.crs,
        transform=g.transform,
        compress="deflate",
        nodata=None,
    ) as dst:
        dst.write(g.values.astype("float32"), 1)
        dst.update_tags(
            window=g.window,
            method=g.method,
            bandwidth_m=str(g.bandwidth_m),
            cell_m=str(g.cell_m),
            units="weighted incidents per km2",
            synthetic=str(res.synthetic).lower(),
            source="siteplanner " + __version__,
        )


def run(
    sc: Scenario, *, out_dir: Path | None = None, on_step: StepCallback | None = None
) -> tuple[Result, list[Path]]:
    """Plan a scenario and write its outputs; returns the result and the files written."""
    t0 = time.perf_counter()
    res = plan(sc, on_step=on_step)
    out = Path(out_dir) if out_dir is not None else sc.resolve(sc.output.dir)
    with _step("outputs", res.timings_s, on_step):
        files = write_outputs(res, out)
    res.timings_s["total"] = round(time.perf_counter() - t0, 3)
    io.write_json(out / "summary.json", summary(res))
    return res, files
