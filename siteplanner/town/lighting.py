"""Public lighting (éclairage public) and night coverage.

A standard camera sees little in an unlit street at night, and many communes switch their
street lights off after midnight (*extinction de l'éclairage public*, often 1 h–5 h). This
module says, for each street, whether it is lit at each phase of the day, and keeps from the
daytime coverage table only what a camera still sees at night.

Lighting of a street
--------------------
From the OSM ``lit`` tag of its way (read with pyosmium by way id), overridden by an
optional lighting file of the town's services. Each value becomes one *state*:

============  ==============================  ===================================
OSM ``lit``   state                           lit at night?
============  ==============================  ===================================
``24/7``      ``all_night``                   yes, even during the extinction
``automatic`` ``on_demand``                   yes (presence detection lights the
                                              street when someone passes)
``yes``       ``until_off``                   yes, except during the extinction
``limited``   ``until_off``                   as ``yes``
``no``        ``unlit``                       no
(none)        ``unknown``                     as the scenario says (default: as
                                              ``yes``, most town streets are lit)
============  ==============================  ===================================

Phases
------
``day``: lighting does not matter. ``night``: the lights are on (streets ``all_night``,
``on_demand``, ``until_off``, and ``unknown`` if assumed lit). ``extinction``: the
commune's lights are off; only ``all_night`` and ``on_demand`` streets stay lit.

At night, a camera covers a demand point of its daytime coverage only where the street is
lit and the street's illuminance reaches the camera's minimum illumination, or within the
camera's infrared range.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix

from siteplanner._errors import InputError, report_problems

log = logging.getLogger(__name__)

#: OSM ``lit`` value → lighting state.
OSM_LIT: dict[str, str] = {
    "24/7": "all_night",
    "automatic": "on_demand",
    "yes": "until_off",
    "limited": "until_off",
    "interval": "until_off",
    "sunset-sunrise": "until_off",
    "no": "unlit",
    "disused": "unlit",
}
STATES = ("all_night", "on_demand", "until_off", "unlit", "unknown")
PHASES = ("day", "night", "extinction")

#: States lit in each night phase (``unknown`` is added when the scenario assumes it lit).
LIT_IN_PHASE: dict[str, frozenset[str]] = {
    "night": frozenset({"all_night", "on_demand", "until_off"}),
    "extinction": frozenset({"all_night", "on_demand"}),
}


def state_of(value: object) -> str | None:
    """The lighting state of an OSM or file ``lit`` value; ``None`` if not understood.

    ``"yes;no"``-style lists take their first value; case and spaces are ignored.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "unknown"
    v = str(value).strip().lower().split(";")[0].strip()
    if v == "":
        return "unknown"
    return OSM_LIT.get(v)


# ------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------


def read_osm_lit(path: str | Path, way_ids: Iterable[int] | None = None) -> dict[int, str]:
    """The ``lit`` tag of the highway ways of an OSM extract, by way id (pyosmium).

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` extract.
    way_ids
        Keep only these ways (default: every highway way with a ``lit`` tag).
    """
    import osmium

    wanted = None if way_ids is None else {int(w) for w in way_ids}
    out: dict[int, str] = {}
    try:
        fp = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(
            osmium.filter.KeyFilter("highway")
        )
        for w in fp:
            if (lit := w.tags.get("lit")) is not None and (wanted is None or w.id in wanted):
                out[int(w.id)] = lit
    except RuntimeError as exc:
        raise InputError(
            f"{path}: cannot be read by pyosmium to find the `lit` tags ({exc})"
        ) from exc
    log.info("read_osm_lit: %d highway way(s) tagged lit in %s", len(out), Path(path).name)
    return out


def edge_way_ids(graph, edges: gpd.GeoDataFrame) -> list[tuple[int, ...]]:
    """The OSM way id(s) of each edge of ``edges`` (rows with ``u``, ``v``, ``key``)."""
    out = []
    for u, v, k in zip(edges["u"], edges["v"], edges["key"]):
        d = graph.get_edge_data(u, v, k) or graph.get_edge_data(v, u, k) or {}
        osmid = d.get("osmid", ())
        ids = osmid if isinstance(osmid, (list, tuple, set)) else [osmid]
        out.append(tuple(int(i) for i in ids if i is not None and str(i).lstrip("-").isdigit()))
    return out


