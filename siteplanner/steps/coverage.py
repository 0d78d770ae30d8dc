"""Step 4, ``coverage``: each site's field of view, what it sees, and its L251-3 figures.

The field of view is the camera's wedge out to its range at the scenario's DORI level
(EN 62676-4), occluded by the buildings (and the terrain, with a DEM). The coverage table
says which demand points each site sees. The privacy figures measure the residential façade
and the entrances each site would see at recognition range (Code de la sécurité intérieure,
L251-3). With ``[lighting]``, a night window is planned on what the cameras see at night.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from siteplanner._errors import InputError
from siteplanner.coverage import cache as cov_cache
from siteplanner.coverage import candidates as cand
from siteplanner.coverage import matrix as cov
from siteplanner.coverage import privacy, viewshed
from siteplanner.coverage.sightlines import build_obstacles
from siteplanner.result import Candidates, Coverage, Demand, ExistingViews, Inputs
from siteplanner.steps import night
from siteplanner.town import cameras
from siteplanner.town import load as io


def coverage(inputs: Inputs, demand: Demand, cands: Candidates) -> Coverage:
    """Fields of view and coverage of every site, with the view and privacy columns added.

    The fields of view, the sight coverage table and the privacy figures are read from the
    scenario's ``cache_dir`` when an entry for exactly these inputs is there
    (:mod:`siteplanner.coverage.cache`), else computed and stored.
    """
    sc, town, model = inputs.scenario, inputs.town, cands.model
    sites = cands.sites.copy()
    ranges = camera_ranges(model)
    range_m = ranges[sc.camera.covered_at]
    terrain = None
    if inputs.paths.dem is not None:
        bounds = town.area.buffer(town.margin_m + range_m).bounds
        dem, transform = read_dem(inputs.paths.dem, town.crs, bounds)
        terrain = {
            "dem": dem,
            "transform": transform,
            "camera_height_m": model.mount_height_m,
            "target_height_m": sc.camera.target_height_m,
        }
    entrances = town.pois[town.pois["kind"] == "entrance"]
    ent_xy = (
        np.column_stack([entrances.geometry.x, entrances.geometry.y])
        if len(entrances)
        else np.zeros((0, 2))
    )
    args = {
        "buildings": town.buildings.geometry.to_numpy(),
        "height_m": town.buildings["height_m"].to_numpy(float),
        "residential": town.buildings["residential"].to_numpy(bool),
        "terrain": None if terrain is None else {**terrain, "transform": tuple(transform)},
        "origins": view_origins(sites, cands.xy),
        "sites_xy": np.column_stack([sites.geometry.x, sites.geometry.y]),
        "fixed_heading_deg": sites["fixed_heading_deg"].to_numpy(float),
        "fixed_fov_deg": sites["fixed_fov_deg"].to_numpy(float),
        "ranges": ranges,
        "covered_at": sc.camera.covered_at,
        "fov_deg": camera_wedge_deg(model),
        "n_headings": sc.camera.n_headings,
        "mode": sc.camera.coverage,
        "demand_xy": np.asarray(demand.xy, float),
        "demand_weight": demand.points["weight"].to_numpy(float),
        "entrances_xy": ent_xy,
    }
    key = cov_cache.cache_key(args, sources=(__file__,))  # a changed step misses it too
    path = cov_cache.entry_path(sc.resolve(sc.cache_dir), key)
    views = cov_cache.read(path, key)
    if views is None:
        views = compute_views(args, sites, town, terrain)
        cov_cache.write(path, key, views)
    fov = cov.FieldsOfView(views.polygons, views.heading_deg, views.fov_deg, views.range_m)
    if sc.camera.coverage == "network":
        A = cov.network_coverage_matrix(
            cands.graph, sites["node"].tolist(), demand.xy, range_m=range_m
        )
    else:
        A = views.A
    existing = existing_views(sites, fov, n_headings=sc.camera.n_headings, model=model)
    sites = _view_columns(sites, fov, cands.graph, ranges, range_m)
    sites["privacy_facade_m"] = np.round(views.facade_m, 1)
    sites["privacy_entrances"] = views.n_entrances
    sites["privacy_mask"] = (views.facade_m > 0) | (views.n_entrances > 0)
    counts: dict[str, Any] = {"coverage_nonzeros": int(A.nnz)}
    A_day, lit_streets = A, None
    if sc.lighting is not None:  # a plan for a night window counts what cameras see at night
        lit_streets = night.street_lighting(sc, town, inputs.streets, inputs.paths)
        A, counts["plan_lighting_phase"] = night.window_matrix(
            sc, A, cands.xy, demand.xy, model, lit_streets
        )
    return Coverage(
        sites=sites,
        fov=fov,
        A=A,
        A_day=A_day,
        ranges=ranges,
        privacy_masks=views.masks,
        lit_streets=lit_streets,
        counts=counts,
        existing=existing,
    )


def compute_views(
    args: dict[str, Any], sites: gpd.GeoDataFrame, town: io.Town, terrain: dict | None
) -> cov_cache.CoverageViews:
    """What the coverage step caches, computed: fields of view, the sight coverage table
    (``None`` with network coverage) and the privacy figures (``args`` as in :func:`coverage`)."""
    ranges, range_m = args["ranges"], args["ranges"][args["covered_at"]]
    obstacles = build_obstacles(args["buildings"], heights_m=args["height_m"])
    fov = cov.fields_of_view(
        obstacles,
        args["origins"],
        range_m=range_m,
        fov_deg=args["fov_deg"],
        n_headings=args["n_headings"],
        target_xy=args["demand_xy"],
        target_weight=args["demand_weight"],
        terrain=terrain,
        fixed_heading_deg=args["fixed_heading_deg"],
        site_fov_deg=args["fixed_fov_deg"],
    )
    A = cov.coverage_matrix(fov.polygons, args["demand_xy"]) if args["mode"] == "sight" else None
    facade, n_ent, masks = privacy_figures(sites, fov, town, ranges["recognition"])
    return cov_cache.CoverageViews(
        polygons=fov.polygons,
        heading_deg=fov.heading_deg,
        fov_deg=fov.fov_deg,
        range_m=fov.range_m,
        A=A,
        facade_m=facade,
        n_entrances=n_ent,
        masks=masks,
    )


def view_origins(sites: gpd.GeoDataFrame, sites_xy: np.ndarray) -> np.ndarray:
    """Where each site's field of view starts: its point, or an existing camera's eye outside
    the wall it is mapped on (``view_x``, ``view_y`` of :func:`siteplanner.steps.load.load`)."""
    origin = np.array(sites_xy, dtype=float, copy=True)
    if "view_x" in sites and "view_y" in sites:
        v = np.column_stack([sites["view_x"].to_numpy(float), sites["view_y"].to_numpy(float)])
        ok = np.isfinite(v).all(axis=1)
        origin[ok] = v[ok]
    return origin


def existing_views(
    sites: gpd.GeoDataFrame, fov: cov.FieldsOfView, *, n_headings: int, model
) -> ExistingViews:
    """How the existing cameras' fields of view were modelled, counted once for every output."""
    ex = sites["existing"].to_numpy(bool)
    src = sites["heading_source"] if "heading_source" in sites else [cameras.ASSUMED] * len(sites)
    where = sites["view_from"] if "view_from" in sites else [cameras.AT_POINT] * len(sites)
    n = cameras.view_counts(np.asarray(src, object)[ex], np.asarray(where, object)[ex])
    empty = np.array([p.is_empty for p in fov.polygons], dtype=bool)
    return ExistingViews(
        **n,
        blind=int((empty & ex).sum()),
        n_headings=int(n_headings),
        fov_deg=round(float(fov.fov_deg), 1),
        range_m=round(float(fov.range_m), 1),
        model=model.name,
    )


