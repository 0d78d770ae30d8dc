"""Tests of siteplanner.patrol.search on hand-built instances whose optimum is enumerated.

The optimum comes from Held and Karp's dynamic programme over every subset of tasks (exact
for the asymmetric matrices and twin pairs used here), so each instance has a known answer.
"""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest

from siteplanner._errors import InputError
from siteplanner.patrol import _kernels as kernels
from siteplanner.patrol.search import Tour, solve_orienteering


def shortest_per_subset(T: np.ndarray, service: np.ndarray) -> np.ndarray:
    """Least duration (travel + service) of a tour from the depot through exactly each subset
    of tasks ``1..n`` and back (``inf`` if none), by Held-Karp; index = bit mask of tasks."""
    n = len(service)
    full = 1 << n
    # best[mask, j]: least time from the depot through mask's tasks, ending at task j (in mask)
    best = np.full((full, n), np.inf)
    for j in range(n):
        best[1 << j, j] = T[0, j + 1] + service[j]
    for mask in range(1, full):
        for j in range(n):
            t = best[mask, j]
            if not np.isfinite(t):
                continue
            for k in range(n):
                if mask & (1 << k):
                    continue
                nt = t + T[j + 1, k + 1] + service[k]
                nm = mask | (1 << k)
                if nt < best[nm, k]:
                    best[nm, k] = nt
    tour = np.full(full, np.inf)
    tour[0] = 0.0
    for mask in range(1, full):
        tour[mask] = min(best[mask, j] + T[j + 1, 0] for j in range(n) if mask & (1 << j))
    return tour


def optimum(T, service, prizes, budget, twins=None) -> float:
    """Best prize over every subset that fits the budget (at most one task of a twin pair)."""
    n = len(prizes)
    dur = shortest_per_subset(T, np.asarray(service, dtype=float))
    best = 0.0
    for mask in range(1 << n):
        if dur[mask] > budget + 1e-9:
            continue
        tasks = [k + 1 for k in range(n) if mask & (1 << k)]
        if twins is not None and any(twins[k] != k and twins[k] in tasks for k in tasks):
            continue
        best = max(best, sum(prizes[k - 1] for k in tasks))
    return best


def euclidean(xy: np.ndarray) -> np.ndarray:
    return np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))


def duration(T, service, order) -> float:
    points = [0, *order, 0]
    travel = sum(T[a, b] for a, b in zip(points[:-1], points[1:]))
    return travel + sum(service[k - 1] for k in order)


def random_instance(seed: int, n: int = 10):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n + 1, 2))
    T = euclidean(xy)
    service = rng.uniform(0, 10, n).round(1)
    prizes = rng.integers(1, 20, n).astype(float)
    budget = float(rng.uniform(80, 250))
    return T, service, prizes, budget


@pytest.mark.parametrize("seed", range(6))
def test_matches_enumerated_optimum_on_ten_tasks(seed):
    T, service, prizes, budget = random_instance(seed)
    expected = optimum(T, service, prizes, budget)
    tour = solve_orienteering(T, service, prizes, budget_min=budget, seed=seed)
    assert tour.prize == pytest.approx(expected)
    assert tour.duration_min <= budget + 1e-9
    assert tour.duration_min == pytest.approx(duration(T, service, tour.order))
    assert tour.prize == pytest.approx(sum(prizes[k - 1] for k in tour.order))
    assert len(set(tour.order)) == len(tour.order)


def test_matches_optimum_on_a_path_given_as_asymmetric_tour():
    """Start 0 and end 1 as one depot (row 0 from the start, column 0 to the end), as the
    orienteering benchmark gives Tsiligirides' paths: the matrix is then asymmetric."""
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 100, (11, 2))
    D = euclidean(xy)
    tasks = list(range(2, 11))
    T = np.empty((10, 10))
    T[1:, 1:] = D[np.ix_(tasks, tasks)]
    T[0, 1:] = D[0, tasks]
    T[1:, 0] = D[tasks, 1]
    T[0, 0] = D[0, 1]
    prizes = rng.integers(1, 10, 9).astype(float)
    service = np.zeros(9)
    for budget in (D[0, 1] + 60, D[0, 1] + 150):
        expected = optimum(T, service, prizes, budget)
        tour = solve_orienteering(T, service, prizes, budget_min=budget)
        assert tour.prize == pytest.approx(expected)
        assert tour.duration_min <= budget + 1e-9


def test_twin_segments_walked_one_way_and_at_most_once():
    """Four street segments, each a twin pair (walked P→Q or Q→P), and two plain stops: the
    travel from a task starts at its exit end, so the matrix is asymmetric."""
    rng = np.random.default_rng(3)
    depot = np.array([50.0, 50.0])
    segs = [rng.uniform(0, 100, (2, 2)) for _ in range(4)]
    stops = rng.uniform(0, 100, (2, 2))
    entry, exit_, service, prizes, twins = [], [], [], [], [0]
    for i, (a, b) in enumerate(segs):
        length = float(np.hypot(*(b - a)))
        prize = float(rng.integers(5, 20))
        for e, x in ((a, b), (b, a)):
            entry.append(e)
            exit_.append(x)
            service.append(length)
            prizes.append(prize)
        twins += [2 * i + 2, 2 * i + 1]
    for q in stops:
        entry.append(q)
        exit_.append(q)
        service.append(3.0)
        prizes.append(float(rng.integers(5, 20)))
        twins.append(len(twins))
    n = len(entry)
    T = np.zeros((n + 1, n + 1))
    for i in range(n):
        T[0, i + 1] = np.hypot(*(entry[i] - depot))
        T[i + 1, 0] = np.hypot(*(depot - exit_[i]))
        for j in range(n):
            if i != j:
                T[i + 1, j + 1] = np.hypot(*(entry[j] - exit_[i]))
    service = np.array(service)
    prizes = np.array(prizes)
    for budget in (120.0, 200.0, 320.0):
        expected = optimum(T, service, prizes, budget, twins)
        tour = solve_orienteering(T, service, prizes, budget_min=budget, twins=twins)
        assert tour.prize == pytest.approx(expected)
        groups = [min(k, twins[k]) for k in tour.order]
        assert len(groups) == len(set(groups))
        assert tour.duration_min == pytest.approx(duration(T, service, tour.order))
        assert tour.duration_min <= budget + 1e-9


