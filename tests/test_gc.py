"""The collector's thresholds during a run (:mod:`siteplanner._gc`): raised inside, put back
after, also when a step fails, and shared by nested and concurrent runs."""

from __future__ import annotations

import gc
import threading

import pytest

from siteplanner import pipeline
from siteplanner._gc import RUN_THRESHOLDS, relaxed_gc

CPYTHON = (700, 10, 10)


@pytest.fixture
def cpython_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(*CPYTHON)
    yield
    gc.set_threshold(*before)


def test_raised_inside_and_put_back(cpython_thresholds):
    with relaxed_gc():
        assert gc.get_threshold() == RUN_THRESHOLDS
        with relaxed_gc():
            assert gc.get_threshold() == RUN_THRESHOLDS
        assert gc.get_threshold() == RUN_THRESHOLDS  # the inner block does not put them back
    assert gc.get_threshold() == CPYTHON


def test_higher_thresholds_are_kept(cpython_thresholds):
    gc.set_threshold(500_000, 5, 100)
    with relaxed_gc():
        assert gc.get_threshold() == (500_000, 30, 100)
    assert gc.get_threshold() == (500_000, 5, 100)


def test_concurrent_runs_leave_them_as_found(cpython_thresholds):
    """Two threads whose blocks overlap and end in the other order: the last out restores."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with relaxed_gc():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with relaxed_gc():
            b_in.set()
            a_out.wait(5)
            seen["b after a left"] = gc.get_threshold()

    threads = [threading.Thread(target=f) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["b after a left"] == RUN_THRESHOLDS
    assert gc.get_threshold() == CPYTHON


def test_pipeline_plan_runs_relaxed_and_restores_on_error(cpython_thresholds, monkeypatch):
    seen = []

    def failing_load(sc, town=None):
        seen.append(gc.get_threshold())
        raise RuntimeError("step failed")

    monkeypatch.setattr(pipeline, "load", failing_load)
    with pytest.raises(RuntimeError, match="step failed"):
        pipeline.run(None)
    assert seen == [RUN_THRESHOLDS]
    assert gc.get_threshold() == CPYTHON
