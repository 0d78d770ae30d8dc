"""Demand from the forecast on street segments (#23 item 3), on the default town's real streets.

Every demand point takes the forecast of the street segment it lies on, never the value of a
grid cell spread over a hillside; the forecast and how it was chosen are in the step's value.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from siteplanner.hotspots import segments as S
from siteplanner.scenario import load_scenario
from siteplanner.steps import demand as demand_step
from siteplanner.steps.load import load

from .conftest import SCENARIO, copy_scenario


@pytest.fixture(scope="module")
def inputs(town, tmp_path_factory):
    sc = load_scenario(copy_scenario(SCENARIO, tmp_path_factory.mktemp("sc")))
    return load(sc, town=town, for_plan=False)


def _with_method(inputs, method: str):
    sc = inputs.scenario
    hs = sc.hotspots.model_copy(update={"method": method})
    return dataclasses.replace(inputs, scenario=sc.model_copy(update={"hotspots": hs}))


def test_default_demand_takes_the_chosen_street_forecast(inputs):
    d = demand_step.demand(inputs)
    f = d.forecast
    assert f is not None and f.candidates  # chosen, not imposed
    methods = {c["method"] for c in f.candidates}
    assert {"grid:default", "grid:count_grid", "segment_counts", "network_kde"} <= methods
    assert f.inner["split"] == "temporal" and f.inner["fitted_on"] > 3 * f.inner["held_out"] - 5
    # every demand point: the score of its segment, blended with the lieux de fréquentation
    # (half the weight by default), times the multiplier (sensitive places, main streets)
    seg_of = S.snap(f.segments, d.xy)
    pts = d.points
    assert np.allclose(pts["forecast"], f.segments["score"].to_numpy()[seg_of])
    assert np.allclose(pts["intensity"], 0.5 * pts["forecast"] + pts["footfall"])
    assert np.allclose(pts["weight"], pts["intensity"] * pts["multiplier"])
    assert f.segments["inside"].sum() > 500 and f.segments["length"].max() <= 50 + 1e-6


def test_no_demand_on_a_street_without_incidents(inputs):
    d = demand_step.demand(_with_method(inputs, "segment_counts"))
    f = d.forecast
    assert f.method == "segment_counts" and f.candidates == ()
    seg_of = S.snap(f.segments, d.xy)
    empty = f.segments["count"].to_numpy()[seg_of] == 0
    assert empty.sum() > 1000  # many streets of the hillside hold no incident
    assert (d.points["forecast"].to_numpy()[empty] == 0).all()
    # the planar surface sampled at the same points gives most of them a weight
    from siteplanner.hotspots.grids import sample_grid

    assert (sample_grid(d.grid, d.xy[empty]) > 0).mean() > 0.5


def test_a_grid_method_is_projected_along_the_segments(inputs):
    d = demand_step.demand(_with_method(inputs, "kde"))
    f = d.forecast
    assert f.method == "grid:kde" and f.kind == "grid"
    assert np.allclose(f.segments["score"], S.grid_on_segments(d.grid, f.segments))
