"""Tests of siteplanner.patrol.exact: the orienteering MILP against brute-force enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from siteplanner._errors import InputError
from siteplanner.patrol.exact import solve_orienteering_exact
from siteplanner.patrol.search import solve_orienteering


def duration(T: np.ndarray, s: np.ndarray, order) -> float:
    """Travel plus service time of a tour from the depot 0 back to it (``s`` per task 1..n)."""
    t, prev = 0.0, 0
    for k in order:
        t += T[prev, k] + s[k - 1]
        prev = k
    return t + T[prev, 0]


def brute_force(T: np.ndarray, s: np.ndarray, p: np.ndarray, budget: float) -> float:
    """Best prize over every ordered subset of the tasks (n ≤ 8: ≤ 109,601 sequences)."""
    n = len(p)
    best = 0.0
    for k in range(1, n + 1):
        for subset in itertools.combinations(range(1, n + 1), k):
            prize = math.fsum(p[i - 1] for i in subset)
            if prize <= best:
                continue
            if any(
                duration(T, s, perm) <= budget + 1e-9 for perm in itertools.permutations(subset)
            ):
                best = prize
    return best


def instance(seed: int, n: int, *, asymmetric: bool = False):
    """Depot and ``n`` tasks in a 10 x 10 square; travel = distance (x 1-1.5 one way if asked)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, 10.0, (n + 1, 2))
    T = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    if asymmetric:
        T = T * rng.uniform(1.0, 1.5, T.shape)
        np.fill_diagonal(T, 0.0)
    s = rng.uniform(0.5, 3.0, n)
    p = rng.integers(1, 10, n).astype(float)
    return T, s, p


@pytest.mark.parametrize(
    ("seed", "n", "budget", "asymmetric"),
    [
        (0, 6, 20.0, False),
        (1, 7, 25.0, False),
        (2, 8, 30.0, False),
        (3, 8, 22.0, True),
        (4, 7, 35.0, True),
        (5, 8, 45.0, False),
    ],
)
@pytest.mark.parametrize("formulation", ["cuts", "flow"])
def test_optimum_matches_brute_force(seed, n, budget, asymmetric, formulation):
    T, s, p = instance(seed, n, asymmetric=asymmetric)
    best = brute_force(T, s, p, budget)
    tour = solve_orienteering_exact(
        T, s, p, budget_min=budget, time_limit_s=60, formulation=formulation
    )
    assert tour.proven
    assert tour.prize == pytest.approx(best, abs=1e-9)
    assert tour.bound == pytest.approx(best, rel=1e-9)
    assert len(set(tour.order)) == len(tour.order)
    assert tour.duration_min == pytest.approx(duration(T, s, tour.order))
    assert tour.duration_min <= budget + 1e-6
    assert tour.prize == pytest.approx(sum(p[k - 1] for k in tour.order))


def test_brute_force_optimum_is_not_the_whole_set():
    """The instances above bind: the budget leaves out some tasks, so the MILP must choose."""
    T, s, p = instance(2, 8)
    assert brute_force(T, s, p, 30.0) < p.sum()
    assert brute_force(T, s, p, 30.0) > p.max()


def test_never_below_the_heuristic():
    """A proven optimum is at least the search's prize on the same matrices."""
    for seed in range(3):
        T, s, p = instance(10 + seed, 9)
        exact = solve_orienteering_exact(T, s, p, budget_min=30.0)
        heur = solve_orienteering(T, s, p, budget_min=30.0, seed=0)
        assert exact.proven
        assert exact.prize >= heur.prize - 1e-9


def test_far_cluster_needs_subtour_cuts():
    """Rich tasks of which only two fit on a tour: the first MILP closes a cycle among all
    three, apart from a tour of the near tasks; the cuts lead it to the best real tour."""
    xy = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [50, 50], [51, 50], [50, 51]], dtype=float)
    T = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    T[4:, 4:] = 1.0 - np.eye(3)  # the far tasks 1 apart from one another
    T[0, 4:] = T[4:, 0] = 19.0  # depot -> far -> far -> depot: 19 + 0.5 + 1 + 0.5 + 19 = 40
    s = np.array([0.0, 0.0, 0.0, 0.5, 0.5, 0.5])
    p = np.array([1.0, 2.0, 3.0, 100.0, 100.0, 100.0])
    tour = solve_orienteering_exact(T, s, p, budget_min=40.0)
    assert tour.proven
    assert tour.prize == pytest.approx(brute_force(T, s, p, 40.0))
    assert tour.prize == pytest.approx(200.0)  # two far tasks, nothing else fits
    assert tour.rounds >= 2
    flow = solve_orienteering_exact(T, s, p, budget_min=40.0, formulation="flow")
    assert flow.proven and flow.prize == pytest.approx(200.0)


def test_unreachable_task_is_left_out():
    T, s, p = instance(6, 6)
    T[0, 3] = T[3, 0] = math.inf  # task 3 cut off from the depot; others may still pass by it
    p[2] = 1000.0
    tour = solve_orienteering_exact(T, s, p, budget_min=30.0)
    assert tour.proven
    assert tour.prize == pytest.approx(brute_force(T, s, p, 30.0))


def test_budget_too_small_for_any_stop_gives_the_empty_tour():
    T, s, p = instance(7, 6)
    budget = float((T[0, 1:] + s + T[1:, 0]).min()) * 0.99
    tour = solve_orienteering_exact(T, s, p, budget_min=budget)
    assert tour.order == ()
    assert tour.prize == 0.0 and tour.duration_min == 0.0
    assert tour.proven


def test_time_limit_hit_is_never_proven():
    T, s, p = instance(8, 8)
    tour = solve_orienteering_exact(T, s, p, budget_min=30.0, time_limit_s=0.0)
    assert not tour.proven
    assert "time limit" in tour.status.lower()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget_min": -1.0}, "budget_min = -1.0"),
        ({"budget_min": math.nan}, "budget_min = nan"),
        ({"budget_min": 10.0, "prizes": [1.0, -2.0]}, "prizes has entries"),
        ({"budget_min": 10.0, "service_min": [1.0]}, "service_min has shape (1,)"),
        ({"budget_min": 10.0, "formulation": "mtz"}, "formulation = 'mtz'"),
    ],
)
def test_bad_input_is_one_clear_error(kwargs, message):
    T = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    args = {"service_min": [1.0, 1.0], "prizes": [1.0, 2.0], "formulation": "cuts", **kwargs}
    with pytest.raises(InputError, match="solve_orienteering_exact") as err:
        solve_orienteering_exact(
            T,
            args["service_min"],
            args["prizes"],
            budget_min=args["budget_min"],
            formulation=args["formulation"],
        )
    assert message in str(err.value)
