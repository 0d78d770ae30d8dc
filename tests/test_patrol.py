"""Tests of siteplanner.patrol on hand-built graphs whose best circuit is known exactly."""

from __future__ import annotations

import itertools
import logging

import gpxpy
import matplotlib
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString

from siteplanner._errors import InputError
from siteplanner.patrol import plan as patrol
from siteplanner.patrol.itinerary import itinerary, itinerary_lines, name_stops, to_gpx
from siteplanner.patrol.network import UNNAMED_STREET, Circuit, Stop, distance_matrix
from siteplanner.patrol.search import solve_orienteering

matplotlib.use("Agg")

CRS = "EPSG:32632"
X0, Y0 = 362_000.0, 4_845_000.0  # near Beausoleil in UTM 32N
SPEED = 6.0  # km/h = 100 m/min: minutes are metres / 100


def make_graph(
    coords: dict[int, tuple[float, float]], edges: list[tuple], *, both_ways: bool = True
) -> nx.MultiDiGraph:
    """Projected MultiDiGraph; edges are (u, v, length[, attrs]); both directions unless told."""
    G = nx.MultiDiGraph(crs=CRS)
    for n, (x, y) in coords.items():
        G.add_node(n, x=X0 + x, y=Y0 + y)
    for e in edges:
        u, v, length = e[:3]
        attrs = dict(e[3]) if len(e) > 3 else {}
        G.add_edge(u, v, length=float(length), **attrs)
        if both_ways:
            back = dict(attrs)
            if "geometry" in back:
                back["geometry"] = LineString(list(back["geometry"].coords)[::-1])
            G.add_edge(v, u, length=float(length), **back)
    return G


@pytest.fixture
def star() -> nx.MultiDiGraph:
    """Start 0; A 100 m east, B 200 m north, C 300 m west (dead ends)."""
    return make_graph(
        {0: (0, 0), 1: (100, 0), 2: (0, 200), 3: (-300, 0)},
        [(0, 1, 100, {"name": "Rue A"}), (0, 2, 200, {"name": "Rue B"}), (0, 3, 300)],
    )


def grid(n: int = 5, step: float = 100.0) -> nx.MultiDiGraph:
    coords = {i * n + j: (j * step, i * step) for i in range(n) for j in range(n)}
    edges = []
    for i in range(n):
        for j in range(n):
            k = i * n + j
            if j + 1 < n:
                edges.append((k, k + 1, step, {"name": f"Rue {i}"}))
            if i + 1 < n:
                edges.append((k, k + n, step, {"name": f"Avenue {j}"}))
    return make_graph(coords, edges)


def brute_force(T: np.ndarray, service: np.ndarray, prizes: np.ndarray, budget: float) -> float:
    """Best prize by enumerating every ordered subset (n <= 7)."""
    n = len(prizes)
    best = 0.0
    for r in range(1, n + 1):
        for perm in itertools.permutations(range(1, n + 1), r):
            t, prev = 0.0, 0
            for k in perm:
                t += T[prev, k] + service[k - 1]
                prev = k
            t += T[prev, 0]
            if t <= budget + 1e-9:
                best = max(best, float(prizes[[k - 1 for k in perm]].sum()))
    return best


def assert_walkable(G: nx.MultiDiGraph, c: Circuit, start: int) -> None:
    assert c.nodes[0] == c.nodes[-1] == start
    for u, v in zip(c.nodes[:-1], c.nodes[1:]):
        assert G.has_edge(u, v) or G.has_edge(v, u), (u, v)
    assert c.duration_min <= c.budget_min + 1e-9
    xs, ys = c.geometry.coords[0]
    assert (xs, ys) == pytest.approx((G.nodes[start]["x"], G.nodes[start]["y"]))
    assert c.geometry.coords[-1] == pytest.approx(c.geometry.coords[0])


# -- the best circuit is known ------------------------------------------------------------------


def test_star_best_circuit_at_the_exact_budget(star):
    # round trips: A 2 + 10 = 12 min, B 4 + 10 = 14, C 6 + 10 = 16; B and C take exactly 30
    c = patrol.plan_circuit(
        star, 0, [1, 2, 3], [1.0, 5.0, 3.0], budget_min=30, speed_kmh=SPEED, dwell_min=10
    )
    assert sorted(c.stop_nodes) == [2, 3]
    assert c.prize == pytest.approx(8.0)
    assert c.duration_min == pytest.approx(30.0)
    assert c.length_m == pytest.approx(1000.0)
    assert c.geometry.length == pytest.approx(1000.0)
    assert_walkable(star, c, 0)


