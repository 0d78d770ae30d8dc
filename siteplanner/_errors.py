"""Errors raised by siteplanner.

A small hierarchy that subclasses built-ins, so callers may catch ``ValueError``.
Every message names the file (or argument), the row or feature, what was wrong and
what is accepted. The CLI prints the message alone and exits 1 (``--debug`` shows
the traceback).
"""

from __future__ import annotations

import difflib
import math
import numbers
import typing
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ValidationError


class SiteplannerError(Exception):
    """Base class of every error siteplanner raises on purpose."""


class InputError(SiteplannerError, ValueError):
    """An input file or argument is malformed: names what, where, and what is accepted."""


class ScenarioError(InputError):
    """The scenario file is invalid (unknown key, wrong type, missing file...)."""


class InfeasibleError(SiteplannerError, ValueError):
    """The planning problem has no solution as stated (e.g. budget below the cheapest site)."""


def report_problems(
    problems: Iterable[str], *, source: str, error: type[InputError] = InputError, limit: int = 20
) -> None:
    """Raise one error that lists every problem found in ``source``.

    Parameters
    ----------
    problems
        One human-readable line per problem, each naming the row or feature.
    source
        The file or argument the problems were found in.
    error
        The exception class to raise.
    limit
        At most this many problems are listed; the rest are counted.
    """
    problems = list(problems)
    if not problems:
        return
    shown = problems[:limit]
    more = len(problems) - len(shown)
    lines = "\n".join(f"  - {p}" for p in shown)
    tail = f"\n  ... and {more} more problem(s)" if more else ""
    raise error(f"{source}: {len(problems)} problem(s) found:\n{lines}{tail}")


def check_positive(*, source: str, **values: float) -> None:
    """Raise one error naming every value that is not a finite number > 0."""
    problems = [
        f"{name}={value!r} is not accepted: give a finite number > 0"
        for name, value in values.items()
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0)
    ]
    report_problems(problems, source=source)


# --------------------------------------------------------------------------- pydantic messages


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The pydantic model inside a field's annotation (``Hotspots``, ``tuple[Shift, ...]``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if (m := _model_of(arg)) is not None:
            return m
    return None


def known_keys(root: type[BaseModel], loc: tuple) -> list[str]:
    """The keys accepted in the table of ``root`` that holds ``loc`` (e.g.
    ``("hotspots", "methd")`` in a scenario)."""
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        f = model.model_fields.get(str(part))
        model = _model_of(f.annotation) if f is not None else None
    return [] if model is None else [k for k in model.model_fields if k != "path"]


def unknown_key(root: type[BaseModel], loc: tuple) -> str:
    """What to say of an unknown key: the closest accepted one, and every accepted key."""
    keys = known_keys(root, loc)
    close = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.6) if loc else []
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}accepted: {', '.join(keys)}" if keys else "unknown key (misspelt?)"


def validation_message(exc: ValidationError, path: Path, root: type[BaseModel]) -> str:
    """A pydantic validation error of the file ``path`` as one line per problem."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = unknown_key(root, tuple(err["loc"]))
        got = err["type"] not in ("extra_forbidden", "missing") and not isinstance(
            err.get("input"), dict
        )
        lines.append(f"  - {loc}: {msg}" + (f" (got {err['input']!r})" if got else ""))
    return f"{path}: invalid scenario\n" + "\n".join(lines)
