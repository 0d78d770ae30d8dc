"""Observatory mode (``siteplanner observatory SCENARIO --period 2023-S1``): read, build, write.

:func:`run` reads a scenario's town and incident files (the same readers as ``siteplanner
run``), drops cross-source duplicates, calls :func:`siteplanner.observatory.analysis.build`
(the method is described there) and :func:`write` writes the shared files (staged, then
moved into place): ``hotspots.tif``, ``hotspot_segments.geojson``, ``comparison.geojson``,
``comparison.png``, ``observatory.csv`` and ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd

from siteplanner import files
from siteplanner._errors import InputError
from siteplanner.incidents import windows as windows_mod
from siteplanner.observatory.analysis import (
    DEFAULT_WINDOWS,
    ObservatoryResult,
    build,
    indicators_csv,
    shared_comparison,
    shared_segments,
    summary,
)
from siteplanner.observatory.stats import MASKED, count_table, merge_report, table_dict

if TYPE_CHECKING:
    from siteplanner.scenario import Scenario

logger = logging.getLogger(__name__)

__all__ = ["hotspots_tif", "comparison_map", "write", "run"]


def hotspots_tif(result: ObservatoryResult, path: Path | str) -> None:
    """Write one band per window (masked KDE, NaN nodata) with the window and period in the tags.

    Parameters
    ----------
    result
        :func:`~siteplanner.observatory.analysis.build`'s result.
    path
        GeoTIFF to write.
    """
    import rasterio

    from siteplanner import __version__

    g0 = result.grids[0]
    rows, cols = g0.values.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=rows,
        width=cols,
        count=len(result.grids),
        dtype="float32",
        crs=result.crs,
        transform=g0.transform,
        compress="deflate",
        nodata=float("nan"),
    ) as dst:
        for b, (w, g) in enumerate(zip(result.windows, result.grids), start=1):
            dst.write(g.values.astype("float32"), b)
            dst.set_band_description(b, g.window)
            dst.update_tags(b, window=w.name, description=w.describe(), period=result.period)
        dst.update_tags(
            window=result.grids[0].window,
            windows=" | ".join(g.window for g in result.grids),
            period=result.period,
            method="kde quartic",
            bandwidth_m=str(g0.bandwidth_m),
            cell_m=str(g0.cell_m),
            units="incidents per km2",
            min_count=str(result.min_count),
            suppression=f"NaN where fewer than {result.min_count} incidents lie within "
            f"{g0.bandwidth_m:g} m",
            synthetic=str(result.synthetic).lower(),
            source="siteplanner " + __version__,
        )


def comparison_map(
    result: ObservatoryResult,
    path: Path | str,
    *,
    town_source: str = "",
    streets=None,
    dpi: int = 150,
) -> None:
    """The period comparison map (PNG): hausse / baisse / stable per cell, masked cells blank.

    Parameters
    ----------
    result
        :func:`~siteplanner.observatory.analysis.build`'s result.
    path
        PNG to write.
    town_source
        The OSM extract's name, for the attribution.
    streets
        Optional street lines (projected) drawn in grey.
    dpi
        Resolution.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from siteplanner.outputs import plot

    colours = {"hausse": "#d7301f", "baisse": "#2b8cbe", "stable": "#d9d9d9"}
    c = shared_comparison(result)
    fig = Figure(figsize=(9, 9))
    ax = fig.subplots()
    ax.set_aspect("equal")
    for t, col in colours.items():
        sub = c[c["trend"] == t]
        if len(sub):
            sub.plot(ax=ax, color=col, edgecolor="white", linewidth=0.4, alpha=0.85, zorder=2)
    if streets is not None and len(streets):
        streets.plot(ax=ax, color="#555555", linewidth=0.4, zorder=3)
    gpd.GeoSeries([result.area], crs=result.crs).boundary.plot(
        ax=ax, color="black", linewidth=1.2, linestyle="--", zorder=4
    )
    xmin, ymin, xmax, ymax = result.area.buffer(80).bounds
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    n = {t: int((c["trend"] == t).sum()) for t in colours}
    cell = result.params.get("compare_cell_m", 100.0)
    handles = [
        Patch(color=colours["hausse"], label=f"hausse ({n['hausse']} cells)"),
        Patch(color=colours["baisse"], label=f"baisse ({n['baisse']} cells)"),
        Patch(color=colours["stable"], label=f"stable ({n['stable']} cells)"),
        Patch(
            facecolor="white",
            edgecolor="#999999",
            label=f"blank: fewer than {result.min_count} incidents",
        ),
        Line2D([], [], color="black", linestyle="--", label="commune"),
    ]
    ax.legend(
        handles=handles, loc="lower right", fontsize=8, framealpha=0.9, bbox_to_anchor=(1.0, 0.04)
    )
    ax.set_title(
        f"{result.windows[0].name}: {result.period} vs {result.previous_period}, {cell:g} m cells\n"
        f"exact binomial test, Benjamini–Hochberg q < {result.params.get('alpha', 0.05):g} "
        f"over {int((c['trend'] != MASKED).sum())} cells",
        fontsize=11,
    )
    plot.add_scale_bar(ax)
    plot.add_north_arrow(ax)
    plot.add_attribution(
        ax,
        f"Streets: © OpenStreetMap contributors (ODbL){', ' + town_source if town_source else ''}. "
        f"Incidents: {'SYNTHETIC' if result.synthetic else 'scenario files'}, aggregated. "
        "siteplanner",
    )
    if result.synthetic:
        plot.add_synthetic_mark(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi, format="png", metadata={"Software": None})


