"""The house rules of issues #15 and #22, checked on the package's own source (read with ast).

No import cycle between modules, even through imports inside functions; no import of a higher
layer (base, analysis packages, the shared language, steps, outputs, modes: see
``scripts/import_graph.py``); output modules import no analysis package; no module over 900 lines,
no function over 100, at most 10 top-level modules and 12 per subpackage.
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
    bad = graph_mod.layer_violations(
        {
            "hotspots.forecast": {"outputs.report": "lazy"},
            "outputs.report": {"town.load": "top", "result": "top"},
            "steps.load": {"pipeline": "lazy", "town.load": "top"},
            "scenario": {"incidents.windows": "top"},
        }
    )
    assert bad == [
        "hotspots.forecast (analysis) imports outputs.report (outputs)",
        "outputs.report (outputs) imports town.load (analysis)",
        "steps.load (steps) imports pipeline (modes)",
    ]
    assert graph_mod.layer_violations({"outputs.report": {"town.load": "typing"}}) == []


def test_no_import_cycle_and_layers_hold():
    graph = graph_mod.import_graph(ROOT / "siteplanner")
    assert {"pipeline", "steps.load", "steps.figures", "outputs"} <= set(graph)
    every = {m: {d for d, k in deps.items() if k != "typing"} for m, deps in graph.items()}
    assert graph_mod.cycles(every) == []
    assert graph_mod.layer_violations(graph) == []
    # every module is in a layer, and the analysis packages import no step, output or mode
    for mod, deps in graph.items():
        if graph_mod.layer(mod) == "analysis":
            ups = {d for d, k in deps.items() if k != "typing"}
            assert {graph_mod.layer(d) for d in ups} <= {"base", "analysis"}, (mod, deps)


def test_modules_and_functions_within_their_limits():
    assert sizes_mod.oversized(ROOT / "siteplanner") == []
    assert sizes_mod.crowded(ROOT / "siteplanner") == []


def test_the_size_check_counts_modules_per_folder(tmp_path):
    # a hand-built package: 3 top-level modules, a subpackage of 2 (its __init__ not counted)
    for name in ("__init__.py", "a.py", "b.py", "c.py", "sub/__init__.py", "sub/x.py", "sub/y.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    assert sizes_mod.crowded(tmp_path, top=3, per_package=2) == []
    assert sizes_mod.crowded(tmp_path, top=2, per_package=1) == [
        ".: 3 modules (limit 2)",
        "sub: 2 modules (limit 1)",
    ]


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
