"""Tests of siteplanner.optimise: hand-made instances with known optima and brute force."""

from __future__ import annotations

import itertools
import logging

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import scipy.sparse as sp

from siteplanner._errors import InfeasibleError, InputError
from siteplanner.optimise import (
    greedy as optimise_greedy,
)
from siteplanner.optimise import (
    instance as optimise_instance,
)
from siteplanner.optimise import (
    phases as optimise,
)
from siteplanner.optimise.exact import solve_milp
from siteplanner.optimise.greedy import greedy
from siteplanner.optimise.phases import Phase


def _matrix(rows: list[list[int]], n_demand: int) -> sp.csr_matrix:
    dense = np.zeros((len(rows), n_demand))
    for j, row in enumerate(rows):
        dense[j, row] = 1
    return sp.csr_matrix(dense)


@pytest.fixture
def trap() -> tuple[sp.csr_matrix, np.ndarray]:
    """Greedy takes the big middle site 0 and ends at 5; sites 1 + 2 reach 6."""
    A = _matrix([[1, 2, 3, 4], [0, 1, 2], [3, 4, 5]], 6)
    return A, np.ones(6)


@pytest.fixture
def swap_trap() -> tuple[sp.csr_matrix, np.ndarray]:
    """Greedy ends at {0, 1} (5 points) where no single swap helps; sites 3 + 4 see 6."""
    A = _matrix([[3, 4, 5], [0, 1, 4], [2, 5], [0, 2, 5], [1, 3, 6]], 7)
    return A, np.ones(7)


def _objective(A: sp.csr_matrix, w: np.ndarray, sites, beta: float = 0.0) -> float:
    counts = np.asarray(A[list(sites)].sum(axis=0)).ravel() if len(sites) else np.zeros(A.shape[1])
    return float(w[counts >= 1].sum() + beta * w[counts >= 2].sum())


def _brute(
    A, w, *, k=None, budget=None, cost=None, fixed=(), excluded=(), beta=0.0, xy=None, spacing=None
):
    n = A.shape[0]
    free = [j for j in range(n) if j not in set(fixed) and j not in set(excluded)]
    best = -1.0
    sizes = range(len(free) + 1) if k is None else range(min(k, len(free)) + 1)
    for size in sizes:
        for combo in itertools.combinations(free, size):
            if budget is not None and cost[list(combo)].sum() > budget + 1e-9:
                continue
            if spacing is not None:
                sites = list(combo) + list(fixed)
                if any(
                    np.hypot(*(xy[a] - xy[b])) < spacing for a in combo for b in sites if a != b
                ):
                    continue
            best = max(best, _objective(A, w, list(combo) + list(fixed), beta))
    return best


# --------------------------------------------------------------------------- known optimum


def test_greedy_is_suboptimal_and_its_bound_says_so(trap):
    A, w = trap
    plan = greedy(A, w, k=2)
    assert plan.selected == (0, 1)  # tie between 1 and 2 broken by the lowest index
    assert plan.marginal_gain == (4.0, 1.0)
    assert plan.objective == 5.0
    assert plan.upper_bound == pytest.approx(6.0)  # Minoux bound after the first pick: 4 + 1 + 1
    assert plan.gap == pytest.approx(1 / 6)
    assert plan.solver == "celf" and not plan.optimal


def test_greedy_and_swaps_stuck_in_a_local_optimum(swap_trap):
    A, w = swap_trap
    plan = optimise.solve(A, w, k=2, method="fast")
    assert plan.selected == (0, 1) and plan.marginal_gain == (3.0, 2.0)
    assert plan.upper_bound == pytest.approx(6.0)  # from the empty set: 3 + 3
    assert plan.gap == pytest.approx(1 / 6) and not plan.optimal


@pytest.mark.parametrize("method", ["exact", "auto"])
def test_exact_finds_the_optimum_the_greedy_misses(swap_trap, method):
    A, w = swap_trap
    plan = optimise.solve(A, w, k=2, method=method)
    assert plan.selected == (3, 4)  # rank order: equal gains, lowest index first
    assert plan.marginal_gain == (3.0, 3.0)
    assert plan.objective == 6.0 and plan.covered_weight == 6.0
    assert plan.optimal and plan.gap == 0.0 and plan.solver == "milp"
    assert plan.coverage_share == pytest.approx(6 / 7)


