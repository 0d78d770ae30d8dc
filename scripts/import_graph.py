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


def _targets(node: ast.AST, modules: set[str]) -> list[str]:
    """Siteplanner modules named by one import statement."""
    out: list[str] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] == PKG and len(parts) > 1 and parts[1] in modules:
                out.append(parts[1])
    elif isinstance(node, ast.ImportFrom):
        mod = node.module or ""
        if node.level == 1 or mod.startswith(PKG):
            base = (
                mod.split(".")[1]
                if mod.startswith(PKG + ".")
                else (mod.split(".")[0] if node.level == 1 and mod else "")
            )
            if base in modules:
                out.append(base)
            elif not base:  # from . import x / from siteplanner import x
                out.extend(a.name for a in node.names if a.name in modules)
    return out


def edges(path: Path, modules: set[str]) -> dict[str, str]:
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
        for target in _targets(node, modules):
            if target not in found or rank[kind] < rank[found[target]]:
                found[target] = kind
        visit(node, kind)

    visit(ast.parse(path.read_text(encoding="utf-8")), "top")
    found.pop(path.stem, None)
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
    files = sorted(p for p in Path(args.root).glob("*.py") if p.stem != "__main__")
    modules = {p.stem for p in files}
    graph = {p.stem: edges(p, modules) for p in files}
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


if __name__ == "__main__":
    main()
