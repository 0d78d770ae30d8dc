"""The house rules of issue #15, checked on the package's own source (read with ast).

No import cycle between modules, even through imports inside functions; analysis modules import
neither the pipeline, the modes nor an output module; output modules import no analysis module;
no module over 900 lines and no function over 100.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


graph_mod = _script("import_graph")
sizes_mod = _script("check_sizes")


def test_the_checks_see_a_cycle_and_a_layer_breach():
    # the checks themselves, on a hand-built graph whose answer is known
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert graph_mod.cycles(g) == [["a", "b", "c"]]
    bad = graph_mod.layer_violations({"hotspots": {"report": "lazy"}, "report": {"io": "top"}})
    assert bad == [
        "hotspots (analysis) imports report (output)",
        "report (output) imports io (analysis)",
    ]
    assert graph_mod.layer_violations({"report": {"result": "typing", "io": "typing"}}) == []


def test_no_import_cycle_and_layers_hold():
    graph = graph_mod.import_graph(ROOT / "siteplanner")
    assert {"pipeline", "steps.load", "steps.figures", "outputs"} <= set(graph)
    every = {m: {d for d, k in deps.items() if k != "typing"} for m, deps in graph.items()}
    assert graph_mod.cycles(every) == []
    assert graph_mod.layer_violations(graph) == []
    # the steps import no pipeline and no output module
    for mod, deps in graph.items():
        if mod.startswith("steps."):
            assert not set(deps) & (graph_mod.OUTPUTS | {"pipeline"}), (mod, deps)


def test_modules_and_functions_within_their_limits():
    assert sizes_mod.oversized(ROOT / "siteplanner") == []


def test_every_step_value_is_frozen():
    import dataclasses

    from siteplanner import result

    values = [
        getattr(result, n)
        for n in ("Paths", "Inputs", "Demand", "Candidates", "Coverage", "Decisions")
        + ("PhasePlans", "Patrols", "Figures", "Result")
    ]
    for cls in values:
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls.__name__
