"""The run's files, rendered from the :class:`~siteplanner.result.Result` (nothing computed).

:func:`write_outputs` writes every output into a staging folder and moves each into the output
folder only when all are written: ``summary.json``, ``sites.geojson``, ``viewsheds.geojson``,
``patrols.geojson`` and the GPX circuits, ``hotspots.tif``, ``coverage.npz``, ``plan.csv``,
``coverage_curve.csv``, the itineraries, ``map.png``, and through
:mod:`~siteplanner.outputs.export`, :mod:`~siteplanner.outputs.report` and
:mod:`~siteplanner.outputs.webmap` ``plan.gpkg``, ``prefecture.csv``, ``report.html`` and
``map.html``, and through :mod:`~siteplanner.outputs.qgis` ``hotspots.qml`` and ``plan.qgz``
(the QGIS project). Every figure comes from the result, so no two files can disagree."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from siteplanner import __version__, files
from siteplanner.outputs import export, plot, qgis, report, sections as report_sections, webmap
from siteplanner.outputs.tables import (
    curve_table,
    patrols_frame,
    plan_table,
    sites_frame,
    slug,
    summary,
    viewsheds_frame,
)
from siteplanner.outputs.figures import shrink_png

if TYPE_CHECKING:
    from siteplanner.result import Result


#: map.png: no "Software" tag (the same bytes on every machine); zlib level 3, which on the
#: default town's map (2250 x 1530) encodes in 0.13 s against 0.22 s at PIL's default 6, for a
#: file 2 % smaller and the same pixels
PNG_OPTIONS = {"metadata": {"Software": None}, "pil_kwargs": {"compress_level": 3}}


def write_outputs(res: Result, out_dir: Path, *, started: float | None = None) -> list[Path]:
    """Write every output into ``out_dir`` (staged, then moved into place file by file).

    ``started`` (a :func:`time.perf_counter` value) is when the outputs step began: the
    ``summary.json`` written last then gives the step's time and the run's total.
    """
    started = time.perf_counter() if started is None else started
    with files.staged_folder(out_dir) as (stage, written):
        # the files drawn with matplotlib here, the others beside them in a second thread
        # (GEOS, GDAL, zlib and PNG encoding let both cores work); each file is its own
        with ThreadPoolExecutor(1) as pool:
            beside = pool.submit(_write_undrawn, res, stage)
            overview = plot.plan_map(res, scheme=res.scenario.output.map_classes)
            buf = BytesIO()
            overview.savefig(buf, dpi=150, format="png", **PNG_OPTIONS)
            files.write_with(stage / "map.png", lambda p: Path(p).write_bytes(buf.getvalue()))
            write_plan_tables(res, stage)
            # report.html (report.pdf when [output] pdf = true); the overview map drawn once
            report.write_report(
                res,
                stage,
                pdf=res.scenario.output.pdf,
                overview=overview,
                overview_png=shrink_png(buf.getvalue(), 80 / 150),
            )
            beside.result()  # its error, if any, is the run's
        timings = dict(res.timings_s)
        timings["outputs"] = round(time.perf_counter() - started, 3)
        timings["total"] = round(sum(timings.values()), 3)
        files.write_json(stage / "summary.json", summary(res, timings))
    return written


def _write_undrawn(res: Result, stage: Path) -> None:
    """The files no matplotlib figure draws: GeoJSON, GeoTIFF, arrays, GPX, tables, the
    GeoPackage and QGIS project, the web map, the quarantine."""
    files.write_geojson(stage / "sites.geojson", sites_frame(res))
    files.write_geojson(stage / "viewsheds.geojson", viewsheds_frame(res))
    files.write_geojson(stage / "patrols.geojson", patrols_frame(res))
    hotspots_tif(res, stage / "hotspots.tif")
    arrays = res.figures.coverage_arrays
    files.write_with(stage / "coverage.npz", lambda p: np.savez_compressed(p, **arrays))
    for c in res.circuits:
        files.write_text(stage / f"patrol_{slug(c.name)}.gpx", res.patrols.gpx[c.name])
    _write_issue17(res, stage)  # entrances.csv, field_notes.csv, night_coverage.csv (#17)
    export.write_exports(res, stage)  # plan.gpkg (QGIS styles), prefecture.csv
    qgis.write_qgis(res, stage)  # hotspots.qml, plan.qgz (the QGIS project over plan.gpkg)
    webmap.write_map(res, stage)  # map.html
    files.write_text(stage / "quarantine.csv", res.quarantine_csv)  # rows set aside


def write_plan_tables(res: Result, stage: Path) -> None:
    """plan.csv, coverage_curve.csv and its figure, and one itinerary per patrol circuit."""
    files.write_text(stage / "plan.csv", plan_table(res).to_csv(index=False, lineterminator="\n"))
    files.write_text(
        stage / "coverage_curve.csv", curve_table(res).to_csv(index=False, lineterminator="\n")
    )
    curve = plot.coverage_curve(res)
    files.write_with(
        stage / "coverage_curve.png",
        lambda p: curve.savefig(p, dpi=120, format="png", metadata={"Software": None}),
    )
    for c in res.circuits:
        lines = [
            f"{c.name}: {c.length_m / 1000:.2f} km, {c.duration_min:.0f} min of "
            f"{c.budget_min:.0f}, {len(c.stops)} stops"
        ]
        lines += [
            f"{i:>3}. {line}" for i, line in enumerate(res.patrols.itineraries[c.name], start=1)
        ]
        files.write_text(stage / f"patrol_{slug(c.name)}_itinerary.txt", "\n".join(lines) + "\n")


def hotspots_tif(res: Result, path: Path) -> None:
    """Write the density raster as a GeoTIFF with its CRS and window in the tags."""
    g = res.grid
    tags = {
        "window": g.window,
        "method": g.method,
        "bandwidth_m": str(g.bandwidth_m),
        "cell_m": str(g.cell_m),
        "units": "weighted incidents per km2",
        "synthetic": str(res.synthetic).lower(),
        "source": "siteplanner " + __version__,
    }
    files.write_geotiff(path, g.values, g.transform, res.town.crs, tags)


def _write_issue17(res: Result, stage: Path) -> None:
    """Tables of issue #17: town entrances, field-note outcomes, night coverage and dark streets."""

    def csv(df: pd.DataFrame) -> str:
        return df.to_csv(index=False, lineterminator="\n")

    if res.entrances is not None:
        files.write_text(stage / "entrances.csv", csv(res.figures.entrances_table))
    if res.field_notes is not None and "outcome" in res.field_notes:
        files.write_text(stage / "field_notes.csv", csv(report_sections.notes_table(res)))
    if res.night is not None:
        files.write_text(stage / "night_coverage.csv", csv(report_sections.night_table(res)))
        files.write_text(stage / "night_dark_streets.csv", csv(res.night.dark_streets.round(6)))
