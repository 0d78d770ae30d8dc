"""Maps (matplotlib): fit to be printed and projected.

Every map has a legend, a scale bar, a north arrow, the data source and date
(© OpenStreetMap contributors) and, when the incidents are synthetic, the word
"SYNTHETIC" in large letters. Maps show aggregated densities, never incident points.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, PathPatch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

if TYPE_CHECKING:
    from .pipeline import Result


def polygons_patch(geoms, **kwargs) -> PathPatch:
    """One compound path patch for many polygons (holes kept): fast to draw, one style."""
    import shapely

    verts, codes = [], []
    parts = shapely.get_parts(np.asarray([g for g in geoms if g is not None and not g.is_empty], dtype=object))
    for poly in parts:
        if poly.geom_type != "Polygon":
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)
            if len(xy) < 3:
                continue
            verts.append(xy)
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            codes.append(c)
    if not verts:
        return PathPatch(MplPath(np.zeros((1, 2))), **kwargs)
    return PathPatch(MplPath(np.concatenate(verts), np.concatenate(codes)), **kwargs)


def lines_collection(geoms, **kwargs) -> LineCollection:
    """A line collection of LineStrings / MultiLineStrings."""
    import shapely

    parts = shapely.get_parts(np.asarray(list(geoms), dtype=object))
    return LineCollection([np.asarray(g.coords) for g in parts if not g.is_empty], **kwargs)


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    base = 10 ** np.floor(np.log10(target))
    return float(max(b * base for b in (1, 2, 5) if b * base <= target))


def add_scale_bar(ax: plt.Axes) -> None:
    """A scale bar in the lower left corner (axes in metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    x, y = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    h = 0.008 * (y1 - y0)
    ax.fill([x, x + length, x + length, x], [y, y, y + h, y + h], color="black", zorder=20)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x + length / 2, y + 2.2 * h, label, ha="center", va="bottom", fontsize=8, zorder=20)


def add_north_arrow(ax: plt.Axes) -> None:
    """A north arrow in the upper right corner (the projected grid's north)."""
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.87), xycoords="axes fraction", ha="center", va="center",
                fontsize=11, fontweight="bold", arrowprops={"facecolor": "black", "width": 4, "headwidth": 10}, zorder=20)


def add_attribution(ax: plt.Axes, text: str) -> None:
    ax.text(0.995, 0.005, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=6.5, color="#333",
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1.5}, zorder=20)


def add_synthetic_mark(ax: plt.Axes) -> None:
    ax.text(0.5, 0.5, "SYNTHETIC", transform=ax.transAxes, ha="center", va="center", fontsize=60, color="red",
            alpha=0.12, rotation=30, fontweight="bold", zorder=30)
    ax.text(0.01, 0.99, "synthetic incidents — not real data", transform=ax.transAxes, ha="left", va="top", fontsize=8,
            color="red", zorder=30, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "red", "pad": 2})


