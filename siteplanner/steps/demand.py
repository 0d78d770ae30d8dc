"""Step 2, ``demand``: the hotspot surface of the window and the demand on the streets.

The incidents of the scenario's time window give the hotspot surface (the scenario's method,
:func:`hotspot_grid`); demand points every few metres along the streets inside the commune
take its intensity, blended with the fréquentation of the shops, stops, schools and public
buildings around them (``[weights] footfall_share``, :mod:`siteplanner.town.footfall`), raised
along main streets, near sensitive places and in the QPV, and near the notes of the marches
exploratoires (``[[field_notes]]``). The points table keeps each part: ``forecast`` (the
incidents'), ``footfall``, ``intensity`` (their blend), ``multiplier`` and ``weight``. Streets
below ground or indoors (tunnels, negative levels, indoor corridors) get no demand points unless
``[hotspots] underground_demand``: a street camera does not see the metro.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siteplanner._errors import InputError
from siteplanner.coverage import matrix as coverage
from siteplanner.hotspots import forecast as hotspots
from siteplanner.hotspots import segments
from siteplanner.hotspots.grids import DensityGrid, grid_cell_m, grid_mask
from siteplanner.hotspots.streets import street_points
from siteplanner.incidents import read as incidents
from siteplanner.incidents import windows
from siteplanner.result import Demand, Inputs
from siteplanner.scenario import Scenario
from siteplanner.steps import stepcache
from siteplanner.town import footfall, jurisdiction
from siteplanner.town import load as io
from siteplanner.vocab import SENSITIVE_KINDS

log = logging.getLogger(__name__)


def demand(inputs: Inputs) -> Demand:
    """The hotspot surface of the scenario's window and the demand points it weighs.

    Read from the scenario's ``cache_dir`` when an entry for exactly these inputs is there
    (:mod:`siteplanner.steps.stepcache`: the incidents, streets, places, QPV, study area, the
    scenario's ``[hotspots]``, ``[weights]`` and ``[[field_notes]]`` and their files, and the
    code), else computed (:func:`compute_demand`) and stored.
    """
    sc, town = inputs.scenario, inputs.town
    parts = {
        "hotspots": sc.hotspots.model_dump(mode="json"),
        "weights": sc.weights.model_dump(mode="json"),
        "field_notes": [spec.model_dump(mode="json") for spec in sc.field_notes],
        "field_note_files": [Path(p).read_bytes() for p in inputs.paths.field_notes],
        "incidents": inputs.incidents,
        "streets": inputs.streets,
        "qpv": inputs.qpv,
        "area": town.area,
        "margin_m": town.margin_m,
        "crs": str(town.crs),
        "pois": town.pois,
    }
    return stepcache.cached(
        "demand", parts, lambda: compute_demand(inputs), sc.resolve(sc.cache_dir)
    )


def compute_demand(inputs: Inputs) -> Demand:
    """:func:`demand`, computed."""
    sc, town = inputs.scenario, inputs.town
    tw = sc.hotspots.window.time_window()
    win, cat_w, n_no_hour = window_incidents(sc, inputs.incidents, tw)
    xmin, ymin, xmax, ymax = town.area.buffer(town.margin_m).bounds
    bounds = (np.floor(xmin), np.floor(ymin), np.ceil(xmax), np.ceil(ymax))
    grid = hotspot_grid(sc, win, cat_w, bounds=bounds, area=town.area, window=tw.name)
    streets, n_under = demand_streets(inputs.streets, underground=sc.hotspots.underground_demand)
    forecast = street_forecast(inputs, win, cat_w, bounds=bounds, window=tw.name)
    demand_xy, _ = street_points(streets, spacing_m=sc.hotspots.street_spacing_m)
    inside = shapely.contains_xy(town.area, demand_xy[:, 0], demand_xy[:, 1])
    demand_xy = demand_xy[inside]
    intensity = street_intensity(forecast, demand_xy)
    parts, main_mult, ff_counts = footfall_demand(sc, town, streets, demand_xy, intensity)
    sens: dict[str, Any] = {
        k: np.column_stack([g.geometry.x, g.geometry.y])
        for k in SENSITIVE_KINDS
        if len(g := town.pois[town.pois["kind"] == k])
    }
    if inputs.qpv is not None and len(inputs.qpv):
        sens["qpv"] = inputs.qpv.union_all()
    mult = coverage.sensitive_multiplier(
        demand_xy, sens, sc.weights.sensitive, radius_m=sc.weights.sensitive_radius_m
    )
    points = coverage.demand_table(demand_xy, parts[0] + parts[1], mult * main_mult, town.crs)
    points = points.assign(forecast=intensity, footfall=parts[1])
    points, notes = field_notes_demand(sc, town, points, demand_xy, inputs.paths.field_notes)
    # sensitive sites in the margin raise demand inside the commune, and are counted apart
    sens_pois = town.pois[town.pois["kind"].isin(SENSITIVE_KINDS)]
    outside = int((~jurisdiction.inside_flags(sens_pois.geometry, town.area)).sum())
    counts = {
        "incidents_in_window": len(win),
        "incidents_in_window_no_hour": n_no_hour,
        "hotspot_cell_m": grid.cell_m,
        "demand_points": len(points),
        "demand_streets_underground_left_out": n_under,
        "sensitive_sites_outside_area": outside,
        **ff_counts,
    }
    return Demand(
        window=tw,
        window_incidents=win,
        category_weight=cat_w,
        bounds=bounds,
        grid=grid,
        grid_inside=grid_mask(grid, town.area),
        points=points,
        xy=demand_xy,
        notes=notes,
        counts=counts,
        forecast=forecast,
    )


def footfall_demand(
    sc: Scenario, town: io.Town, streets: gpd.GeoDataFrame, xy: np.ndarray, intensity: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, dict[str, Any]]:
    """The demand points' intensity from the incidents and from the lieux de fréquentation
    (``[weights] footfall_share``, :func:`siteplanner.town.footfall.blend`), their main-street
    multiplier (``[weights] main_streets``) and the counts the summary shows."""
    places = footfall.footfall_places(town.pois)
    share = sc.weights.footfall_share
    parts = footfall.blend(intensity, footfall.footfall(xy, places), share)
    on_main = footfall.main_street_mask(xy, streets)
    log.info(
        "demand: %d lieux de fréquentation give %.0f %% of the weight; %d of %d points along "
        "main streets (x %.2g)",
        len(places),
        100 * share if len(places) else 0,
        int(on_main.sum()),
        len(xy),
        sc.weights.main_streets,
    )
    counts = {
        "footfall_places": len(places),
        "footfall_share": share if len(places) else 0.0,
        "demand_points_on_main_streets": int(on_main.sum()),
    }
    return parts, np.where(on_main, sc.weights.main_streets, 1.0), counts


def demand_streets(streets: gpd.GeoDataFrame, *, underground: bool) -> tuple[gpd.GeoDataFrame, int]:
    """The streets that carry demand points, and how many underground or indoor ones are left
    out (none when ``underground``; the ``underground`` column of
    :func:`siteplanner.town.load.edges_gdf`)."""
    if underground or "underground" not in streets:
        return streets, 0
    below = streets["underground"].to_numpy(bool)
    if below.any():
        log.info(
            "demand: %d underground or indoor street(s) (%.0f m) left out "
            "([hotspots] underground_demand = false)",
            int(below.sum()),
            float(streets.loc[below, "length"].sum()),
        )
    return streets[~below], int(below.sum())


def window_incidents(
    sc: Scenario, inc: gpd.GeoDataFrame, tw: windows.TimeWindow
) -> tuple[gpd.GeoDataFrame, np.ndarray, int]:
    """The incidents of the hotspot window, their weights (category weight × the row's own
    ``weight``), and how many have no hour."""
    win = inc[incidents.window_mask(inc, tw)].reset_index(drop=True)
    if len(win) == 0:
        raise InputError(
            f"{sc.path}: no incident in the study area and time window {tw.name!r}; "
            "check [[incidents]] files and [hotspots.window]"
        )
    cat_w = win["category"].map(lambda c: sc.weights.categories.get(c, 1.0)).to_numpy(float)
    cat_w = cat_w * row_weights(win)
    n_no_hour = (
        int((win["time_precision"] == "date").sum()) if "time_precision" in win.columns else 0
    )
    return win, cat_w, n_no_hour


def row_weights(win: gpd.GeoDataFrame) -> np.ndarray:
    """Each incident's own weight (a file's ``weight`` column, e.g. a count of offences; 1
    without one)."""
    if "weight" not in win.columns:
        return np.ones(len(win))
    return win["weight"].fillna(1.0).to_numpy(float)


def hotspot_grid(
    sc: Scenario, win: gpd.GeoDataFrame, cat_w: np.ndarray, *, bounds, area, window: str
) -> DensityGrid:
    """The scenario's hotspot surface: its method with the incident times and category weights.

    The default method trains on the earlier incidents and validates on the later ones (its
    inner temporal hold-out), with each incident weighted by its category, as the scenario
    says; the cell side is the scenario's or one sized to the area (:func:`hotspots.grid_cell_m`).
    """
    xy = np.column_stack([win.geometry.x, win.geometry.y])
    dated = win["datetime"].notna().to_numpy() if len(win) else np.zeros(0, bool)
    times = win["datetime"].reset_index(drop=True) if dated.any() else None
    cell_m = grid_cell_m(bounds, len(win), area_m2=area.area, cell_m=sc.hotspots.cell_m)
    method = sc.hotspots.method if sc.hotspots.method in hotspots.METHODS else "default"
    weight = None if method == "near_repeat" else cat_w
    if method == "near_repeat" and times is None:
        raise InputError(
            f'{sc.path}: [hotspots] method = "near_repeat" needs incident times; '
            "the files are undated"
        )
    return hotspots.predict(
        method,
        xy,
        weight=weight,
        train_time=times,
        bounds=bounds,
        cell_m=cell_m,
        bandwidth_m=sc.hotspots.bandwidth_m,
        area=area,
        window=window,
    )


def street_forecast(
    inputs: Inputs, win: gpd.GeoDataFrame, cat_w: np.ndarray, *, bounds, window: str
) -> segments.StreetForecast:
    """The forecast on the street segments inside the commune: the scenario's method, or the
    grid or segment method the inner temporal split of the window's incidents picks."""
    sc, town = inputs.scenario, inputs.town
    seg = segments.street_segments(inputs.streets, segment_m=sc.hotspots.segment_m, area=town.area)
    grids = forecast_grids(sc, win, cat_w, bounds=bounds, area=town.area, window=window)
    method, params = sc.hotspots.method, {}
    if method in ("segment_counts", "network_kde"):
        params = {"bandwidth_m": sc.hotspots.bandwidth_m or 100.0, "half_life_days": None}
    elif method != "default":
        grids, method = {method: grids[method]}, f"grid:{method}"
    xy = np.column_stack([win.geometry.x, win.geometry.y])
    dated = win["datetime"].notna().any() if len(win) else False
    return segments.choose_forecast(
        seg,
        xy,
        win["datetime"].reset_index(drop=True) if dated else None,
        cat_w,
        grids=grids,
        area_m2=town.area.area,
        method=method,
        params=params,
        window=window,
    )