def test_star_just_below_the_budget_takes_the_next_best(star):
    # 29.9 min: B + C no longer fits; A + B (26 min, prize 6) beats A + C (28 min, prize 4)
    c = patrol.plan_circuit(
        star, 0, [1, 2, 3], [1.0, 5.0, 3.0], budget_min=29.9, speed_kmh=SPEED, dwell_min=10
    )
    assert sorted(c.stop_nodes) == [1, 2]
    assert c.prize == pytest.approx(6.0)
    assert c.duration_min == pytest.approx(26.0)


def test_stops_carry_order_eta_dwell_prize(star):
    c = patrol.plan_circuit(
        star, 0, [1, 2], [1.0, 5.0], budget_min=60, speed_kmh=SPEED, dwell_min=10
    )
    assert [s.order for s in c.stops] == [1, 2]
    first, second = c.stops
    # whichever comes first is reached by walking straight there; the second after the first's
    # dwell and a return
    d = {1: 1.0, 2: 2.0}  # minutes from the start
    assert first.eta_min == pytest.approx(d[first.node])
    assert second.eta_min == pytest.approx(d[first.node] * 2 + 10 + d[second.node])
    assert all(s.dwell_min == 10 for s in c.stops)
    assert {s.node: s.prize for s in c.stops} == {1: 1.0, 2: 5.0}
    assert (first.x, first.y) == (star.nodes[first.node]["x"], star.nodes[first.node]["y"])
    assert c.duration_min == pytest.approx(26.0)


def test_grid_matches_brute_force_optimum():
    G = grid(5)
    rng = np.random.default_rng(7)
    for trial in range(4):
        cands = [int(n) for n in rng.choice(np.arange(1, 25), 7, replace=False)]
        prizes = rng.uniform(0.5, 5.0, 7).round(2)
        budget = float(rng.uniform(20, 60))
        D = distance_matrix(G, [0, *cands])
        T = D / 100.0
        service = np.full(7, 5.0)
        expected = brute_force(T, service, prizes, budget)
        tour = solve_orienteering(T, service, prizes, budget_min=budget, seed=trial)
        assert tour.prize == pytest.approx(expected), (trial, cands, prizes, budget)
        assert tour.duration_min <= budget + 1e-9
        c = patrol.plan_circuit(
            G, 0, cands, prizes, budget_min=budget, speed_kmh=SPEED, dwell_min=5, seed=trial
        )
        assert c.prize == pytest.approx(expected)
        assert_walkable(G, c, 0)


def test_distance_matrix_is_undirected_shortest_path():
    # a one-way street 0 -> 1 is walked both ways; 0-2 via 1 (100 + 100) beats the direct 250 m
    G = make_graph(
        {0: (0, 0), 1: (100, 0), 2: (100, 100), 9: (500, 500)},
        [(0, 1, 100), (1, 2, 100), (0, 2, 250)],
        both_ways=False,
    )
    D = distance_matrix(G, [0, 1, 2, 9])
    assert D[:3, :3] == pytest.approx(np.array([[0, 100, 200], [100, 0, 100], [200, 100, 0]]))
    assert np.isinf(D[0, 3]) and np.isinf(D[3, 0])


# -- budget and start = end ----------------------------------------------------------------------


@pytest.mark.parametrize("budget", [0.0, 5.9, 15.0, 23.3, 41.0, 77.7, 130.0])
def test_budget_never_exceeded_and_start_is_end(budget):
    G = grid(6)
    rng = np.random.default_rng(3)
    cands = sorted(int(n) for n in rng.choice(np.arange(36), 20, replace=False))
    prizes = rng.gamma(2.0, 1.0, 20)
    start = 14
    with pytest.warns(UserWarning) if budget < 6 else _no_warning():
        c = patrol.plan_circuit(
            G, start, cands, prizes, budget_min=budget, speed_kmh=SPEED, dwell_min=6
        )
    assert_walkable(G, c, start)
    walk = c.length_m / 100.0
    assert c.duration_min == pytest.approx(walk + 6 * len(c.stops))
    assert c.prize == pytest.approx(sum(s.prize for s in c.stops))
    assert len(set(c.stop_nodes)) == len(c.stops)
    etas = [s.eta_min for s in c.stops]
    assert etas == sorted(etas)


