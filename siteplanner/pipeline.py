"""The one place that runs every step, in order, for a scenario.

``load → hotspots → candidates → coverage → next phase → patrol → outputs``

:func:`plan` computes everything and returns a :class:`Result` without writing anything;
:func:`write_outputs` writes the result's files into a staging folder and moves each into
the output folder only when all are written (a run killed half-way leaves the previous
outputs as they were). :func:`run` does both.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from . import __version__, candidates, coverage, hotspots, incidents, io, optimise, patrol, viewshed, windows
from ._errors import InputError
from .scenario import Scenario, Window

log = logging.getLogger(__name__)

SENSITIVE_KINDS = ("school", "station", "bus_station")
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

    @property
    def synthetic(self) -> bool:
        return bool(len(self.incidents)) and bool(self.incidents["synthetic"].any())

    @property
    def coverage_before(self) -> float:
        return self.plan.covered_before / self.plan.total_weight if self.plan.total_weight else 0.0

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
    return windows.TimeWindow(name=w.name, hours=w.hours, days=w.days, school_holidays=w.school_holidays,
                              public_holidays=w.public_holidays, period=w.period)


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
        log.warning("%s: repaired %d invalid QPV polygon(s) with shapely.make_valid", path.name, int(invalid.sum()))
        q["geometry"] = shapely.make_valid(q.geometry.values)
    q = q.to_crs(crs)
    q = q[q.intersects(area.buffer(500))]
    name_col = next((c for c in ("nom_qp", "NOM_QP", "name", "nom") if c in q.columns), None)
    q = q.assign(name=q[name_col] if name_col else [f"QPV {i + 1}" for i in range(len(q))])
    return q[["name", "geometry"]].reset_index(drop=True)


def read_dem(path: Path, crs: str, bounds: tuple[float, float, float, float], cell_m: float = 30.0) -> tuple[np.ndarray, Any]:
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
            reproject(rasterio.band(src, 1), out, dst_transform=transform, dst_crs=crs, resampling=Resampling.bilinear,
                      dst_nodata=np.nan)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: cannot be read as an elevation raster ({exc})") from exc
    if np.isnan(out).all():
        raise InputError(f"{path}: the DEM does not cover the study area")
    return np.where(np.isnan(out) | (out < -1000), np.nanmin(out), out), transform


def _start_node(town: io.Town, sc: Scenario, node_ids: np.ndarray, tree: cKDTree) -> tuple[int, str]:
    """The patrol start: the scenario's point, else the police station in the area nearest the town hall."""
    if sc.patrol.start is not None:
        p = gpd.GeoSeries.from_xy([sc.patrol.start[0]], [sc.patrol.start[1]], crs="EPSG:4326").to_crs(town.crs).iloc[0]
        label = "scenario patrol.start"
    else:
        police = town.pois[town.pois["kind"] == "police"]
        inside = police[police.within(town.area)]
        police = inside if len(inside) else police
        if police.empty:
            raise InputError(f"{sc.path}: no police station (amenity=police) in the study area; set patrol.start = [lon, lat]")
        ref = town.pois[town.pois["kind"] == "townhall"]
        ref_pt = ref.geometry.iloc[0] if len(ref) else town.area.representative_point()
        police = police.assign(_d=police.distance(ref_pt)).sort_values(["_d", "osm_id"])
        p = police.geometry.iloc[0]
        label = f"police station {police['osm_id'].iloc[0]}"
    _, j = tree.query((p.x, p.y))
    return int(node_ids[j]), label


