"""Tests of the p-median bound: small instances solved by brute force, cases whose LP is integral,
the gap, and pmed1 of the OR-Library when the shared data is there."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from siteplanner._errors import InputError
from siteplanner.optimise import pmedian

from .conftest import SHARED_ROOT

PMED = SHARED_ROOT / "data" / "benchmarks" / "orlib_pmed"


def _brute_force(D: np.ndarray, w: np.ndarray, p: int) -> float:
    return min(
        float(w @ D[:, list(c)].min(axis=1)) for c in itertools.combinations(range(D.shape[1]), p)
    )


def _manhattan(seed: int, n: int) -> np.ndarray:
    xy = np.random.default_rng(seed).integers(0, 20, (n, 2))
    return np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2).astype(float)


@pytest.mark.parametrize("seed", range(6))
def test_bound_below_brute_force_optimum_and_solve_proves_it(seed):
    rng = np.random.default_rng(100 + seed)
    D = _manhattan(seed, 9)
    w = rng.integers(1, 4, 9).astype(float)
    for p in (2, 3, 4):
        best = _brute_force(D, w, p)
        bound = pmedian.pmedian_lower_bound(D, p, 5.0, weight=w)
        assert 0 < bound.lower_bound <= best
        sol = pmedian.solve(D, p, 30.0, weight=w)
        assert sol.cost == best and sol.lower_bound == best and sol.proven_optimal
        assert len(sol.selected) == p and float(w @ D[:, list(sol.selected)].min(axis=1)) == best


@pytest.mark.parametrize("seed", range(4))
def test_rectangular_real_valued_instances(seed):
    # 14 demand points, 7 sites, real distances: the bound is not rounded up
    rng = np.random.default_rng(seed)
    demand, sites = rng.random((14, 2)), rng.random((7, 2))
    D = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    w = rng.random(14) + 0.5
    for p in (2, 3):
        best = _brute_force(D, w, p)
        assert pmedian.pmedian_lower_bound(D, p, 5.0, weight=w).lower_bound <= best + 1e-12
        sol = pmedian.solve(D, p, 30.0, weight=w)
        assert sol.cost == pytest.approx(best, rel=1e-12)
        assert sol.lower_bound <= best + 1e-12 and sol.proven_optimal


def test_the_bound_is_valid_when_stopped_early():
    D = _manhattan(49, 8)
    best = _brute_force(D, np.ones(8), 3)
    for limit in (1e-6, 1e-3):
        assert pmedian.pmedian_lower_bound(D, 3, limit).lower_bound <= best


def test_a_lagrangian_gap_closed_by_branching():
    # seed 49, p = 3: the Lagrangian bound stops at 30, one below the optimum 31, so the proof
    # needs the branch and bound
    D = _manhattan(49, 8)
    assert _brute_force(D, np.ones(8), 3) == 31.0
    assert pmedian.pmedian_lower_bound(D, 3, 5.0).lower_bound < 31.0
    sol = pmedian.solve(D, 3, 30.0)
    assert sol.cost == 31.0 and sol.lower_bound == 31.0 and sol.proven_optimal
    assert sol.how == "lagrangian+branching" and "nodes" in sol.message


def test_separated_clusters_integral_lp_bound_equals_optimum():
    # three clusters of four points, 1000 apart: each median at a cluster's middle point; the LP
    # is integral, so the Lagrangian bound alone reaches the optimum
    x = np.array([0, 1, 2, 4, 1000, 1001, 1003, 1004, 2000, 2002, 2003, 2003], dtype=float)
    D = np.abs(x[:, None] - x[None, :])
    best = _brute_force(D, np.ones(12), 3)
    assert best == (1 + 0 + 1 + 3) + (1 + 0 + 2 + 3) + (2 + 0 + 1 + 1)
    assert pmedian.pmedian_lower_bound(D, 3, 5.0).lower_bound == best
    sol = pmedian.solve(D, 3, 10.0)
    assert sol.cost == best and sol.proven_optimal and sol.how == "lagrangian"


def test_trivial_cases_bound_equals_optimum():
    D = _manhattan(3, 6)
    w = np.arange(1.0, 7.0)
    every = pmedian.solve(D, 6, 5.0, weight=w)  # every site open: the cost is 0
    assert every.cost == 0.0 and every.lower_bound == 0.0 and every.gap == 0.0
    one = pmedian.solve(D, 1, 5.0, weight=w)
    assert one.cost == _brute_force(D, w, 1) == one.lower_bound and one.proven_optimal
    # the Lagrangian bound itself reaches the optimum at p = number of sites
    assert pmedian.pmedian_lower_bound(D, 6, 5.0, weight=w).lower_bound == 0.0


def test_proven_gap():
    assert pmedian.proven_gap(100.0, 90.0) == pytest.approx(0.1)
    assert pmedian.proven_gap(100.0, 100.0) == 0.0
    assert pmedian.proven_gap(0.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="above the cost"):
        pmedian.proven_gap(100.0, 101.0)
    sol = pmedian.solve(_manhattan(5, 9), 2, 10.0)
    assert sol.gap == pmedian.proven_gap(sol.cost, sol.lower_bound)


def test_bad_input_names_what_is_wrong():
    D = _manhattan(1, 5)
    with pytest.raises(InputError, match="p: 6; accepted a whole number from 1 to 5"):
        pmedian.solve(D, 6)
    with pytest.raises(InputError, match="weight: accepted 5 finite values"):
        pmedian.pmedian_lower_bound(D, 2, weight=np.ones(4))
    with pytest.raises(InputError, match="dist:"):
        pmedian.solve(-D, 2)
    with pytest.raises(InputError, match="time_limit"):
        pmedian.solve(D, 2, 0)


@pytest.mark.skipif(not (PMED / "pmed1.txt").exists(), reason="OR-Library pmed1 (shared) absent")
def test_orlib_pmed1_proven_at_its_published_optimum():
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    tok = np.array((PMED / "pmed1.txt").read_text().split(), dtype=np.int64)
    n, m, p = (int(t) for t in tok[:3])
    last = {}
    for i, j, c in tok[3:].reshape(m, 3).tolist():  # a repeated edge: the last cost wins
        last[(min(i, j) - 1, max(i, j) - 1)] = c
    ij = np.array(list(last))
    c = np.array(list(last.values()), dtype=float)
    G = csr_matrix((np.r_[c, c], (np.r_[ij[:, 0], ij[:, 1]], np.r_[ij[:, 1], ij[:, 0]])), (n, n))
    sol = pmedian.solve(shortest_path(G, directed=False), p, 60.0)
    assert sol.cost == 5819 and sol.lower_bound == 5819 and sol.proven_optimal


def test_branch_and_bound_against_brute_force():
    # 30 points, p = 2..4, brute force over every plan. The search alone, from a poor plan and
    # no root bound, must find the optimum and prove it; stopped at once, it returns the root
    # bound it was given
    for seed in range(3):
        xy = np.random.default_rng(seed).random((30, 2))
        D = np.round(100 * np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
        for p in (2, 3, 4):
            combos = np.array(list(itertools.combinations(range(30), p)))
            best = float(D[:, combos].min(axis=2).sum(axis=0).min())
            plan = {"sites": list(range(p)), "cost": float(D[:, :p].min(axis=1).sum())}

            def evaluate(S, plan=plan):
                cost = float(D[:, S].min(axis=1).sum())
                if cost < plan["cost"]:
                    plan["sites"], plan["cost"] = S.tolist(), cost
                return plan["cost"]

            start = (np.zeros(30, np.int8), D.min(axis=1))
            bound, nodes = pmedian._branch_and_bound(
                D, p, plan, *start, 0.0, True, time.perf_counter() + 60, evaluate
            )
            assert plan["cost"] == best and bound == best and nodes >= 1
            stopped, none = pmedian._branch_and_bound(D, p, plan, *start, 7.0, True, 0.0, evaluate)
            assert none == 0 and stopped == 7.0
            sol = pmedian.solve(D, p, 60.0)
            assert sol.cost == best and sol.lower_bound == best and sol.proven_optimal
