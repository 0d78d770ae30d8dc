"""Where people are: the lieux de fréquentation and the main streets, beside the incidents.

A référent sûreté's diagnostic weighs two things: the délinquance the incidents show, and the
fréquentation of a place — the shops, cafés and bars, the bus stops and gares, the schools and
public buildings people come to (:data:`siteplanner.vocab.FOOTFALL_KINDS`), and the main,
pedestrian and square streets they walk along (:data:`siteplanner.vocab.MAIN_STREET_TYPES`).
The law names the same places: the CSI code (L251-2) lets a town film the surroundings of
public buildings, transport and places particularly exposed to assaults and thefts. An
incident forecast alone sees none of them where few incidents were recorded (a thin or
synthetic file): a street with no recorded incident gets no demand at all.

:func:`footfall` is the fréquentation of each demand point, ``F(p) = Σ_a exp(−d(p, a) / D)``
over the places ``a`` (one per OSM feature), with ``D`` = :data:`DECAY_M`: a place counts
fully at its door and a third at ``D`` (about one block face); it is not saturated, so a
street lined with shops weighs more than a street with one shop. :func:`blend` mixes it
with the forecast, and :func:`main_street_mask` says which points lie along a main street.
Pure functions of arrays and frames in the town's projected CRS.
"""

from __future__ import annotations

import ast
import itertools
import logging

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from siteplanner.vocab import FOOTFALL_KINDS, MAIN_STREET_TYPES

log = logging.getLogger(__name__)

__all__ = ["DECAY_M", "SIDEWALK_M", "blend", "footfall", "footfall_places", "main_street_mask"]

#: Distance (m) over which a place's pull falls to 1/e (about one block face).
DECAY_M = 35.0
#: A demand point this close (m) to a main street walks along it: sidewalks are often mapped
#: as their own footways a few metres from the carriageway's centre line.
SIDEWALK_M = 12.0
_CUTOFF_DECAYS = 4.0  # places beyond 4 D add less than 2 % each: left out


def footfall_places(pois: gpd.GeoDataFrame) -> np.ndarray:
    """The lieux de fréquentation among the town's POIs, one ``(x, y)`` per OSM feature (a
    town hall is both ``townhall`` and ``public_building``: counted once), sorted by id."""
    places = pois[pois["kind"].isin(FOOTFALL_KINDS)]
    places = places.sort_values("osm_id", kind="stable").drop_duplicates("osm_id")
    return np.column_stack([places.geometry.x, places.geometry.y]).reshape(-1, 2)


def footfall(
    demand_xy: np.ndarray, places_xy: np.ndarray, *, decay_m: float = DECAY_M
) -> np.ndarray:
    """Each demand point's fréquentation: ``Σ exp(−d / decay_m)`` over the places within
    ``4 · decay_m`` (0 where there is none)."""
    out = np.zeros(len(demand_xy))
    if not len(places_xy) or not len(demand_xy):
        return out
    places_xy, demand_xy = np.asarray(places_xy, float), np.asarray(demand_xy, float)
    tree = cKDTree(places_xy)
    near = tree.query_ball_point(demand_xy, _CUTOFF_DECAYS * decay_m)
    n = np.fromiter(map(len, near), np.int64, len(near))
    flat = np.fromiter(itertools.chain.from_iterable(near), np.int64, int(n.sum()))
    start = np.cumsum(n) - n
    # the points with m places near together, one row each (each row sums as it would alone)
    for m in np.unique(n[n > 0]):
        rows = np.flatnonzero(n == m)
        idx = flat[start[rows][:, None] + np.arange(m)]
        d = np.hypot(
            places_xy[idx, 0] - demand_xy[rows, 0][:, None],
            places_xy[idx, 1] - demand_xy[rows, 1][:, None],
        )
        out[rows] = np.exp(-d / decay_m).sum(axis=1)
    return out


def blend(
    forecast: np.ndarray, frequentation: np.ndarray, share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each point's demand from the incidents and from the places, whose sum is its intensity:
    ``(1 − share) · forecast`` and ``share · frequentation · mean(forecast) /
    mean(frequentation)``.

    ``share`` is the part of the demand weight that comes from the fréquentation (:func:`footfall`
    of each point); the total weight stays the forecast's. Without any place the forecast alone
    counts, and without any forecast the fréquentation alone.
    """
    forecast = np.asarray(forecast, float)
    frequentation = np.asarray(frequentation, float)
    f_mean = float(forecast.mean()) if len(forecast) else 0.0
    e_mean = float(frequentation.mean()) if len(frequentation) else 0.0
    if share <= 0 or e_mean <= 0:
        return forecast, np.zeros_like(forecast)
    if f_mean <= 0:
        return forecast, frequentation
    return (1.0 - share) * forecast, share * frequentation * (f_mean / e_mean)


def _types(value: object) -> set[str]:
    """The highway types of a street edge: a tag, a list, or a list's text (``"['a', 'b']"``)."""
    if isinstance(value, (list, tuple, set)):
        return {str(v) for v in value}
    text = str(value)
    if text.startswith("["):
        try:
            return {str(v) for v in ast.literal_eval(text)}
        except (ValueError, SyntaxError):
            return {text}
    return {text}


def main_street_mask(
    demand_xy: np.ndarray, streets: gpd.GeoDataFrame, *, within_m: float = SIDEWALK_M
) -> np.ndarray:
    """Which demand points lie within ``within_m`` of a main, pedestrian or square street at
    ground level (``streets``: lines with ``highway`` and an optional ``underground`` flag)."""
    out = np.zeros(len(demand_xy), bool)
    if not len(streets) or not len(demand_xy):
        return out
    main = np.array([bool(_types(h) & MAIN_STREET_TYPES) for h in streets["highway"]], bool)
    if "underground" in streets:
        main &= ~streets["underground"].to_numpy(bool)
    if not main.any():
        return out
    tree = shapely.STRtree(streets.geometry.values[main])
    hit, _ = tree.query(shapely.points(demand_xy), predicate="dwithin", distance=within_m)
    out[hit] = True
    return out