def plan_map(res: Result, path: Path | str, *, dpi: int = 150) -> None:
    """The plan's overview map: study area, buildings, hotspots, cameras with fields of view, patrols."""
    town, sites = res.town, res.sites
    fig, ax = plt.subplots(figsize=(10, 10))
    ax.set_aspect("equal")
    ax.set_facecolor("#f4f1ea")
    import geopandas as gpd

    area = gpd.GeoSeries([town.area], crs=town.crs)
    xmin, ymin, xmax, ymax = town.area.buffer(60).bounds
    g = res.grid
    vals = np.ma.masked_less_equal(g.values, np.quantile(g.values[g.values > 0], 0.5) if (g.values > 0).any() else 0)
    left, top = g.transform.c, g.transform.f
    right = left + g.transform.a * g.values.shape[1]
    bottom = top + g.transform.e * g.values.shape[0]
    im = ax.imshow(vals, extent=(left, right, bottom, top), cmap="YlOrRd", alpha=0.75, zorder=1, interpolation="bilinear")
    ax.add_artist(polygons_patch(town.buildings.geometry, facecolor="#bdbdbd", edgecolor="none", zorder=2))
    ax.add_collection(lines_collection(area.boundary, colors="black", linewidths=1.2, linestyles="--", zorder=3), autolim=False)
    from .io import edges_gdf

    ax.add_collection(lines_collection(edges_gdf(town.graph, town.crs).geometry, colors="#7f7f7f", linewidths=0.5, zorder=2.5), autolim=False)
    shown = sites[sites["status"].isin(["existing", "proposed"])]
    for status, color in (("existing", "#1f77b4"), ("proposed", "#d62728")):
        polys = [res.fov.polygons[i] for i in shown.index[shown["status"] == status]]
        ax.add_artist(polygons_patch(polys, facecolor=color, alpha=0.45, edgecolor=color, linewidth=0.8, zorder=4))
    ex = sites[sites["status"] == "existing"]
    pr = sites[sites["status"] == "proposed"]
    if len(ex):
        ax.scatter(ex.geometry.x, ex.geometry.y, marker="s", s=25, c="#1f77b4", edgecolor="black", zorder=6)
    if len(pr):
        ax.scatter(pr.geometry.x, pr.geometry.y, marker="o", s=40, c="#d62728", edgecolor="black", zorder=6)
        for _, r in pr.iterrows():
            ax.annotate(str(int(r["rank"])), (r.geometry.x, r.geometry.y), xytext=(4, 4), textcoords="offset points",
                        fontsize=8, fontweight="bold", zorder=7)
    for c in res.circuits:
        if c.geometry is not None and not c.geometry.is_empty:
            x, y = c.geometry.xy
            ax.plot(x, y, color="#2ca02c", linewidth=2.2, zorder=5)
        if c.stops:
            ax.scatter([s.x for s in c.stops], [s.y for s in c.stops], marker="*", s=90, c="#2ca02c", edgecolor="black", zorder=6)
    sens = town.pois[town.pois["kind"].isin(["school", "station", "bus_station"]) & town.pois.within(town.area.buffer(50))]
    if len(sens):
        ax.scatter(sens.geometry.x, sens.geometry.y, marker="^", s=30, c="#9467bd", edgecolor="black", zorder=6)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    handles = [
        Patch(color="#fd8d3c", alpha=0.75, label=f"hotspot density ({g.method}, {g.window})"),
        Patch(color="#bdbdbd", label="buildings (OSM)"),
        Line2D([], [], color="black", linestyle="--", label=f"study area: {town.name}"),
        Line2D([], [], marker="s", color="#1f77b4", linestyle="", label=f"existing cameras ({len(ex)})"),
        Line2D([], [], marker="o", color="#d62728", linestyle="", label=f"proposed sites ({len(pr)}), rank"),
        Patch(color="#d62728", alpha=0.3, label=f"field of view ({res.scenario.camera.covered_at}, {res.fov.range_m:.0f} m)"),
        Line2D([], [], color="#2ca02c", linewidth=2.2, marker="*", label="patrol circuit and stops"),
        Line2D([], [], marker="^", color="#9467bd", linestyle="", label="schools, gares, bus stations"),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9, bbox_to_anchor=(1.0, 0.03))
    fig.colorbar(im, ax=ax, shrink=0.5, pad=0.01, label="weighted incidents per km²")
    ax.set_title(f"{res.scenario.name}: {res.scenario.plan.phase_name} — coverage {res.coverage_before:.1%} → "
                 f"{res.coverage_after:.1%} of demand weight", fontsize=12)
    add_scale_bar(ax)
    add_north_arrow(ax)
    add_attribution(ax, f"Streets, buildings: © OpenStreetMap contributors (ODbL), {town.source}. "
                        f"Incidents: {'SYNTHETIC' if res.synthetic else 'scenario files'}. siteplanner")
    if res.synthetic:
        add_synthetic_mark(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi, format="png", metadata={"Software": None})
    plt.close(fig)


def coverage_curve(res: Result, path: Path | str, *, dpi: int = 120) -> None:
    """Coverage versus number of new cameras (greedy order): where adding cameras stops paying."""
    c = np.asarray(res.curve if res.curve is not None else [], float)
    fig, ax = plt.subplots(figsize=(7, 4))
    if len(c):
        ax.plot(np.arange(len(c)), 100 * c, marker=".", color="#d62728")
        k = len(res.proposed)
        if 0 < k < len(c):
            ax.axvline(k, color="grey", linestyle="--", linewidth=1)
            ax.annotate(f"this phase: {k} cameras, {100 * c[k]:.1f} %", (k, 100 * c[k]), xytext=(8, -14),
                        textcoords="offset points", fontsize=8)
    ax.set_xlabel("new cameras (each the best next site)")
    ax.set_ylabel("demand weight covered (%)")
    ax.set_title(f"{res.scenario.name}: coverage versus cameras" + (" — SYNTHETIC incidents" if res.synthetic else ""), fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi, format="png", metadata={"Software": None})
    plt.close(fig)