def forecast_grids(
    sc: Scenario, win: gpd.GeoDataFrame, cat_w: np.ndarray, *, bounds, area, window: str
) -> dict[str, segments.GridFn]:
    """The planar surfaces the default may pick, each a function of a mask over ``win``: the
    grid default, the count grid, the KDE with the rule bandwidth and with 150 m, and the
    scenario's own grid method (cell, bandwidth and weights as :func:`hotspot_grid` makes them).
    """

    def make(method: str, bandwidth_m: float | None):
        hs = sc.hotspots.model_copy(update={"method": method, "bandwidth_m": bandwidth_m})
        sc_m = sc.model_copy(update={"hotspots": hs})

        def fit(mask: np.ndarray) -> DensityGrid:
            sub = win[mask].reset_index(drop=True)
            return hotspot_grid(sc_m, sub, cat_w[mask], bounds=bounds, area=area, window=window)

        return fit

    out = {
        "default": make("default", None),
        "count_grid": make("count_grid", None),
        "kde": make("kde", None),
        "kde_150m": make("kde", 150.0),
    }
    if sc.hotspots.method in hotspots.METHODS and sc.hotspots.method != "default":
        out[sc.hotspots.method] = make(sc.hotspots.method, sc.hotspots.bandwidth_m)
    return out


def street_intensity(forecast: segments.StreetForecast, xy: np.ndarray) -> np.ndarray:
    """Each demand point's weight: the forecast of its street segment (never a grid cell's over
    a hillside: a point takes the score of the segment it lies on)."""
    return segments.values_at(forecast.segments, xy)


def field_notes_demand(
    sc: Scenario,
    town: io.Town,
    points: gpd.GeoDataFrame,
    demand_xy: np.ndarray,
    paths: tuple[Path, ...],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """Read the walks' notes (marches exploratoires) and raise the demand near them, each file
    with its own weights; ``paths`` are the ``[[field_notes]]`` files, resolved."""
    if not sc.field_notes:
        return points, None
    from siteplanner.town import field_notes

    weight = points["weight"].to_numpy(float)
    frames = []
    for spec, path in zip(sc.field_notes, paths):
        notes = field_notes.read_notes(path, walk=spec.walk, crs=spec.crs)
        notes = notes.to_crs(town.crs)
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
    return points.assign(weight=weight), notes