def test_fast_method_is_the_greedy_polished_by_swaps(trap):
    A, w = trap
    fast = optimise.solve(A, w, k=2, method="fast")
    assert fast == greedy(A, w, k=2, polish=True)
    # the swap 0 -> 2 repairs the greedy's mistake; the bound stays the greedy's
    assert set(fast.selected) == {1, 2} and fast.objective == 6.0 and fast.solver == "celf"
    assert fast.upper_bound == pytest.approx(6.0) and fast.optimal


def test_auto_keeps_greedy_when_its_bound_proves_optimality():
    A = _matrix([[0, 1], [2], [3]], 4)
    plan = optimise.solve(A, np.array([1.0, 1.0, 5.0, 0.5]), k=2, method="auto")
    assert plan.selected == (1, 0)
    assert plan.optimal and plan.solver == "celf"


def test_coverage_curve_on_the_trap(trap):
    A, w = trap
    curve = optimise.coverage_curve(A, w, k_max=4)
    np.testing.assert_allclose(curve, [0, 4 / 6, 5 / 6, 1, 1])
    curve_fixed = optimise.coverage_curve(A, w, k_max=2, fixed=[2], excluded=[0])
    np.testing.assert_allclose(curve_fixed, [3 / 6, 1, 1])


def test_ties_go_to_the_lowest_index():
    A = _matrix([[0, 1], [0, 1], [0, 1], [2]], 3)
    plan = greedy(A, np.array([1.0, 1.0, 1.0]), k=1)
    assert plan.selected == (0,)
    exact = optimise.solve(A, np.array([1.0, 1.0, 1.0]), k=1, method="exact")
    assert exact.objective == 2.0


# --------------------------------------------------------------------------- against brute force


def _random_instance(seed: int, n_sites: int = 9, n_demand: int = 14):
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_sites, n_demand)) < 0.25).astype(float)
    dense[rng.integers(0, n_sites), :] *= 0  # one useless site
    w = np.round(rng.gamma(2.0, 1.0, n_demand), 2)
    w[rng.integers(0, n_demand)] = 0.0
    cost = rng.choice([5000.0, 8000.0, 12000.0], n_sites)
    xy = rng.uniform(0, 100, (n_sites, 2))
    return sp.csr_matrix(dense), w, cost, xy


@pytest.mark.parametrize("seed", range(12))
def test_cardinality_against_brute_force(seed):
    A, w, _, _ = _random_instance(seed)
    fixed = [seed % 9] if seed % 3 == 0 else []
    for k in (1, 2, 3):
        best = _brute(A, w, k=k, fixed=fixed)
        fast = greedy(A, w, k=k, fixed=fixed)
        polished = greedy(A, w, k=k, fixed=fixed, polish=True)
        assert fast.objective <= polished.objective <= best + 1e-9
        assert polished.upper_bound == fast.upper_bound and len(polished.selected) <= k
        exact = optimise.solve(A, w, k=k, fixed=fixed, method="exact")
        assert exact.objective == pytest.approx(best, abs=1e-9)
        assert exact.optimal
        assert fast.objective <= best + 1e-9 <= fast.upper_bound + 2e-9
        assert len(exact.selected) <= k and not set(exact.selected) & set(fixed)
        assert sum(exact.marginal_gain) == pytest.approx(exact.objective - exact.covered_before)


@pytest.mark.parametrize("seed", range(8))
def test_budget_against_brute_force(seed):
    A, w, cost, _ = _random_instance(100 + seed)
    budget = 21000.0
    best = _brute(A, w, budget=budget, cost=cost)
    fast = greedy(A, w, budget_eur=budget, cost_eur=cost)
    polished = optimise.solve(A, w, budget_eur=budget, cost_eur=cost, method="fast")
    exact = optimise.solve(A, w, budget_eur=budget, cost_eur=cost, method="exact")
    assert fast.objective <= polished.objective <= best + 1e-9
    for plan in (fast, polished, exact):
        assert plan.cost_eur == pytest.approx(cost[list(plan.selected)].sum())
        assert plan.cost_eur <= budget
    assert exact.objective == pytest.approx(best, abs=1e-9) and exact.optimal
    assert fast.objective <= best + 1e-9 <= fast.upper_bound + 2e-9


