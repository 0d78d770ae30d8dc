"""Sites named as a référent sûreté names them: the address or the crossing, and a landmark.

"angle boulevard de la République / rue Jules Ferry, près du collège Bellevue": at a street
crossing, the names of the streets that meet there (the most important street first); along
one street, "12 avenue X" when a house number of that street is near, else "avenue X"; then
the nearest school, gare or public building within reach ("près du collège Bellevue",
:func:`siteplanner.vocab.near_text`). The OSM id of the site stays the reference; this is the
name people use.

Pure functions of the town's layers (projected metres).
"""

from __future__ import annotations

import logging
import unicodedata

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from siteplanner.vocab import near_text, street_in_text

log = logging.getLogger(__name__)

__all__ = ["LANDMARK_KINDS", "nearest_street_names", "site_addresses", "streets_at"]

#: POI kinds a référent points at, the most specific first (a town hall is also a public
#: building in OSM: it is named as the town hall).
LANDMARK_KINDS: tuple[str, ...] = (
    "townhall",
    "police",
    "school",
    "station",
    "bus_station",
    "public_building",
)

#: Street importance, to name the main street of a crossing first.
_RANK = {
    "trunk": 0,
    "primary": 1,
    "secondary": 2,
    "tertiary": 3,
    "unclassified": 4,
    "residential": 4,
    "living_street": 5,
    "pedestrian": 5,
    "service": 6,
}


def _parts(value: object) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [str(x) for x in items if isinstance(x, str) and x.strip()]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", " ".join(str(text).lower().split()))
    return "".join(c for c in text if not unicodedata.combining(c))


def streets_at(graph: nx.MultiDiGraph, node: int) -> list[str]:
    """The names of the streets that meet at ``node``, the most important first."""
    best: dict[str, tuple[int, str]] = {}
    for _, _, d in graph.edges(node, data=True):
        rank = min((_RANK.get(h, 7) for h in _parts(d.get("highway"))), default=7)
        for name in _parts(d.get("name")):
            key = _fold(name)
            if key not in best or (rank, name) < best[key]:
                best[key] = (rank, name)
    return [name for _, name in sorted(best.values())]


def _landmarks(pois: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One landmark per OSM element, with its most specific kind."""
    lm = pois[pois["kind"].isin(LANDMARK_KINDS)].copy()
    lm["order"] = lm["kind"].map({k: i for i, k in enumerate(LANDMARK_KINDS)})
    lm = lm.sort_values(["osm_id", "order"], kind="stable").drop_duplicates("osm_id")
    return lm.sort_values("osm_id", kind="stable").reset_index(drop=True)


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


def _house_number(
    xy: np.ndarray, street: str, numbers: gpd.GeoDataFrame | None, max_m: float
) -> str:
    """The house number of ``street`` nearest ``xy`` within ``max_m`` ("" when none)."""
    if numbers is None or numbers.empty or not street:
        return ""
    same = numbers[numbers["street"].map(_fold) == _fold(street)]
    if same.empty:
        return ""
    d = same.distance(shapely.Point(xy))
    j = d.idxmin()
    return str(same.at[j, "housenumber"]) if d[j] <= max_m else ""


def site_addresses(
    points: gpd.GeoSeries,
    graph: nx.MultiDiGraph,
    edges: gpd.GeoDataFrame,
    pois: gpd.GeoDataFrame,
    *,
    house_numbers: gpd.GeoDataFrame | None = None,
    corner_m: float = 12.0,
    street_m: float = 150.0,
    number_m: float = 30.0,
    landmark_m: float = 150.0,
) -> pd.DataFrame:
    """The address and landmark of each point, as a référent sûreté says them.

    Parameters
    ----------
    points
        The sites, in the layers' projected CRS.
    graph
        The walking network (edge ``name`` and ``highway``).
    edges
        Its street edges with ``name`` (:func:`siteplanner.town.load.edges_gdf`).
    pois
        Points of interest with ``kind``, ``name`` and ``osm_id`` (the landmarks are the
        :data:`LANDMARK_KINDS`).
    house_numbers
        OSM addresses: ``street``, ``housenumber`` and a point geometry (None: none known).
    corner_m
        A point this close to a node where two named streets meet is at their crossing.
    street_m
        Farther streets do not name a point ("voie sans nom").
    number_m
        A house number this close (of the point's street) gives "12 avenue X".
    landmark_m
        A landmark this close is named ("près de ...").

    Returns
    -------
    pandas.DataFrame
        On ``points``' index: ``address`` ("angle A / B", "12 avenue X", "avenue X" or
        "voie sans nom"), ``near`` ("près du collège Bellevue" or "") and ``label`` (both).
    """
    xy = np.column_stack([points.x.to_numpy(float), points.y.to_numpy(float)])
    ids = np.array(list(graph.nodes), dtype=np.int64)
    nxy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], float).reshape(-1, 2)
    # a street merged from ways of several names is named by its first
    street = [
        s.split(" / ")[0] for s in nearest_street_names(points, edges, max_distance_m=street_m)
    ]
    at_node = [[] for _ in range(len(xy))]
    if len(ids) and len(xy):
        d, j = cKDTree(nxy).query(xy)
        at_node = [
            streets_at(graph, int(ids[jj])) if dd <= corner_m else [] for dd, jj in zip(d, j)
        ]
    lm = _landmarks(pois)
    near = [""] * len(xy)
    if len(lm) and len(xy):
        d, j = cKDTree(np.column_stack([lm.geometry.x, lm.geometry.y])).query(xy)
        near = [
            near_text(lm["kind"].iloc[jj], lm["name"].iloc[jj]) if dd <= landmark_m else ""
            for dd, jj in zip(d, j)
        ]
    address = []
    for i, names in enumerate(at_node):
        if len(names) >= 2:
            word = "angle" if len(names) == 2 else "carrefour"
            address.append(f"{word} " + " / ".join(street_in_text(n) for n in names[:3]))
            continue
        s = names[0] if names else street[i]
        if not s:
            address.append("voie sans nom")
            continue
        num = _house_number(xy[i], s, house_numbers, number_m)
        address.append(f"{num} {street_in_text(s)}" if num else street_in_text(s))
    out = pd.DataFrame({"address": address, "near": near}, index=points.index)
    out["label"] = [a + (f", {n}" if n else "") for a, n in zip(out["address"], out["near"])]
    log.info(
        "site_addresses: %d site(s), %d at a crossing, %d near a landmark",
        len(out),
        int(out["address"].str.match(r"(angle|carrefour) ").sum()),
        int((out["near"] != "").sum()),
    )
    return out
