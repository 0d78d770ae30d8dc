"""Night coverage shared by the steps (issue #17): street lighting and what cameras see in it.

Street lighting comes from OSM ``lit`` and the scenario's lighting file (``[lighting]``).
:func:`window_matrix` gives the coverage table the plan optimises when the hotspot window is
at night, :func:`night_coverage` the plan's coverage by day and in each night phase, and
:func:`shift_seen` what the cameras see during a patrol shift.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np

from siteplanner.optimise.instance import Plan
from siteplanner.result import Paths
from siteplanner.scenario import Scenario
from siteplanner.town import lighting
from siteplanner.town import load as io

log = logging.getLogger(__name__)


def street_lighting(
    sc: Scenario, town: io.Town, edges: gpd.GeoDataFrame, paths: Paths
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """The streets, their lighting state and its source (OSM `lit`, the lighting file, assumed).

    ``edges`` are the town's street edges (:attr:`Inputs.streets`)."""
    lt = sc.lighting
    way_ids = lighting.edge_way_ids(town.graph, edges)
    osm_lit = lighting.read_osm_lit(paths.osm, {w for ids in way_ids for w in ids})
    osm_values = lighting.edge_lit_values(town.graph, edges, osm_lit)
    file_values = (
        lighting.read_lighting_file(paths.lighting, edges, way_ids, match_m=lt.match_m)
        if lt is not None and paths.lighting is not None
        else None
    )
    states, sources = lighting.street_states(osm_values, file_values)
    return edges, states, sources


def window_matrix(
    sc: Scenario, A, sites_xy: np.ndarray, demand_xy: np.ndarray, model, lit_streets
) -> tuple[Any, str]:
    """The table the plan optimises: the night table of the window's darkest phase, and it."""
    lt = sc.lighting
    phase = lighting.phase_of_hours(sc.hotspots.window.hours, night=lt.night, off=lt.off)
    if phase == "day" or sc.hotspots.window.hours is None:
        return A, "day"  # a whole-day window is planned on daytime coverage
    edges, states, _ = lit_streets
    lit = lighting.lit_in_phase(
        states[lighting.nearest_street(demand_xy, edges)], phase, unknown_lit=lt.unknown == "lit"
    )
    log.info(
        "the hotspot window %r is at night: the plan counts what cameras see in the %s",
        sc.hotspots.window.name,
        phase,
    )
    night_A = lighting.night_matrix(
        A,
        sites_xy,
        demand_xy,
        lit,
        ir_range_m=model.ir_range_m,
        sees_lit=model.min_lux <= lt.lit_lux,
        sees_dark=model.min_lux <= lt.dark_lux,
    )
    return night_A, phase


def night_coverage(
    sc: Scenario,
    A,
    weight: np.ndarray,
    sites_xy: np.ndarray,
    demand_xy: np.ndarray,
    plan_: Plan,
    model,
    existing: np.ndarray,
    lit_streets,
) -> lighting.NightCoverage:
    """Night coverage of the plan: street lighting from OSM `lit` and the lighting file."""
    lt = sc.lighting
    edges, states, sources = lit_streets
    return lighting.night_coverage(
        A,
        weight,
        sites_xy,
        demand_xy,
        edges,
        states,
        sources,
        before=np.flatnonzero(existing),
        after=list(plan_.fixed) + list(plan_.selected),
        ir_range_m=model.ir_range_m,
        sees_lit=model.min_lux <= lt.lit_lux,
        sees_dark=model.min_lux <= lt.dark_lux,
        unknown_lit=lt.unknown == "lit",
        night=lt.night,
        off=lt.off,
    )


def shift_seen(shift, seen: np.ndarray, night: lighting.NightCoverage | None) -> np.ndarray:
    """What the cameras see during a patrol shift: the night coverage in its darkest phase."""
    if night is None:
        return seen
    hours = shift.window.hours if shift.window is not None else None
    phase = lighting.phase_of_hours(hours, night=night.night, off=night.off)
    phase = phase if phase in night.seen_by_phase else "night"
    return night.seen_by_phase[phase]
