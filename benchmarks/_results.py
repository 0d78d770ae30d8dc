"""Write a benchmark's table to ``benchmarks/results/<name>.md`` with where it was measured.

The README quotes these files, so its numbers are the last measured ones and say on
which commit and machine they were measured.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
#: The shared real data (extracts, incident exports, OR-Library, OPLib), which a clone does not
#: hold: ``$SITEPLANNER_SHARED``, else ``shared/`` beside the repository.
SHARED_ROOT = Path(
    os.environ.get("SITEPLANNER_SHARED") or Path(__file__).resolve().parents[2] / "shared"
)


def provenance() -> str:
    """One Markdown line: UTC date, git commit (+ "dirty" when the tree has changes), machine."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):  # e.g. a `git archive` snapshot
        commit = os.environ.get("SITEPLANNER_COMMIT", "unknown (not a git checkout)")
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    # the 1-minute load average when the table is written: how quiet the machine was
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (
        f"Measured {now} on commit `{commit}`, machine `{platform.platform()}`, "
        f"`{platform.processor() or platform.machine()}`, {os.cpu_count()} CPUs (shared){load}, "
        f"Python {platform.python_version()}."
    )


def write(name: str, title: str, body: str, *, command: str) -> Path:
    """Write ``benchmarks/results/<name>.md``; returns its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(
        f"# {title}\n\n{provenance()}\n\nCommand: `{command}`\n\n{body.rstrip()}\n",
        encoding="utf-8",
    )
    print(f"table written to {path}")
    return path