def plan(sc: Scenario, *, on_step: StepCallback | None = None) -> Result:
    """Run every analysis step of a scenario and return the results (nothing is written)."""
    timings: dict[str, float] = {}
    counts: dict[str, Any] = {}

    # 1. load --------------------------------------------------------------------------------
    with _step("load", timings, on_step):
        town = io.load_town(sc.resolve(sc.area.osm), boundary=sc.area.boundary, area_path=sc.resolve(sc.area.polygon),
                            margin_m=sc.area.margin_m, cache_dir=sc.resolve(sc.cache_dir))
        frames = [incidents.read_incidents(incidents.IncidentSpec(sc.resolve(f.path), f.source, f.crs, f.columns),
                                           area=town.area, crs=town.crs) for f in sc.incidents]
        if frames:
            inc, n_dup = incidents.merge_sources(frames)
        else:
            inc, n_dup = gpd.GeoDataFrame({"id": [], "datetime": [], "category": [], "source": [], "synthetic": [], "file": []},
                                          geometry=[], crs=town.crs), 0
        qpv = read_qpv(sc.resolve(sc.area.qpv), town.crs, town.area) if sc.area.qpv else None
        existing_file = None
        if sc.area.existing_cameras:
            existing_file = gpd.read_file(sc.resolve(sc.area.existing_cameras)).to_crs(town.crs)
        counts.update(town.summary())
        counts["incidents"] = len(inc)
        counts["incident_duplicates_dropped"] = n_dup
        counts["incidents_by_category"] = {k: int(v) for k, v in inc["category"].value_counts().sort_index().items()}
        counts["incidents_by_source"] = {k: int(v) for k, v in inc["source"].value_counts().sort_index().items()}
        counts["qpv"] = 0 if qpv is None else len(qpv)

    # 2. hotspots ----------------------------------------------------------------------------
    with _step("hotspots", timings, on_step):
        tw = time_window(sc.hotspots.window)
        mask = windows.in_window(inc["datetime"], tw) if len(inc) else np.zeros(0, bool)
        win = inc[mask].reset_index(drop=True)
        counts["incidents_in_window"] = len(win)
        if len(win) == 0:
            raise InputError(f"{sc.path}: no incident in the study area and time window {tw.name!r}; "
                             "check [[incidents]] files and [hotspots.window]")
        cat_w = win["category"].map(lambda c: sc.weights.categories.get(c, 1.0)).to_numpy(float)
        xy = np.column_stack([win.geometry.x, win.geometry.y])
        xmin, ymin, xmax, ymax = town.area.buffer(town.margin_m).bounds
        bounds = (np.floor(xmin), np.floor(ymin), np.ceil(xmax), np.ceil(ymax))
        times = win["datetime"] if sc.hotspots.method == "near_repeat" else None
        grid = hotspots.predict(sc.hotspots.method, xy, weight=cat_w, train_time=times, bounds=bounds,
                                cell_m=sc.hotspots.cell_m, bandwidth_m=sc.hotspots.bandwidth_m, window=tw.name)
        edges = io.edges_gdf(town.graph, town.crs)
        demand_xy, _ = hotspots.street_points(edges, spacing_m=sc.hotspots.street_spacing_m)
        inside = shapely.contains_xy(town.area, demand_xy[:, 0], demand_xy[:, 1])
        demand_xy = demand_xy[inside]
        intensity = hotspots.sample_grid(grid, demand_xy)
        sens: dict[str, Any] = {k: np.column_stack([g.geometry.x, g.geometry.y]) for k in SENSITIVE_KINDS
                                if len(g := town.pois[town.pois["kind"] == k])}
        if qpv is not None and len(qpv):
            sens["qpv"] = qpv.union_all()
        mult = coverage.sensitive_multiplier(demand_xy, sens, sc.weights.sensitive, radius_m=sc.weights.sensitive_radius_m)
        demand = coverage.demand_table(demand_xy, intensity, mult, town.crs)
        counts["demand_points"] = len(demand)

    # 3. candidates --------------------------------------------------------------------------
    with _step("candidates", timings, on_step):
        exclusion = None
        if sc.candidates.exclusion:
            exclusion = gpd.read_file(sc.resolve(sc.candidates.exclusion)).to_crs(town.crs).union_all()
        sites = candidates.candidate_sites(town.graph, town.area, town.pois, town.buildings,
                                           min_street_count=sc.candidates.min_street_count,
                                           street_lamps=sc.candidates.street_lamps, public_facades=sc.candidates.public_facades,
                                           exclusion=exclusion, existing=existing_file)
        model = sc.camera.chosen()
        csu = town.pois[town.pois["kind"].isin(["police", "townhall"])]
        node_ids, node_xy = candidates.node_xy(town.graph)
        tree = cKDTree(node_xy)
        csu_nodes = [int(node_ids[j]) for j in tree.query(np.column_stack([csu.geometry.x, csu.geometry.y]))[1]] if len(csu) else []
        costs = candidates.site_costs(sites, town.graph, csu_nodes, camera_eur=model.price_eur, mast_eur=sc.candidates.mast_eur,
                                      facade_mount_eur=sc.candidates.facade_mount_eur,
                                      trench_eur_per_m=sc.candidates.trench_eur_per_m)
        sites = pd.concat([sites, costs], axis=1)
        counts["candidate_sites"] = int((~sites["existing"]).sum())
        counts["existing_cameras"] = int(sites["existing"].sum())

    # 4. coverage ----------------------------------------------------------------------------
    with _step("coverage", timings, on_step):
        ranges = camera_ranges(model)
        range_m = ranges[sc.camera.covered_at]
        fov_deg = coverage.wedge_fov_deg(model.fov_deg if model.fov_deg else viewshed.horizontal_fov_deg(model.focal_mm, model.sensor_width_mm), model.kind)
        obstacles = viewshed.build_obstacles(town.buildings.geometry)
        terrain = None
        if sc.area.dem:
            dem, transform = read_dem(sc.resolve(sc.area.dem), town.crs, town.area.buffer(town.margin_m + range_m).bounds)
            terrain = {"dem": dem, "transform": transform, "camera_height_m": model.mount_height_m,
                       "target_height_m": sc.camera.target_height_m}
        sites_xy = np.column_stack([sites.geometry.x, sites.geometry.y])
        fov = coverage.fields_of_view(obstacles, sites_xy, range_m=range_m, fov_deg=fov_deg, n_headings=sc.camera.n_headings,
                                      target_xy=demand_xy, target_weight=demand["weight"].to_numpy(), terrain=terrain)
        A = coverage.coverage_matrix(fov.polygons, demand_xy)
        sites["heading_deg"] = np.round(fov.heading_deg, 1)
        sites["fov_deg"] = fov.fov_deg
        sites["range_m"] = round(range_m, 1)
        sites["reach_m"] = np.round(candidates.network_reach_m(town.graph, sites["node"].tolist(), distance_m=150.0), 0)
        counts["coverage_nonzeros"] = int(A.nnz)

    # 5. next phase --------------------------------------------------------------------------
    with _step("optimise", timings, on_step):
        weight = demand["weight"].to_numpy(float)
        fixed = np.flatnonzero(sites["existing"].to_numpy())
        excluded = np.flatnonzero(np.asarray([p.is_empty for p in fov.polygons]) & ~sites["existing"].to_numpy())
        k = sc.plan.k if sc.plan.budget_eur is None else None
        result_plan = optimise.solve(A, weight, k=k, budget_eur=sc.plan.budget_eur, cost_eur=sites["cost_eur"].to_numpy(float),
                                     fixed=fixed, excluded=excluded, method=sc.plan.method, time_limit_s=sc.plan.time_limit_s,
                                     min_spacing_m=sc.plan.min_spacing_m, site_xy=sites_xy)
        _annotate_sites(sites, A, weight, result_plan, fov, win, town, sc)

    # 6. patrol ------------------------------------------------------------------------------
    with _step("patrol", timings, on_step):
        chosen = list(result_plan.fixed) + list(result_plan.selected)
        seen = np.asarray(A[chosen].sum(axis=0)).ravel() > 0 if chosen else np.zeros(A.shape[1], bool)
        prize_pt = patrol.uncovered_prizes(weight, seen.astype(float))
        _, nearest = tree.query(demand_xy)
        node_prize = pd.Series(prize_pt).groupby(node_ids[nearest]).sum()
        node_prize = node_prize[node_prize > 0].sort_values(ascending=False, kind="stable")
        top = node_prize.iloc[: sc.patrol.n_candidates]
        start, start_label = _start_node(town, sc, node_ids, tree)
        shifts = [patrol.Shift(name=s.name, budget_min=s.budget_min, speed_kmh=s.speed(), dwell_min=s.dwell_min, teams=s.teams)
                  for s in sc.patrol.shifts]
        circuits = patrol.plan_circuits(town.graph, start, top.index.astype(int).tolist(), top.to_numpy(float).tolist(),
                                        shifts=shifts, seed=0)
        counts["patrol_start"] = start_label

    return Result(scenario=sc, town=town, incidents=inc, window_incidents=win, grid=grid, demand=demand, sites=sites,
                  fov=fov, A=A, plan=result_plan, circuits=circuits, timings_s=timings, counts=counts, qpv=qpv)