def write(
    result: ObservatoryResult, out_dir: Path | str, *, town_source: str = "", streets=None
) -> list[Path]:
    """Write the observatory's files into ``out_dir`` (staged, then moved into place).

    Files: ``hotspots.tif``, ``hotspot_segments.geojson``, ``comparison.geojson``,
    ``comparison.png``, ``observatory.csv``, ``summary.json``.

    Parameters
    ----------
    result
        :func:`~siteplanner.observatory.analysis.build`'s result.
    out_dir
        The output folder (created if needed).
    town_source
        The OSM extract's name, for the map's attribution.
    streets
        Optional street lines drawn on the map.

    Returns
    -------
    list of pathlib.Path
        The files written, sorted.
    """

    with files.staged_folder(out_dir) as (stage, written):
        files.write_with(stage / "hotspots.tif", lambda p: hotspots_tif(result, p))
        files.write_geojson(stage / "hotspot_segments.geojson", shared_segments(result))
        files.write_geojson(stage / "comparison.geojson", shared_comparison(result))
        files.write_with(
            stage / "comparison.png",
            lambda p: comparison_map(result, p, town_source=town_source, streets=streets),
        )
        files.write_text(stage / "observatory.csv", indicators_csv(result))
        files.write_json(stage / "summary.json", summary(result))
    return written


def run(
    sc: Scenario, period: str | None = None, out_dir: Path | str | None = None
) -> tuple[ObservatoryResult, list[Path]]:
    """Read a scenario's town and incident files, build the observatory for ``period`` and write it.

    Parameters
    ----------
    sc
        The scenario (its ``[observatory]`` table gives the windows and parameters).
    period
        The period (default: the scenario's ``observatory.period``).
    out_dir
        Output folder (default ``<output.dir>/observatoire_<period>/``).

    Returns
    -------
    tuple
        The result and the files written.
    """
    from siteplanner.steps.load import load

    obs = sc.observatory
    period = period or obs.period
    if not period:
        raise InputError(
            f"{sc.path}: no period given; pass --period 2023-S1 or set [observatory] period"
        )
    windows_mod.parse_period(period)
    if not sc.incidents:
        raise InputError(f"{sc.path}: no [[incidents]] file; the observatory needs at least one")
    # the pipeline's own load: the same reader, mappings and duplicate rule as `siteplanner run`
    inputs = load(sc, for_plan=False)
    town, merged, qpv = inputs.town, inputs.incidents, inputs.qpv
    frames = [r.frame for r in inputs.reads]
    n_dup = inputs.counts["incident_duplicates_dropped"]
    report = merge_report(frames, merged)
    report["duplicate_rule"] = {
        "distance_m": obs.duplicate_distance_m,
        "minutes": obs.duplicate_minutes,
        "same_category": True,
        "kept": "the row of the file listed first",
    }
    logger.info(
        "observatory: %d incidents from %d file(s), %d cross-source duplicate(s) dropped (%s)",
        len(merged),
        len(frames),
        n_dup,
        ", ".join(f"{k} {v['duplicates_dropped']}" for k, v in report["files"].items()),
    )
    logger.info(
        "%s\n%s",
        "observatory: all incidents read per source × category",
        count_table(merged).to_string(),
    )
    wins = tuple(w.time_window() for w in obs.windows) or DEFAULT_WINDOWS
    params = {
        "min_count": obs.min_count,
        "lixel_m": obs.lixel_m,
        "bandwidth_m": obs.bandwidth_m,
        "cell_m": obs.cell_m,
        "compare_cell_m": obs.compare_cell_m,
        "sensitive_radius_m": obs.sensitive_radius_m,
        "alpha": obs.alpha,
        "school_zone": obs.school_zone,
    }
    res = build(town, merged, period=period, windows=wins, qpv=qpv, **params)
    res = dataclasses.replace(
        res,
        ingest={
            **report,
            "incidents_read": int(len(merged)),
            "counts_by_source_category_all": table_dict(count_table(merged)),
        },
    )
    out = (
        Path(out_dir)
        if out_dir is not None
        else sc.resolve(sc.output.dir) / f"observatoire_{period}"
    )
    files = write(res, out, town_source=town.source, streets=inputs.streets)
    return res, files
