"""Run the siteplanner command line and read what it says (no QGIS import: tested on its own).

The command is ``SITEPLANNER_COMMAND`` when set (split like a shell line, e.g.
``/path/to/venv/bin/python -m siteplanner.cli``), else the ``siteplanner`` found on PATH.
Its log lines give the progress (``step <name> done in …``); on failure it prints one
``error: …`` message, which the algorithms raise as theirs.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

#: The pipeline's steps, in order, as its log lines name them.
STEPS = (
    "load",
    "hotspots",
    "candidates",
    "coverage",
    "review",
    "optimise",
    "patrol",
    "figures",
    "outputs",
)
_STEP_DONE = re.compile(r"\bstep (\w+) done in\b")
_WROTE = re.compile(r"^wrote (.+?): \d+ proposed site")
_LEVEL = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+")


class CommandNotFound(RuntimeError):
    """No siteplanner command to run."""


def command() -> list[str]:
    """The siteplanner command line to run, as a list of arguments."""
    env = os.environ.get("SITEPLANNER_COMMAND", "").strip()
    if env:
        return shlex.split(env)
    found = shutil.which("siteplanner")
    if found:
        return [found]
    raise CommandNotFound(
        "siteplanner not found: install it in a Python of its own (python -m venv ~/siteplanner; "
        "~/siteplanner/bin/pip install siteplanner) and put its bin folder on PATH, or set "
        "SITEPLANNER_COMMAND, e.g. '~/siteplanner/bin/python -m siteplanner.cli'"
    )


def progress(line: str, steps: Sequence[str] = STEPS) -> float | None:
    """The share of the run done (0 to 100) when ``line`` reports a step done, else None."""
    m = _STEP_DONE.search(line)
    if not m or m.group(1) not in steps:
        return None
    return 100.0 * (list(steps).index(m.group(1)) + 1) / len(steps)


def error_message(lines: Sequence[str], returncode: int) -> str:
    """The command's error on one line: its ``error: …`` line and the problems listed under it.

    Without such a line, the last lines it printed.
    """
    for i, line in enumerate(lines):
        if line.startswith("error:"):
            rest = [x.strip().removeprefix("- ") for x in lines[i + 1 :] if x.strip()]
            return "; ".join([line[len("error:") :].strip(), *rest])
    tail = [x for x in lines if x.strip()][-5:]
    return f"siteplanner stopped with exit code {returncode}" + (
        ": " + " / ".join(tail) if tail else ""
    )


def written_review(lines: Sequence[str], cwd: str) -> str | None:
    """The review file ``review init`` wrote ("wrote PATH: n proposed site(s)…"), absolute."""
    for line in lines:
        if m := _WROTE.match(line):
            return os.path.normpath(os.path.join(cwd, m.group(1)))
    return None


def clean(line: str) -> str:
    """A log line as users read it: without rich's padding and level column."""
    return _LEVEL.sub(lambda m: "" if m.group(1) == "INFO" else m.group(1) + ": ", line.rstrip())


@dataclass
class Outcome:
    """What a run of the command printed, and how it ended."""

    returncode: int
    lines: list[str] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.cancelled


def run(
    args: Sequence[str],
    *,
    cwd: str | None = None,
    on_line: Callable[[str], None] = lambda line: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Outcome:
    """Run ``siteplanner ARGS``; pass each output line to ``on_line`` as it comes.

    ``cancelled`` is polled while the command runs: when it returns True the command is
    terminated.
    """
    env = dict(os.environ)
    # one log record per line (rich wraps at the terminal's width), no colours
    env.update(COLUMNS="4000", NO_COLOR="1", TERM="dumb", PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen(
        [*command(), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    out = Outcome(returncode=0)
    while True:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if cancelled() and proc.poll() is None:
                out.cancelled = True
                proc.terminate()
            continue
        if line is None:
            break
        text = clean(line)
        if text:
            out.lines.append(text)
            on_line(text)
    out.returncode = proc.wait()
    return out