def edge_lit_values(graph, edges: gpd.GeoDataFrame, osm_lit: Mapping[int, str]) -> list[object]:
    """The ``lit`` value of each edge: the edge's own ``lit`` attribute if the graph has one,
    else the OSM way's tag (a simplified edge made of several ways takes the first tagged one)."""
    vals: list[object] = []
    ids = edge_way_ids(graph, edges)
    for (u, v, k), way_ids in zip(zip(edges["u"], edges["v"], edges["key"]), ids):
        d = graph.get_edge_data(u, v, k) or graph.get_edge_data(v, u, k) or {}
        own = d.get("lit")
        if isinstance(own, list):
            own = own[0] if own else None
        if own is None:
            own = next((osm_lit[w] for w in way_ids if w in osm_lit), None)
        vals.append(own)
    return vals


def read_lighting_file(
    path: str | Path,
    edges: gpd.GeoDataFrame,
    way_ids: Sequence[tuple[int, ...]],
    *,
    match_m: float = 10.0,
) -> pd.Series:
    """The lighting file's ``lit`` value for each edge it names (NaN elsewhere).

    Two forms are accepted:

    * a CSV with columns ``osm_way_id`` and ``lit``: every edge made of that way;
    * a GeoJSON / GeoPackage of lines with a ``lit`` column (any CRS): every edge whose
      middle lies within ``match_m`` metres of a line takes the nearest line's value.

    ``lit`` takes the OSM values (yes, no, 24/7, automatic, limited).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: lighting file not found")
    accepted = ", ".join(sorted(OSM_LIT))
    out = pd.Series(np.nan, index=edges.index, dtype=object)
    if path.suffix.lower() == ".csv":
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        except Exception as exc:
            raise InputError(f"{path}: cannot be read as CSV ({exc})") from exc
        missing = {"osm_way_id", "lit"} - set(df.columns)
        if missing:
            raise InputError(
                f"{path}: missing column(s) {sorted(missing)}; "
                "a CSV lighting file needs osm_way_id, lit"
            )
        problems = [
            f"row {i + 2}: osm_way_id {w!r} is not a whole number"
            for i, w in enumerate(df["osm_way_id"])
            if not str(w).strip().isdigit()
        ]
        problems += [
            f"row {i + 2}: lit {v!r} is not accepted (accepted: {accepted})"
            for i, v in enumerate(df["lit"])
            if state_of(v) in (None, "unknown")
        ]
        report_problems(problems, source=str(path))
        by_way = dict(zip(df["osm_way_id"].str.strip().astype(int), df["lit"]))
        for j, ids in enumerate(way_ids):
            hit = next((by_way[w] for w in ids if w in by_way), None)
            if hit is not None:
                out.iloc[j] = hit
        return out
    try:
        g = gpd.read_file(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot be read as CSV, GeoJSON or GeoPackage ({exc})") from exc
    if "lit" not in g.columns:
        raise InputError(f"{path}: no `lit` column (accepted values: {accepted})")
    if g.crs is None:
        raise InputError(f"{path}: the lighting file has no CRS")
    problems = [
        f"feature {i}: lit {v!r} is not accepted (accepted: {accepted})"
        for i, v in enumerate(g["lit"])
        if state_of(v) in (None, "unknown")
    ]
    problems += [
        f"feature {i}: geometry {t} is not a line"
        for i, t in enumerate(g.geom_type)
        if t not in ("LineString", "MultiLineString")
    ]
    report_problems(problems, source=str(path))
    g = g.to_crs(edges.crs)
    mids = gpd.GeoSeries(
        shapely.line_interpolate_point(edges.geometry.values, 0.5, normalized=True), crs=edges.crs
    )
    left, right = g.sindex.nearest(mids, max_distance=match_m, return_all=False)
    out.iloc[left] = g["lit"].to_numpy()[right]
    return out


# ------------------------------------------------------------------------------------------
# analysis
# ------------------------------------------------------------------------------------------


def street_states(
    osm_values: Sequence[object], file_values: Sequence[object] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Lighting state and its source (``file``, ``osm``, ``assumed``) of each street.

    OSM values that are not understood count as ``unknown`` (logged once with the count).
    """
    n = len(osm_values)
    state = np.empty(n, dtype=object)
    source = np.empty(n, dtype=object)
    odd: dict[str, int] = {}
    for i, v in enumerate(osm_values):
        s = state_of(v)
        if s is None:
            odd[str(v)] = odd.get(str(v), 0) + 1
            s = "unknown"
        state[i], source[i] = s, ("assumed" if s == "unknown" else "osm")
    if odd:
        log.warning("lit value(s) not understood, counted as unknown: %s", odd)
    if file_values is not None:
        for i, v in enumerate(file_values):
            if v is not None and not (isinstance(v, float) and np.isnan(v)):
                state[i], source[i] = state_of(v), "file"
    return state, source


