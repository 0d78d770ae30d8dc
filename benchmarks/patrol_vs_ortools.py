"""Patrol circuits: siteplanner's orienteering ILS against Google OR-Tools' routing solver.

On the default town (Beausoleil, OSM extract of 2016) a foot patrol (4.5 km/h) leaves the police
station nearest the town centre (43.7425 N, 7.4235 E) and makes 12-minute stops, for budgets of
60, 90 and 120 minutes. Both solvers get the same candidate stops and the same travel-time matrix
(undirected shortest paths on the walk graph):

- OR-Tools: the documented prize-collecting pattern (one vehicle, arc cost = travel time,
  a time dimension capped at the budget, one disjunction per stop whose penalty is its prize),
  PATH_CHEAPEST_ARC then GUIDED_LOCAL_SEARCH with a 60 s limit; a solution callback times every
  improving tour, so the table shows OR-Tools' best prize after 1, 10 and 60 s and the time it
  needed to first reach siteplanner's prize (the fair speed comparison: GLS never stops before
  its limit, so its wall time says nothing). Times are given in integer
  deciseconds rounded up (so its tours stay within budget), penalties as prize / max prize x 1e7
  (so that a prize always outweighs travel time).
- siteplanner: ``patrol.solve_orienteering`` on the float matrix (deterministic, seed 0), then
  also the whole ``patrol.plan_circuit`` (matrix + search + street expansion).

Candidates (``--candidates``):

- ``hotspots`` (default): the pipeline's own patrol candidates. ``pipeline.plan`` runs the
  default scenario (``scenarios/beausoleil.toml``); the 60 graph nodes with the highest hotspot
  intensity of the shift's window not covered by the planned cameras, computed as the pipeline
  does. NB: that scenario's incidents are the project's *synthetic* Beausoleil incidents
  (no real incident file of the town exists), so the intensities are synthetic, the graph real.
  Start: the pipeline's start node. Falls back to ``seeded`` if the pipeline fails.
- ``seeded``: 50 walk-graph nodes drawn with a fixed seed among those within 1.5 km (straight
  line) of the town centre, prizes drawn from a Gamma(2, 1) law with the same seed; start: the
  police station nearest the centre.

Run: ``python benchmarks/patrol_vs_ortools.py [--candidates seeded]`` (about 4 min, most of it
loading and OR-Tools' 3 x 60 s). The table goes to ``benchmarks/results/patrol_vs_ortools.md``.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from siteplanner.patrol.network import distance_matrix
from siteplanner.patrol.search import solve_orienteering

try:
    from _results import write as write_results
except ImportError:
    from benchmarks._results import write as write_results

ROOT = Path(__file__).resolve().parents[1]
OSM = ROOT / "data" / "osm" / "monaco-beausoleil-2016.osm.bz2"
CENTRE_LONLAT = (7.4235, 43.7425)
SPEED_KMH = 4.5
DWELL_MIN = 12.0
BUDGETS = (60, 90, 120)
N_CANDIDATES = 50
SEED = 0
ORTOOLS_LIMIT_S = 60


def load_town():
    """Projected walk graph and the start node (police station nearest the centre)."""
    import osmnx as ox
    import pyproj

    try:  # the project's loader, once it exists
        from siteplanner.town.load import load_town as _load

        town = _load(str(OSM), boundary=174562)
        G, pois = town.graph, town.pois
        police = pois[pois["kind"] == "police"].to_crs(G.graph["crs"])
        source = "siteplanner.town.load.load_town"
    except Exception as exc:  # noqa: BLE001 - fall back to plain osmnx, say so
        print(
            f"(siteplanner.town.load.load_town unavailable: {type(exc).__name__}; "
            "using osmnx.graph_from_xml)"
        )
        G = ox.project_graph(
            ox.graph_from_xml(OSM, simplify=True, retain_all=False), to_crs="EPSG:32632"
        )
        police = ox.features_from_xml(OSM, tags={"amenity": "police"}).to_crs(G.graph["crs"])
        source = "osmnx.graph_from_xml"
    x, y = pyproj.Transformer.from_crs("EPSG:4326", G.graph["crs"], always_xy=True).transform(
        *CENTRE_LONLAT
    )
    cent = police.geometry.centroid
    best = cent.iloc[int(np.argmin(np.hypot(cent.x - x, cent.y - y)))]
    start = int(ox.distance.nearest_nodes(G, best.x, best.y))
    return G, start, (x, y), source


def hotspot_candidates(n: int = 60):
    """Graph, start node and the top-n uncovered-intensity nodes, as the pipeline computes them."""
    from scipy.spatial import cKDTree

    from siteplanner import pipeline
    from siteplanner.coverage import candidates as cand_mod
    from siteplanner.patrol import plan as patrol
    from siteplanner.scenario import load_scenario

    res = pipeline.plan(load_scenario(ROOT / "scenarios" / "beausoleil.toml"))
    weight = res.demand["weight"].to_numpy(float)
    chosen = list(res.plan.fixed) + list(res.plan.selected)
    seen = (
        np.asarray(res.A[chosen].sum(axis=0)).ravel() > 0
        if chosen
        else np.zeros(res.A.shape[1], bool)
    )
    prize_pt = patrol.uncovered_prizes(weight, seen.astype(float))
    node_ids, node_xy = cand_mod.node_xy(res.town.graph)
    _, nearest = cKDTree(node_xy).query(
        np.column_stack([res.demand.geometry.x, res.demand.geometry.y])
    )
    node_prize = {}
    for node, p in zip(node_ids[nearest].tolist(), prize_pt.tolist()):
        node_prize[node] = node_prize.get(node, 0.0) + p
    ranked = sorted(
        ((p, node) for node, p in node_prize.items() if p > 0), key=lambda t: (-t[0], t[1])
    )[:n]
    start = res.circuits[0].nodes[0]
    return res.town.graph, start, [int(nd) for _, nd in ranked], np.array([p for p, _ in ranked])


def hotspot_candidates_subprocess():
    """Run :func:`hotspot_candidates` in a child process.

    OR-Tools bundles its own HiGHS, whose symbols clash with highspy's (used by the pipeline's
    optimise step) in one process, whichever is loaded first; so the pipeline runs apart and
    hands over the graph and candidates through a temporary pickle.
    """
    import pickle
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "candidates.pickle"
        proc = subprocess.run(
            [sys.executable, __file__, "--dump-candidates", str(dump)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                proc.stderr.strip().splitlines()[-1]
                if proc.stderr.strip()
                else f"exit {proc.returncode}"
            )
        with open(dump, "rb") as f:
            return pickle.load(f)


def candidates(G, start, centre):
    nodes = np.array(sorted(n for n in G.nodes if n != start))
    xy = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes])
    near = nodes[np.hypot(xy[:, 0] - centre[0], xy[:, 1] - centre[1]) <= 1500.0]
    rng = np.random.default_rng(SEED)
    cands = sorted(int(n) for n in rng.choice(near, N_CANDIDATES, replace=False))
    prizes = rng.gamma(2.0, 1.0, N_CANDIDATES)
    return cands, prizes


def tour_duration(T, service, order):
    t, prev = 0.0, 0
    for k in order:
        t += T[prev, k] + service[k - 1]
        prev = k
    return t + T[prev, 0]


def solve_ortools(T, service, prizes, budget, limit_s=ORTOOLS_LIMIT_S):
    """OR-Tools' prize-collecting routing.

    Returns (best order, trace of (seconds, prize) per improvement).
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = T.shape[0]
    ds = np.ceil(T * 600.0).astype(np.int64)  # deciseconds, rounded up
    serv = np.ceil(np.concatenate([[0.0], service]) * 600.0).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    transit = (ds + serv[:, None]).tolist()  # service counted at the node left

    def cb(i, j):
        return transit[manager.IndexToNode(i)][manager.IndexToNode(j)]

    idx = routing.RegisterTransitCallback(cb)
    routing.SetArcCostEvaluatorOfAllVehicles(idx)
    routing.AddDimension(idx, 0, int(math.floor(budget * 600.0)), True, "Time")
    for k in range(1, n):
        routing.AddDisjunction(
            [manager.NodeToIndex(k)], int(round(prizes[k - 1] / max(prizes.max(), 1e-300) * 1e7))
        )
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(limit_s * 1000))
    trace = []  # (seconds since the solve started, prize of the solution found then)
    t0 = time.perf_counter()

    def on_solution():
        i, prize = routing.Start(0), 0.0
        i = routing.NextVar(i).Value()
        while not routing.IsEnd(i):
            prize += prizes[manager.IndexToNode(i) - 1]
            i = routing.NextVar(i).Value()
        if not trace or prize > trace[-1][1] + 1e-12:
            trace.append((time.perf_counter() - t0, prize))

    routing.AddAtSolutionCallback(on_solution)
    sol = routing.SolveWithParameters(params)
    order = []
    if sol is not None:
        i = sol.Value(routing.NextVar(routing.Start(0)))
        while not routing.IsEnd(i):
            order.append(manager.IndexToNode(i))
            i = sol.Value(routing.NextVar(i))
    return order, trace