class _no_warning:
    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)


def test_budget_too_small_gives_start_only_and_a_warning(star):
    with pytest.warns(UserWarning, match="no stop reachable"):
        c = patrol.plan_circuit(
            star, 0, [1, 2, 3], [1.0, 5.0, 3.0], budget_min=11.9, speed_kmh=SPEED, dwell_min=10
        )
    assert c.nodes == (0,)
    assert c.stops == ()
    assert c.prize == 0 and c.length_m == 0 and c.duration_min == 0
    assert c.geometry.length == 0


def test_unreachable_candidate_is_dropped_with_a_log_line(star, caplog):
    star.add_node(99, x=X0 + 5000, y=Y0)
    with caplog.at_level(logging.INFO, logger="siteplanner.patrol"):
        c = patrol.plan_circuit(
            star, 0, [1, 99], [1.0, 100.0], budget_min=60, speed_kmh=SPEED, dwell_min=10
        )
    assert c.stop_nodes == (1,)
    assert any("unreachable" in r.message and "99" in r.message for r in caplog.records)


def test_same_seed_same_circuit():
    G = grid(6)
    rng = np.random.default_rng(11)
    cands = sorted(int(n) for n in rng.choice(np.arange(1, 36), 25, replace=False))
    prizes = rng.gamma(2.0, 1.0, 25)
    a = patrol.plan_circuit(
        G, 0, cands, prizes, budget_min=70, speed_kmh=SPEED, dwell_min=5, seed=4
    )
    b = patrol.plan_circuit(
        G, 0, cands, list(prizes), budget_min=70, speed_kmh=SPEED, dwell_min=5, seed=4
    )
    assert a == b


# -- hot segments ---------------------------------------------------------------------------------


def test_hot_segment_is_walked_and_counted_once():
    # 0 -100- 1 -100- 2: the hot segment (1, 2) is 2 min away; out and back takes 4 min
    G = make_graph({0: (0, 0), 1: (100, 0), 2: (200, 0)}, [(0, 1, 100), (1, 2, 100)])
    c = patrol.plan_circuit(
        G, 0, [], [], budget_min=5, speed_kmh=SPEED, segment_prize={(2, 1): 5.0}
    )
    assert c.segments == ((1, 2),)
    assert c.prize == pytest.approx(5.0) and c.segment_prize == pytest.approx(5.0)
    assert c.nodes == (0, 1, 2, 1, 0)
    assert c.duration_min == pytest.approx(4.0)
    with pytest.warns(UserWarning):
        short = patrol.plan_circuit(
            G, 0, [], [], budget_min=3.9, speed_kmh=SPEED, segment_prize={(1, 2): 5.0}
        )
    assert short.prize == 0


def test_hot_segment_pulls_the_route_onto_a_longer_street():
    # stop 3 is reached directly (0-3, 200 m) or by the hot street 0-1-2-3 (300 m)
    G = make_graph(
        {0: (0, 0), 1: (0, 100), 2: (100, 100), 3: (100, 0)},
        [(0, 3, 200), (0, 1, 100), (1, 2, 100, {"name": "Rue chaude"}), (2, 3, 100)],
    )
    plain = patrol.plan_circuit(G, 0, [3], [2.0], budget_min=20, speed_kmh=SPEED, dwell_min=10)
    assert plain.nodes == (0, 3, 0) and plain.duration_min == pytest.approx(14.0)
    hot = patrol.plan_circuit(
        G, 0, [3], [2.0], budget_min=20, speed_kmh=SPEED, dwell_min=10, segment_prize={(1, 2): 1.5}
    )
    assert hot.prize == pytest.approx(3.5)
    assert hot.segments == ((1, 2),)
    assert hot.duration_min == pytest.approx(15.0)  # 0-1-2-3 out, 3-0 back, 10 min dwell
    assert_walkable(G, hot, 0)
    too_short = patrol.plan_circuit(
        G,
        0,
        [3],
        [2.0],
        budget_min=14.5,
        speed_kmh=SPEED,
        dwell_min=10,
        segment_prize={(1, 2): 1.5},
    )
    assert too_short.prize == pytest.approx(2.0)