def lit_in_phase(states: np.ndarray, phase: str, *, unknown_lit: bool = True) -> np.ndarray:
    """Whether each street is lit in ``phase`` (``day`` counts as lit everywhere)."""
    states = np.asarray(states, dtype=object)
    if phase == "day":
        return np.ones(len(states), bool)
    lit = set(LIT_IN_PHASE[phase])
    if unknown_lit and phase == "night":
        lit.add("unknown")
    return np.isin(states, sorted(lit))


def nearest_street(points_xy: np.ndarray, edges: gpd.GeoDataFrame) -> np.ndarray:
    """Row position in ``edges`` of the street nearest each point."""
    pts = shapely.points(points_xy[:, 0], points_xy[:, 1])
    out = np.empty(len(points_xy), dtype=np.int64)
    left, right = edges.sindex.nearest(pts, return_all=False)
    out[left] = right
    return out


def night_matrix(
    A: csr_matrix,
    site_xy: np.ndarray,
    demand_xy: np.ndarray,
    lit: np.ndarray,
    *,
    ir_range_m: float,
    sees_lit: bool = True,
    sees_dark: bool = False,
) -> csr_matrix:
    """The coverage table at night: ``A`` where the point is lit (and the camera sees at the
    street's illuminance), or within ``ir_range_m`` of the camera.

    Parameters
    ----------
    A
        Daytime coverage (sites × demand points, 1 = covered).
    site_xy, demand_xy
        Positions of the sites and the demand points (metres).
    lit
        ``(n_demand,)`` whether each point's street is lit in the phase.
    ir_range_m
        Infrared range of the camera (0 = no infrared).
    sees_lit, sees_dark
        Whether the camera's minimum illumination is reached in a lit street / a dark one.
    """
    A = csr_matrix(A)
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    cols = A.indices
    d = np.hypot(site_xy[rows, 0] - demand_xy[cols, 0], site_xy[rows, 1] - demand_xy[cols, 1])
    lit_c = np.asarray(lit, bool)[cols]
    keep = (d <= ir_range_m) | (lit_c & sees_lit) | (~lit_c & sees_dark)
    return csr_matrix((A.data[keep], (rows[keep], cols[keep])), shape=A.shape)


def covered_mask(A: csr_matrix, sites: Sequence[int]) -> np.ndarray:
    """Demand points seen by at least one of ``sites``."""
    sites = list(sites)
    if not sites:
        return np.zeros(A.shape[1], bool)
    return np.asarray(A[sites].sum(axis=0)).ravel() > 0


def phase_of_hours(
    hours: tuple[int, int] | None, *, night: tuple[int, int], off: tuple[int, int] | None
) -> str:
    """The darkest phase a time window's hours reach: ``extinction``, ``night`` or ``day``.

    ``None`` hours (the whole day) reach the extinction if the commune switches off.
    """

    def span(h: tuple[int, int]) -> set[int]:
        a, b = h[0] % 24, h[1] % 24
        return set(range(a, b)) if a < b else set(range(a, 24)) | set(range(b))

    win = set(range(24)) if hours is None else span(hours)
    if off is not None and win & span(off):
        return "extinction"
    if win & span(night):
        return "night"
    return "day"


@dataclass(frozen=True)
class NightCoverage:
    """Coverage by day and by night of the plan, and the streets where darkness removes it.

    Attributes
    ----------
    matrices
        Phase → coverage table (``day`` is the daytime table).
    coverage
        Phase → share of the demand weight covered, ``before`` (existing cameras) and
        ``after`` (existing, accepted and proposed cameras of the next phase).
    lost_share
        Share of the demand weight covered by day but not during the darkest phase
        (the extinction if the commune switches off, else the night), after the plan.
    dark_streets
        One row per street where darkness removes coverage: ``street``, ``weight_lost``
        (share of the total demand weight), ``points_lost``, ``lighting`` (states).
    street_counts
        Streets (of the network: area and margin) by lighting state and source.
    demand_by_state
        Demand points and share of the demand weight by the lighting state of their street.
    darkest
        The darkest phase (``extinction`` or ``night``).
    """

    matrices: dict[str, csr_matrix]
    coverage: dict[str, dict[str, float]]
    lost_share: float
    lost_of_covered: float
    dark_streets: pd.DataFrame
    street_counts: pd.DataFrame
    demand_by_state: pd.DataFrame
    demand_state: np.ndarray
    darkest: str
    ir_range_m: float
    off: tuple[int, int] | None
    night: tuple[int, int]
    seen_by_phase: dict[str, np.ndarray] = field(default_factory=dict)