@pytest.mark.parametrize("seed", range(6))
def test_backup_share_against_brute_force(seed):
    A, w, _, _ = _random_instance(200 + seed)
    fixed = [0] if seed % 2 else []
    best = _brute(A, w, k=3, fixed=fixed, beta=0.4)
    fast = greedy(A, w, k=3, fixed=fixed, backup_share=0.4)
    exact = optimise.solve(A, w, k=3, fixed=fixed, backup_share=0.4, method="exact")
    assert exact.objective == pytest.approx(best, abs=1e-9) and exact.optimal
    assert fast.objective <= best + 1e-9 <= fast.upper_bound + 2e-9
    assert exact.covered_weight == pytest.approx(_objective(A, w, list(exact.sites)))


def test_backup_share_prefers_seeing_a_hotspot_twice():
    A = _matrix([[0], [0], [1]], 2)
    w = np.array([10.0, 3.0])
    assert set(optimise.solve(A, w, k=2, method="exact").selected) == {0, 2}
    plan = optimise.solve(A, w, k=2, method="exact", backup_share=0.5)
    assert set(plan.selected) == {0, 1}
    assert plan.objective == 15.0 and plan.covered_weight == 10.0


@pytest.mark.parametrize("seed", range(6))
def test_min_spacing_against_brute_force(seed):
    A, w, _, xy = _random_instance(300 + seed)
    fixed = [1]
    best = _brute(A, w, k=3, fixed=fixed, xy=xy, spacing=35.0)
    for method in ("fast", "exact"):
        plan = optimise.solve(A, w, k=3, fixed=fixed, min_spacing_m=35.0, site_xy=xy, method=method)
        sites = list(plan.sites)
        for a, b in itertools.combinations(sites, 2):
            assert np.hypot(*(xy[a] - xy[b])) >= 35.0
        assert plan.objective <= best + 1e-9 <= plan.upper_bound + 2e-9
    assert plan.objective == pytest.approx(best, abs=1e-9)


# ------------------------------------------------------------------- fixed, excluded, errors


def test_fixed_and_excluded_sites_are_respected(trap):
    A, w = trap
    plan = optimise.solve(A, w, k=1, fixed=[1], excluded=[2], method="exact")
    assert plan.fixed == (1,)
    assert plan.selected == (0,)
    assert plan.covered_before == 3.0 and plan.objective == 5.0
    mask = np.array([False, True, False])
    assert optimise.solve(A, w, k=1, fixed=mask, excluded=[2]) == plan


def test_fixed_and_excluded_overlap_is_an_input_error(trap):
    A, w = trap
    with pytest.raises(InputError, match=r"both fixed and excluded"):
        optimise.solve(A, w, k=1, fixed=[0, 1], excluded=[1])


def test_infeasible_requests(trap):
    A, w = trap
    with pytest.raises(InfeasibleError, match=r"k=3 new sites asked but only 2"):
        optimise.solve(A, w, k=3, excluded=[0])
    with pytest.raises(InfeasibleError, match=r"below the cheapest candidate site"):
        optimise.solve(A, w, budget_eur=900.0, cost_eur=np.array([1000.0, 2000.0, 3000.0]))


def test_bad_arguments_are_all_reported(trap):
    A, w = trap
    with pytest.raises(InputError) as err:
        optimise.solve(A, -w, k=1, budget_eur=10.0, fixed=[7])
    text = str(err.value)
    assert (
        "weight" in text
        and "exactly one of k" in text
        and "out of range" in text
        and "cost_eur" in text
    )
    with pytest.raises(InputError, match="method"):
        optimise.solve(A, w, k=1, method="best")
    with pytest.raises(InputError, match="site_xy"):
        optimise.solve(A, w, k=1, min_spacing_m=10.0)
    with pytest.raises(InputError, match="0 or 1"):
        optimise.solve(A * 2, w, k=1)


def test_k_zero_and_useless_sites(trap):
    A, w = trap
    assert optimise.solve(A, w, k=0).selected == ()
    # once everything is covered the greedy and the MILP add nothing more
    plan = optimise.solve(A, w, k=1, fixed=[1, 2], method="exact")
    assert plan.selected == () and plan.objective == 6.0 and plan.optimal


# --------------------------------------------------------------------------- phases


