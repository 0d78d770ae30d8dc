"""Step 3, ``candidates``: candidate camera sites, their costs, and the référent's moves.

Candidates are street intersections, lamp posts and public façades inside the commune, at
ground level and on public streets, one per street corner, none within ``[plan]
existing_spacing_m`` of an existing camera, and a new head on each existing camera's support
(:func:`siteplanner.coverage.candidates.screen_candidates`); the existing cameras are kept as
sites. Each costs the camera, its mast or façade mount and a cable trench to the nearest trench
end (the CSU, the police station or the town hall); a head on an existing support costs the
camera and a bracket. A site the référent sûreté moved (``<scenario>.review.csv``) gets a new
site ``<site_id>-M`` at its new position, with its own trench and network reach; a position
inside a building, on an underground way only or outside the commune is refused with the
nearest valid point (:func:`check_moves`).
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from siteplanner import review as review_mod
from siteplanner._errors import InputError, report_problems
from siteplanner.coverage import candidates as cand
from siteplanner.result import Candidates, Inputs
from siteplanner.scenario import Scenario
from siteplanner.town import load as io
from siteplanner.town import placement
from siteplanner.vocab import underground


def candidates(inputs: Inputs) -> Candidates:
    """Candidate and existing sites with their costs (moves of the review file applied)."""
    sc, town, paths = inputs.scenario, inputs.town, inputs.paths
    exclusion = None
    if paths.exclusion is not None:
        exclusion = gpd.read_file(paths.exclusion).to_crs(town.crs).union_all()
    existing = inputs.existing_cameras
    pois = town.pois[town.pois["kind"] != "camera"]  # existing cameras: inputs.existing_cameras
    screening = cand.screen_candidates(
        town.graph,
        town.area,
        pois,
        town.buildings,
        min_street_count=sc.candidates.min_street_count,
        street_lamps=sc.candidates.street_lamps,
        public_facades=sc.candidates.public_facades,
        exclusion=exclusion,
        existing=existing,
        merge_m=sc.candidates.merge_m,
        existing_spacing_m=sc.plan.existing_spacing_m,
        existing_support=True,
        underground_ways=town.extras.get("underground_ways", ()),
    )
    sites = screening.sites
    if sites.empty:  # no new site and no existing camera: nothing to plan or to see from
        raise no_candidate_site(sc)
    model = sc.camera.chosen()
    csu_nodes = [area_node(town, a.x, a.y) for a in inputs.trench_ends]
    sites = pd.concat([sites, _costs(sites, town.graph, csu_nodes, sc)], axis=1)
    review, graph = None, town.graph
    if paths.review.is_file():
        review = review_mod.read_review(paths.review, sites["site_id"].tolist())
        sites, graph = apply_moves(sites, review, inputs, csu_nodes)
    cols = ["heading_deg", "fov_deg", "heading_source", "view_x", "view_y", "view_from"]
    cam_info = existing.set_index("site_id")[[c for c in cols if c in existing]]
    cam_info = cam_info.rename(
        columns={"heading_deg": "fixed_heading_deg", "fov_deg": "fixed_fov_deg"}
    )
    sites = sites.join(cam_info, on="site_id")
    sites["heading_source"] = sites["heading_source"].where(sites["existing"], "assumed best")
    sites["view_from"] = sites.get("view_from", pd.Series(index=sites.index, dtype=object)).where(
        sites["existing"], "mapped point"
    )
    counts = {
        "trench_ends": [a.label for a in inputs.trench_ends],
        "candidate_sites": int((~sites["existing"]).sum()),
        "existing_cameras": int(sites["existing"].sum()),
    }
    return Candidates(
        sites=sites,
        model=model,
        review=review,
        counts=counts,
        screening=screening.counts,
        dropped=screening.dropped,
        graph=graph,
    )


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


def area_node(town: io.Town, x: float, y: float, *, surface: bool = False) -> int:
    """The graph node inside the study area nearest a point (any node if none is inside).

    With ``surface``, only nodes that a street at ground level reaches (not only tunnels, indoor
    corridors or negative levels): where a patrol leaves the police station, not the metro
    station's underground footway below it.
    """
    ids, xy = cand.node_xy(town.graph)
    inside = shapely.contains_xy(town.area, xy[:, 0], xy[:, 1])
    if surface:
        up = {n for u, v, d in town.graph.edges(data=True) if not underground(d) for n in (u, v)}
        on_ground = np.fromiter((int(i) in up for i in ids), bool, len(ids))
        if (inside & on_ground).any():
            inside &= on_ground
    pool = np.flatnonzero(inside) if inside.any() else np.arange(len(ids))
    return int(ids[pool[cKDTree(xy[pool]).query((x, y))[1]]])


def _costs(
    sites: gpd.GeoDataFrame, graph: nx.MultiDiGraph, csu_nodes: list[int], sc: Scenario
) -> pd.DataFrame:
    return cand.site_costs(
        sites,
        graph,
        csu_nodes,
        camera_eur=sc.camera.chosen().price_eur,
        mast_eur=sc.candidates.mast_eur,
        facade_mount_eur=sc.candidates.facade_mount_eur,
        trench_eur_per_m=sc.candidates.trench_eur_per_m,
        existing_support_eur=sc.candidates.existing_support_eur,
    )


def apply_moves(
    sites: gpd.GeoDataFrame,
    review: review_mod.Review,
    inputs: Inputs,
    csu_nodes: list[int],
) -> tuple[gpd.GeoDataFrame, nx.MultiDiGraph]:
    """Add a site ``<site_id>-M`` at each position the référent sûreté moved a site to.

    Each position is checked first (:func:`check_moves`). A moved site stands on the street
    where it was put: the walking network gets a node there
    (:func:`siteplanner.town.placement.attach_to_streets`), so that its cable trench (plus
    the stub from the street to the mast) and its network reach are its own. Returns the
    sites and that network (the town's when nothing moved).
    """
    town, sc, edges = inputs.town, inputs.scenario, inputs.streets
    if not review.moved:
        return sites, town.graph
    below = placement.underground_streets(edges)
    moves = sorted(review.moved.items())
    pts = gpd.GeoSeries.from_xy(
        [m[1][0] for m in moves], [m[1][1] for m in moves], crs="EPSG:4326"
    ).to_crs(town.crs)
    check_moves(review, moves, pts, town, edges, below)
    xy = np.column_stack([pts.x, pts.y])
    graph, nodes, stub = placement.attach_to_streets(town.graph, xy, edges, ~below)
    near_wall = np.zeros(len(pts), bool)
    if len(town.buildings):
        hit = town.buildings.sindex.query(pts.values, predicate="dwithin", distance=1.5)
        near_wall[hit[0]] = True
    moved = gpd.GeoDataFrame(
        {
            "site_id": [f"{sid}-M" for sid, _ in moves],
            "kind": "moved",
            "mount": np.where(near_wall, "facade", "mast"),
            "existing": False,
            "name": [f"moved from {sid}" for sid, _ in moves],
            "node": np.asarray(nodes, dtype=np.int64),
        },
        geometry=pts.values,
        crs=town.crs,
    )
    costs = _costs(moved, graph, csu_nodes, sc)
    extra_eur = stub * sc.candidates.trench_eur_per_m  # the stub from the street to the mast
    costs["trench_m"] = np.round(costs["trench_m"] + stub, 1)
    costs["trench_eur"] = np.round(costs["trench_eur"] + extra_eur, 0)
    costs["cost_eur"] = np.round(costs["cost_eur"] + extra_eur, 0)
    moved = pd.concat([moved, costs], axis=1)
    return pd.concat([sites, moved[sites.columns]], ignore_index=True), graph


def check_moves(
    review: review_mod.Review,
    moves: list[tuple[str, tuple[float, float]]],
    pts: gpd.GeoSeries,
    town: io.Town,
    edges: gpd.GeoDataFrame,
    below: np.ndarray,
) -> None:
    """Refuse a moved position inside a building, underground only, or outside the commune.

    One line per refused row of the review file: the row, what is wrong, and the nearest
    valid point (a surface street, outside buildings, inside the study area) in WGS84.

    Raises
    ------
    InputError
        One line when one position is refused, else one error listing them all.
    """
    problems = []
    for (sid, (lon, lat)), p in zip(moves, pts):
        reasons = placement.check_position(
            (p.x, p.y),
            area=town.area,
            buildings=town.buildings,
            edges=edges,
            below=below,
            area_name=town.name,
        )
        if not reasons:
            continue
        row = review.row(sid)
        where = f"line {row.line} (site {sid})" if row is not None else f"site {sid}"
        text = f"{where}: the moved point {lon:.7f}, {lat:.7f} " + " and ".join(reasons)
        best = placement.nearest_valid_point(
            (p.x, p.y), area=town.area, buildings=town.buildings, edges=edges, below=below
        )
        if best is None:
            text += "; no surface street of the study area nearby: give a point on a street"
        else:
            q, street = best
            ll = gpd.GeoSeries([q], crs=town.crs).to_crs("EPSG:4326").iloc[0]
            text += (
                f"; nearest valid point: moved_lon={ll.x:.7f}, moved_lat={ll.y:.7f} ({street}, "
                f"{q.distance(p):.0f} m away: a surface street outside buildings, inside "
                f"{town.name})"
            )
        problems.append((row.line if row is not None else 0, text))
    lines = [text for _, text in sorted(problems)]
    if len(lines) == 1:
        raise InputError(f"{review.source}: {lines[0]}")
    report_problems(lines, source=review.source)
