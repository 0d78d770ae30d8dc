"""Step 7, ``patrol``: time-budgeted foot and bike circuits of each shift.

Each shift's prize is the hotspot intensity of its own time window where the cameras (of the
plan, in the dark at night) do not see; circuits start at the police station or the town hall
and ride the commune's own streets (:func:`siteplanner.patrol.plan.plan_circuits`), a bike
patrol only those a bike may ride (no steps, no ``bicycle=no`` or ``dismount``). A shift's
prizes are gathered into places at least its ``min_stop_spacing_m`` apart before the
candidates are chosen, so that its stops are distinct places. A shift may ask for variants:
other circuits within a share of the best prize, with at least half of their stops new. Every
circuit's itinerary is written out here, once.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siteplanner._errors import InputError
from siteplanner.coverage import candidates as cand
from siteplanner.hotspots import forecast as hotspots
from siteplanner.hotspots.grids import sample_grid
from siteplanner.incidents import read as incidents
from siteplanner.patrol import plan as patrol
from siteplanner.patrol.itinerary import itinerary_lines, name_stops, to_gpx
from siteplanner.patrol.network import Circuit, ride_graph
from siteplanner.patrol.search import distinct_places
from siteplanner.result import Demand, Inputs, Patrols, PhasePlans
from siteplanner.steps import night as night_mod
from siteplanner.steps.sites import area_node
from siteplanner.town import jurisdiction
from siteplanner.town import load as io

log = logging.getLogger(__name__)

PATROL_SNAP_M = 50.0  # a demand point further than this from the patrol graph gives no stop prize


def patrols(inputs: Inputs, demand: Demand, A, plans: PhasePlans) -> Patrols:
    """The circuits of every shift (with their variants), named stops and itineraries."""
    sc, town = inputs.scenario, inputs.town
    plan_ = plans.first
    chosen = list(plan_.fixed) + list(plan_.selected)
    seen = np.asarray(A[chosen].sum(axis=0)).ravel() > 0 if chosen else np.zeros(A.shape[1], bool)
    # the patrols ride the commune's own streets: the part of the graph inside the area
    start, pgraph, demand_node = patrol_graph(
        town, inputs.patrol_start, demand.xy, source=str(sc.path or sc.name)
    )
    modes = {s_.mode for s_ in sc.patrol.shifts}
    graphs = {"foot": (pgraph, demand_node)} if "foot" in modes else {}
    if "bike" in modes:  # a bike earns the prizes of the streets it may ride
        rgraph = ride_graph(pgraph, keep=start)
        graphs["bike"] = (rgraph, snap(rgraph, demand.xy))
        log.log(
            logging.WARNING
            if 2 * rgraph.number_of_edges() < pgraph.number_of_edges()
            else logging.INFO,
            "bike patrols ride %d of the %d street edges of the patrol graph (no steps, "
            "bicycle=no or bicycle=dismount, connected to the start)",
            rgraph.number_of_edges(),
            pgraph.number_of_edges(),
        )
    shift_prizes = {
        s_.name: _places(
            _shift_prize(s_, demand, seen, plans.night, graphs[s_.mode][1], sc),
            graphs[s_.mode][0],
            s_.stop_spacing(),
        )
        for s_ in sc.patrol.shifts
    }
    # each shift's n_candidates places of highest prize (a bike's are not crowded out by the
    # foot shifts' places it may not reach)
    top = {k: _top(v, sc.patrol.n_candidates) for k, v in shift_prizes.items()}
    allp = pd.concat(top.values(), axis=1).fillna(0.0)
    score = allp.max(axis=1).sort_values(ascending=False, kind="stable")
    cand_nodes = score.index.astype(int).tolist()
    shifts = [
        patrol.Shift(
            name=s_.name,
            budget_min=s_.budget_min,
            speed_kmh=s_.speed(),
            dwell_min=s_.dwell_min,
            teams=s_.teams,
            prizes=tuple(top[s_.name].reindex(cand_nodes).fillna(0.0).tolist()),
            mode=s_.mode,
            min_stop_spacing_m=s_.stop_spacing(),
        )
        for s_ in sc.patrol.shifts
    ]
    circuits = patrol.plan_circuits(
        pgraph, start, cand_nodes, score.reindex(cand_nodes).tolist(), shifts=shifts, seed=0
    )
    variants_found: dict[str, Any] = {}
    for s_, sh in zip(sc.patrol.shifts, shifts):
        if s_.variants:
            alt = shift_variants(s_, sh, pgraph, start, cand_nodes)
            circuits += alt
            variants_found[s_.name] = {
                "asked": s_.variants,
                "found": len(alt),
                "within_share": s_.variants_within,
            }
    circuits = name_stops(circuits, town.graph, town.pois)
    return Patrols(
        circuits=circuits,
        shift_prizes={k: v.to_dict() for k, v in shift_prizes.items()},
        itineraries={c.name: itinerary(town, c) for c in circuits},
        gpx={c.name: to_gpx(c, town.crs) for c in circuits},
        counts={"patrol_variants": variants_found, "patrol_start": inputs.patrol_start.label},
    )


def patrol_graph(
    town: io.Town, start: jurisdiction.Anchor, demand_xy: np.ndarray, *, source: str
) -> tuple[int, Any, np.ndarray]:
    """The patrol's start node, its graph (the streets inside the area, connected to the start)
    and each demand point's node on it (``-1`` when none within :data:`PATROL_SNAP_M`).

    Raises
    ------
    InputError
        No street inside the area leaves the start's node (a study area cut so that the start
        sits on a scrap of street): a patrol could not leave its start.
    """
    start_node = area_node(town, start.x, start.y, surface=True)
    g = jurisdiction.area_subgraph(town.graph, town.area, keep=start_node)
    if g.number_of_edges() == 0:
        raise InputError(
            f"{source}: the patrols start at {start.label}, whose nearest street node inside the "
            f"study area ({start_node}) has no street that stays inside it: a patrol could not "
            "leave its start; set [patrol] start = [lon, lat] on a street of the study area"
        )
    return start_node, g, snap(g, demand_xy)


def snap(g, demand_xy: np.ndarray) -> np.ndarray:
    """Each demand point's nearest node of ``g`` (``-1`` beyond :data:`PATROL_SNAP_M`)."""
    gids, gxy = cand.node_xy(g)
    if not len(demand_xy) or not len(gids):
        return np.full(len(demand_xy), -1, dtype=np.int64)
    d, j = cKDTree(gxy).query(demand_xy)
    return np.where(d <= PATROL_SNAP_M, gids[j], -1)


