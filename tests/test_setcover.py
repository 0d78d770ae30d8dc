"""Tests of the set-covering form: hand-made instances with known optima and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from siteplanner._errors import InfeasibleError, InputError
from siteplanner.optimise import setcover


def _matrix(rows: list[list[int]], n_demand: int) -> sp.csr_matrix:
    dense = np.zeros((len(rows), n_demand))
    for j, row in enumerate(rows):
        dense[j, row] = 1
    return sp.csr_matrix(dense)


@pytest.fixture
def greedy_trap() -> sp.csr_matrix:
    """The classic: greedy takes the big site 0 (4 points) and then needs 1 and 2; 3 + 4 suffice."""
    return _matrix([[1, 2, 4, 5], [0], [3], [0, 1, 2], [3, 4, 5]], 6)


def test_greedy_is_not_the_fewest_and_its_bound_says_so(greedy_trap):
    plan = setcover.set_cover(greedy_trap, method="fast")
    assert plan.selected == (0, 1, 2) and plan.cost == 3.0
    assert plan.lower_bound == 2.0  # ceil(3 / H(4)) = ceil(1.44)
    assert plan.gap == pytest.approx(1 / 3) and plan.status == "feasible" and not plan.optimal


def test_exact_finds_the_fewest(greedy_trap):
    plan = setcover.set_cover(greedy_trap, method="exact")
    assert plan.selected == (3, 4) and plan.cost == 2.0 and plan.lower_bound == 2.0
    assert plan.optimal and plan.status == "optimal" and plan.solver == "milp"
    assert plan.solver_message == "HiGHS: Optimal" and plan.n_required == 6


def test_required_fixed_and_excluded(greedy_trap):
    # only points 3 and 4 must be seen: site 4 alone
    plan = setcover.set_cover(greedy_trap, required=[3, 4], method="exact")
    assert plan.selected == (4,) and plan.optimal
    # site 4 excluded: 3 needs site 2 and 4 needs site 0
    plan = setcover.set_cover(greedy_trap, required=[3, 4], excluded=[4], method="exact")
    assert plan.selected == (0, 2) and plan.cost == 2.0 and plan.optimal
    # site 3 fixed (already there, free): 3, 4, 5 are left, site 4 alone
    plan = setcover.set_cover(greedy_trap, fixed=[3], method="fast")
    assert plan.selected == (4,) and plan.fixed == (3,) and plan.cost == 1.0 and plan.optimal


def test_costs_make_the_cheapest_cover(greedy_trap):
    cost = np.array([1.0, 1.0, 1.0, 10.0, 10.0])
    plan = setcover.set_cover(greedy_trap, cost_eur=cost, method="exact")
    assert plan.selected == (0, 1, 2) and plan.cost == 3.0 and plan.optimal


@pytest.mark.parametrize("seed", range(6))
def test_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_s, n_d = 9, 14
    A = (rng.random((n_s, n_d)) < 0.3).astype(float)
    A[rng.integers(0, n_s, n_d), np.arange(n_d)] = 1  # every point seen by someone
    cost = rng.integers(1, 6, n_s).astype(float)
    best = min(
        cost[list(c)].sum()
        for size in range(1, n_s + 1)
        for c in itertools.combinations(range(n_s), size)
        if A[list(c)].max(axis=0).min() == 1
    )
    exact = setcover.set_cover(A, cost_eur=cost, method="exact")
    fast = setcover.set_cover(A, cost_eur=cost, method="fast")
    assert exact.cost == best and exact.optimal
    assert A[list(exact.selected)].max(axis=0).min() == 1
    assert A[list(fast.selected)].max(axis=0).min() == 1
    assert fast.lower_bound <= best <= fast.cost  # the greedy's bound is proven


def test_unseen_required_point_is_infeasible(greedy_trap):
    with pytest.raises(InfeasibleError, match=r"demand points \[0\]"):
        setcover.set_cover(greedy_trap, excluded=[1, 3])


def test_bad_arguments(greedy_trap):
    with pytest.raises(InputError, match="method"):
        setcover.set_cover(greedy_trap, method="auto")
    with pytest.raises(InputError, match="both fixed and excluded"):
        setcover.set_cover(greedy_trap, fixed=[0], excluded=[0])
    with pytest.raises(InputError, match="cost_eur"):
        setcover.set_cover(greedy_trap, cost_eur=np.ones(3))


# --------------------------------------------------------------------------- p-median


@pytest.mark.parametrize("seed", range(4))
def test_p_median_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 20, (9, 2))
    D = (
        np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2).astype(float)
    )  # Manhattan, whole numbers
    w = rng.integers(1, 4, 9).astype(float)
    for p in (1, 2, 3):
        best = min(
            float(w @ D[:, list(c)].min(axis=1)) for c in itertools.combinations(range(9), p)
        )
        exact = setcover.p_median(D, p, weight=w, method="exact")
        fast = setcover.p_median(D, p, weight=w, method="fast")
        assert exact.cost == best and exact.optimal and exact.lower_bound == best
        assert (
            len(exact.selected) == p and float(w @ D[:, list(exact.selected)].min(axis=1)) == best
        )
        assert fast.lower_bound <= best <= fast.cost


def test_p_median_on_a_line():
    # points at 0, 1, 2, 10, 11, 12: two medians at 1 and 11, total 4
    x = np.array([0.0, 1, 2, 10, 11, 12])
    plan = setcover.p_median(np.abs(x[:, None] - x[None, :]), 2, method="exact")
    assert plan.selected == (1, 4) and plan.cost == 4.0 and plan.optimal
    with pytest.raises(InputError, match="p:"):
        setcover.p_median(np.abs(x[:, None] - x[None, :]), 7)
