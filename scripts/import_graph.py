"""Print the import graph between siteplanner's own modules.

For each module of ``siteplanner/`` (its subpackages included) the script lists the siteplanner
modules it imports, read from the source with :mod:`ast` (nothing is imported). An import inside
a function is marked ``(lazy)``; one inside ``if TYPE_CHECKING:`` is marked ``(typing)``. Cycles
among the top-level imports and among all imports, and imports across the layers
(:data:`LAYERS`: base, analysis packages, the shared language, steps, outputs, modes), are
listed at the end.

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


#: The layers, lowest first, named by folder (or by module for the top-level modules). A module
#: may import its own layer and the layers below it; an import of a higher layer is upward.
LAYERS: dict[str, tuple[str, ...]] = {
    "base": ("_errors", "_gc", "vocab", "files", "__init__"),
    "analysis": ("town", "incidents", "hotspots", "coverage", "optimise", "patrol", "observatory"),
    "language": ("scenario", "result", "review"),
    "steps": ("steps",),
    "outputs": ("outputs",),
    "modes": ("modes", "pipeline", "cli"),
}
RANK = {name: i for i, name in enumerate(LAYERS)}
#: Output modules render a Result: besides the base, they import only the shared language.
OUTPUTS = frozenset({"outputs"})


def layer(mod: str) -> str:
    """The layer of a dotted module name: its folder's (``steps.load`` -> ``steps``)."""
    head = mod.split(".")[0]
    for name, members in LAYERS.items():
        if head in members:
            return name
    raise ValueError(f"{mod}: in no layer; add its folder to LAYERS")


def layer_violations(graph: dict[str, dict[str, str]]) -> list[str]:
    """Imports against the layers: an import of a higher layer (an analysis package importing a
    step, an output or a mode; a step importing an output or the pipeline…), or an output
    importing an analysis package or a step. Typing-only imports are fine: nothing runs."""
    out = []
    for mod, deps in graph.items():
        for dep, kind in deps.items():
            if kind == "typing":  # names for annotations only, nothing runs
                continue
            a, b = layer(mod), layer(dep)
            if RANK[b] > RANK[a] or (a == "outputs" and b in ("analysis", "steps")):
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