def test_same_seed_same_tour_and_other_calls_between_do_not_matter():
    T, service, prizes, budget = random_instance(5, n=40)
    kw = {"budget_min": budget, "seed": 3, "max_iter": 200, "stall": 50, "restarts": 2}
    first = solve_orienteering(T, service, prizes, **kw)
    solve_orienteering(T, service, prizes[::-1].copy(), budget_min=budget, seed=9)
    assert solve_orienteering(T, service, prizes, **kw) == first


@pytest.mark.parametrize("seed", range(4))
def test_budget_respected_on_larger_instances(seed):
    rng = np.random.default_rng(100 + seed)
    n = 120
    xy = rng.uniform(0, 1000, (n + 1, 2))
    T = euclidean(xy) / 50.0
    service = rng.uniform(1, 5, n)
    prizes = rng.uniform(0, 10, n)
    prizes[rng.random(n) < 0.2] = 0.0
    budget = float(rng.uniform(30, 200))
    tour = solve_orienteering(T, service, prizes, budget_min=budget, seed=seed, max_iter=100)
    assert 0 < len(tour.order) < n
    assert duration(T, service, tour.order) <= budget + 1e-9
    assert all(prizes[k - 1] > 0 for k in tour.order)


def test_nothing_fits_gives_the_empty_tour():
    T = np.array([[0.0, 10.0, 20.0], [10.0, 0.0, 5.0], [20.0, 5.0, 0.0]])
    tour = solve_orienteering(T, [0.0, 0.0], [1.0, 2.0], budget_min=19.0)
    assert tour == Tour(order=(), prize=0.0, duration_min=0.0)
    # unreachable tasks (inf) are never visited
    T[0, 2] = T[2, 0] = np.inf
    tour = solve_orienteering(T, [0.0, 0.0], [1.0, 2.0], budget_min=100.0)
    assert tour.order == (1,)


def test_interface_kept():
    params = inspect.signature(solve_orienteering).parameters
    assert list(params)[:3] == ["travel_min", "service_min", "prizes"]
    for name, default in [
        ("budget_min", inspect.Parameter.empty),
        ("twins", None),
        ("seed", 0),
        ("max_iter", 300),
        ("stall", 60),
        ("restarts", 4),
        ("time_limit_s", None),
    ]:
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default == default
    T, service, prizes, budget = random_instance(1)
    tour = solve_orienteering(T.tolist(), list(service), list(prizes), budget_min=budget)
    assert isinstance(tour, Tour)
    assert all(isinstance(k, int) for k in tour.order)


def test_time_limit_still_returns_a_feasible_tour():
    T, service, prizes, budget = random_instance(2, n=60)
    tour = solve_orienteering(
        T, service, prizes, budget_min=budget, max_iter=10**9, stall=10**9, time_limit_s=0.2
    )
    assert tour.order and duration(T, service, tour.order) <= budget + 1e-9


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"budget_min": -1.0}, "budget_min"),
        ({"budget_min": 10.0, "time_limit_s": 0.0}, "time_limit_s"),
        ({"budget_min": 10.0, "twins": [0, 1]}, "twins"),
    ],
)
def test_bad_arguments_named(kwargs, fragment):
    T, service, prizes, _ = random_instance(0, n=3)
    with pytest.raises(InputError, match=fragment):
        solve_orienteering(T, service, prizes, **kwargs)


def test_two_opt_and_or_opt_never_lengthen_and_keep_the_visits():
    rng = np.random.default_rng(4)
    T = euclidean(rng.uniform(0, 100, (13, 2)))
    s = np.zeros(13)
    tw = np.arange(13)
    for perm_seed in range(5):
        order = np.random.default_rng(perm_seed).permutation(np.arange(1, 13))
        r = np.array([0, *order, 0], dtype=np.int64)
        before = kernels.route_length(r, 12, T, s)
        kernels.two_opt(r, 12, T, s, tw)
        kernels.or_opt(r, 12, T, np.empty(4, dtype=np.int64))
        after = kernels.route_length(r, 12, T, s)
        assert after <= before + 1e-9
        assert sorted(r[1:13]) == list(range(1, 13)) and r[0] == r[13] == 0
    # a 2-opt local optimum on 5 points in convex position is the convex tour
    xy = np.array([[0, 0], [10, 0], [10, 10], [0, 10], [5, -3]], dtype=float)
    T = euclidean(xy)
    best = min(
        itertools.permutations(range(1, 5)),
        key=lambda o: sum(T[a, b] for a, b in zip((0, *o), (*o, 0))),
    )
    r = np.array([0, 2, 4, 1, 3, 0], dtype=np.int64)
    kernels.two_opt(r, 4, T, np.zeros(5), np.arange(5))
    assert kernels.route_length(r, 4, T, np.zeros(5)) == pytest.approx(
        sum(T[a, b] for a, b in zip((0, *best), (*best, 0)))
    )
