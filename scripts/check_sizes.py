"""Module and function sizes: no module over 900 lines, no function over 100 (issue #15); at most
10 top-level modules in the package and 12 in each subpackage, ``__init__`` not counted (#22).

python scripts/check_sizes.py          # lists what is over, exit 1 if anything is
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_MODULE = 900
MAX_FUNCTION = 100
MAX_TOP = 10
MAX_PER_PACKAGE = 12
ROOT = Path(__file__).resolve().parents[1]


def oversized(folder: Path = ROOT / "siteplanner") -> list[str]:
    """One line per module or function over its limit."""
    out = []
    for path in sorted(folder.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        if n > MAX_MODULE:
            out.append(f"{path.relative_to(folder)}: {n} lines (module limit {MAX_MODULE})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION:
                    out.append(
                        f"{path.relative_to(folder)}:{node.lineno} {node.name}: {length} lines "
                        f"(function limit {MAX_FUNCTION})"
                    )
    return out


def crowded(
    folder: Path = ROOT / "siteplanner", *, top: int = MAX_TOP, per_package: int = MAX_PER_PACKAGE
) -> list[str]:
    """One line per folder of the package holding more modules than its limit."""
    out = []
    for pkg in sorted({p.parent for p in folder.rglob("*.py")}):
        n = sum(1 for p in pkg.glob("*.py") if p.stem != "__init__")
        limit = top if pkg == folder else per_package
        if n > limit:
            rel = pkg.relative_to(folder).as_posix()
            out.append(f"{rel}: {n} modules (limit {limit})")
    return out


if __name__ == "__main__":
    found = oversized() + crowded()
    print("\n".join(found) or "every module and function within its limit")
    sys.exit(1 if found else 0)