# -- geometry, itinerary, GPX ----------------------------------------------------------------------


def test_geometry_follows_edge_geometry_in_walking_order():
    bend = LineString(
        [(X0 + 100, Y0), (X0 + 50, Y0 + 80), (X0, Y0)]
    )  # stored from node 1 to node 0
    G = nx.MultiDiGraph(crs=CRS)
    G.add_node(0, x=X0, y=Y0)
    G.add_node(1, x=X0 + 100, y=Y0)
    G.add_edge(1, 0, length=190.0, geometry=bend, name="Chemin du Coude")
    c = patrol.plan_circuit(G, 0, [1], [1.0], budget_min=10, speed_kmh=SPEED, dwell_min=1)
    coords = list(c.geometry.coords)
    assert coords[0] == (X0, Y0) and coords[-1] == (X0, Y0)
    assert coords[1] == (X0 + 50, Y0 + 80) and coords[2] == (X0 + 100, Y0)
    assert c.length_m == pytest.approx(380.0)
    assert c.duration_min == pytest.approx(4.8)


def test_itinerary_merges_streets_and_names_unnamed(star):
    c = patrol.plan_circuit(
        star, 0, [1, 2, 3], [1.0, 5.0, 3.0], budget_min=60, speed_kmh=SPEED, dwell_min=10
    )
    it = itinerary(star, c)
    assert sum(m for _, m in it) == pytest.approx(c.length_m)
    names = {1: "Rue A", 2: "Rue B", 3: UNNAMED_STREET}
    expected = []
    for node in c.stop_nodes:
        length = {1: 200.0, 2: 400.0, 3: 600.0}[node]
        expected.append((names[node], length))  # out and back along the same street are merged
    assert it == expected


def test_itinerary_joins_merged_osm_names():
    G = make_graph({0: (0, 0), 1: (100, 0)}, [(0, 1, 100, {"name": ["Rue X", "Rue Y"]})])
    c = patrol.plan_circuit(G, 0, [1], [1.0], budget_min=10, speed_kmh=SPEED, dwell_min=1)
    assert itinerary(G, c) == [("Rue X / Rue Y", 200.0)]


def test_gpx_has_waypoints_and_a_closed_track_in_wgs84(star):
    c = patrol.plan_circuit(
        star, 0, [1, 2], [1.0, 5.0], budget_min=60, speed_kmh=SPEED, dwell_min=10, name="soir"
    )
    doc = gpxpy.parse(to_gpx(c, CRS))
    assert [w.name for w in doc.waypoints] == ["1. stop", "2. stop"]
    pts = doc.tracks[0].segments[0].points
    assert len(pts) == len(c.geometry.coords)
    assert (pts[0].latitude, pts[0].longitude) == (pts[-1].latitude, pts[-1].longitude)
    # UTM 32N (362 km E, 4845 km N) is near Beausoleil: 43.74 N, 7.29 E
    assert 43.6 < pts[0].latitude < 43.9 and 7.1 < pts[0].longitude < 7.5
    # stop 2 (node 2) is 200 m north of the start: about 0.0018 degree of latitude
    by_name = {w.name: w for w in doc.waypoints}
    north = by_name[f"{c.stop_nodes.index(2) + 1}. stop"]
    assert north.latitude - pts[0].latitude == pytest.approx(200 / 111_200, rel=0.02)
    assert doc.name == "soir"


# -- several shifts and teams; variants ------------------------------------------------------------


def test_teams_of_a_shift_never_repeat_a_stop_but_shifts_may():
    G = grid(5)
    cands = list(range(1, 25))
    prizes = [float(1 + (k * 7) % 5) for k in cands]
    shifts = [
        patrol.Shift("soir", 40, speed_kmh=SPEED, dwell_min=5, teams=2),
        patrol.Shift("nuit", 40, speed_kmh=SPEED, dwell_min=5),
    ]
    out = patrol.plan_circuits(G, 12, cands, prizes, shifts=shifts)
    assert [c.name for c in out] == ["soir-team1", "soir-team2", "nuit"]
    assert not set(out[0].stop_nodes) & set(out[1].stop_nodes)
    assert out[0].prize >= out[1].prize
    assert out[2].stop_nodes == out[0].stop_nodes  # an independent shift sees the same best circuit
    for c in out:
        assert_walkable(G, c, 12)