def test_phases_never_drop_a_site_and_split_the_cost():
    A, w, cost, _ = _random_instance(7, n_sites=12, n_demand=30)
    phases = [
        Phase("phase 3", 2025, budget_eur=20000.0),
        Phase("phase 4", 2026, k=2),
        Phase("phase 5", 2027, k=1),
    ]
    plans = optimise.plan_phases(
        A, w, phases, cost_eur=cost, fixed=[0], funded_share=0.4, method="exact"
    )
    assert [p.phase.name for p in plans] == ["phase 3", "phase 4", "phase 5"]
    installed = {0}
    shares = []
    for pp in plans:
        assert installed <= set(pp.plan.fixed)  # nothing installed before is dropped
        assert not set(pp.plan.selected) & installed
        installed |= set(pp.plan.selected)
        assert pp.cost_eur == pytest.approx(cost[list(pp.plan.selected)].sum())
        assert pp.funded_eur == pytest.approx(0.4 * pp.cost_eur)
        assert pp.town_eur == pytest.approx(0.6 * pp.cost_eur)
        shares.append(pp.coverage_share)
    assert plans[0].cost_eur <= 20000.0
    assert len(plans[1].plan.selected) <= 2
    assert shares == sorted(shares)
    assert plans[-1].coverage_share == pytest.approx(_objective(A, w, sorted(installed)) / w.sum())


def test_phase_money_is_rounded_once_per_site_and_logged_as_the_outputs_show(caplog):
    """#24: the log said 0.5 x 34069 = 17034 € funded (17034.5 formatted), the outputs the sum
    of each site's rounded share, 9852 + 7183 = 17035 €: one rounding, read by both."""
    A = _matrix([[0], [1], [2]], 3)
    cost = np.array([19703.0, 14366.0, 5001.0])
    assert optimise.funded_eur(cost, 0.5).tolist() == [9852.0, 7183.0, 2500.0]  # halves to even
    with caplog.at_level(logging.INFO, logger="siteplanner.optimise.phases"):
        (pp,) = optimise.plan_phases(
            A, np.array([3.0, 2.0, 1.0]), [Phase("p3", 2025, k=2)], cost_eur=cost
        )
    assert pp.plan.selected == (0, 1)
    assert (pp.cost_eur, pp.funded_eur, pp.town_eur) == (34069.0, 17035.0, 17034.0)
    assert _phase_lines(caplog) == [
        "phase 'p3' (2025): 2 new sites, 34069 € (17035 € funded), coverage 83.3%"
    ]


def test_accepted_sites_are_fixed_sites_of_the_first_phase_and_count_in_its_k(caplog):
    """#24: the référent's accepted sites belong to the next phase: its k (3) counts them, its
    cost includes them and its log line says so; the later phases do not hold them."""
    A = _matrix([[0], [1], [2], [3], [4]], 5)
    w = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    cost = np.array([1000.0, 2000.0, 3000.0, 4001.0, 5000.0])
    phases = [Phase("p3", 2025, k=3), Phase("p4", 2026, k=1)]
    with caplog.at_level(logging.INFO, logger="siteplanner.optimise.phases"):
        p3, p4 = optimise.plan_phases(A, w, phases, cost_eur=cost, accepted=[3])
    assert p3.phase.k == 3 and p3.accepted == (3,) and p3.plan.selected == (0, 1)
    assert p3.sites == (3, 0, 1) and 3 in p3.plan.fixed
    assert (p3.cost_eur, p3.funded_eur) == (7001.0, 500.0 + 1000.0 + 2000.0)
    assert p4.accepted == () and p4.sites == (2,) and p4.cost_eur == 3000.0
    assert _phase_lines(caplog)[0].startswith(
        "phase 'p3' (2025): 3 sites (2 new, 1 accepted), 7001 €"
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="siteplanner.optimise.phases"):
        (p,) = optimise.plan_phases(A, w, [Phase("p3", 2025, k=2)], accepted=[3, 4])
    assert p.sites == (3, 4, 0) and "one new site more (3 sites)" in _phase_lines(caplog)[0]


def test_accepted_sites_are_paid_from_a_budget_phase():
    """A phase of budget_eur 8,000 €: alone it buys sites 0, 1 and 2 (6,000 €). With site 3
    accepted (4,001 €) its new sites share the 3,999 € left: 0 and 1, and the phase costs
    7,001 €, within its budget (not 10,001 €). Accepted sites dearer than the budget, or
    leaving less than the cheapest site: one error that names them and the budget."""
    A = _matrix([[0], [1], [2], [3], [4]], 5)
    w = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    cost = np.array([1000.0, 2000.0, 3000.0, 4001.0, 5000.0])
    (alone,) = optimise.plan_phases(A, w, [Phase("p3", 2025, budget_eur=8000.0)], cost_eur=cost)
    assert alone.plan.selected == (0, 1, 2) and alone.cost_eur == 6000.0
    (p3,) = optimise.plan_phases(
        A, w, [Phase("p3", 2025, budget_eur=8000.0)], cost_eur=cost, accepted=[3]
    )
    assert p3.sites == (3, 0, 1) and p3.cost_eur == 7001.0 <= 8000.0
    with pytest.raises(
        InfeasibleError, match=r"accepted cost 9,001 €, more than its budget_eur 8,000 €"
    ):
        optimise.plan_phases(
            A, w, [Phase("p3", 2025, budget_eur=8000.0)], cost_eur=cost, accepted=[3, 4]
        )
    with pytest.raises(InfeasibleError, match=r"accepted cost 4,001 € of its budget_eur 4,500 €"):
        optimise.plan_phases(
            A, w, [Phase("p3", 2025, budget_eur=4500.0)], cost_eur=cost, accepted=[3]
        )


