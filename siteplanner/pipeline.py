"""The one place that runs every step, in order, for a scenario.

``load → demand → candidates → coverage → review → optimise → patrol → figures → outputs``

Each step (a module of :mod:`siteplanner.steps`) returns a frozen value; :func:`analyse`
runs them on loaded :class:`~siteplanner.result.Inputs` and returns the frozen
:class:`~siteplanner.result.Result` that holds them all. :func:`plan` is :func:`load` then
:func:`analyse`; :func:`run` also writes the outputs
(:func:`siteplanner.outputs.write.write_outputs`),
which only render the result. This module computes nothing itself.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from siteplanner._gc import relaxed_gc
from siteplanner.outputs import write as outputs
from siteplanner.result import Inputs, Result
from siteplanner.scenario import Scenario
from siteplanner.steps import dashboard
from siteplanner.steps.coverage import coverage
from siteplanner.steps.demand import demand
from siteplanner.steps.figures import figures
from siteplanner.steps.load import load
from siteplanner.steps.patrols import patrols
from siteplanner.steps.phases import optimise_phases
from siteplanner.steps.review import review
from siteplanner.steps.sites import candidates
from siteplanner.town import load as io

__all__ = ["analyse", "plan", "run"]

log = logging.getLogger(__name__)

StepCallback = Callable[[str], None]


@contextmanager
def _step(name: str, timings: dict[str, float], on_step: StepCallback | None) -> Iterator[None]:
    if on_step:
        on_step(name)
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 3)
    log.info("step %s done in %.1f s", name, timings[name])


def analyse(
    inputs: Inputs,
    *,
    on_step: StepCallback | None = None,
    timings: dict[str, float] | None = None,
) -> Result:
    """Run every analysis step on loaded inputs and return the result (nothing is written)."""
    timings = {} if timings is None else timings
    with _step("hotspots", timings, on_step):
        dem = demand(inputs)
    with _step("candidates", timings, on_step):
        cands = candidates(inputs)
    with _step("coverage", timings, on_step):
        cov = coverage(inputs, dem, cands)
    with _step("review", timings, on_step):
        dec = review(inputs, cands, cov)
    with _step("optimise", timings, on_step):
        plans = optimise_phases(inputs, dem, cands, cov, dec)
    with _step("patrol", timings, on_step):
        pat = patrols(inputs, dem, cov.A, plans)
    with _step("figures", timings, on_step):
        figs = figures(inputs, dem, cov, plans, pat)
        res = Result(
            inputs=inputs,
            demand_=dem,
            candidates=cands,
            coverage=cov,
            decisions=dec,
            plans=plans,
            patrols=pat,
            figures=figs,
        )
        # the dashboard reads the other figures: computed on the result, then stored with them
        figs = dataclasses.replace(
            figs, dashboard=dashboard.dashboard(res), review_effects=dashboard.review_effects(res)
        )
    return dataclasses.replace(res, figures=figs, timings_s=dict(timings))


@relaxed_gc()
def plan(
    sc: Scenario, *, on_step: StepCallback | None = None, town: io.Town | None = None
) -> Result:
    """Load a scenario's inputs and run every analysis step (nothing is written).

    ``town``: a town already loaded for the scenario's area (tests reuse one).
    """
    timings: dict[str, float] = {}
    with _step("load", timings, on_step):
        inputs = load(sc, town=town)
    return analyse(inputs, on_step=on_step, timings=timings)


@relaxed_gc()
def run(
    sc: Scenario,
    *,
    out_dir: Path | None = None,
    on_step: StepCallback | None = None,
    town: io.Town | None = None,
) -> tuple[Result, list[Path]]:
    """Plan a scenario and write its outputs; returns the result and the files written."""
    res = plan(sc, on_step=on_step, town=town)
    out = Path(out_dir) if out_dir is not None else res.inputs.paths.output
    timings = dict(res.timings_s)
    with _step("outputs", timings, on_step):  # summary.json, written last, says this time too
        files = outputs.write_outputs(res, out, started=time.perf_counter())
    return res, files
