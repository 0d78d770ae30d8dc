"""Step 3, ``candidates``: candidate camera sites, their costs, and the référent's moves.

Candidates are street intersections, lamp posts and public façades inside the commune
(:func:`siteplanner.coverage.candidates.candidate_sites`), with the existing cameras kept as sites.
Each costs the camera, its mast or façade mount and a cable trench to the nearest trench end
(the CSU, the police station or the town hall). A site the référent sûreté moved
(``<scenario>.review.csv``) gets a new site ``<site_id>-M`` at its new position.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from siteplanner._errors import InputError
from siteplanner.coverage import candidates as cand
from siteplanner.town import load as io
from siteplanner import review as review_mod
from siteplanner.result import Candidates, Inputs
from siteplanner.scenario import Scenario


def candidates(inputs: Inputs) -> Candidates:
    """Candidate and existing sites with their costs (moves of the review file applied)."""
    sc, town, paths = inputs.scenario, inputs.town, inputs.paths
    exclusion = None
    if paths.exclusion is not None:
        exclusion = gpd.read_file(paths.exclusion).to_crs(town.crs).union_all()
    existing = inputs.existing_cameras
    pois = town.pois[town.pois["kind"] != "camera"]  # existing cameras: inputs.existing_cameras
    sites = cand.candidate_sites(
        town.graph,
        town.area,
        pois,
        town.buildings,
        min_street_count=sc.candidates.min_street_count,
        street_lamps=sc.candidates.street_lamps,
        public_facades=sc.candidates.public_facades,
        exclusion=exclusion,
        existing=existing,
    )
    if sites.empty:  # no new site and no existing camera: nothing to plan or to see from
        raise no_candidate_site(sc)
    model = sc.camera.chosen()
    csu_nodes = [area_node(town, a.x, a.y) for a in inputs.trench_ends]
    sites = pd.concat([sites, _costs(sites, town, csu_nodes, sc)], axis=1)
    review = None
    if paths.review.is_file():
        review = review_mod.read_review(paths.review, sites["site_id"].tolist())
        sites = apply_moves(sites, review, town, csu_nodes, sc)
    cam_info = existing.set_index("site_id")[["heading_deg", "fov_deg", "heading_source"]]
    cam_info = cam_info.rename(
        columns={"heading_deg": "fixed_heading_deg", "fov_deg": "fixed_fov_deg"}
    )
    sites = sites.join(cam_info, on="site_id")
    sites["heading_source"] = sites["heading_source"].where(sites["existing"], "assumed best")
    counts = {
        "trench_ends": [a.label for a in inputs.trench_ends],
        "candidate_sites": int((~sites["existing"]).sum()),
        "existing_cameras": int(sites["existing"].sum()),
    }
    return Candidates(sites=sites, model=model, review=review, counts=counts)


def no_candidate_site(sc: Scenario) -> InputError:
    """The error of a study area with no candidate site (``validate`` and ``run`` say it alike)."""
    kinds = [f"street intersection of {sc.candidates.min_street_count} or more streets"]
    kinds += ["street lamp"] * sc.candidates.street_lamps
    kinds += ["public building's façade"] * sc.candidates.public_facades
    return InputError(
        f"{sc.path or sc.name}: the study area has no candidate site for a camera (no "
        f"{', no '.join(kinds)}); accepted: a larger study area, or a lower [candidates] "
        "min_street_count"
    )


def area_node(town: io.Town, x: float, y: float) -> int:
    """The graph node inside the study area nearest a point (any node if none is inside)."""
    ids, xy = cand.node_xy(town.graph)
    inside = shapely.contains_xy(town.area, xy[:, 0], xy[:, 1])
    pool = np.flatnonzero(inside) if inside.any() else np.arange(len(ids))
    return int(ids[pool[cKDTree(xy[pool]).query((x, y))[1]]])


def _costs(
    sites: gpd.GeoDataFrame, town: io.Town, csu_nodes: list[int], sc: Scenario
) -> pd.DataFrame:
    return cand.site_costs(
        sites,
        town.graph,
        csu_nodes,
        camera_eur=sc.camera.chosen().price_eur,
        mast_eur=sc.candidates.mast_eur,
        facade_mount_eur=sc.candidates.facade_mount_eur,
        trench_eur_per_m=sc.candidates.trench_eur_per_m,
    )


def apply_moves(
    sites: gpd.GeoDataFrame,
    review: review_mod.Review,
    town: io.Town,
    csu_nodes: list[int],
    sc: Scenario,
) -> gpd.GeoDataFrame:
    """Add a site ``<site_id>-M`` at each position the référent sûreté moved a site to."""
    if not review.moved:
        return sites
    node_ids, node_xy = cand.node_xy(town.graph)
    tree = cKDTree(node_xy)
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
    moved = pd.concat([moved, _costs(moved, town, csu_nodes, sc)], axis=1)
    return pd.concat([sites, moved[sites.columns]], ignore_index=True)