def test_allow_repeat_and_shift_prizes():
    G = grid(4)
    cands = [5, 10, 15]
    rep = patrol.plan_circuits(
        G,
        0,
        cands,
        [1.0, 1.0, 1.0],
        shifts=[patrol.Shift("j", 100, speed_kmh=SPEED, dwell_min=1, teams=2, allow_repeat=True)],
    )
    assert rep[0].stop_nodes and set(rep[0].stop_nodes) == set(rep[1].stop_nodes)
    with pytest.warns(UserWarning, match="no stop reachable"):
        own = patrol.plan_circuits(
            G,
            0,
            cands,
            [1.0, 1.0, 1.0],
            shifts=[patrol.Shift("n", 8, speed_kmh=SPEED, dwell_min=1, prizes=[0.0, 0.0, 9.0])],
        )
    # only node 15 (corner, 600 m away: 12 min) has a prize but cannot fit in 8 min
    assert own[0].stops == ()
    own = patrol.plan_circuits(
        G,
        0,
        cands,
        [1.0, 1.0, 1.0],
        shifts=[patrol.Shift("n", 13, speed_kmh=SPEED, dwell_min=1, prizes=[0.0, 0.0, 9.0])],
    )
    assert own[0].stop_nodes == (15,) and own[0].prize == 9.0


def test_hot_segment_counted_once_per_shift():
    G = make_graph({0: (0, 0), 1: (100, 0), 2: (200, 0)}, [(0, 1, 100), (1, 2, 100)])
    shifts = [patrol.Shift("s", 10, speed_kmh=SPEED, teams=2)]
    with pytest.warns(UserWarning):  # the second team has nothing left to collect
        a, b = patrol.plan_circuits(G, 0, [], [], shifts=shifts, segment_prize={(1, 2): 5.0})
    assert a.prize == 5.0 and b.prize == 0.0


def test_variants_are_distinct_seeded_and_within_share():
    G = grid(6)
    rng = np.random.default_rng(5)
    cands = sorted(int(n) for n in rng.choice(np.arange(1, 36), 20, replace=False))
    prizes = rng.uniform(1, 2, 20)
    out = patrol.variants(
        G,
        0,
        cands,
        prizes,
        n=4,
        within_share=0.85,
        budget_min=60,
        speed_kmh=SPEED,
        dwell_min=5,
        seed=2,
    )
    best = patrol.plan_circuit(
        G, 0, cands, prizes, budget_min=60, speed_kmh=SPEED, dwell_min=5, seed=2
    )
    assert len(out) == 4
    assert out[0].prize == pytest.approx(best.prize)
    assert all(c.prize >= 0.85 * best.prize - 1e-9 for c in out)
    assert len({c.stop_nodes for c in out}) == 4
    for i, c in enumerate(out):
        assert_walkable(G, c, 0)
        for other in out[:i]:  # at least half of each variant's stops are new
            assert 2 * len(set(c.stop_nodes) - set(other.stop_nodes)) >= len(c.stop_nodes)
    again = patrol.variants(
        G,
        0,
        cands,
        prizes,
        n=4,
        within_share=0.85,
        budget_min=60,
        speed_kmh=SPEED,
        dwell_min=5,
        seed=2,
    )
    assert [c.nodes for c in again] == [c.nodes for c in out]