def _view_columns(
    sites: gpd.GeoDataFrame, fov: cov.FieldsOfView, graph: Any, ranges, range_m: float
) -> gpd.GeoDataFrame:
    """Heading, field of view, ranges and network reach of each site (along ``graph``, the
    candidates' network: a moved site's reach starts where it stands)."""
    sites["heading_deg"] = np.round(fov.heading_deg, 1)
    # a camera's own field of view counts with its known heading, or when it sees all round
    own_fov = sites["fixed_fov_deg"].to_numpy(float)
    used = np.isfinite(own_fov) & (
        np.isfinite(sites["fixed_heading_deg"].to_numpy(float)) | (own_fov >= 360)
    )
    sites["fov_deg"] = np.where(used, own_fov, fov.fov_deg)
    sites = sites.drop(
        columns=[
            c for c in ("fixed_heading_deg", "fixed_fov_deg", "view_x", "view_y") if c in sites
        ]
    )
    sites["range_m"] = round(range_m, 1)
    sites["reach_m"] = np.round(
        cand.network_reach_m(graph, sites["node"].tolist(), distance_m=150.0), 0
    )
    for lvl, r in ranges.items():
        sites[f"{lvl}_m"] = round(r, 1)
    return sites


def camera_wedge_deg(model) -> float:
    """The wedge a catalogue camera covers (its field of view, from its optics when not given)."""
    fov = model.fov_deg or viewshed.horizontal_fov_deg(model.focal_mm, model.sensor_width_mm)
    return cov.wedge_fov_deg(fov, model.kind)


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


def read_dem(
    path, crs: str, bounds: tuple[float, float, float, float], cell_m: float = 30.0
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


def privacy_figures(
    sites: gpd.GeoDataFrame, fov: cov.FieldsOfView, town: io.Town, recognition_m: float
) -> tuple[np.ndarray, np.ndarray, dict[int, Any]]:
    """L251-3 figures of each site: residential façade and entrances seen at recognition range.

    Returns each site's façade length (m) and number of entrances seen, and the mask polygon
    of each site that has one.
    """
    res_b = town.buildings[town.buildings["residential"]]
    ent = town.pois[town.pois["kind"] == "entrance"]
    ent_xy = np.column_stack([ent.geometry.x, ent.geometry.y]) if len(ent) else np.zeros((0, 2))
    facade, n_ent, masks = np.zeros(len(sites)), np.zeros(len(sites), int), {}
    origins = sites.geometry.to_numpy()
    ox, oy = shapely.get_x(origins), shapely.get_y(origins)
    # the dwellings near each site, found in one query of the tree (sorted by site)
    site_i, res_i = res_b.sindex.query(
        shapely.buffer(origins, recognition_m + 1, quad_segs=16), predicate="intersects"
    )
    bounds = np.searchsorted(site_i, np.arange(len(sites) + 1))
    res_geoms = np.asarray(res_b.geometry.to_numpy(), dtype=object)
    figures = privacy.privacy_figures_many(
        fov.polygons,
        np.column_stack([ox, oy]),
        residential=[res_geoms[res_i[bounds[i] : bounds[i + 1]]] for i in range(len(sites))],
        entrances_xy=ent_xy,
        recognition_range_m=recognition_m,
    )
    for i, pr in enumerate(figures):
        facade[i], n_ent[i] = pr.facade_m, pr.n_entrances
        if not pr.mask.is_empty:
            masks[i] = pr.mask
    return facade, n_ent, masks