def camera_ranges(model) -> dict[str, float]:
    """Range of a catalogue camera at each DORI level (EN 62676-4)."""
    if model.range_m is not None:
        return {lvl: float(model.range_m) * viewshed.DORI_PPM["observation"] / ppm for lvl, ppm in viewshed.DORI_PPM.items()}
    return {lvl: viewshed.dori_range_m(model.focal_mm, model.sensor_width_mm, model.width_px, ppm)
            for lvl, ppm in viewshed.DORI_PPM.items()}


def _annotate_sites(sites: gpd.GeoDataFrame, A: csr_matrix, weight: np.ndarray, plan_: optimise.Plan,
                    fov: coverage.FieldsOfView, win: gpd.GeoDataFrame, town: io.Town, sc: Scenario) -> None:
    """Add the plan's columns (status, phase, rank, gains, what each site covers)."""
    n = len(sites)
    status = np.where(sites["existing"], "existing", "candidate").astype(object)
    rank = np.full(n, np.nan)
    gain = np.full(n, np.nan)
    for r, (i, g) in enumerate(zip(plan_.selected, plan_.marginal_gain), start=1):
        status[i] = "proposed"
        rank[i] = r
        gain[i] = g
    sites["status"] = status
    sites["phase"] = np.where(status == "proposed", sc.plan.phase_name, np.where(status == "existing", "existing", None))
    sites["rank"] = rank
    total = float(weight.sum()) or 1.0
    sites["covered_weight"] = np.asarray(A @ weight).ravel() / total
    sites["marginal_gain"] = gain / total
    # incidents of the window inside each field of view (an aggregate count, never the points)
    inc_xy = np.column_stack([win.geometry.x, win.geometry.y]) if len(win) else np.zeros((0, 2))
    sites["covered_incidents"] = np.asarray(coverage.coverage_matrix(fov.polygons, inc_xy).sum(axis=1)).ravel().astype(int) \
        if len(inc_xy) else 0
    sens = town.pois[town.pois["kind"].isin(SENSITIVE_KINDS)]
    names: list[str] = []
    for i, p in enumerate(fov.polygons):
        if p.is_empty or sens.empty:
            names.append("")
            continue
        near = sens[sens.distance(sites.geometry.iloc[i]) <= fov.range_m]
        labels = sorted({(nm if isinstance(nm, str) and nm else k.replace("_", " ")) for nm, k in zip(near["name"], near["kind"])})
        names.append("; ".join(labels))
    sites["sensitive_sites"] = names


