"""Incident maps without streets: read, map, planar hotspot grid, indicators per zone.

``siteplanner incidents SCENARIO`` runs this for any scenario, with or without an ``[area]``:
it needs no OSM extract, so the real incident exports of cities with no extract (Paris,
Vancouver, Chicago, the Alpes-Maritimes BAAC) can be mapped with scenario lines only.
It uses the same reader (:func:`siteplanner.steps.load.read_scenario_incidents`) and the same
hotspot surface (:func:`siteplanner.steps.demand.hotspot_grid`: the scenario's method, with the
incident times and category weights) as ``siteplanner run``.

Study area: the scenario's ``[area]`` when it has one (an OSM boundary or polygon, or, with no
OSM extract, a ``polygon`` file or ``bounds`` box that only clips the incidents: the rows
outside go to ``quarantine.csv`` as "outside the area"); otherwise the convex hull of the
kept incidents grown by 100 m, in the UTM zone of its centre. Indicators: one row for the
whole study area and one per ``zone`` (a column mapped with ``columns = { zone = "…" }``,
e.g. the arrondissement or the police district), with counts below the scenario's
``min_count_shared`` hidden, as on every shared product.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siteplanner import __version__, files
from siteplanner._errors import InputError
from siteplanner.hotspots import grids as hotspot_grids
from siteplanner.hotspots.grids import DensityGrid, grid_mask
from siteplanner.incidents import read as incidents
from siteplanner.scenario import Scenario
from siteplanner.town import load as io

log = logging.getLogger(__name__)

HULL_MARGIN_M = 100.0


@dataclass(frozen=True)
class IncidentMaps:
    """What ``siteplanner incidents`` computed (what its files are written from)."""

    scenario: Scenario
    crs: str
    area: Any
    incidents: gpd.GeoDataFrame
    window_incidents: gpd.GeoDataFrame
    grid: DensityGrid
    indicators: pd.DataFrame
    counts: dict[str, Any] = field(default_factory=dict)
    quarantine_csv: str = "file,line,reason\n"


def study_area(sc: Scenario) -> tuple[Any, str, list[incidents.IncidentRead]]:
    """The study area, its CRS and the scenario's incident files read and clipped to it.

    The ``[area]`` of the OSM extract, else its ``polygon`` or ``bounds`` alone
    (:func:`clip_area`), else the convex hull of the incidents (:func:`read_without_area`).
    """
    from siteplanner.steps.load import read_scenario_incidents

    if sc.area is not None and sc.area.has_streets:
        town = io.scenario_town(sc)
        return town.area, town.crs, read_scenario_incidents(sc, area=town.area, crs=town.crs)
    if sc.area is not None:
        area, crs = clip_area(sc)
        return area, crs, read_scenario_incidents(sc, area=area, crs=crs)
    return read_without_area(sc)


def clip_area(sc: Scenario) -> tuple[Any, str]:
    """The ``[area]`` of a scenario without OSM extract (``polygon`` or ``bounds``), projected.

    Returns the polygon in the UTM zone of its centre, and that CRS.
    """
    if sc.area.polygon is not None:
        _, poly = io.read_polygon(sc.resolve(sc.area.polygon))
        area_wgs = poly.to_crs("EPSG:4326").iloc[0]
    else:
        area_wgs = shapely.box(*sc.area.bounds)
    crs = io.utm_crs(area_wgs)
    # edges cut every ~20 m, so that the projected edges follow the meridians and parallels
    area_wgs = shapely.segmentize(area_wgs, 0.0002)
    area = gpd.GeoSeries([area_wgs], crs="EPSG:4326").to_crs(crs).iloc[0]
    log.info(
        "incident maps: study area = [area] %s (%.1f km², %s)",
        "polygon" if sc.area.polygon else "bounds",
        area.area / 1e6,
        crs,
    )
    return area, crs


def read_without_area(sc: Scenario) -> tuple[Any, str, list[incidents.IncidentRead]]:
    """The scenario's incident files, read as ``siteplanner run`` reads them but with no study area.

    Returns the convex hull of the kept incidents grown by :data:`HULL_MARGIN_M`, the UTM CRS
    of its centre and the files read, projected to it.
    """
    from siteplanner.steps.load import read_scenario_incidents

    reads = read_scenario_incidents(sc, area=None, crs="EPSG:4326")
    pts = np.vstack(
        [shapely.get_coordinates(r.frame.geometry.to_numpy()) for r in reads if len(r.frame)]
        or [np.zeros((0, 2))]
    )
    if len(pts) == 0:
        raise InputError(
            f"{sc.path}: no incident kept from the [[incidents]] files; nothing to map"
        )
    hull_wgs = shapely.convex_hull(shapely.multipoints(pts))
    crs = io.utm_crs(hull_wgs)
    reads = [incidents.IncidentRead(r.frame.to_crs(crs), r.counts, r.quarantine) for r in reads]
    hull = gpd.GeoSeries([hull_wgs], crs="EPSG:4326").to_crs(crs).iloc[0].buffer(HULL_MARGIN_M)
    log.info(
        "incident maps: study area = convex hull of %d incidents + %.0f m (%.1f km², %s)",
        len(pts),
        HULL_MARGIN_M,
        hull.area / 1e6,
        crs,
    )
    return hull, crs, reads


def indicators(
    win: gpd.GeoDataFrame,
    weight: np.ndarray,
    grid: DensityGrid,
    area,
    *,
    min_count: int = 3,
    top_share: float = 0.05,
) -> pd.DataFrame:
    """Counts per zone and the whole area, and the share of each in the top ``top_share`` cells.

    Parameters
    ----------
    win
        The window's incidents (``zone`` column optional, ``time_precision`` optional).
    weight
        Category weight per incident.
    grid
        The hotspot surface.
    area
        The study area polygon (the grid cells counted are those inside it).
    min_count
        Counts below it are hidden (NaN), as on every shared product.
    top_share
        Share of the study area flagged as hotspot cells (5 %).

    Returns
    -------
    pandas.DataFrame
        ``zone, incidents, weighted, share, in_hotspot_cells, no_hour`` (``zone`` ``"all"`` first).
    """
    mask = grid_mask(grid, area)
    vals = grid.values[mask]
    n_top = max(1, int(round(top_share * vals.size)))
    thr = np.sort(vals)[::-1][n_top - 1] if vals.size else np.inf
    xy = np.column_stack([win.geometry.x, win.geometry.y])
    row, col, inside = hotspot_grids.cell_index(xy, grid.transform, *grid.values.shape)
    hot = np.zeros(len(win), bool)
    hot[inside] = (
        (grid.values[row[inside], col[inside]] >= thr) & mask[row[inside], col[inside]] & (thr > 0)
    )
    zone = win["zone"].astype(str) if "zone" in win.columns else pd.Series("", index=win.index)
    zone = zone.where(zone.str.strip().ne("") | ~zone.ne("").any(), "(no zone)")
    no_hour = (
        (win["time_precision"] == "date").to_numpy()
        if "time_precision" in win.columns
        else np.zeros(len(win), bool)
    )
    df = pd.DataFrame({"zone": zone.to_numpy(), "w": weight, "hot": hot, "no_hour": no_hour})
    total = max(len(df), 1)
    rows = [("all", df)] + (
        [(z, g) for z, g in df.groupby("zone", sort=True)] if df["zone"].ne("").any() else []
    )
    out = pd.DataFrame(
        [
            {
                "zone": z,
                "incidents": len(g),
                "weighted": round(float(g["w"].sum()), 3),
                "share": round(len(g) / total, 6),
                "in_hotspot_cells": round(float(g["hot"].mean()), 6),
                "no_hour": int(g["no_hour"].sum()),
            }
            for z, g in rows
        ]
    )
    small = out["incidents"] < min_count
    out.loc[small, ["incidents", "weighted", "share", "in_hotspot_cells", "no_hour"]] = np.nan
    return out


def build(sc: Scenario) -> IncidentMaps:
    """Read the scenario's incident files and make the planar hotspot grid and the indicators."""
    from siteplanner.steps.demand import hotspot_grid, window_incidents
    from siteplanner.steps.load import merge_reads

    area, crs, reads = study_area(sc)
    inc, n_dup = merge_reads(sc, reads, crs)
    tw = sc.hotspots.window.time_window()
    win, cat_w, n_no_hour = window_incidents(sc, inc, tw)
    x0, y0, x1, y1 = area.bounds
    bounds = (np.floor(x0), np.floor(y0), np.ceil(x1), np.ceil(y1))
    grid = hotspot_grid(sc, win, cat_w, bounds=bounds, area=area, window=tw.name)
    for msg in grid.params.get("warnings", []):
        log.warning("hotspot surface: %s", msg)
    ind = indicators(win, cat_w, grid, area, min_count=sc.hotspots.min_count_shared)
    counts = {
        "incidents": len(inc),
        "incident_rows": incidents.ingest_counts(reads),
        "incident_duplicates_dropped": n_dup,
        "incidents_in_window": len(win),
        "incidents_in_window_no_hour": n_no_hour,
        "hotspot_cell_m": grid.cell_m,
        "incidents_by_category": {
            k: int(v) for k, v in inc["category"].value_counts().sort_index().items()
        },
        "study_area_km2": round(area.area / 1e6, 3),
    }
    log.info(
        "incident maps: %d incidents, %d in window %r, grid %d x %d of %.0f m",
        len(inc),
        len(win),
        tw.name,
        *grid.values.shape,
        grid.cell_m,
    )
    return IncidentMaps(sc, crs, area, inc, win, grid, ind, counts, incidents.quarantine_csv(reads))


