"""Town entrances (entrées de ville) and the legal limit on number-plate readers (LAPI).

A town entrance is a road where vehicle traffic enters the commune: a drivable street that
crosses the study area's boundary. Context cameras there see who comes in; number-plate
readers there would be what the State's services want, but a commune may not run them.

LAPI — *lecture automatique de plaques d'immatriculation* — is reserved by the Code de la
sécurité intérieure (articles L233-1 and L233-2) to the police nationale, the gendarmerie
and the customs; the Conseil d'État ruled that a commune may not operate them (CE, 27 June
2016, n° 385091). So siteplanner never proposes LAPI as a municipal camera: a scenario that
asks for one is refused, and the entrances are listed as a *proposition au partenaire État*.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from siteplanner.vocab import LAPI_NOTE_SHORT

log = logging.getLogger(__name__)


#: Road classes whose boundary crossings are entrances; residential roads only with through traffic.
MAIN_ROADS = ("primary", "primary_link", "secondary", "secondary_link", "tertiary", "tertiary_link")
THROUGH_ROADS = ("residential", "unclassified")

PROPOSAL = "proposition au partenaire État"


def _first(v: object) -> str:
    if isinstance(v, list):
        return str(v[0]) if v else ""
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def town_entrances(
    edges: gpd.GeoDataFrame,
    area: BaseGeometry,
    *,
    through: np.ndarray | None = None,
    merge_m: float = 100.0,
    place_m: float = 25.0,
) -> gpd.GeoDataFrame:
    """The roads that cross the commune's boundary, one row per crossing.

    Parameters
    ----------
    edges
        Drivable street edges, projected, with ``highway`` and ``name`` columns.
    area
        The commune's polygon (same CRS).
    through
        ``(len(edges),)`` whether a residential / unclassified edge carries through traffic
        (it joins the commune to the network outside: both its ends lead somewhere). Without
        it, residential roads are kept when they cross the boundary and link two main roads'
        networks is unknown, so they are all kept.
    merge_m
        Crossings of the same road (same name, or same class when unnamed) closer than this
        are one entrance: dual carriageways, and roads that run along a winding boundary.
    place_m
        Crossings of different roads closer than this (a junction on the boundary) are one
        entrance, named after all its roads (``"A + B"``).

    Returns
    -------
    GeoDataFrame
        ``entrance_id``, ``road`` (name or ref), ``highway``, ``status`` (always
        ``proposition au partenaire État``), ``note`` (the LAPI legal note), point geometry
        on the boundary.
    """
    hw = edges["highway"].map(_first)
    keep = hw.isin(MAIN_ROADS).to_numpy().copy()
    res = hw.isin(THROUGH_ROADS).to_numpy()
    keep |= res & (np.ones(len(edges), bool) if through is None else np.asarray(through, bool))
    e = edges[keep]
    ring = area.boundary
    rows, pts = [], []
    for name, h, geom in zip(e["name"].map(_first), hw[keep], e.geometry):
        x = geom.intersection(ring)
        if x.is_empty:
            continue
        for p in shapely.get_parts(x):
            c = p if p.geom_type == "Point" else p.centroid
            rows.append({"road": name or "(sans nom)", "highway": h})
            pts.append(c)
    if not rows:
        log.info("town_entrances: no road crosses the boundary")
        return gpd.GeoDataFrame(
            {"entrance_id": [], "road": [], "highway": [], "status": [], "note": []},
            geometry=[],
            crs=edges.crs,
        )
    g = gpd.GeoDataFrame(rows, geometry=pts, crs=edges.crs)
    # one entrance per road and place: crossings within merge_m of an earlier one of the same
    # road are dropped
    order = g.assign(
        _rank=g["highway"].map(lambda h: (MAIN_ROADS + THROUGH_ROADS).index(h)),
        _key=[r if r != "(sans nom)" else f"({h})" for r, h in zip(g["road"], g["highway"])],
    )
    order = order.sort_values(["_rank", "road"], kind="stable")
    kept: list[int] = []
    for i, r in order.iterrows():
        if any(
            order.at[j, "_key"] == r["_key"] and order.geometry[j].distance(r.geometry) < merge_m
            for j in kept
        ):
            continue
        # a crossing at the same place as a kept one (a junction on the boundary) joins it
        same = next((j for j in kept if order.geometry[j].distance(r.geometry) < place_m), None)
        if same is not None:
            if r["road"] not in order.at[same, "road"].split(" + "):
                order.at[same, "road"] = f"{order.at[same, 'road']} + {r['road']}"
            continue
        kept.append(i)
    out = order.loc[kept].drop(columns=["_rank", "_key"]).reset_index(drop=True)
    out.insert(0, "entrance_id", [f"E{i + 1:02d}" for i in range(len(out))])
    out["status"] = PROPOSAL
    out["note"] = LAPI_NOTE_SHORT
    log.info(
        "town_entrances: %d entrance(s) (%s)",
        len(out),
        ", ".join(out["highway"].value_counts().index),
    )
    return out


def through_traffic(graph, edges: gpd.GeoDataFrame, area: BaseGeometry) -> np.ndarray:
    """Whether each edge carries through traffic across the boundary: a residential road that
    crosses the boundary and whose two ends each reach at least one other drivable street
    (not a dead end on either side)."""
    out = np.zeros(len(edges), bool)
    ring = area.boundary
    for j, (u, v, geom) in enumerate(zip(edges["u"], edges["v"], edges.geometry)):
        if not geom.intersects(ring):
            continue
        out[j] = _degree(graph, u) > 1 and _degree(graph, v) > 1
    return out


def _degree(graph, n) -> int:
    return len(set(graph.predecessors(n)) | set(graph.successors(n)))


def entrances_table(entrances: gpd.GeoDataFrame) -> pd.DataFrame:
    """The report's table of entrances (WGS84 positions)."""
    if entrances.empty:
        return pd.DataFrame(columns=["entrance", "road", "highway", "lon", "lat", "status"])
    ll = entrances.to_crs("EPSG:4326").geometry
    return pd.DataFrame(
        {
            "entrance": entrances["entrance_id"],
            "road": entrances["road"],
            "highway": entrances["highway"],
            "lon": ll.x.round(6),
            "lat": ll.y.round(6),
            "status": entrances["status"],
        }
    )