# ---------------------------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------------------------


def summary(res: Result) -> dict[str, Any]:
    """The content of ``summary.json``."""
    sc, p = res.scenario, res.plan
    sel_ids = [res.sites["site_id"].iloc[i] for i in p.selected]
    return {
        "siteplanner_version": __version__,
        "scenario": sc.name,
        "study_area": res.town.name,
        "crs": res.town.crs,
        "synthetic_incidents": res.synthetic,
        "data": {"osm": res.town.source, "incident_files": sorted(set(res.incidents["file"])) if len(res.incidents) else []},
        "window": res.grid.window,
        "hotspot_method": res.grid.method,
        "inputs": res.counts,
        "camera": {"model": sc.camera.model, "covered_at": sc.camera.covered_at, "range_m": res.fov.range_m, "fov_deg": res.fov.fov_deg},
        "coverage": {"before": round(res.coverage_before, 6), "after": round(res.coverage_after, 6)},
        "selected_site_ids": sel_ids,
        "plan": {"k": len(p.selected), "solver": p.solver, "gap": round(p.gap, 9), "optimal": p.optimal,
                 "cost_eur": round(p.cost_eur, 0), "funded_eur": round(p.cost_eur * sc.plan.funded_share, 0),
                 "town_eur": round(p.cost_eur * (1 - sc.plan.funded_share), 0)},
        "patrols": [{"name": c.name, "length_m": round(c.length_m, 1), "duration_min": round(c.duration_min, 1),
                     "stops": len(c.stops), "budget_min": c.budget_min} for c in res.circuits],
        "timings_s": res.timings_s,
    }


def sites_frame(res: Result) -> gpd.GeoDataFrame:
    """``sites.geojson``: existing and proposed cameras."""
    s = res.sites[res.sites["status"].isin(["existing", "proposed"])].copy()
    s = s.sort_values(["status", "rank", "site_id"], kind="stable")
    cols = ["site_id", "status", "phase", "rank", "kind", "mount", "covered_weight", "marginal_gain", "covered_incidents",
            "sensitive_sites", "cost_eur", "heading_deg", "fov_deg", "range_m", "reach_m", "name"]
    out = s[cols + ["geometry"]].copy()
    out["rank"] = out["rank"].astype("Int64")
    out["covered_weight"] = out["covered_weight"].round(6)
    out["marginal_gain"] = out["marginal_gain"].round(6)
    out["synthetic_incidents"] = res.synthetic
    return out.reset_index(drop=True)


def viewsheds_frame(res: Result) -> gpd.GeoDataFrame:
    """``viewsheds.geojson``: one field-of-view polygon per existing or proposed site."""
    s = res.sites[res.sites["status"].isin(["existing", "proposed"])].sort_values(["status", "rank", "site_id"], kind="stable")
    geoms = [res.fov.polygons[i] for i in s.index]
    return gpd.GeoDataFrame({"site_id": s["site_id"].to_numpy(), "status": s["status"].to_numpy(),
                             "heading_deg": s["heading_deg"].to_numpy(), "fov_deg": s["fov_deg"].to_numpy(),
                             "range_m": s["range_m"].to_numpy(), "covered_at": res.scenario.camera.covered_at,
                             "camera_model": res.scenario.camera.model},
                            geometry=geoms, crs=res.town.crs)