def _top(prize: pd.Series, n: int) -> pd.Series:
    """The ``n`` highest prizes (ties by node order)."""
    return prize.sort_values(ascending=False, kind="stable").iloc[:n]


def _places(prize: pd.Series, g, spacing_m: float) -> pd.Series:
    """A shift's prizes per node gathered into places at least ``spacing_m`` apart: the node of
    highest prize of each place holds the prizes of the others (``distinct_places``)."""
    if prize.empty:
        return prize
    xy = np.array([(g.nodes[n]["x"], g.nodes[n]["y"]) for n in prize.index])
    keep, merged = distinct_places(xy, prize.to_numpy(dtype=float), spacing_m)
    return pd.Series(merged, index=prize.index[keep])


def _shift_prize(s_, demand: Demand, seen, night, demand_node, sc) -> pd.Series:
    """A shift's prize per patrol-graph node: its window's hotspots the cameras do not see."""
    weight = demand.weight
    if s_.window is None:
        w_int = weight
    else:
        stw = s_.window.time_window()
        win = demand.window_incidents
        m = incidents.window_mask(win, stw)
        if m.sum() < 3:
            log.warning(
                "shift %r: only %d incident(s) in its window %r; using the whole window's hotspots",
                s_.name,
                int(m.sum()),
                stw.name,
            )
            w_int = weight
        else:
            xy = np.column_stack([win.geometry.x, win.geometry.y])
            g_s = hotspots.predict(
                "kde",
                xy[m],
                weight=demand.category_weight[m],
                bounds=demand.bounds,
                cell_m=demand.grid.cell_m,
                bandwidth_m=sc.hotspots.bandwidth_m or 100.0,
                window=stw.name,
            )
            w_int = sample_grid(g_s, demand.xy) * demand.points["multiplier"].to_numpy()
    prize_pt = patrol.uncovered_prizes(w_int, night_mod.shift_seen(s_, seen, night).astype(float))
    on = demand_node >= 0  # points with no street of the patrol graph near them earn nothing
    np_ = pd.Series(prize_pt[on]).groupby(demand_node[on]).sum()
    return np_[np_ > 0]


def shift_variants(s_, sh: patrol.Shift, pgraph, start: int, cand_nodes: list[int]) -> list:
    """Seeded alternatives within a share of the best prize (the best is already planned),
    named ``"<shift> variante <j>"``, each logged with its own figures."""
    with warnings.catch_warnings():  # fewer than asked: logged here, said in the report
        warnings.simplefilter("ignore", UserWarning)
        alt = patrol.variants(
            pgraph,
            start,
            cand_nodes,
            list(sh.prizes),
            n=s_.variants + 1,
            within_share=s_.variants_within,
            budget_min=sh.budget_min,
            speed_kmh=sh.speed_kmh,
            dwell_min=sh.dwell_min,
            seed=0,
            name=f"{s_.name} variante",
            mode=sh.mode,
            min_stop_spacing_m=sh.min_stop_spacing_m,
        )
    if len(alt) - 1 < s_.variants:
        log.warning(
            "shift %r: %d of %d variant(s) found: no other circuit within %.0f %% of the best "
            "prize has at least half of its stops new",
            s_.name,
            len(alt) - 1,
            s_.variants,
            100 * s_.variants_within,
        )
    out = [
        dataclasses.replace(c, name=f"{s_.name} variante {j}")
        for j, c in enumerate(alt[1:], start=1)
    ]
    for c in out:
        log.info(
            "shift %r: variant %r: %s, %.0f %% of the best prize, %d of its %d stop(s) not in the "
            "best circuit",
            s_.name,
            c.name,
            patrol.describe(c),
            100 * c.prize / alt[0].prize if alt[0].prize > 0 else 100.0,
            len(set(c.stop_nodes) - set(alt[0].stop_nodes)),
            len(set(c.stop_nodes)),
        )
    return out


def itinerary(town: io.Town, c: Circuit) -> list[str]:
    """The turn-by-turn lines of a circuit ([] when it cannot be written, logged)."""
    try:
        return list(itinerary_lines(town.graph, c))
    except Exception as exc:  # an itinerary must not stop the plan
        log.warning("itinerary of %r failed: %s", c.name, exc)
        return []