def night_coverage(
    A: csr_matrix,
    weight: np.ndarray,
    site_xy: np.ndarray,
    demand_xy: np.ndarray,
    edges: gpd.GeoDataFrame,
    states: np.ndarray,
    sources: np.ndarray,
    *,
    before: Sequence[int],
    after: Sequence[int],
    ir_range_m: float,
    sees_lit: bool,
    sees_dark: bool,
    unknown_lit: bool,
    night: tuple[int, int],
    off: tuple[int, int] | None,
    top: int = 15,
) -> NightCoverage:
    """Coverage tables and figures by day, at night with the lights on, and during the extinction.

    Parameters
    ----------
    A, weight
        Daytime coverage table and demand weights.
    site_xy, demand_xy
        Site and demand point positions.
    edges, states, sources
        The streets (``name`` column), their lighting state and its source.
    before, after
        Site rows of the cameras before the plan and after it (existing + proposed).
    """
    street = nearest_street(demand_xy, edges)
    dstate = np.asarray(states, dtype=object)[street]
    total = float(weight.sum()) or 1.0
    phases = ["day", "night"] + (["extinction"] if off is not None else [])
    mats: dict[str, csr_matrix] = {}
    cov: dict[str, dict[str, float]] = {}
    seen: dict[str, np.ndarray] = {}
    for ph in phases:
        M = (
            csr_matrix(A)
            if ph == "day"
            else night_matrix(
                A,
                site_xy,
                demand_xy,
                lit_in_phase(dstate, ph, unknown_lit=unknown_lit),
                ir_range_m=ir_range_m,
                sees_lit=sees_lit,
                sees_dark=sees_dark,
            )
        )
        mats[ph] = M
        seen[ph] = covered_mask(M, after)
        cov[ph] = {
            "before": float(weight[covered_mask(M, before)].sum() / total),
            "after": float(weight[seen[ph]].sum() / total),
        }
    darkest = phases[-1]
    lost = seen["day"] & ~seen[darkest]
    lost_share = float(weight[lost].sum() / total)
    day_w = float(weight[seen["day"]].sum())
    dark = _dark_streets(edges, street, weight / total, lost, dstate, top)
    counts, by_state = _state_tables(states, sources, dstate, weight / total)
    log.info(
        "night_coverage: after the plan %s; %.1f %% of demand weight lost to darkness (%s)",
        ", ".join(f"{k} {v['after']:.1%}" for k, v in cov.items()),
        100 * lost_share,
        darkest,
    )
    return NightCoverage(
        matrices=mats,
        coverage=cov,
        lost_share=lost_share,
        lost_of_covered=lost_share * total / day_w if day_w else 0.0,
        dark_streets=dark,
        street_counts=counts,
        demand_by_state=by_state,
        demand_state=dstate,
        darkest=darkest,
        ir_range_m=ir_range_m,
        off=off,
        night=night,
        seen_by_phase=seen,
    )


def _dark_streets(
    edges: gpd.GeoDataFrame,
    street: np.ndarray,
    share: np.ndarray,
    lost: np.ndarray,
    dstate: np.ndarray,
    top: int,
) -> pd.DataFrame:
    """The ``top`` streets by demand share lost to darkness (``street`` indexes ``edges``)."""
    names = edges["name"].fillna("").astype(str).to_numpy()[street]
    names = np.where(names == "", "(rue sans nom)", names)
    df = pd.DataFrame({"street": names[lost], "w": share[lost], "state": dstate[lost]})
    dark = (
        df.groupby("street")
        .agg(
            weight_lost=("w", "sum"),
            points_lost=("w", "size"),
            lighting=("state", lambda s: ", ".join(sorted(set(s)))),
        )
        .sort_values("weight_lost", ascending=False, kind="stable")
        .reset_index()
        .head(top)
    )
    return dark


def _state_tables(
    states: np.ndarray, sources: np.ndarray, dstate: np.ndarray, share: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Streets by lighting state and source; demand points and share by lighting state."""
    counts = (
        pd.DataFrame({"state": states, "source": sources})
        .value_counts()
        .rename("streets")
        .reset_index()
        .sort_values(["state", "source"])
        .reset_index(drop=True)
    )
    by_state = (
        pd.DataFrame({"lighting": dstate, "w": share})
        .groupby("lighting")
        .agg(demand_points=("w", "size"), demand_share=("w", "sum"))
        .reset_index()
    )
    return counts, by_state
