"""The command line: a thin wrapper that parses arguments, calls the pipeline and reports.

Errors are one short message on stderr and exit code 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from siteplanner import files
from siteplanner._errors import SiteplannerError
from siteplanner.optimise.milp import silence_highs_banner

# rich_markup_mode=None: help texts are plain text ("[observatory] period" keeps its brackets)
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="siteplanner: plan video-protection cameras and police patrols for a French town.",
)
console = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
) -> None:
    _state["debug"] = debug
    level = logging.DEBUG if debug else (logging.WARNING if quiet else logging.INFO)
    handler = RichHandler(console=console, show_path=False, show_time=False, markup=False)
    ours = logging.getLogger("siteplanner")
    ours.handlers.clear()
    ours.setLevel(level)
    # other libraries' logs and warnings: shown with --debug only (a silent handler on the root
    # logger, else Python's last-resort handler prints their warnings)
    top = logging.getLogger()
    for h in [h for h in top.handlers if getattr(h, "siteplanner", False)]:
        top.removeHandler(h)
    if debug:
        top.setLevel(logging.DEBUG)
        top_handler: logging.Handler = handler
    else:
        ours.addHandler(handler)
        top_handler = logging.NullHandler()
    top_handler.siteplanner = True  # type: ignore[attr-defined]
    top.addHandler(top_handler)
    warnings.showwarning = _show_warning
    if not debug:
        silence_highs_banner()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our warnings are logged as warnings; other libraries' only with --debug."""
    ours = Path(filename).resolve().is_relative_to(Path(__file__).resolve().parent)
    logging.getLogger("siteplanner" if ours else "siteplanner.libraries").log(
        logging.WARNING if ours else logging.DEBUG, "%s: %s", category.__name__, message
    )


def show_path(p: str | os.PathLike) -> str:
    """A path as users read it: resolved, relative to the current folder when under it."""
    full = Path(p).resolve()
    try:
        return str(full.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(full)


def _say(tag: str, text: str) -> None:
    """Print ``tag`` (rich markup) then ``text`` as is: square brackets in it are kept."""
    console.print(tag + (" " if tag else "") + escape(text), highlight=False, soft_wrap=True)


def _fail(exc: BaseException) -> None:
    if _state["debug"]:
        raise exc
    _say("[bold red]error:[/]", str(exc))
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


ScenarioArg = Annotated[
    Path, typer.Argument(help="Scenario TOML file, e.g. scenarios/beausoleil.toml")
]


@app.command()
def validate(scenario: ScenarioArg) -> None:
    """Check a scenario and its input files without the coverage computation: file formats,
    boundary, incident rows, patrol start, cable trench ends, k against the candidate sites."""

    def go():
        from siteplanner.modes.validate import check_scenario
        from siteplanner.scenario import load_scenario

        sc = load_scenario(scenario)
        checked = check_scenario(sc)
        for fact in checked.facts:
            console.print(f"  {fact}", highlight=False, markup=False)
        if sc.area is None or not sc.area.has_streets:
            what = "incidents only"
        elif sc.plan.budget_eur is None:
            what = f"camera {sc.camera.model}, k={sc.plan.k}"
        else:
            what = f"camera {sc.camera.model}, budget {sc.plan.budget_eur:,.0f} €"
        _say(
            "[green]ok[/]:",
            f"{show_path(scenario)} ({sc.name}, {len(sc.incidents)} incident file(s), {what}"
            f"; checked in {checked.seconds:.1f} s)",
        )

    _guard(go)


@app.command()
def run(
    scenario: ScenarioArg,
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Output folder (default: the scenario's output.dir)"),
    ] = None,
) -> None:
    """Plan the next camera phase and the patrols, and write the outputs."""

    def go():
        from siteplanner import pipeline
        from siteplanner.scenario import load_scenario

        t0 = time.perf_counter()
        sc = load_scenario(scenario)
        with console.status("starting", spinner="dots") as status:
            res, files = pipeline.run(
                sc, out_dir=out, on_step=lambda name: status.update(escape(f"step: {name}"))
            )
        _say(
            "[green]done[/]",
            f"in {time.perf_counter() - t0:.1f} s: coverage {res.coverage_before:.1%} → "
            f"{res.coverage_after:.1%} of demand weight with {len(res.plan.selected)} new site(s) "
            f"({res.plan.solver}, gap {res.plan.gap:.2%})",
        )
        for f in files:
            _say("", f"  {show_path(f)}")

    _guard(go)


@app.command("simulate-incidents")
def simulate_incidents(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write")] = Path(
        "data/incidents/synthetic.csv"
    ),
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    start: Annotated[str, typer.Option(help="First day (ISO)")] = "2021-01-01",
    end: Annotated[str, typer.Option(help="Last day (ISO)")] = "2023-12-31",
    per_year: Annotated[int, typer.Option(help="Mean number of incidents per year")] = 1500,
) -> None:
    """Write a SYNTHETIC, seeded incident file for the scenario's town (documented in
    data/incidents/README.md)."""

    def go():
        from siteplanner.incidents import simulate
        from siteplanner.scenario import load_scenario
        from siteplanner.town import load as io

        sc = load_scenario(scenario, check_files=False)
        town = io.scenario_town(sc)
        df = simulate.simulate_incidents(
            town.graph,
            town.pois,
            area=town.area,
            start=start,
            end=end,
            seed=seed,
            per_year=per_year,
        )
        cols = ["id", "datetime", "category", "source", "lon", "lat"]
        files.write_text(out, df[cols].to_csv(index=False, lineterminator="\n"))
        _say("[green]wrote[/]", f"{len(df)} SYNTHETIC incidents to {show_path(out)}")

    _guard(go)


