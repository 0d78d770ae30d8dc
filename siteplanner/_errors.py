"""Errors raised by siteplanner.

A small hierarchy that subclasses built-ins, so callers may catch ``ValueError``.
Every message names the file (or argument), the row or feature, what was wrong and
what is accepted. The CLI prints the message alone and exits 1 (``--debug`` shows
the traceback).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable


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