def best_at(trace, seconds):
    """Best prize OR-Tools had found after ``seconds``."""
    got = [p for t, p in trace if t <= seconds]
    return max(got) if got else 0.0


def time_to_reach(trace, prize):
    """Seconds OR-Tools needed to find a tour of at least ``prize``.

    None: never within its limit.
    """
    for t, p in trace:
        if p >= prize - 1e-9 * max(1.0, abs(prize)):
            return t
    return None


def main() -> int:
    global ORTOOLS_LIMIT_S
    import argparse

    from siteplanner.patrol import plan as patrol

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", choices=["hotspots", "seeded"], default="hotspots")
    ap.add_argument("--dump-candidates", help=argparse.SUPPRESS)
    ap.add_argument(
        "--ortools-limit", type=float, default=ORTOOLS_LIMIT_S, help="OR-Tools time limit, s"
    )
    args = ap.parse_args()
    ORTOOLS_LIMIT_S = int(args.ortools_limit) if args.ortools_limit >= 1 else args.ortools_limit
    if args.dump_candidates:  # child mode, see hotspot_candidates_subprocess
        import pickle

        with open(args.dump_candidates, "wb") as f:
            pickle.dump(hotspot_candidates(), f)
        return 0
    t0 = time.perf_counter()
    G = None
    if args.candidates == "hotspots":
        try:
            G, start, cands, prizes = hotspot_candidates_subprocess()
            label = "pipeline hotspot intensity not covered by cameras (synthetic incidents)"
        except Exception as exc:  # noqa: BLE001 - say so and fall back
            print(
                f"(pipeline candidates unavailable: {type(exc).__name__}: {exc}; "
                "using seeded stand-ins)"
            )
    if G is None:
        G, start, centre, source = load_town()
        cands, prizes = candidates(G, start, centre)
        label = "seeded stand-ins"
    print(
        f"graph: {len(G):,} nodes, {G.number_of_edges():,} edges, start node {start} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    print(f"{len(cands)} candidates ({label}), total prize {prizes.sum():.4g}")

    t = time.perf_counter()
    D = distance_matrix(G, [start, *cands])
    t_matrix = time.perf_counter() - t
    T = D / (SPEED_KMH * 1000.0 / 60.0)
    reach = np.isfinite(T[0])
    if not reach.all():
        print(
            f"{int((~reach).sum())} candidate(s) unreachable, left to both solvers "
            "(they cannot fit)"
        )
    T = np.where(np.isfinite(T), T, 1e6)  # OR-Tools needs finite numbers; 1e6 min never fits
    service = np.full(len(cands), DWELL_MIN)
    print(f"travel-time matrix {T.shape} in {t_matrix:.2f} s")

    rows, results, md = [], [], []
    for budget in BUDGETS:
        t = time.perf_counter()
        tour = solve_orienteering(T, service, prizes, budget_min=budget, seed=SEED)
        w_sp = time.perf_counter() - t
        d_sp = tour_duration(T, service, tour.order)

        t = time.perf_counter()
        circ = patrol.plan_circuit(
            G,
            start,
            cands,
            prizes,
            budget_min=budget,
            speed_kmh=SPEED_KMH,
            dwell_min=DWELL_MIN,
            seed=SEED,
        )
        w_full = time.perf_counter() - t

        order_ort, trace = solve_ortools(T, service, prizes, budget, ORTOOLS_LIMIT_S)
        p_ort = float(sum(prizes[k - 1] for k in order_ort))
        d_ort = tour_duration(T, service, order_ort)
        reach = time_to_reach(trace, tour.prize)
        at = {s_: best_at(trace, s_) for s_ in (1, 10, ORTOOLS_LIMIT_S)}

        ok = (
            d_sp <= budget + 1e-6
            and circ.duration_min <= budget + 1e-6
            and circ.nodes[0] == circ.nodes[-1] == start
        )
        reach_txt = f"{reach:.2f}" if reach is not None else f"not within {ORTOOLS_LIMIT_S} s"
        rows.append(
            f"{budget:>6} {len(tour.order):>5} {tour.prize:>10.4f} {w_sp:>8.2f} {w_full:>8.2f} "
            f"{at[1]:>10.4f} {at[10]:>10.4f} {at[ORTOOLS_LIMIT_S]:>10.4f} "
            f"{d_ort <= budget + 1e-6!s:>6} {reach_txt:>16}"
        )
        md.append(
            f"| {budget} | {len(tour.order)} | {tour.prize:.4f} | {w_sp:.2f} | {w_full:.2f} | "
            f"{at[1]:.4f} | {at[10]:.4f} | {at[ORTOOLS_LIMIT_S]:.4f} | {reach_txt} |"
        )
        ratio = tour.prize / p_ort if p_ort > 0 else float("inf")
        speed = f"{reach / w_sp:.2f}" if reach is not None else f">{ORTOOLS_LIMIT_S / w_sp:.2f}"
        results.append(
            f"RESULT budget_min={budget} prize_ratio_vs_ortools_{ORTOOLS_LIMIT_S}s={ratio:.4f} "
            f"ortools_time_to_equal_prize_s={reach_txt.replace(' ', '_')} siteplanner_s={w_sp:.2f} "
            f"time_to_equal_ratio={speed} within_budget={str(ok).lower()}"
        )

    print(
        f"{'budget':>6} {'stops':>5} {'sp prize':>10} {'sp s':>8} {'circuit s':>8} {'ORT @1s':>10} "
        f"{'ORT @10s':>10} {'ORT @' + str(ORTOOLS_LIMIT_S) + 's':>10} {'within':>6} "
        f"{'ORT s to equal':>16}"
    )
    print("\n".join(rows))
    print(
        "(sp = siteplanner solve_orienteering on the matrix; circuit = the whole plan_circuit; "
        "ORT @t = the best prize OR-Tools had after t seconds; 'ORT s to equal' = when OR-Tools "
        "first found a tour of at least siteplanner's prize; time_to_equal_ratio = that time / "
        "siteplanner's time)"
    )
    for r in results:
        print(r)
    body = [
        (
            f"{len(cands)} candidates ({label}), foot patrol {SPEED_KMH} km/h, "
            f"{DWELL_MIN:g}-minute stops; OR-Tools: PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH, every "
            f"improving solution timed by a solution callback, {ORTOOLS_LIMIT_S} s limit."
        ),
        "",
        (
            "| budget min | stops | siteplanner prize | siteplanner s | plan_circuit s | "
            f"OR-Tools best @1 s | @10 s | @{ORTOOLS_LIMIT_S} s | "
            "OR-Tools s to reach siteplanner's prize |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
        *md,
        "",
        "```",
        *results,
        "```",
    ]
    write_results(
        "patrol_vs_ortools",
        "Patrol solver vs OR-Tools routing (time to equal prize)",
        "\n".join(body),
        command="python benchmarks/patrol_vs_ortools.py " + " ".join(sys.argv[1:]),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