@app.command()
def observatory(
    scenario: ScenarioArg,
    period: Annotated[
        Optional[str],
        typer.Option(
            "--period",
            "-p",
            help="Period, e.g. 2023-S1, 2023, 2023-Q2 (default: [observatory] period)",
        ),
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out", "-o", help="Output folder (default: <output.dir>/observatoire_<period>)"
        ),
    ] = None,
) -> None:
    """Observatoire local de la sécurité: indicators and shared hotspot maps for a period vs the
    previous one (no camera planning)."""

    def go():
        from siteplanner.modes import observatory as obs
        from siteplanner.scenario import load_scenario

        t0 = time.perf_counter()
        sc = load_scenario(scenario)
        with console.status("observatory", spinner="dots"):
            res, files = obs.run(sc, period, out_dir=out)
        _say(
            "[green]done[/]",
            f"in {time.perf_counter() - t0:.1f} s: {res.period} vs {res.previous_period}, "
            f"{int(res.counts.loc['total', 'total'])} vs "
            f"{int(res.counts_previous.loc['total', 'total'])} incidents, "
            f"{res.ingest.get('duplicates_dropped', 0)} cross-source duplicate(s) dropped, "
            f"{len(res.windows)} window(s)",
        )
        for f in files:
            _say("", f"  {show_path(f)}")

    _guard(go)


@app.command()
def incidents(
    scenario: ScenarioArg,
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Output folder (default: the scenario's output.dir)"),
    ] = None,
) -> None:
    """Incident maps without streets: read and map the incident files, planar hotspot grid,
    indicators per zone."""

    def go():
        from siteplanner.modes import incidents as incident_maps
        from siteplanner.scenario import load_scenario

        sc = load_scenario(scenario)
        res, files = incident_maps.run(sc, out_dir=out)
        r = res.counts["incident_rows"]
        _say(
            "[green]done[/]:",
            f"{r['kept']:,} of {r['rows']:,} rows kept ({r['mapped']:,} mapped, "
            f"{r['defaulted']:,} defaulted, {r['quarantined']:,} quarantined, "
            f"{r['no_hour']:,} without hour); grid {res.grid.values.shape[0]} x "
            f"{res.grid.values.shape[1]} of {res.grid.cell_m:g} m",
        )
        for f in files:
            _say("", f"  {show_path(f)}")

    _guard(go)