def _phase_lines(caplog) -> list[str]:
    """What optimise.phases logged (other loggers may be on after a CLI test)."""
    return [r.getMessage() for r in caplog.records if r.name == "siteplanner.optimise.phases"]


def test_phases_are_checked():
    A = _matrix([[0], [1]], 2)
    with pytest.raises(InputError, match="installation order"):
        optimise.plan_phases(A, np.ones(2), [Phase("b", 2026, k=1), Phase("a", 2025, k=1)])
    with pytest.raises(InfeasibleError, match="phase 'b'"):
        optimise.plan_phases(A, np.ones(2), [Phase("a", 2025, k=1), Phase("b", 2026, k=2)])


# --------------------------------------------------------------------------- coverage.npz


def test_coverage_npz_round_trip(tmp_path, trap):
    A, w = trap
    problem = optimise.CoverageProblem(
        A=A,
        demand_weight=w,
        demand_xy=np.arange(12.0).reshape(6, 2),
        site_id=np.array(["s0", "s1", "s2"]),
        site_cost_eur=np.array([1.0, 2.0, 3.0]),
        existing=np.array([False, True, False]),
        crs="EPSG:32632",
    )
    path = tmp_path / "coverage.npz"
    np.savez_compressed(path, **optimise.coverage_arrays(problem))
    back = optimise.load_coverage(path)
    assert (back.A != A).nnz == 0 and back.A.format == "csr"
    np.testing.assert_array_equal(back.demand_weight, w)
    np.testing.assert_array_equal(back.site_id, ["s0", "s1", "s2"])
    np.testing.assert_array_equal(back.existing, [False, True, False])
    assert back.crs == "EPSG:32632" and back.n_sites == 3 and back.n_demand == 6


def test_solve_milp_with_a_given_warm_start(swap_trap):
    A, w = swap_trap
    warm = greedy(A, w, k=2)
    plan = solve_milp(A, w, k=2, warm_start=warm)
    assert plan.selected == (3, 4) and plan.optimal and plan.solver == "milp"
    assert solve_milp(A, w, k=2) == plan
    with pytest.raises(InputError, match="warm_start"):
        solve_milp(A, w, k=1, warm_start=warm)  # two sites for k=1
    with pytest.raises(InputError, match="warm_start"):
        solve_milp(A, w, k=2, excluded=[0], warm_start=warm)


def test_explanation_tables(trap):
    A, w = trap
    table = optimise.curve_table(optimise.coverage_curve(A, w, k_max=3), min_added_share=0.1)
    assert table["new_sites"].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(table["added_share"], [0, 4 / 6, 1 / 6, 1 / 6])
    assert table["pays"].tolist() == [False, True, True, True]
    plan = optimise.solve(A, w, k=2, fixed=[0], method="exact")
    rows = optimise.plan_table(
        plan, site_id=np.array(["a", "b", "c"]), cost_eur=np.array([1.0, 2.0, 3.0])
    )
    assert rows["site_id"].tolist() == ["b", "c"] and rows["rank"].tolist() == [1, 2]
    np.testing.assert_allclose(rows["marginal_gain"], [1.0, 1.0])
    np.testing.assert_allclose(rows["covered_share_after"], [5 / 6, 1.0])
    assert rows["cost_eur"].tolist() == [2.0, 3.0]


# ------------------------------------------------------------- fast paths = plain algorithms