def test_each_variant_logs_its_own_figures(caplog):
    """#24: variants() re-planned the best circuit and logged it at INFO under a variant's name
    ("<shift> variante-1"), so the log gave a variant the main circuit's figures; each variant
    the step keeps is logged once, under its output name, with its own figures."""
    from siteplanner.scenario import Shift as ScenarioShift
    from siteplanner.steps.patrols import shift_variants

    G = grid(6)
    rng = np.random.default_rng(5)
    cands = sorted(int(n) for n in rng.choice(np.arange(1, 36), 20, replace=False))
    prizes = tuple(rng.uniform(1, 2, 20))
    s_ = ScenarioShift(name="soir", budget_min=60, speed_kmh=SPEED, dwell_min=5, variants=2)
    s_ = s_.model_copy(update={"variants_within": 0.85})
    sh = patrol.Shift("soir", 60, speed_kmh=SPEED, dwell_min=5, prizes=prizes)
    (main,) = patrol.plan_circuits(G, 0, cands, list(prizes), shifts=[sh])
    with caplog.at_level(logging.INFO, logger="siteplanner"):
        alt = shift_variants(s_, sh, G, 0, cands)
    assert [c.name for c in alt] == ["soir variante 1", "soir variante 2"]
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    named = [m for m in info if "variante" in m]
    assert len(named) == len(alt)  # no line for the best circuit re-planned by variants()
    for c, line in zip(alt, named):
        assert c.stop_nodes != main.stop_nodes
        assert line.startswith(
            f"shift 'soir': variant '{c.name}': {len(c.stops)} stop(s), {c.length_m:.0f} m, "
            f"{c.duration_min:.1f} of 60 min, prize {c.prize:.3g} (segments 0), "
            f"{100 * c.prize / main.prize:.0f} % of the best prize"
        )


def _circuit(stops: tuple[int, ...]) -> Circuit:
    return Circuit(
        name="c",
        nodes=(0, *stops, 0),
        stops=tuple(Stop(n, 0.0, 0.0, k, 0.0, 1.0, 1.0) for k, n in enumerate(stops, start=1)),
        geometry=None,
        length_m=0.0,
        duration_min=0.0,
        prize=0.0,
        budget_min=1.0,
        speed_kmh=1.0,
        method="",
    )


def test_a_reversed_or_reshuffled_circuit_is_not_a_variant():
    base = _circuit((1, 2, 3, 4, 5))
    assert not patrol.differs(_circuit((5, 4, 3, 2, 1)), base)  # run backwards
    assert not patrol.differs(_circuit((1, 2, 3, 6, 7)), base)  # 2 of 5 stops new
    assert patrol.differs(_circuit((1, 2, 6, 7, 8)), base)  # 3 of 5 new
    assert patrol.differs(_circuit((1, 9)), base)  # 1 of 2 new: half
    assert not patrol.differs(_circuit(()), _circuit(()))


def test_variant_takes_the_other_branch():
    # two branches from the start 0: west 1, 2 (prize 2 in all) and east 3, 4 (1.9); 6 min allow
    # one branch (400 m there and back, 2 stops of 1 min), or the first node of each. The base goes
    # west; a variant must leave at least one of its two stops (not west again in another order).
    G = make_graph(
        {0: (0.0, 0.0), 1: (-100.0, 0.0), 2: (-200.0, 0.0), 3: (100.0, 0.0), 4: (200.0, 0.0)},
        [(0, 1, 100.0), (1, 2, 100.0), (0, 3, 100.0), (3, 4, 100.0)],
    )
    out = patrol.variants(
        G,
        0,
        [1, 2, 3, 4],
        [1.0, 1.0, 0.95, 0.95],
        n=2,
        within_share=0.9,
        budget_min=6,
        speed_kmh=SPEED,
        dwell_min=1,
        seed=0,
    )
    assert len(out) == 2 and set(out[0].stop_nodes) == {1, 2}
    assert (
        set(out[1].stop_nodes) in ({3, 4}, {1, 3}, {2, 3}, {1, 4})
        and out[1].prize >= 0.9 * out[0].prize
    )
    with pytest.warns(UserWarning, match="different circuit"):  # ask for more than exist
        many = patrol.variants(
            G,
            0,
            [1, 2, 3, 4],
            [1.0, 1.0, 0.95, 0.95],
            n=8,
            within_share=0.9,
            budget_min=6,
            speed_kmh=SPEED,
            dwell_min=1,
            seed=0,
            max_attempts=40,
        )
    assert 2 <= len(many) < 8
    assert all(patrol.differs(c, o) for i, c in enumerate(many) for o in many[:i])


def test_variants_warn_when_too_few_qualify(star):
    with pytest.warns(UserWarning, match="found 1 different"):
        out = patrol.variants(
            star, 0, [1], [1.0], n=3, budget_min=60, speed_kmh=SPEED, dwell_min=10, max_attempts=5
        )
    assert len(out) == 1


# -- validation ------------------------------------------------------------------------------------