@app.command()
def event(
    scenario: ScenarioArg,
    event_file: Annotated[
        Path,
        typer.Option(
            "--event",
            "-e",
            help="Event file (TOML): name, date, hours, attendance, perimeter or venue",
        ),
    ],
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Output folder (default: <output.dir>/event_<file stem>)"),
    ] = None,
) -> None:
    """Event mode: nomad cameras, filtering points, patrol circuits and a one-page event sheet."""

    def go():
        from siteplanner.modes import event as ev_mod
        from siteplanner.scenario import load_scenario
        from siteplanner.town import load as io

        sc = load_scenario(scenario)
        ev = ev_mod.load_event(event_file)
        with console.status("planning the event", spinner="dots"):
            ep = ev_mod.plan_event(sc, ev)
            town = io.scenario_town(sc)
            files = ev_mod.write_event(
                ep,
                town.graph,
                town.buildings,
                out or sc.resolve(sc.output.dir) / f"event_{event_file.stem}",
            )
        _say(
            "[green]done[/]:",
            f"{ev.name}: {len(ep.cameras)} nomad camera(s) see {ep.coverage_share:.0%} of "
            f"the perimeter's demand, {len(ep.filtering)} filtering point(s), "
            f"{len(ep.circuits)} patrol circuit(s)",
        )
        for f in files:
            _say("", f"  {show_path(f)}")

    _guard(go)


review_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="The référent sûreté's review of a plan (review.csv).",
)
app.add_typer(review_app, name="review")


@review_app.command("init")
def review_init(
    scenario: ScenarioArg,
    force: Annotated[
        bool,
        typer.Option("--force", help="Rewrite an existing review file, keeping its decided rows."),
    ] = False,
) -> None:
    """Write the review file (one pending row per proposed site), next to the scenario; never
    overwrites without --force."""

    def go():
        from siteplanner import pipeline, review
        from siteplanner.scenario import load_scenario

        sc = load_scenario(scenario)
        path = sc.review_path
        if path.exists() and not force:
            review.init_review([], path)  # raises: the file exists
        with console.status("planning to list the proposed sites", spinner="dots") as status:
            res = pipeline.plan(sc, on_step=lambda name: status.update(escape(f"step: {name}")))
        review.init_review(res, path, force=force)
        n = int((res.sites["status"] == "proposed").sum())
        _say(
            "[green]wrote[/]",
            f"{show_path(path)}: {n} proposed site(s); fill in decision (accept, reject, move, "
            "pending), then run again",
        )

    _guard(go)


@app.command()
def batch(
    scenario_dir: Annotated[
        Path,
        typer.Argument(help="Folder of scenario files, one per commune (e.g. scenarios/riviera)"),
    ],
    scheduler: Annotated[
        str, typer.Option(help="dask (dask.distributed) or local (one after the other, here)")
    ] = "dask",
    address: Annotated[
        Optional[str],
        typer.Option(
            help="A running Dask scheduler, e.g. tcp://10.0.0.5:8786, whose workers see the same "
            "files (default: a local cluster of --workers processes)"
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes of the local Dask cluster, one thread each")
    ] = 2,
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            "-o",
            help="Write each commune to OUT/<scenario stem> (default: each scenario's output.dir)",
        ),
    ] = None,
) -> None:
    """Run one scenario per commune on Dask; a failed commune does not stop the others (exit 1
    if any failed)."""

    def go():
        from siteplanner.modes.batch import run_batch

        results = run_batch(
            scenario_dir, scheduler=scheduler, address=address, n_workers=workers, out_root=out
        )  # type: ignore[arg-type]
        for r in results:
            if r.ok:
                _say(
                    "[green]ok[/]",
                    f"{r.name}: {r.seconds:.1f} s, coverage {r.coverage_before:.1%} → "
                    f"{r.coverage_after:.1%} with {r.new_sites} new site(s), {r.cost_eur:,.0f} €, "
                    f"{show_path(r.out_dir)}",
                )
            else:
                _say("[bold red]failed[/]", f"{r.name} ({show_path(r.scenario)}): {r.error}")
        failed = [r for r in results if not r.ok]
        _say("", f"{len(results) - len(failed)} of {len(results)} commune(s) done")
        if failed:
            raise typer.Exit(1)

    _guard(go)


#: Options of the whole program, accepted before or after the command.
GLOBAL_FLAGS = ("-q", "--quiet", "--debug")


def hoist_global_flags(argv: list[str]) -> list[str]:
    """``siteplanner run x.toml -q`` as ``siteplanner -q run x.toml``: the global flags found
    anywhere (before a ``--``) are moved in front of the command, in their order."""
    cut = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:cut] if a in GLOBAL_FLAGS]
    rest = [a for a in argv[:cut] if a not in GLOBAL_FLAGS]
    return flags + rest + argv[cut:]


def main() -> None:  # pragma: no cover - entry point
    app(args=hoist_global_flags(sys.argv[1:]))


if __name__ == "__main__":  # pragma: no cover
    main()
