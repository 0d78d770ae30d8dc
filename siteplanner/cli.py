"""The command line: a thin wrapper that parses arguments, calls the pipeline and reports.

Errors are one short message on stderr and exit code 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler

from ._errors import SiteplannerError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="siteplanner: plan video-protection cameras and police patrols for a French town.")
console = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
) -> None:
    _state["debug"] = debug
    level = logging.DEBUG if debug else (logging.WARNING if quiet else logging.INFO)
    root = logging.getLogger("siteplanner")
    root.handlers.clear()
    root.addHandler(RichHandler(console=console, show_path=False, show_time=False, markup=False))
    root.setLevel(level)


def _fail(exc: BaseException) -> None:
    if _state["debug"]:
        raise exc
    console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _guard(fn):
    """Run ``fn``; report our errors (and unexpected ones) as one message, exit 1."""
    try:
        return fn()
    except typer.Exit:
        raise
    except SiteplannerError as exc:
        _fail(exc)
    except (OSError, ValueError, KeyError) as exc:
        _fail(type(exc)(f"{type(exc).__name__}: {exc}") if not _state["debug"] else exc)


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. scenarios/beausoleil.toml")]


@app.command()
def validate(scenario: ScenarioArg) -> None:
    """Check a scenario file and the input files it names, without running."""

    def go():
        from .scenario import load_scenario

        sc = load_scenario(scenario)
        console.print(f"[green]ok[/]: {scenario} ({sc.name}, {len(sc.incidents)} incident file(s), camera {sc.camera.model}, "
                      f"{'k=' + str(sc.plan.k) if sc.plan.budget_eur is None else f'budget {sc.plan.budget_eur:,.0f} €'})")

    _guard(go)


@app.command()
def run(
    scenario: ScenarioArg,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default: the scenario's output.dir)")] = None,
) -> None:
    """Plan the next camera phase and the patrols, and write the outputs."""

    def go():
        from . import pipeline
        from .scenario import load_scenario

        t0 = time.perf_counter()
        sc = load_scenario(scenario)
        with console.status("starting", spinner="dots") as status:
            res, files = pipeline.run(sc, out_dir=out, on_step=lambda name: status.update(f"step: {name}"))
        console.print(f"[green]done[/] in {time.perf_counter() - t0:.1f} s: coverage {res.coverage_before:.1%} → "
                      f"{res.coverage_after:.1%} of demand weight with {len(res.plan.selected)} new site(s) "
                      f"({res.plan.solver}, gap {res.plan.gap:.2%})")
        for f in files:
            console.print(f"  {f}")

    _guard(go)


@app.command("simulate-incidents")
def simulate_incidents(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write")] = Path("data/incidents/synthetic.csv"),
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    start: Annotated[str, typer.Option(help="First day (ISO)")] = "2021-01-01",
    end: Annotated[str, typer.Option(help="Last day (ISO)")] = "2023-12-31",
    per_year: Annotated[int, typer.Option(help="Mean number of incidents per year")] = 1500,
) -> None:
    """Write a SYNTHETIC, seeded incident file for the scenario's town (documented in data/incidents/README.md)."""

    def go():
        from . import io, simulate
        from .scenario import load_scenario

        sc = load_scenario(scenario, check_files=False)
        town = io.load_town(sc.resolve(sc.area.osm), boundary=sc.area.boundary, area_path=sc.resolve(sc.area.polygon),
                            margin_m=sc.area.margin_m, cache_dir=sc.resolve(sc.cache_dir))
        df = simulate.simulate_incidents(town.graph, town.pois, area=town.area, start=start, end=end, seed=seed,
                                         per_year=per_year)
        cols = ["id", "datetime", "category", "source", "lon", "lat"]
        io.write_text(out, df[cols].to_csv(index=False, lineterminator="\n"))
        console.print(f"[green]wrote[/] {len(df)} SYNTHETIC incidents to {out}")

    _guard(go)


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
