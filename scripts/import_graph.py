"""Print the import graph between siteplanner's own modules.

For each ``siteplanner/*.py`` the script lists the siteplanner modules it imports, read from
the source with :mod:`ast` (nothing is imported). An import inside a function is marked
``(lazy)``; one inside ``if TYPE_CHECKING:`` is marked ``(typing)``. Cycles among the
top-level imports and among all imports are listed at the end.

Usage::

    python scripts/import_graph.py            # text list
    python scripts/import_graph.py --compact  # leaf modules on one line (the README's form)
    python scripts/import_graph.py --mermaid  # a mermaid block
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

PKG = "siteplanner"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(node: ast.ImportFrom, here: str) -> str:
    """The absolute dotted module of a ``from … import`` inside ``siteplanner``."""
    if node.level == 0:
        return node.module or ""
    package = (PKG + "." + here).split(".")[:-1]  # the importing module's package
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(node: ast.AST, modules: set[str], here: str) -> list[str]:
    """Siteplanner modules (dotted, without the package) named by one import statement."""
    out: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        mod = _resolve(node, here)
        names = [mod + "." + a.name for a in node.names] + [mod]
    else:
        return out
    for name in names:
        parts = name.split(".")
        if parts[0] != PKG:
            continue
        rel = ".".join(parts[1:])
        if rel in modules:
            out.append(rel)
            if isinstance(node, ast.ImportFrom) and name != names[-1]:
                continue
    # "from .x import name": the module x, unless the names are themselves modules
    if isinstance(node, ast.ImportFrom):
        mod_rel = ".".join(_resolve(node, here).split(".")[1:])
        subs = [m for m in out if m != mod_rel]
        return subs if subs else [m for m in out if m == mod_rel]
    return out


def edges(path: Path, modules: set[str], here: str) -> dict[str, str]:
    """Map imported module -> kind ('top', 'lazy' or 'typing') for one source file."""
    found: dict[str, str] = {}
    rank = {"top": 0, "lazy": 1, "typing": 2}

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            k = kind
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.body:
                    visit_stmt(sub, "typing")
                for sub in child.orelse:
                    visit_stmt(sub, kind)
                continue
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                k = "lazy" if kind == "top" else kind
            visit_stmt(child, k)

    def visit_stmt(node: ast.AST, kind: str) -> None:
        for target in _targets(node, modules, here):
            if target not in found or rank[kind] < rank[found[target]]:
                found[target] = kind
        visit(node, kind)

    visit(ast.parse(path.read_text(encoding="utf-8")), "top")
    found.pop(here, None)
    for parent in [here.rsplit(".", i)[0] for i in range(1, here.count(".") + 1)]:
        found.pop(parent, None)  # a subpackage's own __init__
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def module_name(path: Path, root: Path) -> str:
    """``steps/load.py`` -> ``steps.load``; ``steps/__init__.py`` -> ``steps``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, dict[str, str]]:
    """Module -> {imported module: kind} for every module of the package under ``root``."""
    files = sorted(p for p in root.rglob("*.py") if p.stem != "__main__")
    files = [p for p in files if module_name(p, root)]  # the package's own __init__ is not a node
    modules = {module_name(p, root) for p in files}
    return {module_name(p, root): edges(p, modules, module_name(p, root)) for p in files}


#: The output modules: they render a Result and import no analysis module.
OUTPUTS = frozenset({"outputs", "tables", "export", "report", "report_sections", "webmap", "plot"})
#: The modes that run steps and write files (they may import everything).
MODES = frozenset({"pipeline", "cli", "batch", "event", "observatory", "incident_maps"})
#: Data and vocabulary, imported by all.
SHARED = frozenset({"result", "vocab", "files", "_errors", "__init__"})


def layer(mod: str) -> str:
    """``output``, ``mode``, ``shared`` or ``analysis`` (``report_*`` modules are outputs)."""
    if mod in OUTPUTS or mod.startswith("report_"):
        return "output"
    for name, group in (("mode", MODES), ("shared", SHARED)):
        if mod in group:
            return name
    return "analysis"


def layer_violations(graph: dict[str, dict[str, str]]) -> list[str]:
    """Imports against the layers: an analysis module importing pipeline, a mode or an output;
    an output importing an analysis module or a mode (typing-only imports of result are fine)."""
    out = []
    for mod, deps in graph.items():
        for dep, kind in deps.items():
            if kind == "typing":  # names for annotations only, nothing runs
                continue
            a, b = layer(mod), layer(dep)
            if a == "analysis" and b in ("mode", "output"):
                out.append(f"{mod} ({a}) imports {dep} ({b})")
            if a == "output" and b in ("analysis", "mode"):
                out.append(f"{mod} ({a}) imports {dep} ({b})")
            if a == "shared" and b != "shared":
                out.append(f"{mod} ({a}) imports {dep} ({b})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mermaid", action="store_true", help="print a mermaid block")
    parser.add_argument(
        "--compact",
        action="store_true",
        help="one line for the modules that import only _errors",
    )
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1] / PKG))
    args = parser.parse_args()
    graph = import_graph(Path(args.root))
    if args.mermaid:
        print("```mermaid\nflowchart LR")
        for mod, deps in graph.items():
            for dep, kind in sorted(deps.items()):
                arrow = "-->" if kind == "top" else "-.->"
                label = "" if kind == "top" else f"|{kind}|"
                print(f"  {mod} {arrow}{label} {dep}")
        print("```")
    else:
        leaves = [m for m, deps in graph.items() if set(deps) <= {"_errors"}]
        if args.compact:
            print(f"(only _errors or nothing): {', '.join(leaves)}")
        for mod, deps in graph.items():
            if args.compact and mod in leaves:
                continue
            marks = [d if k == "top" else f"{d} ({k})" for d, k in sorted(deps.items())]
            print(f"{mod}: {', '.join(marks) if marks else '-'}")
    top = {m: {d for d, k in deps.items() if k == "top"} for m, deps in graph.items()}
    run = {m: {d for d, k in deps.items() if k != "typing"} for m, deps in graph.items()}
    prefix = ""
    for name, g in (("top-level imports", top), ("top-level and lazy imports", run)):
        found = cycles(g)
        print(
            f"{prefix}cycles among {name}: "
            + ("; ".join(" <-> ".join(c) for c in found) if found else "none")
        )
    bad = layer_violations(graph)
    print("imports across layers: " + ("; ".join(bad) if bad else "none"))


if __name__ == "__main__":
    main()
