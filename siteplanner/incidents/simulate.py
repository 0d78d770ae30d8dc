"""Simulate a SYNTHETIC, seeded incident file on a town's real street network.

No open incident file exists for the default town, so :func:`simulate_incidents`
places plausible incidents on the real streets, from the real points of interest of
the OpenStreetMap extract. Everything it returns is synthetic: the ids start with
``SYN-`` and ``DataFrame.attrs["synthetic"]`` is ``True``. It is a test bed for
the hotspot, coverage and patrol steps, never a picture of the town's real crime.

The model
---------
Each category ``c`` (the slugs of :data:`siteplanner.vocab.CATEGORIES`) is an
independent space–time point process on the street network, with its own parameters
(:data:`CATEGORY_MODELS`, one :class:`CategoryModel` each).

**Where: a risk terrain on the streets.** The streets inside ``area`` are cut into
pieces of at most :data:`PIECE_M` (10 m). The background intensity of piece ``p`` is

.. math:: \\lambda_c(p) = \\ell(p)\\,\\prod_k \\mathrm{RRV}_{c,k}^{\\,s_{c,k}(p)},\\qquad
          s_{c,k}(p) = 1 - \\exp\\Big(-\\sum_{a \\in k} e^{-d(p,a)/D_c}\\Big)

where ``ℓ(p)`` is the piece's length, ``k`` an attractor kind (bar, nightclub, shop,
bus stop, station, school, park, parking, social housing ...), ``d`` the straight-line
distance from the piece's middle to the attractor (its centroid), ``D_c`` the
category's decay distance (``decay_m``) and ``RRV_{c,k}`` its relative risk value
(``attractor_rrv``). ``s`` is a saturating exposure in [0, 1): one bar next door gives
``s ≈ 0.63``, three give ``s ≈ 0.95``, so a street lined with shops is not a thousand
times riskier than a street with one shop. This is the log-linear form of risk terrain
modelling, in which each risk factor multiplies the risk of the places within its
spatial influence (Caplan, Kennedy & Miller 2011, *Justice Quarterly* 28(2): 360–381;
Caplan & Kennedy 2016, *Risk Terrain Modeling*, Univ. of California Press), with a
smooth distance decay in place of RTM's distance bands. Decays of 100–250 m follow
RTM's usual spatial influence of one to three blocks; the RRVs (1.2–3.5) are chosen,
not fitted, and kept moderate so that no single factor dominates the terrain. Bars and
night venues for violence (Roncek & Maier 1991, *Criminology* 29(4)), car parks for
thefts from and fires of vehicles, stations and bus stops for violence and tags
(Loukaitou-Sideris 1999, *J. Am. Planning Assoc.* 65(4)), social housing and parks for
drug dealing, rodéos and fly-tipping: the factors chosen for each category are stated in
:data:`CATEGORY_MODELS`. Attractor kinds without a weight are ignored; with no attractor
at all the terrain is flat (street length and the place effect below only).

Attractors mapped in OSM do not explain every hot street (a particular building, a
badly lit passage, a landlord), so each street edge also carries a *place effect*, a
lognormal multiplier of mean 1 and log-scale spread ``place_sigma`` (default
:data:`PLACE_SIGMA` = 1.2), shared by all categories: a few streets are bad for many
things at once. With it, half the incidents of the default Beausoleil run fall on
6.6 % of the street edges (12 % without it; see ``data/incidents/README.md``),
near the 2–6 % of street segments that hold half of a city's crime under the law of
crime concentration (Weisburd 2015, *Criminology* 53(2): 133–157).

**When: day and hour profiles.** The background events of a category are
``Poisson(share_c · per_year · n_days / 365.25 · (1 − η_c))`` in number (``η_c`` the
branching ratio below, so that the expected total, offspring included, is
``share_c · per_year`` a year). Their day is drawn with weight

.. math:: w_c(\\text{day}) = \\text{weekday}_c \\cdot \\text{month}_c
          \\cdot H_c^{[\\text{school holiday}]} \\cdot P_c^{[\\text{public holiday}]}
          \\cdot F_c^{[\\text{festive night}]}

with school holidays of the chosen zone from the ``vacances-scolaires-france`` package
(``SchoolHolidayDates``; Beausoleil is in the Nice académie, zone B), public holidays
from ``holidays.France``, and festive nights the 31 December, 1 January, 13 and 14 July
(car burnings on the Saint-Sylvestre night are counted every year by the Ministère de
l'Intérieur: several hundred vehicles in one night nationally, several times an
ordinary night). The hour is drawn from the category's 24-hour profile, the minute
uniformly; the local time is Europe/Paris (a time skipped by the spring DST change is
moved forward one hour). The profiles are plausible shapes, not fitted to any town:
night-time fires, tags and thefts from cars; daytime burglaries of empty homes and a
winter peak (longer nights); rodéos on late afternoons, weekends, summer and school
holidays; dealing in the afternoon and evening; violence on Friday and Saturday
nights; fly-tipping found on working days by the services techniques. The shapes of
thefts from vehicles and of dégradations were checked against real timestamped data
(Vancouver Police Department open data 2020: 28 % and 32 % of "Theft from Vehicle"
and "Mischief" between 22:00 and 06:00, evening peaks; the profiles here give 31 %
and 36 %).

**Near repeats: a Hawkes-like branching process.** Burglaries and vehicle fires are
self-exciting: a burglary raises the risk of burglary nearby for a week or two
(Townsley, Homel & Chaseling 2003, *Br. J. Criminol.* 43(3); Bowers, Johnson & Pease
2004, *Br. J. Criminol.* 44(5): 641–658, "Prospective hot-spotting"; Johnson et al.
2007, *J. Quant. Criminol.* 23(3)), which self-exciting point processes model
(Mohler et al. 2011, *JASA* 106(493)). Each event of such a category has
``Poisson(η_c)`` offspring of the same category (``branching_ratio``: 0.30 for
burglaries, 0.35 for vehicle fires; chosen, not fitted, in the range for which a
minority of events are repeats). An offspring falls ``1 + ⌊X⌋`` days later with
``X`` exponential of mean ``repeat_lag_days`` truncated to ``repeat_max_days − 1``
(so 1 to 14 days after its parent), on a street piece within ``repeat_radius_m``
(200 m) of its parent, chosen with weight ``λ_c(p) · exp(−d / repeat_scale_m)``; its
hour is drawn from the category's profile. Offspring have offspring in turn (the
expected cluster size is ``1 / (1 − η_c)``); those after ``end`` are dropped.

**Exact position.** A point is placed uniformly along its street piece, then moved
sideways (perpendicular to the street) by a uniform offset of at most
:data:`JITTER_M` (5 m), the width of a street and its pavements; a point the offset
would take outside ``area`` (a street along the boundary) goes to the other side, else
stays on the street line. Coordinates are rounded to the centimetre and kept
:data:`INSIDE_MARGIN_M` (25 cm) inside the boundary, so that the WGS84 positions,
rounded to 6 decimals, fall inside the area too.

**Source.** Each incident's source (a slug of :data:`siteplanner.vocab.SOURCES`)
is drawn from the category's mix (``sources``), with the weight of a source raised
near some attractors (``source_boosts``: ``boost · exp(−d / 30 m)`` to the nearest
one): the bailleur social reports incidents at its buildings (halls, parties
communes), the transporteur those at its stops and stations.

**Parameters at a glance** (all in :data:`CATEGORY_MODELS`, defined in
:mod:`siteplanner.incidents.models`; hour, weekday and month profiles there too).
``share`` of all incidents, decay ``D``, school-holiday ``H``, public-holiday ``P`` and
festive-night ``F`` day factors, branching ratio ``η``. The shares are chosen to look
like a small town's incident log (tags and fly-tipping the most frequent, vehicle fires
the rarest), not taken from a real file.

======================  =====  =====  ====  ====  ===  ====
category                share  D (m)  H     P     F    η
======================  =====  =====  ====  ====  ===  ====
incendie_vehicule       0.05   150    1.1   1.3   6    0.35
incendie_poubelle       0.08   100    1.2   1.2   3    0
degradation_tag         0.20   120    1.25  1     1.5  0
cambriolage             0.10   150    1.3   0.9   1    0.3
vol_roulotte            0.14   120    1.1   1.1   1    0
rodeo_urbain            0.06   250    1.6   1.3   2    0
trafic_stupefiants      0.09   120    1.1   1     1    0
violence_voie_publique  0.10   100    1.1   1.3   2    0
depot_sauvage           0.18   150    0.9   0.5   1    0
======================  =====  =====  ====  ====  ===  ====

Relative risk values of the attractor kinds:

- ``incendie_vehicule``: parking 3, social_housing 2.5, park 1.3;
- ``incendie_poubelle``: social_housing 3, shop 1.5, restaurant 1.3, school 1.3;
- ``degradation_tag``: station 2.5, bus_station 2, school 2, social_housing 2, park 1.8,
  bus_stop 1.5, shop 1.3;
- ``cambriolage``: shop 1.6, social_housing 1.5, parking 1.2, park 1.2;
- ``vol_roulotte``: parking 3.5, station 2, park 1.5, nightclub 1.5, restaurant 1.3;
- ``rodeo_urbain``: social_housing 3, park 2.5, parking 2, school 1.3;
- ``trafic_stupefiants``: social_housing 3.5, park 2, station 2, bus_station 1.8, bar 1.5,
  school 1.3;
- ``violence_voie_publique``: nightclub 3.5, bar 3, station 2.5, bus_station 2, restaurant 1.5,
  bus_stop 1.3, shop 1.3;
- ``depot_sauvage``: park 2, parking 2, social_housing 2, shop 1.5, restaurant 1.3.

Base source mixes (before the boosts near attractors):

- ``incendie_vehicule``: police_nationale 0.6, police_municipale 0.3, bailleur_social 0.1;
- ``incendie_poubelle``: police_municipale 0.35, services_techniques 0.35, bailleur_social 0.2,
  police_nationale 0.1;
- ``degradation_tag``: services_techniques 0.4, police_municipale 0.25, bailleur_social 0.2,
  transporteur 0.1, police_nationale 0.05;
- ``cambriolage``: police_nationale 0.85, police_municipale 0.1, bailleur_social 0.05;
- ``vol_roulotte``: police_nationale 0.7, police_municipale 0.3;
- ``rodeo_urbain``: police_municipale 0.55, police_nationale 0.4, bailleur_social 0.05;
- ``trafic_stupefiants``: police_nationale 0.6, police_municipale 0.25, bailleur_social 0.15;
- ``violence_voie_publique``: police_nationale 0.65, police_municipale 0.25, transporteur 0.1;
- ``depot_sauvage``: services_techniques 0.7, police_municipale 0.2, bailleur_social 0.1.

Everything is seeded: the same inputs and ``seed`` give an identical frame; each
category draws from its own stream (``numpy.random.default_rng([seed, i])``), so a
change to one category's parameters leaves the others' incidents unchanged.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString, MultiPolygon, Polygon

from siteplanner._errors import InputError, report_problems
from siteplanner.incidents.models import CATEGORY_MODELS, CategoryModel, check_models
from siteplanner.vocab import CATEGORIES, SOURCES

log = logging.getLogger(__name__)

__all__ = [
    "INSIDE_MARGIN_M",
    "JITTER_M",
    "PIECE_M",
    "PLACE_SIGMA",
    "SOURCE_BOOST_SCALE_M",
    "StreetPieces",
    "simulate_incidents",
    "street_pieces",
]

#: Streets are cut into pieces of at most this length (m) to carry the risk terrain.
PIECE_M = 10.0
#: Largest sideways offset of an incident from its street line (m).
JITTER_M = 5.0
#: Distance scale (m) of the source boosts near attractors (``exp(−d / 30 m)``).
SOURCE_BOOST_SCALE_M = 30.0
#: Spread (log-scale standard deviation) of the per-street "place effect" multiplier.
PLACE_SIGMA = 1.2
#: The local time zone of the incident timestamps.
TIMEZONE = "Europe/Paris"
#: Festive nights (month, day): Saint-Sylvestre / New Year and the 13–14 July nights.
FESTIVE_DAYS = ((12, 31), (1, 1), (7, 13), (7, 14))
#: Incidents keep this far inside the area's boundary (m), so that their lon/lat, rounded to
#: 6 decimals (≤ 6 cm), still fall inside it.
INSIDE_MARGIN_M = 0.25
#: Exposure sums stop beyond this many decay distances (exp(−4) ≈ 0.018).
_CUTOFF_DECAYS = 4.0


# ---------------------------------------------------------------------------------------
# streets
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreetPieces:
    """The streets inside the area, cut into short pieces.

    Attributes
    ----------
    lines
        One LineString per undirected street edge (projected).
    edge
        Index into ``lines`` of each piece.
    start_m
        Distance of the piece's start along its line (m).
    length_m
        The piece's length (m).
    x, y
        The piece's middle point.
    """

    lines: np.ndarray
    edge: np.ndarray
    start_m: np.ndarray
    length_m: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def total_length_m(self) -> float:
        """Total street length inside the area (m)."""
        return float(self.length_m.sum())


def _edge_sort_key(item: tuple) -> tuple:
    u, v, k = item[0]
    return (str(type(u)), u, str(type(v)), v, str(k))


def street_pieces(
    graph: nx.MultiDiGraph, area: Polygon | MultiPolygon, *, piece_m: float = PIECE_M
) -> StreetPieces:
    """Cut the graph's streets inside ``area`` into pieces of at most ``piece_m`` metres.

    A street walked both ways (two directed edges ``u→v`` and ``v→u``) counts once. A
    piece belongs to the area if its middle point does.

    Parameters
    ----------
    graph
        Projected osmnx MultiDiGraph (node ``x``, ``y``; optional edge ``geometry``).
    area
        The study area, in the graph's CRS.
    piece_m
        Largest piece length (m).

    Returns
    -------
    StreetPieces
        The pieces, in a stable order (edges sorted by node ids).
    """
    edges: dict[tuple, LineString] = {}
    nodes = graph.nodes
    for u, v, k, d in graph.edges(keys=True, data=True):
        try:
            key = (u, v, k) if (u, v) <= (v, u) else (v, u, k)
        except TypeError:
            key = (u, v, k) if str(u) <= str(v) else (v, u, k)
        if key in edges:
            continue
        geom = d.get("geometry")
        if geom is None:
            if u == v:
                continue
            geom = LineString([(nodes[u]["x"], nodes[u]["y"]), (nodes[v]["x"], nodes[v]["y"])])
        edges[key] = geom
    items = sorted(edges.items(), key=_edge_sort_key)
    lines = np.array([g for _, g in items], dtype=object)
    empty = StreetPieces(
        np.array([], dtype=object),
        np.zeros(0, int),
        np.zeros(0),
        np.zeros(0),
        np.zeros(0),
        np.zeros(0),
    )
    if len(lines) == 0:
        return empty
    shapely.prepare(area)
    keep = shapely.intersects(lines, area) & (shapely.length(lines) > 0)
    lines = lines[keep]
    if len(lines) == 0:
        return empty
    lengths = shapely.length(lines)
    n = np.maximum(1, np.ceil(lengths / piece_m)).astype(int)
    edge = np.repeat(np.arange(len(lines)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    j = np.arange(len(edge)) - first
    plen = (lengths / n)[edge]
    start = j * plen
    mid = shapely.line_interpolate_point(lines[edge], start + plen / 2)
    x, y = (
        np.round(shapely.get_x(mid), 2),
        np.round(shapely.get_y(mid), 2),
    )  # to the cm, as the output
    inside = shapely.contains_xy(area, x, y)
    return StreetPieces(lines, edge[inside], start[inside], plen[inside], x[inside], y[inside])


# ---------------------------------------------------------------------------------------
# risk terrain
# ---------------------------------------------------------------------------------------


def _attractor_xy(attractors: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """Centroid coordinates of the attractors, grouped by kind (sorted kinds)."""
    if len(attractors) == 0:
        return {}
    geom = attractors.geometry.values
    pts = shapely.centroid(np.asarray(geom, dtype=object))
    ok = ~shapely.is_missing(pts) & ~shapely.is_empty(pts)
    xy = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])
    kinds = attractors["kind"].astype(str).to_numpy()
    out = {}
    for kind in sorted(set(kinds[ok])):
        sel = ok & (kinds == kind)
        out[kind] = xy[sel]
    return out


def _exposure(px: np.ndarray, py: np.ndarray, points: np.ndarray, decay_m: float) -> np.ndarray:
    """Saturating exposure ``1 − exp(−Σ exp(−d/D))`` of each location to a set of points."""
    if len(points) == 0 or len(px) == 0:
        return np.zeros(len(px))
    tree_p = cKDTree(np.column_stack([px, py]))
    tree_a = cKDTree(points)
    m = tree_p.sparse_distance_matrix(tree_a, _CUTOFF_DECAYS * decay_m, output_type="ndarray")
    s = np.bincount(m["i"], weights=np.exp(-m["v"] / decay_m), minlength=len(px))
    return 1.0 - np.exp(-s)


def _risk(
    pieces: StreetPieces, model: CategoryModel, attractor_xy: Mapping[str, np.ndarray]
) -> np.ndarray:
    """Background intensity of each street piece for one category (length × Π RRV^s)."""
    log_r = np.zeros(len(pieces.x))
    for kind, rrv in model.attractor_rrv:
        pts = attractor_xy.get(kind)
        if pts is None or len(pts) == 0:
            continue
        log_r += math.log(rrv) * _exposure(pieces.x, pieces.y, pts, model.decay_m)
    return pieces.length_m * np.exp(log_r)


# ---------------------------------------------------------------------------------------
# calendar
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    days: pd.DatetimeIndex
    weekday: np.ndarray
    month: np.ndarray
    school_holiday: np.ndarray
    public_holiday: np.ndarray
    festive: np.ndarray


def _calendar(start: pd.Timestamp, end: pd.Timestamp, school_zone: str) -> _Calendar:
    import holidays
    from vacances_scolaires_france import SchoolHolidayDates

    days = pd.date_range(start, end, freq="D")
    school = SchoolHolidayDates()
    dates = [d.date() for d in days]
    school_h = np.array([school.is_holiday_for_zone(d, school_zone) for d in dates], dtype=bool)
    fr = holidays.France(years=range(start.year, end.year + 1))
    public_h = np.array([d in fr for d in dates], dtype=bool)
    festive = np.array([(d.month, d.day) in FESTIVE_DAYS for d in dates], dtype=bool)
    return _Calendar(
        days, days.day_of_week.to_numpy(), days.month.to_numpy() - 1, school_h, public_h, festive
    )


def _day_weights(cal: _Calendar, model: CategoryModel) -> np.ndarray:
    w = np.asarray(model.weekday, float)[cal.weekday] * np.asarray(model.month, float)[cal.month]
    w = w * np.where(cal.school_holiday, model.school_holiday, 1.0)
    w = w * np.where(cal.public_holiday, model.public_holiday, 1.0)
    w = w * np.where(cal.festive, model.festive, 1.0)
    return w / w.sum()


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------


def _resolve_crs(
    graph: nx.MultiDiGraph, attractors: gpd.GeoDataFrame, crs: str | pyproj.CRS | None
) -> tuple[pyproj.CRS | None, list[str]]:
    problems: list[str] = []
    graph_crs = graph.graph.get("crs") if isinstance(graph, nx.Graph) else None
    out = None
    try:
        cands = [pyproj.CRS.from_user_input(c) for c in (graph_crs, crs) if c is not None]
    except pyproj.exceptions.CRSError as exc:
        return None, [f"crs: cannot be understood ({exc}); accepted: an EPSG code or a pyproj CRS"]
    if not cands:
        problems.append(
            "graph has no 'crs' attribute and no crs= was given; accepted: a projected graph "
            "(osmnx.project_graph) or crs='EPSG:32632'"
        )
    else:
        out = cands[0]
        if len(cands) == 2 and not cands[0].equals(cands[1]):
            problems.append(
                f"crs={crs!r} differs from the graph's CRS {graph_crs!r}; "
                "give the graph's CRS or none"
            )
        if not out.is_projected:
            problems.append(
                f"graph CRS {out.to_string()} is not projected; project it with "
                "osmnx.project_graph to a metric CRS (e.g. EPSG:32632)"
            )
    if (
        out is not None
        and isinstance(attractors, gpd.GeoDataFrame)
        and attractors.crs is not None
        and not pyproj.CRS.from_user_input(attractors.crs).equals(out)
    ):
        problems.append(
            f"attractors: CRS {attractors.crs.to_string()} differs from the graph's "
            f"{out.to_string()}; reproject them with attractors.to_crs(graph.graph['crs'])"
        )
    return out, problems


# ---------------------------------------------------------------------------------------
# the simulator
# ---------------------------------------------------------------------------------------


def _truncated_exp_days(rng: np.random.Generator, n: int, mean: float, max_days: int) -> np.ndarray:
    """Lags of ``1 + floor(X)`` days, ``X ~ Exp(mean)`` truncated to ``[0, max_days − 1)``."""
    span = max(max_days - 1, 1e-9)
    u = rng.random(n)
    x = -mean * np.log1p(-u * (1.0 - math.exp(-span / mean)))
    return 1 + np.minimum(np.floor(x).astype(int), max_days - 1)


def _choose(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    cum = np.cumsum(weights)
    return np.minimum(
        np.searchsorted(cum, rng.random(size) * cum[-1], side="right"), len(weights) - 1
    )


def _offspring(
    rng: np.random.Generator,
    model: CategoryModel,
    parents_day: np.ndarray,
    parents_xy: np.ndarray,
    risk: np.ndarray,
    tree: cKDTree,
    pieces_xy: np.ndarray,
    n_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """All generations of near-repeat offspring: their day index and street piece."""
    days_out, pieces_out = [], []
    day, xy = parents_day, parents_xy
    while len(day):
        k = rng.poisson(model.branching_ratio, len(day))
        par = np.repeat(np.arange(len(day)), k)
        if len(par) == 0:
            break
        child_day = day[par] + _truncated_exp_days(
            rng, len(par), model.repeat_lag_days, model.repeat_max_days
        )
        neighbours = tree.query_ball_point(xy[par], model.repeat_radius_m)
        child_piece = np.empty(len(par), dtype=int)
        u = rng.random(len(par))
        for i, hits in enumerate(neighbours):
            hits = np.sort(np.asarray(hits, dtype=int))
            d = np.hypot(*(pieces_xy[hits] - xy[par[i]]).T)
            w = risk[hits] * np.exp(-d / model.repeat_scale_m)
            cum = np.cumsum(w)
            child_piece[i] = hits[
                min(int(np.searchsorted(cum, u[i] * cum[-1], side="right")), len(hits) - 1)
            ]
        ok = child_day < n_days
        day, xy = child_day[ok], pieces_xy[child_piece[ok]]
        days_out.append(day)
        pieces_out.append(child_piece[ok])
    if not days_out:
        return np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(days_out), np.concatenate(pieces_out)


def _place(
    rng: np.random.Generator, pieces: StreetPieces, piece: np.ndarray, area: Polygon | MultiPolygon
) -> tuple[np.ndarray, np.ndarray]:
    """Point on each chosen piece (uniform along it), offset sideways by at most JITTER_M."""
    n = len(piece)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    lines = pieces.lines[pieces.edge[piece]]
    along = pieces.start_m[piece] + rng.random(n) * pieces.length_m[piece]
    side = (rng.random(n) * 2.0 - 1.0) * JITTER_M
    on = shapely.line_interpolate_point(lines, along)
    llen = shapely.length(lines)
    a = shapely.line_interpolate_point(lines, np.clip(along - 0.5, 0, llen))
    b = shapely.line_interpolate_point(lines, np.clip(along + 0.5, 0, llen))
    tx, ty = shapely.get_x(b) - shapely.get_x(a), shapely.get_y(b) - shapely.get_y(a)
    norm = np.hypot(tx, ty)
    norm[norm == 0] = np.inf
    x0, y0 = shapely.get_x(on), shapely.get_y(on)
    nx_, ny_ = -ty / norm, tx / norm
    # the sideways offset, else the other side (a street along the boundary), else the street
    # line, else the piece's middle (inside by construction); checked on the cm-rounded output
    x, y = np.round(pieces.x[piece], 2), np.round(pieces.y[piece], 2)
    todo = np.ones(n, dtype=bool)
    for f in (1.0, -1.0, 0.0):
        cx, cy = np.round(x0 + nx_ * side * f, 2), np.round(y0 + ny_ * side * f, 2)
        ok = todo & shapely.contains_xy(area, cx, cy)
        x[ok], y[ok] = cx[ok], cy[ok]
        todo &= ~ok
    return x, y


def _sources(
    rng: np.random.Generator,
    model: CategoryModel,
    x: np.ndarray,
    y: np.ndarray,
    attractor_xy: Mapping[str, np.ndarray],
) -> np.ndarray:
    """Draw each incident's source from the category's mix, boosted near some attractors."""
    n = len(x)
    idx = {s: i for i, s in enumerate(SOURCES)}
    w = np.zeros((n, len(SOURCES)))
    for s, weight in model.sources:
        w[:, idx[s]] += weight
    for s, kinds, boost in model.source_boosts:
        pts = [attractor_xy[k] for k in kinds if k in attractor_xy and len(attractor_xy[k])]
        if not pts or n == 0:
            continue
        d, _ = cKDTree(np.vstack(pts)).query(np.column_stack([x, y]))
        w[:, idx[s]] += boost * np.exp(-d / SOURCE_BOOST_SCALE_M)
    cum = np.cumsum(w, axis=1)
    u = rng.random(n) * cum[:, -1]
    pick = (cum <= u[:, None]).sum(axis=1)
    return np.asarray(SOURCES, dtype=object)[np.minimum(pick, len(SOURCES) - 1)]


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))


def _check_dates(start, end) -> tuple[pd.Timestamp | None, pd.Timestamp | None, list[str]]:
    """The first and last days, and what is wrong with them (school holidays known too)."""
    problems: list[str] = []
    try:
        t_start, t_end = pd.Timestamp(start), pd.Timestamp(end)
        if (
            t_start.tzinfo is not None
            or t_end.tzinfo is not None
            or t_start != t_start.normalize()
            or t_end != t_end.normalize()
        ):
            problems.append(f"start={start!r}, end={end!r}: give plain dates YYYY-MM-DD")
        elif t_end < t_start:
            problems.append(f"end={end!r} is before start={start!r}; accepted: start <= end")
    except (ValueError, TypeError) as exc:
        problems.append(f"start={start!r} / end={end!r}: not dates ({exc}); accepted: YYYY-MM-DD")
        t_start = t_end = None
    return t_start, t_end, problems


def _check_inputs(
    graph, attractors, area, start, end, school_zone, seed, per_year, place_sigma, models, crs
) -> tuple[pd.Timestamp, pd.Timestamp, pyproj.CRS]:
    """Check every argument of :func:`simulate_incidents`; raise one error listing them all."""
    problems: list[str] = []
    if not isinstance(graph, nx.MultiDiGraph):
        problems.append(
            f"graph: expected a networkx MultiDiGraph (osmnx), got {type(graph).__name__}"
        )
    if not isinstance(attractors, gpd.GeoDataFrame):
        problems.append(f"attractors: expected a GeoDataFrame, got {type(attractors).__name__}")
    elif "kind" not in attractors.columns:
        problems.append(
            f"attractors: no 'kind' column (columns: {', '.join(map(str, attractors.columns))}); "
            "accepted kinds: bar, nightclub, shop, bus_stop, station, school, park, parking, "
            "social_housing"
        )
    if not isinstance(area, (Polygon, MultiPolygon)) or area.is_empty:
        problems.append(
            f"area: expected a non-empty shapely Polygon or MultiPolygon, got {type(area).__name__}"
        )
    t_start, t_end, date_problems = _check_dates(start, end)
    problems += date_problems
    if t_start is not None and t_end is not None and not problems:
        from vacances_scolaires_france import SchoolHolidayDates

        sh = SchoolHolidayDates()
        if t_start.year < sh.min_year or t_end.year > sh.max_year:
            problems.append(
                f"start={start!r} / end={end!r}: school holidays are known for {sh.min_year}–"
                f"{sh.max_year} only (vacances-scolaires-france)"
            )
    if school_zone not in ("A", "B", "C"):
        problems.append(
            f"school_zone={school_zone!r}; accepted: 'A', 'B' or 'C' (Nice académie: 'B')"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        problems.append(f"seed={seed!r}; accepted: an integer >= 0")
    if not _is_number(per_year) or not np.isfinite(per_year) or per_year <= 0:
        problems.append(f"per_year={per_year!r}; accepted: a number > 0")
    if not _is_number(place_sigma) or not 0 <= place_sigma <= 3:
        problems.append(f"place_sigma={place_sigma!r}; accepted: a number in [0, 3]")
    problems += check_models(models)
    the_crs = None
    if isinstance(graph, nx.MultiDiGraph):
        the_crs, crs_problems = _resolve_crs(graph, attractors, crs)
        problems += crs_problems
    report_problems(problems, source="simulate_incidents")
    return t_start, t_end, the_crs


def _attractors_in_use(
    attractors: gpd.GeoDataFrame, models: Mapping[str, CategoryModel]
) -> dict[str, np.ndarray]:
    """:func:`_attractor_xy`, logging the kinds no model weighs (and a flat terrain)."""
    attractor_xy = _attractor_xy(attractors)
    known = {k for m in models.values() for k, _ in m.attractor_rrv}
    ignored = sorted(set(attractor_xy) - known)
    if ignored:
        log.debug("attractor kinds without a weight, ignored: %s", ", ".join(ignored))
    if not set(attractor_xy) & known:
        log.warning(
            "no attractor of a weighted kind (%s): the risk terrain is flat, incidents follow "
            "street length and the place effect only",
            ", ".join(sorted(known)),
        )
    return attractor_xy


@dataclass(frozen=True)
class _Setting:
    """What every category is drawn on: streets, their place effect, calendar, attractors."""

    pieces: StreetPieces
    pieces_xy: np.ndarray
    tree: cKDTree
    place: np.ndarray
    cal: _Calendar
    inner: Polygon | MultiPolygon
    attractor_xy: Mapping[str, np.ndarray]
    per_year: float


def _setting(graph, attractors, area, models, seed, place_sigma, cal, per_year) -> _Setting:
    """The streets inside the area (kept a margin inside), their place effect, the attractors."""
    inner = area.buffer(-INSIDE_MARGIN_M)
    if inner.is_empty:
        inner = area
    pieces = street_pieces(graph, inner)
    if len(pieces.x) == 0:
        raise InputError(
            "simulate_incidents: no street of the graph lies inside area; check that the graph "
            "and the area are in the same projected CRS"
        )
    attractor_xy = _attractors_in_use(attractors, models)
    pieces_xy = np.column_stack([pieces.x, pieces.y])
    place = np.random.default_rng([int(seed), len(CATEGORIES) + 1]).lognormal(
        -0.5 * place_sigma**2, place_sigma, len(pieces.lines)
    )[pieces.edge]
    return _Setting(
        pieces, pieces_xy, cKDTree(pieces_xy), place, cal, inner, attractor_xy, per_year
    )


def _category(
    rng: np.random.Generator, cat: str, model: CategoryModel, st: _Setting
) -> tuple[pd.DataFrame, int]:
    """One category's incidents (naive local time, category, source, x, y) and offspring count."""
    n_days = len(st.cal.days)
    years = n_days / 365.25
    risk = _risk(st.pieces, model, st.attractor_xy) * st.place
    n_bg = rng.poisson(model.share * st.per_year * years * (1.0 - model.branching_ratio))
    day = _choose(rng, _day_weights(st.cal, model), n_bg)
    piece = _choose(rng, risk, n_bg)
    n_offspring = 0
    if model.branching_ratio > 0 and n_bg:
        o_day, o_piece = _offspring(
            rng, model, day, st.pieces_xy[piece], risk, st.tree, st.pieces_xy, n_days
        )
        n_offspring = len(o_day)
        day, piece = np.concatenate([day, o_day]), np.concatenate([piece, o_piece])
    n = len(day)
    hour = _choose(rng, np.asarray(model.hour, float), n)
    minute = rng.integers(0, 60, n)
    x, y = _place(rng, st.pieces, piece, st.inner)
    src = _sources(rng, model, x, y, st.attractor_xy)
    frame = pd.DataFrame(
        {
            "_naive": st.cal.days.values[day] + (hour * 60 + minute).astype("timedelta64[m]"),
            "category": cat,
            "source": src,
            "x": x,
            "y": y,
        }
    )
    return frame, n_offspring