def test_bad_inputs_are_reported_together(star):
    with pytest.raises(InputError) as err:
        patrol.plan_circuit(star, 0, [1, 42, 1], [1.0, -2.0], budget_min=-5, speed_kmh=0)
    msg = str(err.value)
    for part in (
        "candidates has 3 entries but prizes has 2",
        "candidates[1] = 42",
        "candidates[2] = 1 repeats",
        "prizes[1] = -2.0",
        "budget_min = -5",
        "speed_kmh = 0",
    ):
        assert part in msg


def test_bad_segment_and_start(star):
    with pytest.raises(
        InputError, match=r"(?s)start_node = 77.*segment_prize key \(1, 2\) is not an edge"
    ):
        patrol.plan_circuit(star, 77, [1], [1.0], budget_min=30, segment_prize={(1, 2): 1.0})


def test_geographic_graph_is_refused():
    G = make_graph({0: (0, 0), 1: (1, 0)}, [(0, 1, 100)])
    G.graph["crs"] = "EPSG:4326"
    with pytest.raises(InputError, match="projected"):
        patrol.plan_circuit(G, 0, [1], [1.0], budget_min=30)


def test_solve_orienteering_validates_shapes():
    with pytest.raises(InputError, match="service_min has shape"):
        solve_orienteering(np.zeros((3, 3)), [1.0], [1.0, 2.0], budget_min=10)


def test_uncovered_prizes():
    out = patrol.uncovered_prizes([2.0, 4.0, 1.0], [0.0, 0.5, 1.0], discount=0.5)
    assert out == pytest.approx([2.0, 3.0, 0.5])
    with pytest.raises(InputError, match=r"covered\[0\]"):
        patrol.uncovered_prizes([1.0], [1.5])


def test_exclude_and_numpy_numbers(star):
    c = patrol.plan_circuit(
        star,
        0,
        [1, 2, 3],
        np.array([1.0, 5.0, 3.0]),
        budget_min=np.int64(30),
        speed_kmh=np.float64(SPEED),
        dwell_min=10,
        exclude=[2],
    )
    # without B, A + C (28 min, prize 4) is best
    assert sorted(c.stop_nodes) == [1, 3] and c.prize == pytest.approx(4.0)


def test_segment_prize_given_both_ways_counts_the_larger_once():
    G = make_graph({0: (0, 0), 1: (100, 0)}, [(0, 1, 100)])
    c = patrol.plan_circuit(
        G, 0, [], [], budget_min=10, speed_kmh=SPEED, segment_prize={(0, 1): 2.0, (1, 0): 3.0}
    )
    assert c.prize == pytest.approx(3.0) and c.segments == ((0, 1),)


# -- stop names ------------------------------------------------------------------------------------


def test_stops_named_after_street_and_place(star):
    import geopandas as gpd
    import shapely

    c = patrol.plan_circuit(
        star, 0, [1, 2, 3], [1.0, 1.0, 1.0], budget_min=30, speed_kmh=SPEED, dwell_min=1
    )
    assert {s.node for s in c.stops} == {1, 2, 3}
    places = gpd.GeoDataFrame(
        {"kind": ["school", "station", "shop"], "name": ["École du Centre", "Gare", "Tabac"]},
        geometry=[
            shapely.Point(X0 + 110, Y0 + 20),
            shapely.Point(X0 - 900, Y0),
            shapely.Point(X0, Y0 + 205),
        ],
        crs=CRS,
    )
    named = name_stops([c], star, places)[0]
    by_node = {s.node: s.name for s in named.stops}
    assert by_node[1] == "Rue A, near École du Centre (school)"  # 22 m away
    assert by_node[2] == "Rue B"  # a shop is not a place to name a stop after
    assert by_node[3] == UNNAMED_STREET  # its street has no name; Rue A and Rue B are 300 m off
    assert [s.node for s in named.stops] == [s.node for s in c.stops] and named.nodes == c.nodes
    gpx = gpxpy.parse(to_gpx(named, CRS))
    assert [w.name for w in gpx.waypoints] == [f"{s.order}. {s.name}" for s in named.stops]
    lines = itinerary_lines(star, named)
    stops_said = [ln for ln in lines if ln.startswith("STOP")]
    assert stops_said == [
        f"STOP {s.order}: {s.name} — arrive at {s.eta_min:.0f} min, stay {s.dwell_min:.0f} min"
        for s in named.stops
    ]
    assert lines[0].startswith(("Rue A", "Rue B", "unnamed street"))
