"""What the exact solvers share: a HiGHS run, its answer read with care, and the certificate rules.

Both the maximal covering MILP (:mod:`siteplanner.optimise.exact`) and the set covering /
p-median MILPs (:mod:`siteplanner.optimise.setcover`) build a HiGHS model, run it and read its
answer
through :func:`highs_answer`, which trusts nothing HiGHS did not state: a failed run, a
missing primal solution or an invalid dual bound each come back as such, never as a proven
optimum. A plan is then certified optimal only when its objective, recomputed from the data,
matches HiGHS's primal value within :func:`match_tol` and the gap is at most :data:`EPS`.

No "threads" option is ever set: HiGHS keeps ONE thread scheduler per process, created by the
first run (e.g. PuLP's or spopt's). A run asking for another thread count then fails at once
(status Not Set, no solution, dual bound 0), which used to be read as a proven optimum.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "EPS",
    "HighsAnswer",
    "as_index_array",
    "checked_cost",
    "highs_answer",
    "match_tol",
    "new_highs",
]

EPS = 1e-9  # relative tolerance under which a plan counts as optimal


def match_tol(*values: float) -> float:
    """Absolute tolerance under which two objective values count as equal.

    HiGHS keeps rows feasible to 1e-7 and integers to 1e-6, so its primal value may
    differ from the objective recomputed from ``A`` by about that share; a plan that
    differs by more (e.g. the greedy plan, 0.2 % below the optimum) is another plan.
    """
    return 1e-6 * max([abs(v) for v in values if math.isfinite(v)] + [1e-12])


def as_index_array(
    values: Iterable[int] | np.ndarray, name: str, n: int, problems: list[str]
) -> np.ndarray:
    """Sorted unique indices in ``0..n-1`` from indices or a boolean mask.

    Parameters
    ----------
    values
        Indices, or a boolean mask of length ``n``.
    name
        The argument's name, for the messages.
    n
        Number of items indexed.
    problems
        Each problem found is appended here (what is wrong and what is accepted).

    Returns
    -------
    numpy.ndarray
        The valid indices (int64), out-of-range ones left out.
    """
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
    if arr.dtype == bool:
        if arr.shape != (n,):
            problems.append(f"{name}: boolean mask has shape {arr.shape}, expected ({n},)")
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        problems.append(
            f"{name}: site indices must be integers or a boolean mask, got dtype {arr.dtype}"
        )
        return np.zeros(0, dtype=np.int64)
    arr = arr.astype(np.int64).ravel()
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        problems.append(
            f"{name}: site indices {sorted(set(bad.tolist()))[:10]} out of range; "
            f"accepted 0..{n - 1}"
        )
        arr = arr[(arr >= 0) & (arr < n)]
    return np.unique(arr)


def checked_cost(
    cost_eur: Iterable[float] | np.ndarray | None, n: int, problems: list[str], *, default: float
) -> np.ndarray:
    """Each site's cost (``default`` for every site when none is given or the costs are bad).

    ``cost_eur`` must hold ``n`` finite values ≥ 0 (one per row of ``A``); each problem found is
    appended to ``problems`` (what is wrong and what is accepted).
    """
    fallback = np.full(n, float(default))
    if cost_eur is None:
        return fallback
    cost = np.asarray(cost_eur, dtype=np.float64).ravel()
    if cost.shape != (n,):
        problems.append(f"cost_eur: {cost.size} values for {n} sites (rows of A)")
        return fallback
    if not np.all(np.isfinite(cost)) or np.any(cost < 0):
        bad = np.flatnonzero(~np.isfinite(cost) | (cost < 0))
        problems.append(
            f"cost_eur: sites {bad[:10].tolist()} cost {cost[bad[:10]].tolist()}; "
            "accepted finite ≥ 0"
        )
        return fallback
    return cost


_banner_silenced = False


def silence_highs_banner() -> None:
    """HiGHS prints its banner on stdout when the first solver of a process is created: create it
    here with stdout closed (:func:`new_highs` sets ``output_flag = False`` on every solver).
    Called by the command line and by each batch worker process; does nothing the second time."""
    global _banner_silenced
    if _banner_silenced:
        return
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _banner_silenced = True


def new_highs(time_limit_s: float, *, rel_gap: float = 1e-9, **options):
    """A silent, seeded ``highspy.Highs`` with a time limit and a relative MIP gap.

    Parameters
    ----------
    time_limit_s
        Wall-clock limit of the run, in seconds.
    rel_gap
        HiGHS's ``mip_rel_gap``.
    **options
        Further HiGHS options, set in the order given (never ``threads``: see the module
        docstring).

    Returns
    -------
    highspy.Highs
        The solver, no model passed yet.
    """
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    h.setOptionValue("random_seed", 0)
    for name, value in options.items():
        h.setOptionValue(name, value)
    return h


@dataclass(frozen=True)
class HighsAnswer:
    """What one HiGHS run said, mapped back to the full instance (constant added).

    Attributes
    ----------
    chosen
        Sites of HiGHS's incumbent; None when it has none.
    primal
        Its objective value (nan when there is no incumbent).
    bound
        Its dual bound (inf when HiGHS gave no valid bound).
    optimal
        HiGHS's model status is Optimal.
    failed
        The run itself failed (no answer to use).
    message
        What HiGHS said, or why the run failed.
    """

    chosen: list[int] | None
    primal: float
    bound: float
    optimal: bool
    failed: bool
    message: str


def highs_answer(h, n_x: int, sites: np.ndarray, constant: float) -> HighsAnswer:
    """Run the passed model and read HiGHS's answer, trusting nothing it did not state.

    Parameters
    ----------
    h
        A ``highspy.Highs`` holding the model (its first ``n_x`` columns the site choices).
    n_x
        Number of site columns.
    sites
        Site index of each site column.
    constant
        Objective the model left out (added to the primal value and the dual bound).

    Returns
    -------
    HighsAnswer
        The run's answer.
    """
    import highspy

    run_status = h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    message = f"HiGHS: {h.modelStatusToString(status)}"
    failed = (
        run_status == highspy.HighsStatus.kError
        or not info.valid
        or status
        in (
            highspy.HighsModelStatus.kNotset,
            highspy.HighsModelStatus.kLoadError,
            highspy.HighsModelStatus.kModelError,
            highspy.HighsModelStatus.kSolveError,
            highspy.HighsModelStatus.kPresolveError,
            highspy.HighsModelStatus.kPostsolveError,
            highspy.HighsModelStatus.kUnknown,
        )
    )
    if failed:
        message = (
            f"HiGHS run failed ({run_status.name}, model status {h.modelStatusToString(status)})"
        )
        logger.warning("%s: the plan falls back to the greedy one", message)
        return HighsAnswer(None, math.nan, math.inf, False, True, message)
    values = np.asarray(h.getSolution().col_value)
    has_primal = values.size >= n_x and info.primal_solution_status == 2  # kSolutionStatusFeasible
    chosen = sites[values[:n_x] > 0.5].tolist() if has_primal else None
    primal = constant + float(info.objective_function_value) if has_primal else math.nan
    dual = float(info.mip_dual_bound)
    bound = constant + dual if math.isfinite(dual) else math.inf
    logger.debug(
        "HiGHS: status %s, objective %.9g, dual bound %.9g, %d nodes",
        message,
        primal,
        bound,
        info.mip_node_count,
    )
    return HighsAnswer(
        chosen, primal, bound, status == highspy.HighsModelStatus.kOptimal, False, message
    )