def _plain_swaps(inst, selected, max_passes=3):
    """The 1-swap search without screening or early exit: every site re-evaluated by A @ value."""
    chosen = list(selected)
    A, w, table = inst.A, inst.w, np.array([1.0, inst.beta, 0.0])
    counts = inst.counts0 + np.asarray(A[chosen].sum(axis=0)).ravel().astype(np.int64)
    in_plan = np.zeros(inst.n_sites, dtype=bool)
    in_plan[chosen] = True
    conflict_count = np.zeros(inst.n_sites, dtype=np.int64)
    if inst.conflicts is not None:
        conflict_count = np.asarray(inst.conflicts[chosen].sum(axis=0)).ravel().astype(np.int64)
    spent = float(inst.cost[chosen].sum())
    scale = max(float(w.sum()), 1.0)
    for _ in range(max_passes):
        improved = False
        for s in sorted(chosen):
            row_s = A.indices[A.indptr[s] : A.indptr[s + 1]]
            before = (w[row_s] * table[np.minimum(counts[row_s] - 1, 2)]).sum()
            counts[row_s] -= 1
            gains = A @ (w * table[np.minimum(counts, 2)])
            allowed = inst.candidate & ~in_plan
            if inst.conflicts is not None:
                conflict_count[inst.conflicts[s].indices] -= 1
                allowed &= conflict_count == 0
            if inst.budget is not None:
                allowed &= inst.cost <= inst.budget - (spent - inst.cost[s]) + 1e-9
            gains = np.where(allowed, gains, -np.inf)
            t = int(np.argmax(gains))
            new = t if gains[t] > before + 1e-12 * scale else s
            improved |= new != s
            counts[A.indices[A.indptr[new] : A.indptr[new + 1]]] += 1
            if inst.conflicts is not None:
                conflict_count[inst.conflicts[new].indices] += 1
            in_plan[s], in_plan[new] = False, True
            chosen[chosen.index(s)] = new
            spent += inst.cost[new] - inst.cost[s]
        if not improved:
            break
    return chosen


@pytest.mark.parametrize("seed", range(40))
def test_swap_screening_and_lazy_ranking_match_the_plain_search(seed):
    """Screened swaps and the lazy ranking give the plain algorithms' answer, ties included."""
    rng = np.random.default_rng(seed)
    n_s, n_d = int(rng.integers(6, 40)), int(rng.integers(20, 200))
    A = sp.random(n_s, n_d, density=float(rng.uniform(0.05, 0.3)), random_state=seed, format="csr")
    A.data[:] = 1.0
    w = (
        rng.integers(0, 4, n_d).astype(float) if seed % 2 else rng.lognormal(0, 1, n_d)
    )  # integers: many ties
    kw = {"k": int(rng.integers(2, max(3, n_s // 3)))}
    if seed % 4 == 1:
        kw = {
            "budget_eur": float(rng.integers(20, 60)),
            "cost_eur": rng.integers(5, 20, n_s).astype(float),
        }
    if seed % 4 == 2:
        kw["backup_share"] = 0.5
    if seed % 4 == 3:
        kw.update(min_spacing_m=15.0, site_xy=rng.uniform(0, 100, (n_s, 2)))
    inst = optimise_instance.prepare(
        A,
        w,
        k=kw.get("k"),
        budget_eur=kw.get("budget_eur"),
        cost_eur=kw.get("cost_eur"),
        fixed=[0],
        excluded=(),
        min_spacing_m=kw.get("min_spacing_m"),
        site_xy=kw.get("site_xy"),
        backup_share=kw.get("backup_share", 0.0),
        source="test",
    )
    # start from a poor plan (the lowest-index candidates) so that swaps happen
    start = np.flatnonzero(inst.candidate)[: inst.k or 2].tolist()
    if inst.conflicts is not None or inst.budget is not None:
        start = optimise_greedy.celf(inst, cost_benefit=False)[0]
    assert optimise_greedy._swap_improve(inst, start) == _plain_swaps(inst, start)
    # the lazy ranking is the eager one: argmax of the gains, lowest index on ties
    chosen = sorted(_plain_swaps(inst, start))
    order, gains = optimise_greedy.order_by_gain(inst, chosen)
    counts, left, eager, eager_gains = inst.counts0.copy(), list(chosen), [], []
    table = np.array([1.0, inst.beta, 0.0])
    while left:
        value = w * table[np.minimum(counts, 2)]
        g = [value[A.indices[A.indptr[j] : A.indptr[j + 1]]].sum() for j in left]
        j = left.pop(int(np.argmax(g)))
        eager.append(j)
        eager_gains.append(float(max(g)))
        counts[A.indices[A.indptr[j] : A.indptr[j + 1]]] += 1
    assert order == eager and gains == eager_gains