def summary(res: IncidentMaps) -> dict[str, Any]:
    """The content of ``summary.json``."""
    return {
        "siteplanner_version": __version__,
        "scenario": res.scenario.name,
        "mode": "incidents (no streets)",
        "crs": res.crs,
        "timezone": res.scenario.timezone,
        "window": res.grid.window,
        "hotspot_method": res.grid.method,
        "hotspot_params": {
            k: v for k, v in res.grid.params.items() if isinstance(v, (int, float, str, type(None)))
        },
        "hotspot_warnings": list(res.grid.params.get("warnings", [])),
        "data": {
            "incident_files": sorted(set(res.incidents["file"])) if len(res.incidents) else []
        },
        "inputs": res.counts,
    }


def write(res: IncidentMaps, out_dir: Path) -> list[Path]:
    """``hotspots.tif``, ``indicators.csv``, ``quarantine.csv`` and ``summary.json`` (staged)."""
    with files.staged_folder(out_dir) as (stage, written):
        g = res.grid
        tags = {"window": g.window, "method": g.method, "cell_m": str(g.cell_m)}
        tags["units"] = "weighted incidents per km2"
        files.write_geotiff(stage / "hotspots.tif", g.values, g.transform, res.crs, tags)
        files.write_text(
            stage / "indicators.csv", res.indicators.to_csv(index=False, lineterminator="\n")
        )
        files.write_text(stage / "quarantine.csv", res.quarantine_csv)
        files.write_json(stage / "summary.json", summary(res))
    return written


def run(sc: Scenario, *, out_dir: Path | None = None) -> tuple[IncidentMaps, list[Path]]:
    """Build the incident maps of a scenario and write them (default: its ``output.dir``)."""
    res = build(sc)
    out = Path(out_dir) if out_dir is not None else sc.resolve(sc.output.dir)
    return res, write(res, out)
