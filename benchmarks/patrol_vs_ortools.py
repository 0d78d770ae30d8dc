"""Patrol circuits: siteplanner's search and OR-Tools' routing against a proven optimum.

On the default town (Beausoleil, OSM extract of 2016) a foot patrol (4.5 km/h) leaves the police
station nearest the town centre (43.7425 N, 7.4235 E) and makes 12-minute stops, for budgets of
60, 90 and 120 minutes. Every solver gets the same candidate stops and the same travel-time
matrix (undirected shortest paths on the walk graph):

- the optimum: ``patrol.exact.solve_orienteering_exact``, an orienteering MILP solved by HiGHS
  (degree rows, the budget with the stops, subtour cuts added in a loop until the solution is
  one tour; ``--milp flow`` adds a time flow, the default on the seeded candidates, where the
  cuts alone stall), run in a child process (OR-Tools bundles its own HiGHS). ``proven=true``
  only when HiGHS says Optimal at gap 0 and the tour it returns re-times within the budget.
- siteplanner: ``patrol.solve_orienteering`` on the float matrix (deterministic, seed 0), then
  also the whole ``patrol.plan_circuit`` (matrix + search + street expansion).
- OR-Tools: the documented prize-collecting pattern, one vehicle, one disjunction per stop whose
  penalty is its prize (``round(prize / max prize x 1e12)``, so a prize always outweighs the
  whole tour's travel, the arc cost, which only breaks ties), a time dimension whose transit is
  travel + the stop's 12 minutes (service counted at the node left) capped at the budget, times
  in integer milliseconds rounded up (its tours stay within the float budget). The matrices are
  passed with ``RegisterTransitMatrix`` (evaluated in C++, not through a Python callback, which
  made every move ~10x slower). PATH_CHEAPEST_ARC then GUIDED_LOCAL_SEARCH with the insertion /
  removal operators a prize-collecting problem needs switched on (extended swap-active,
  relocate-and-make-active, exchange-and-make-active, node-pair swap-active, path and inactive
  LNS) and a 60 s limit; a solution callback times every improving tour.

Per budget it prints ``RESULT budget_min=… optimum=… proven=… siteplanner_ratio=…
ortools_ratio=… time_to_equal_ratio=…`` (ratios: prizes over the optimum; OR-Tools' at its
limit; ``time_to_equal_ratio`` = the time OR-Tools needed to first reach siteplanner's prize, or
its limit when it never did, over siteplanner's time: > 1 means siteplanner is faster).

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

Run: ``python benchmarks/patrol_vs_ortools.py [--candidates seeded] [--ortools-limit 60]``
(about 4 min: loading, the MILPs, OR-Tools' 3 x 60 s). The table goes to
``benchmarks/results/patrol_vs_ortools.md``.
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


#: Local-search operators OR-Tools leaves off by default that move stops in and out of the tour.
ORTOOLS_OPERATORS = (
    "use_extended_swap_active",
    "use_relocate_and_make_active",
    "use_exchange_and_make_active",
    "use_node_pair_swap_active",
    "use_path_lns",
    "use_inactive_lns",
)
UNIT_PER_MIN = 60_000  # OR-Tools' integer times: milliseconds
PENALTY_SCALE = 1e12  # the largest prize's penalty; a tour's travel is at most ~1e7 ms


def solve_ortools(T, service, prizes, budget, limit_s=ORTOOLS_LIMIT_S):
    """OR-Tools' prize-collecting routing (see the module docstring).

    Returns (best order, trace of (seconds, prize) per improvement).
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    from ortools.util import optional_boolean_pb2

    n = T.shape[0]
    travel = np.ceil(T * UNIT_PER_MIN).astype(np.int64)  # rounded up: tours stay within budget
    serv = np.ceil(np.concatenate([[0.0], service]) * UNIT_PER_MIN).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    # node-indexed matrices, evaluated in C++ (a Python callback made every move ~10x slower)
    time_idx = routing.RegisterTransitMatrix((travel + serv[:, None]).tolist())
    cost_idx = routing.RegisterTransitMatrix(travel.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(cost_idx)
    routing.AddDimension(time_idx, 0, int(math.floor(budget * UNIT_PER_MIN)), True, "Time")
    top = max(float(prizes.max()), 1e-300)
    for k in range(1, n):
        routing.AddDisjunction(
            [manager.NodeToIndex(k)], int(round(prizes[k - 1] / top * PENALTY_SCALE))
        )
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    for op in ORTOOLS_OPERATORS:
        setattr(params.local_search_operators, op, optional_boolean_pb2.BOOL_TRUE)
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


def solve_exact_subprocess(T, service, prizes, budgets, limit_s, formulation):
    """The proven optimum per budget, from a child process (HiGHS apart from OR-Tools')."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        inst, out = Path(tmp) / "instance.npz", Path(tmp) / "exact.json"
        np.savez(inst, T=T, service=service, prizes=prizes, budgets=np.asarray(budgets, float))
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--exact",
                str(inst),
                str(out),
                "--exact-limit",
                str(limit_s),
                "--milp",
                formulation,
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip()[-2000:] or f"exit {proc.returncode}")
        return {int(k): v for k, v in json.loads(out.read_text()).items()}


def exact_child(inst: str, out: str, limit_s: float, formulation: str) -> None:
    """Child mode of :func:`solve_exact_subprocess`: solve every budget, write JSON."""
    import json

    from siteplanner.patrol.exact import solve_orienteering_exact

    data = np.load(inst)
    res = {}
    for budget in data["budgets"].tolist():
        tour = solve_orienteering_exact(
            data["T"],
            data["service"],
            data["prizes"],
            budget_min=budget,
            time_limit_s=limit_s,
            formulation=formulation,
        )
        res[int(budget)] = {
            "order": list(tour.order),
            "prize": tour.prize,
            "bound": tour.bound,
            "proven": tour.proven,
            "status": tour.status,
            "seconds": tour.seconds,
            "duration_min": tour.duration_min,
        }
    Path(out).write_text(json.dumps(res))


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


def load_instance(args):
    """Graph, start node, candidates, prizes and the label of where they come from."""
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
        G, start, centre, _ = load_town()
        cands, prizes = candidates(G, start, centre)
        label = "seeded stand-ins"
    return G, start, cands, prizes, label


def compare(G, start, cands, prizes, T, service, budget, exact, limit_s):
    """One budget: siteplanner, plan_circuit and OR-Tools; a dict of the figures."""
    from siteplanner.patrol import plan as patrol

    t = time.perf_counter()
    tour = solve_orienteering(T, service, prizes, budget_min=budget, seed=SEED)
    w_sp = time.perf_counter() - t
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
    order_ort, trace = solve_ortools(T, service, prizes, budget, limit_s)
    p_ort = float(sum(prizes[k - 1] for k in order_ort))
    reach = time_to_reach(trace, tour.prize)
    opt = exact["prize"]
    return {
        "budget": budget,
        "stops": len(tour.order),
        "sp": tour.prize,
        "sp_s": w_sp,
        "circuit_s": w_full,
        "ort": p_ort,
        "ort_at": {s_: best_at(trace, s_) for s_ in (1, 10, limit_s)},
        "reach": reach,
        "ort_to_opt": time_to_reach(trace, opt),
        "ratio_time": (reach if reach is not None else limit_s) / w_sp,
        "opt": opt,
        "exact": exact,
        "within": (
            tour_duration(T, service, tour.order) <= budget + 1e-6
            and circ.duration_min <= budget + 1e-6
            and circ.nodes[0] == circ.nodes[-1] == start
            and tour_duration(T, service, order_ort) <= budget + 1e-6
        ),
    }


def ratio(prize: float, optimum: float) -> float:
    """prize / optimum; 1 when both are 0 (no stop fits), inf when the MILP found no tour."""
    if optimum > 0:
        return prize / optimum
    return 1.0 if prize <= 0 else math.inf


def result_line(r, limit_s) -> str:
    """The RESULT line of one budget (ratios over the optimum; see the module docstring)."""
    opt, ex = r["opt"], r["exact"]
    reach = f"{r['reach']:.2f}" if r["reach"] is not None else f"never_within_{limit_s}"
    to_opt = f"{r['ort_to_opt']:.2f}" if r["ort_to_opt"] is not None else f"never_within_{limit_s}"
    return (
        f"RESULT budget_min={r['budget']} optimum={opt:.6f} proven={str(ex['proven']).lower()} "
        f"siteplanner_ratio={ratio(r['sp'], opt):.4f} ortools_ratio={ratio(r['ort'], opt):.4f} "
        f"time_to_equal_ratio={r['ratio_time']:.2f} siteplanner_s={r['sp_s']:.3f} "
        f"ortools_s_to_siteplanner_prize={reach} ortools_s_to_optimum={to_opt} "
        f"ortools_limit_s={limit_s} milp_s={ex['seconds']:.1f} "
        f"within_budget={str(r['within']).lower()}"
    )


def table(rows, limit_s) -> list[str]:
    """Markdown table of every budget."""
    out = [
        (
            "| budget min | optimum (MILP) | proven | siteplanner prize | ratio | siteplanner s | "
            f"plan_circuit s | OR-Tools @1 s | @10 s | @{limit_s} s | ratio | "
            "OR-Tools s to siteplanner's prize | OR-Tools s to optimum | MILP s |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        at = r["ort_at"]
        reach = f"{r['reach']:.2f}" if r["reach"] is not None else f"not within {limit_s} s"
        to_opt = (
            f"{r['ort_to_opt']:.2f}" if r["ort_to_opt"] is not None else f"not within {limit_s} s"
        )
        out.append(
            f"| {r['budget']} | {r['opt']:.4f} | {r['exact']['proven']} | {r['sp']:.4f} | "
            f"{ratio(r['sp'], r['opt']):.4f} | {r['sp_s']:.3f} | {r['circuit_s']:.2f} | "
            f"{at[1]:.4f} | {at[10]:.4f} | {at[limit_s]:.4f} | {ratio(r['ort'], r['opt']):.4f} | "
            f"{reach} | {to_opt} | "
            f"{r['exact']['seconds']:.1f} |"
        )
    return out


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", choices=["hotspots", "seeded"], default="hotspots")
    ap.add_argument("--dump-candidates", help=argparse.SUPPRESS)
    ap.add_argument("--exact", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--exact-limit", type=float, default=600.0, help="MILP time limit, s")
    ap.add_argument(
        "--milp",
        choices=["cuts", "flow"],
        help="MILP formulation (default: cuts on the hotspot candidates, flow on the seeded ones)",
    )
    ap.add_argument(
        "--ortools-limit", type=float, default=ORTOOLS_LIMIT_S, help="OR-Tools time limit, s"
    )
    args = ap.parse_args()
    limit_s = int(args.ortools_limit) if args.ortools_limit >= 1 else args.ortools_limit
    if args.dump_candidates:  # child mode, see hotspot_candidates_subprocess
        import pickle

        with open(args.dump_candidates, "wb") as f:
            pickle.dump(hotspot_candidates(), f)
        return 0
    if args.exact:  # child mode, see solve_exact_subprocess
        exact_child(*args.exact, args.exact_limit, args.milp or "cuts")
        return 0
    t0 = time.perf_counter()
    G, start, cands, prizes, label = load_instance(args)
    print(
        f"graph: {len(G):,} nodes, {G.number_of_edges():,} edges, start node {start} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    print(f"{len(cands)} candidates ({label}), total prize {prizes.sum():.4g}")
    T = distance_matrix(G, [start, *cands]) / (SPEED_KMH * 1000.0 / 60.0)
    if not np.isfinite(T[0]).all():
        print(f"{int((~np.isfinite(T[0])).sum())} candidate(s) unreachable (they cannot fit)")
    T = np.where(np.isfinite(T), T, 1e6)  # OR-Tools needs finite numbers; 1e6 min never fits
    service = np.full(len(cands), DWELL_MIN)
    # the search's numba kernels load (or compile, on a first install) at the first call of a
    # process: done once here on two stops, like importing OR-Tools, and reported apart
    t = time.perf_counter()
    solve_orienteering(T[:3, :3], service[:2], prizes[:2], budget_min=BUDGETS[0], seed=SEED)
    first_call_s = time.perf_counter() - t
    print(
        f"siteplanner's first call (numba kernels loaded, not in the times below): "
        f"{first_call_s:.2f} s"
    )
    t = time.perf_counter()
    milp = args.milp or ("flow" if label == "seeded stand-ins" else "cuts")
    exact = solve_exact_subprocess(T, service, prizes, BUDGETS, args.exact_limit, milp)
    print(f"exact MILPs (HiGHS, {milp}, child process): {time.perf_counter() - t:.1f} s")
    rows = []
    for budget in BUDGETS:
        rows.append(compare(G, start, cands, prizes, T, service, budget, exact[budget], limit_s))
        print(result_line(rows[-1], limit_s), flush=True)
    md = table(rows, limit_s)
    print("\n".join(md))
    body = [
        (
            f"{len(cands)} candidates ({label}), foot patrol {SPEED_KMH} km/h, "
            f"{DWELL_MIN:g}-minute stops. Optimum: `patrol.exact.solve_orienteering_exact` "
            f"(HiGHS MILP, formulation {milp!r}, proven = status Optimal at gap 0). "
            "OR-Tools: penalties = prizes, "
            "time dimension with the stops, matrices in C++, PATH_CHEAPEST_ARC + "
            f"GUIDED_LOCAL_SEARCH with {', '.join(ORTOOLS_OPERATORS)}, every improving solution "
            f"timed by a solution callback, {limit_s} s limit. Ratios: prize / optimum; "
            "time_to_equal_ratio: OR-Tools' time to siteplanner's prize (its limit if never) / "
            "siteplanner's time. siteplanner's first call in the process, which loads its "
            f"compiled kernels, took {first_call_s:.2f} s and is not in its times (as OR-Tools' "
            "import is not in its own)."
        ),
        "",
        *md,
        "",
        "```",
        *(result_line(r, limit_s) for r in rows),
        "```",
    ]
    write_results(
        "patrol_vs_ortools",
        "Patrol solvers against the proven optimum (siteplanner, OR-Tools, HiGHS MILP)",
        "\n".join(body),
        command="python benchmarks/patrol_vs_ortools.py " + " ".join(sys.argv[1:]),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