def patrols_frame(res: Result) -> gpd.GeoDataFrame:
    """``patrols.geojson``: one LineString per circuit, then its stops as Points."""
    rows, geoms = [], []
    for c in res.circuits:
        rows.append({"circuit": c.name, "feature": "circuit", "length_m": round(c.length_m, 1), "duration_min": round(c.duration_min, 1),
                     "budget_min": c.budget_min, "speed_kmh": c.speed_kmh, "stops": len(c.stops), "order": None, "eta_min": None,
                     "dwell_min": None, "prize": round(c.prize, 6)})
        geoms.append(c.geometry)
        for st in c.stops:
            rows.append({"circuit": c.name, "feature": "stop", "length_m": None, "duration_min": None, "budget_min": c.budget_min,
                         "speed_kmh": c.speed_kmh, "stops": None, "order": st.order, "eta_min": round(st.eta_min, 1),
                         "dwell_min": st.dwell_min, "prize": round(st.prize, 6)})
            geoms.append(shapely.Point(st.x, st.y))
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=res.town.crs)


def coverage_problem(res: Result) -> optimise.CoverageProblem:
    return optimise.CoverageProblem(
        A=res.A.tocsr(), demand_weight=res.demand["weight"].to_numpy(float),
        demand_xy=np.column_stack([res.demand.geometry.x, res.demand.geometry.y]),
        site_id=res.sites["site_id"].to_numpy(str), site_cost_eur=res.sites["cost_eur"].to_numpy(float),
        existing=res.sites["existing"].to_numpy(bool), crs=res.town.crs)


def write_outputs(res: Result, out_dir: Path) -> list[Path]:
    """Write every output into ``out_dir`` (staged, then moved into place file by file)."""
    from . import plot

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        io.write_geojson(stage / "sites.geojson", sites_frame(res))
        io.write_geojson(stage / "viewsheds.geojson", viewsheds_frame(res))
        io.write_geojson(stage / "patrols.geojson", patrols_frame(res))
        io.write_with(stage / "hotspots.tif", lambda p: hotspots_tif(res, p))
        arrays = optimise.coverage_arrays(coverage_problem(res))
        io.write_with(stage / "coverage.npz", lambda p: np.savez_compressed(p, **arrays))
        for c in res.circuits:
            io.write_text(stage / f"patrol_{_slug(c.name)}.gpx", patrol.to_gpx(c, res.town.crs))
        io.write_with(stage / "map.png", lambda p: plot.plan_map(res, p))
        io.write_json(stage / "summary.json", summary(res))
        written = []
        for f in sorted(stage.iterdir()):
            os.replace(f, out_dir / f.name)
            written.append(out_dir / f.name)
        return written
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _slug(s: str) -> str:
    import re
    import unicodedata

    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-zA-Z0-9]+", "_", s).strip("_").lower() or "circuit"


def hotspots_tif(res: Result, path: Path) -> None:
    """Write the density raster as a GeoTIFF with its CRS and window in the tags."""
    import rasterio

    g = res.grid
    with rasterio.open(path, "w", driver="GTiff", height=g.values.shape[0], width=g.values.shape[1], count=1,
                       dtype="float32", crs=res.town.crs, transform=g.transform, compress="deflate", nodata=None) as dst:
        dst.write(g.values.astype("float32"), 1)
        dst.update_tags(window=g.window, method=g.method, bandwidth_m=str(g.bandwidth_m), cell_m=str(g.cell_m),
                        units="weighted incidents per km2", synthetic=str(res.synthetic).lower(),
                        source="siteplanner " + __version__)


def run(sc: Scenario, *, out_dir: Path | None = None, on_step: StepCallback | None = None) -> tuple[Result, list[Path]]:
    """Plan a scenario and write its outputs; returns the result and the files written."""
    t0 = time.perf_counter()
    res = plan(sc, on_step=on_step)
    out = Path(out_dir) if out_dir is not None else sc.resolve(sc.output.dir)
    with _step("outputs", res.timings_s, on_step):
        files = write_outputs(res, out)
    res.timings_s["total"] = round(time.perf_counter() - t0, 3)
    io.write_json(out / "summary.json", summary(res))
    return res, files
