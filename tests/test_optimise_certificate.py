"""The exact mode's optimality certificate: it cannot be faked by another solver's state.

Issue 18: once PuLP's HiGHS had run in the process, HiGHS's single thread scheduler was
set to another thread count than the one ``optimise`` asked for; HiGHS then refused to
run (model status Not Set, dual bound 0) and the greedy plan came back "proven optimal".
The first tests run that sequence in a child process (HiGHS's scheduler is global to a
process); the others feed hand-made HiGHS answers to the certificate checks.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from siteplanner.optimise import exact as optimise_exact
from siteplanner.optimise import phases as optimise
from siteplanner.optimise.instance import Plan
from siteplanner.optimise.milp import HighsAnswer

ROOT = Path(__file__).resolve().parents[1]

# greedy ends at {0, 1} (5 points) and no single swap helps; sites 3 + 4 see 6 (the optimum)
SWAP_TRAP = [[3, 4, 5], [0, 1, 4], [2, 5], [0, 2, 5], [1, 3, 6]]


def _swap_trap() -> tuple[sp.csr_matrix, np.ndarray]:
    dense = np.zeros((len(SWAP_TRAP), 7))
    for j, row in enumerate(SWAP_TRAP):
        dense[j, row] = 1
    return sp.csr_matrix(dense), np.ones(7)


CHILD = """
import json, sys
import numpy as np, pulp, scipy.sparse as sp

def pulp_highs():
    m = pulp.LpProblem("one", pulp.LpMaximize)
    x = pulp.LpVariable("x", 0, 1, cat="Integer")
    m += x
    m.solve(pulp.HiGHS(msg=False, threads=2))
    return pulp.LpStatus[m.status], pulp.value(x)

def ortools_route():
    from ortools.constraint_solver import pywrapcp
    man = pywrapcp.RoutingIndexManager(4, 1, 0)
    r = pywrapcp.RoutingModel(man)
    cb = r.RegisterTransitCallback(lambda i, j: abs(man.IndexToNode(i) - man.IndexToNode(j)))
    r.SetArcCostEvaluatorOfAllVehicles(cb)
    return r.SolveWithParameters(pywrapcp.DefaultRoutingSearchParameters()).ObjectiveValue()

from siteplanner.optimise import phases as optimise
rows = ROWS
dense = np.zeros((len(rows), 7))
for j, row in enumerate(rows):
    dense[j, row] = 1
A, w = sp.csr_matrix(dense), np.ones(7)
out = {}
order = sys.argv[1]
if order == "pulp_first":
    out["route"] = ortools_route()
    out["pulp_before"] = pulp_highs()
plan = optimise.solve(A, w, k=2, method="exact")
out["plan"] = [plan.objective, plan.optimal, plan.status, plan.gap, list(plan.selected)]
out["pulp_after"] = pulp_highs()
print(json.dumps(out))
"""


def _child(order: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    code = textwrap.dedent(CHILD).replace("ROWS", repr(SWAP_TRAP))
    done = subprocess.run(
        [sys.executable, "-c", code, order],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
        cwd=str(ROOT),
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("order", ["pulp_first", "siteplanner_first"])
def test_exact_mode_with_pulp_highs_and_ortools_in_the_same_process(order):
    pytest.importorskip("pulp")
    pytest.importorskip("ortools")
    out = _child(order)
    objective, optimal, status, gap, selected = out["plan"]
    # the true optimum, proven; on the old code (threads=1 after PuLP's 2 threads): 5.0, "optimal"
    assert (objective, optimal, status, gap) == (6.0, True, "optimal", 0.0)
    assert sorted(selected) == [3, 4]
    # and PuLP's HiGHS still runs after siteplanner's (the old code pinned it to 1 thread)
    assert out["pulp_after"] == ["Optimal", 1.0]
    if order == "pulp_first":
        assert out["pulp_before"] == ["Optimal", 1.0] and out["route"] == 6


# --------------------------------------------------------------------------- hand-made answers


def _exact_with(monkeypatch, answer: HighsAnswer) -> Plan:
    monkeypatch.setattr(optimise_exact, "_run_highs", lambda *args, **kwargs: answer)
    A, w = _swap_trap()
    return optimise.solve(A, w, k=2, method="exact")


def test_a_failed_run_is_a_solver_failure_with_the_greedy_bound(monkeypatch):
    plan = _exact_with(
        monkeypatch, HighsAnswer(None, math.nan, math.inf, False, True, "HiGHS run failed")
    )
    assert plan.status == "solver_failed" and not plan.optimal
    assert plan.objective == 5.0 and plan.upper_bound == pytest.approx(
        6.0
    )  # greedy plan, Minoux bound
    assert plan.gap == pytest.approx(1 / 6) and "failed" in plan.solver_message


def test_the_old_false_certificate_is_refused(monkeypatch):
    # what main read from the failed run: the warm start back, a dual bound of 0
    plan = _exact_with(monkeypatch, HighsAnswer([0, 1], 5.0, 0.0, True, False, "HiGHS: Optimal"))
    assert not plan.optimal and plan.status == "feasible"
    assert plan.objective == 5.0 and plan.upper_bound == pytest.approx(6.0)
    assert "below" in plan.solver_message


def test_a_primal_value_that_is_not_the_plans_objective_is_refused(monkeypatch):
    plan = _exact_with(monkeypatch, HighsAnswer([0, 1], 6.0, 6.0, True, False, "HiGHS: Optimal"))
    assert not plan.optimal and plan.status == "feasible"
    assert plan.objective == 5.0 and "primal value" in plan.solver_message


def test_only_an_optimal_status_certifies(monkeypatch):
    plan = _exact_with(
        monkeypatch, HighsAnswer([3, 4], 6.0, 6.0, False, False, "HiGHS: Time limit reached")
    )
    assert plan.objective == 6.0 and plan.gap == 0.0
    assert not plan.optimal and plan.status == "feasible"


def test_a_consistent_optimal_answer_certifies(monkeypatch):
    plan = _exact_with(
        monkeypatch, HighsAnswer([3, 4], 6.0, 6.0 + 1e-12, True, False, "HiGHS: Optimal")
    )
    assert plan.optimal and plan.status == "optimal" and plan.objective == 6.0


def test_greedy_plans_say_what_they_are():
    A, w = _swap_trap()
    plan = optimise.solve(A, w, k=2, method="fast")
    assert plan.status == "feasible" and not plan.optimal and plan.gap == pytest.approx(1 / 6)
    plan = optimise.solve(A, w, k=5, method="fast")
    assert plan.status == "optimal" and plan.optimal