def _incident_table(frames: list[pd.DataFrame], the_crs: pyproj.CRS) -> pd.DataFrame:
    """The incidents sorted by time, category and position, with ids, local times and lon/lat."""
    df = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(
            {
                "_naive": pd.Series([], dtype="datetime64[ns]"),
                "category": [],
                "source": [],
                "x": [],
                "y": [],
            }
        )
    )
    local = pd.DatetimeIndex(df["_naive"]).tz_localize(
        TIMEZONE, ambiguous=np.ones(len(df), dtype=bool), nonexistent="shift_forward"
    )
    utc_ns = local.asi8
    cat_rank = df["category"].map({c: i for i, c in enumerate(CATEGORIES)}).to_numpy()
    order = np.lexsort((df["y"].to_numpy(), df["x"].to_numpy(), cat_rank, utc_ns))
    df, local = df.iloc[order].reset_index(drop=True), local[order]
    tr = pyproj.Transformer.from_crs(the_crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(df["x"].to_numpy(), df["y"].to_numpy())
    return pd.DataFrame(
        {
            "id": [f"SYN-{i:06d}" for i in range(1, len(df) + 1)],
            "datetime": [t.isoformat() for t in local],
            "category": df["category"].astype(str).to_numpy(),
            "source": df["source"].astype(str).to_numpy(),
            "x": df["x"].to_numpy(float),
            "y": df["y"].to_numpy(float),
            "lon": np.round(np.asarray(lon, float), 6),
            "lat": np.round(np.asarray(lat, float), 6),
        }
    )


def simulate_incidents(
    graph: nx.MultiDiGraph,
    attractors: gpd.GeoDataFrame,
    *,
    area: Polygon | MultiPolygon,
    start: str = "2021-01-01",
    end: str = "2023-12-31",
    seed: int = 0,
    per_year: int = 1500,
    school_zone: str = "B",
    crs: str | pyproj.CRS | None = None,
    models: Mapping[str, CategoryModel] | None = None,
    place_sigma: float = PLACE_SIGMA,
) -> pd.DataFrame:
    """Simulate a SYNTHETIC incident file on the streets of ``area`` (see the module docstring).

    Parameters
    ----------
    graph
        Projected osmnx MultiDiGraph (node ``x``, ``y``; edge ``length``, optional
        ``geometry``): the streets incidents are placed on.
    attractors
        Points of interest in the graph's CRS with a ``kind`` column (``bar``,
        ``nightclub``, ``restaurant``, ``shop``, ``bus_stop``, ``bus_station``,
        ``station``, ``school``, ``park``, ``parking``, ``social_housing``; other kinds
        are ignored) and point or polygon geometry (centroids are used).
    area
        The study area polygon, in the graph's CRS; every incident lies inside it.
    start, end
        First and last day simulated (inclusive, ``YYYY-MM-DD``).
    seed
        Seed of the random streams: the same inputs and seed give an identical frame.
    per_year
        Expected number of incidents a year, all categories together.
    school_zone
        French school-holiday zone (``A``, ``B`` or ``C``; Nice académie: ``B``).
    crs
        CRS of the graph, if its ``graph.graph["crs"]`` is missing (must then agree).
    models
        Category parameters; default :data:`CATEGORY_MODELS`. A subset simulates only
        those categories (their ``share`` of ``per_year`` each).
    place_sigma
        Log-scale spread of the per-street place effect (0: none).

    Returns
    -------
    pandas.DataFrame
        One row per incident, sorted by ``datetime`` then ``id``: ``id`` (``SYN-000001``
        ...), ``datetime`` (ISO 8601 local time with offset), ``category``, ``source``,
        ``x``, ``y`` (graph CRS, m), ``lon``, ``lat`` (WGS84, 6 decimals).
        ``attrs["synthetic"]`` is ``True``.

    Raises
    ------
    InputError
        If an argument is malformed; the message lists every problem found.
    """
    t0 = time.perf_counter()
    models = CATEGORY_MODELS if models is None else models
    t_start, t_end, the_crs = _check_inputs(
        graph, attractors, area, start, end, school_zone, seed, per_year, place_sigma, models, crs
    )
    cal = _calendar(t_start, t_end, school_zone)
    st = _setting(graph, attractors, area, models, seed, place_sigma, cal, float(per_year))
    frames = []
    n_offspring = 0
    for ci, cat in enumerate(CATEGORIES):
        model = models.get(cat)
        if model is None or model.share == 0:
            continue
        frame, n_off = _category(np.random.default_rng([int(seed), ci]), cat, model, st)
        frames.append(frame)
        n_offspring += n_off
    out = _incident_table(frames, the_crs)
    out.attrs.update(
        {
            "synthetic": True,
            "generator": "siteplanner.simulate.simulate_incidents",
            "seed": int(seed),
            "start": str(t_start.date()),
            "end": str(t_end.date()),
            "per_year": float(per_year),
            "school_zone": school_zone,
            "place_sigma": float(place_sigma),
            "crs": the_crs.to_string(),
        }
    )
    log.info(
        "simulate_incidents returned %s SYNTHETIC incidents (%s to %s, %s near-repeat offspring) "
        "on %.1f km of streets in %.1f s",
        f"{len(out):,}",
        t_start.date(),
        t_end.date(),
        f"{n_offspring:,}",
        st.pieces.total_length_m / 1000,
        time.perf_counter() - t0,
    )
    return out
