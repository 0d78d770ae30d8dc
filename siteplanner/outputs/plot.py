"""Maps (matplotlib): fit to be printed and projected.

Every map has a legend, a scale bar, a north arrow, the data source and date
(© OpenStreetMap contributors) and, when the incidents are synthetic, the word
"SYNTHETIC" as a hollow grey watermark (a colour no data layer uses). Maps show aggregated
densities, never incident points.

The functions build and return :class:`matplotlib.figure.Figure` objects (no pyplot state, no
backend chosen at import); the caller writes them (``fig.savefig``).
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from siteplanner.vocab import SENSITIVE_KINDS
from siteplanner.outputs import shapes, street_map

if TYPE_CHECKING:
    import matplotlib.axes

    from siteplanner.hotspots.grids import DensityGrid
    from siteplanner.result import Result

log = logging.getLogger(__name__)

__all__ = [
    "PATROL_COLOURS",
    "PHASE_STYLES",
    "HotspotClasses",
    "coverage_curve",
    "hotspot_classes",
    "plan_map",
]

#: marker and colour of the proposed sites of each phase, in phase order (none is a hotspot colour)
PHASE_STYLES = (
    ("o", "#2166ac"),
    ("D", "#762a83"),
    ("s", "#35978f"),
    ("^", "#4d4d4d"),
    ("P", "#5e3c99"),
    ("X", "#01665e"),
)
#: one colour per patrol circuit (none is a phase or hotspot colour)
PATROL_COLOURS = (
    "#1a9850",
    "#e7298a",
    "#8c510a",
    "#66a61e",
    "#bf812d",
    "#525252",
    "#f781bf",
    "#7fbc41",
)
EXISTING_COLOUR = "#111111"
HOTSPOT_CMAP = "YlOrRd"
WATERMARK_GREY = "#6e6e6e"


def polygons_patch(geoms: Any, **kwargs: Any) -> PathPatch:
    """One compound path patch for many polygons (holes kept): fast to draw, one style."""
    xy, codes, _ = shapes.ring_arrays(geoms)
    if not len(xy):
        return PathPatch(MplPath(np.zeros((1, 2))), **kwargs)
    return PathPatch(MplPath(xy, codes), **kwargs)


def lines_collection(geoms: Any, **kwargs: Any) -> LineCollection:
    """A line collection of LineStrings / MultiLineStrings."""
    return LineCollection([c for c in shapes.line_parts(geoms) if len(c)], **kwargs)


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    base = 10 ** np.floor(np.log10(target))
    return float(max(b * base for b in (1, 2, 5) if b * base <= target))


def add_scale_bar(ax: matplotlib.axes.Axes, at: tuple[float, float, float] | None = None) -> None:
    """A scale bar (axes in metres): at ``(x, y, length_m)``, else in the lower left corner."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    if at is None:
        length = _nice_length(x1 - x0)
        x, y = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    else:
        x, y, length = at
    h = 0.008 * (y1 - y0)
    ax.fill(
        [x, x + length, x + length, x],
        [y, y, y + h, y + h],
        color="black",
        zorder=20,
        gid="scale-bar",
    )
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x + length / 2, y + 2.2 * h, label, ha="center", va="bottom", fontsize=8, zorder=20)


def add_north_arrow(ax: matplotlib.axes.Axes) -> None:
    """A north arrow in the upper right corner (the projected grid's north)."""
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.87),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=11,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 10},
        zorder=20,
    )


def add_attribution(ax: matplotlib.axes.Axes, text: str) -> None:
    """The data source, in small print in the lower right corner of ``ax``."""
    ax.text(
        0.995,
        0.005,
        text,
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=6.5,
        color="#333",
        bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1.5},
        zorder=20,
    )


@functools.lru_cache(maxsize=1)
def _watermark_path() -> MplPath:
    """The outline of the word SYNTHETIC, 70 % of a unit square's width, turned 30°, centred."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    tp = TextPath((0, 0), "SYNTHETIC", size=1, prop=FontProperties(weight="bold"))
    ext = tp.get_extents()
    tr = (
        Affine2D()
        .translate(-(ext.x0 + ext.x1) / 2, -(ext.y0 + ext.y1) / 2)
        .scale(0.7 / ext.width)
        .rotate_deg(30)
        .translate(0.5, 0.5)
    )
    return tr.transform_path(tp)


def add_synthetic_mark(ax: matplotlib.axes.Axes, *, note: bool = True) -> None:
    """A hollow grey "SYNTHETIC" watermark across ``ax`` (no data layer is grey outline text)."""
    ax.add_patch(
        PathPatch(
            _watermark_path(),
            transform=ax.transAxes,
            facecolor="none",
            edgecolor=WATERMARK_GREY,
            linewidth=1.2,
            alpha=0.6,
            zorder=30,
            gid="synthetic-mark",
        )
    )
    if note:
        ax.text(
            0.01,
            0.99,
            "synthetic incidents — not real data",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=8,
            color="black",
            zorder=30,
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": WATERMARK_GREY, "pad": 2},
        )


# ---------------------------------------------------------------------------------------------
# hotspot classes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HotspotClasses:
    """Hotspot cells in classes (mapclassify).

    Attributes
    ----------
    classes
        ``(rows, cols)`` int array: the class of each cell, 0 the coolest, -1 outside the study
        area or without density.
    bins
        Upper bound of each class (the last is the maximum), in the grid's units.
    scheme
        ``quantiles`` or ``fisher_jenks``.
    streets
        The map shows the forecast's hotspot streets (segments coloured by class) instead of
        the cells (then ``bins`` is empty).
    """

    classes: np.ndarray
    bins: np.ndarray
    scheme: str
    streets: bool = False

    def labels(self, fmt: str = "{:,.0f}") -> list[str]:
        """Class limits as text, e.g. ``"1 200 – 4 300"``."""
        lo = np.r_[0.0, self.bins[:-1]]

        def f(v: float) -> str:
            return fmt.format(v).replace(",", " ")

        return [
            f"≤ {f(self.bins[0])}" if k == 0 else f"{f(lo[k])} – {f(self.bins[k])}"
            for k in range(len(self.bins))
        ]


def quantile_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of ``k`` quantile classes: the bins of ``mapclassify.Quantiles(values, k)``.

    The same rule (percentiles 100/k, 200/k... 100, duplicates merged), without importing
    mapclassify, which loads scikit-learn and compiles numba code on import (seconds per run).
    """
    pct = np.linspace(100 / k, 100, k)
    return np.unique(np.percentile(np.asarray(values, float), pct))


def hotspot_classes(
    grid: DensityGrid, inside: np.ndarray, *, k: int = 5, scheme: str = "quantiles"
) -> HotspotClasses:
    """Classify the grid cells inside the area that hold some density into ``k`` classes.

    Parameters
    ----------
    grid
        The hotspot grid.
    inside
        Boolean array of the grid's shape: the cells inside the study area
        (:func:`siteplanner.hotspots.forecast.grid_mask`).
    k
        Number of classes (fewer when the cells hold fewer distinct values).
    scheme
        ``quantiles`` (the same number of cells in each class, :func:`quantile_bins`) or
        ``fisher_jenks`` (natural breaks, ``mapclassify.FisherJenksSampled`` on at most 5,000
        cells).

    Returns
    -------
    HotspotClasses
    """
    if scheme not in ("quantiles", "fisher_jenks"):
        raise ValueError(f"scheme = {scheme!r}; accepted: 'quantiles' or 'fisher_jenks'")
    vals = np.asarray(grid.values, float)
    top = float(np.nanmax(vals)) if np.isfinite(vals).any() else 0.0
    keep = np.asarray(inside, bool) & np.isfinite(vals) & (vals > 1e-9 * max(top, 1e-300))
    classes = np.full(vals.shape, -1, dtype=np.int16)
    v = vals[keep]
    if len(v) == 0:
        return HotspotClasses(classes=classes, bins=np.zeros(0), scheme=scheme)
    kk = int(max(1, min(k, len(np.unique(v)))))
    if scheme == "quantiles":
        bins = quantile_bins(v, kk)
    else:
        import mapclassify  # imported here: it loads scikit-learn and compiles numba code (seconds)

        with warnings.catch_warnings():  # without numba mapclassify says it is slower: same breaks
            warnings.filterwarnings("ignore", message="Numba not installed", category=UserWarning)
            clf = mapclassify.FisherJenksSampled(
                v, k=kk, pct=min(1.0, 5000 / len(v)), truncate=False
            )
        bins = np.asarray(clf.bins, float)
    classes[keep] = np.minimum(np.searchsorted(bins, v, side="left"), len(bins) - 1)
    return HotspotClasses(classes=classes, bins=bins, scheme=scheme)


# ---------------------------------------------------------------------------------------------
# the plan map
# ---------------------------------------------------------------------------------------------


def _phase_order(res: Result) -> list[str]:
    names = [pp.phase.name for pp in (res.phase_plans or [])]
    shown = res.sites.loc[res.sites["status"] == "proposed", "phase"].dropna().unique().tolist()
    return [p for p in names if p in shown] + sorted(p for p in shown if p not in names)


def _draw_layers(
    ax: matplotlib.axes.Axes,
    res: Result,
    hc: HotspotClasses,
    cmap: ListedColormap,
    box: Any | None,
    *,
    detail: bool,
    edges: Any,
) -> None:
    """Hotspot classes, buildings, streets, study area, fields of view, patrols and sites."""
    _draw_base(ax, res, hc, cmap, box, detail=detail, edges=edges)
    shown = res.sites[res.sites["status"].isin(["existing", "proposed"])]
    ex = shown[shown["status"] == "existing"]
    _draw_views(ax, res, shown, ex, detail=detail)
    _draw_patrols(ax, res, detail=detail)
    _draw_markers(ax, res, shown, ex, detail=detail)


def _draw_base(
    ax: matplotlib.axes.Axes,
    res: Result,
    hc: HotspotClasses,
    cmap: ListedColormap,
    box: Any | None,
    *,
    detail: bool,
    edges: Any,
) -> None:
    """Hotspot classes, buildings, streets and the study area's boundary."""
    town, g = res.town, res.grid
    left, top = g.transform.c, g.transform.f
    right = left + g.transform.a * g.values.shape[1]
    bottom = top + g.transform.e * g.values.shape[0]
    if len(hc.bins) and not hc.streets:
        ax.imshow(
            np.ma.masked_less(hc.classes, 0),
            extent=(left, right, bottom, top),
            cmap=cmap,
            norm=BoundaryNorm(np.arange(-0.5, len(hc.bins) + 0.5), cmap.N),
            alpha=0.7,
            zorder=1,
            interpolation="nearest",
            gid="hotspot-classes",
        )
    b = town.buildings
    if box is not None:
        b = b.iloc[b.sindex.query(box, predicate="intersects")]
    ax.add_artist(
        polygons_patch(
            b.geometry,
            facecolor="#c9c9c9",
            edgecolor="#9a9a9a" if detail else "none",
            linewidth=0.3,
            zorder=2,
        )
    )
    if box is not None:
        edges = edges.iloc[edges.sindex.query(box, predicate="intersects")]
    ax.add_collection(
        lines_collection(
            edges.geometry, colors="#8a8a8a", linewidths=0.8 if detail else 0.45, zorder=2.5
        ),
        autolim=False,
    )
    if hc.streets:
        street_map.draw_hotspot_streets(ax, res.demand_.forecast, box, detail=detail)
    ax.add_collection(
        lines_collection(
            [town.area.boundary], colors="black", linewidths=1.2, linestyles="--", zorder=3
        ),
        autolim=False,
    )


def street_layer(res: Result, grid_classes: HotspotClasses, layer: str) -> HotspotClasses:
    """The hotspot layer of the map: the forecast's streets, or the grid cells (``layer``
    ``"grid"``, or no forecast on the streets)."""
    if layer == "grid" or res.demand_.forecast is None:
        return grid_classes
    return HotspotClasses(grid_classes.classes, np.zeros(0), grid_classes.scheme, streets=True)


def _draw_views(
    ax: matplotlib.axes.Axes, res: Result, shown: Any, ex: Any, *, detail: bool
) -> None:
    """Fields of view: existing cameras, then the proposed sites phase by phase."""
    ax.add_artist(
        polygons_patch(
            [res.fov.polygons[i] for i in ex.index],
            facecolor=EXISTING_COLOUR,
            alpha=0.18,
            edgecolor=EXISTING_COLOUR,
            linewidth=0.6,
            zorder=4,
        )
    )
    for (marker, colour), phase in zip(PHASE_STYLES, _phase_order(res)):
        idx = shown.index[(shown["status"] == "proposed") & (shown["phase"] == phase)]
        polys = [res.fov.polygons[i] for i in idx]
        ax.add_artist(
            polygons_patch(polys, facecolor=colour, alpha=0.35, edgecolor="none", zorder=4)
        )
        ax.add_artist(
            polygons_patch(
                polys,
                facecolor="none",
                edgecolor=colour,
                linewidth=1.1 if detail else 0.8,
                zorder=4.1,
            )
        )


def _draw_patrols(ax: matplotlib.axes.Axes, res: Result, *, detail: bool) -> None:
    """Patrol circuits and their stops."""
    for k, c in enumerate(res.circuits):
        col = PATROL_COLOURS[k % len(PATROL_COLOURS)]
        if c.geometry is not None and not c.geometry.is_empty:
            x, y = c.geometry.xy
            ax.plot(
                x,
                y,
                color=col,
                linewidth=2.6 if detail else 1.9,
                alpha=0.9,
                zorder=5,
                solid_capstyle="round",
            )
        if c.stops:
            ax.scatter(
                [s.x for s in c.stops],
                [s.y for s in c.stops],
                marker="*",
                s=110 if detail else 80,
                c=col,
                edgecolor="black",
                linewidths=0.5,
                zorder=6,
            )


def _draw_markers(
    ax: matplotlib.axes.Axes, res: Result, shown: Any, ex: Any, *, detail: bool
) -> None:
    """Sensitive sites, existing cameras and proposed sites (one marker per phase)."""
    town = res.town
    sens = town.pois[
        town.pois["kind"].isin(SENSITIVE_KINDS) & town.pois.within(town.area.buffer(50))
    ]
    if len(sens):
        ax.scatter(
            sens.geometry.x,
            sens.geometry.y,
            marker="^",
            s=28,
            c="white",
            edgecolor="#333333",
            linewidths=0.9,
            zorder=6,
        )
    if len(ex):
        ax.scatter(
            ex.geometry.x,
            ex.geometry.y,
            marker="s",
            s=22,
            c=EXISTING_COLOUR,
            edgecolor="white",
            linewidths=0.5,
            zorder=7,
        )
    for (marker, colour), phase in zip(PHASE_STYLES, _phase_order(res)):
        p = shown[(shown["status"] == "proposed") & (shown["phase"] == phase)]
        ax.scatter(
            p.geometry.x,
            p.geometry.y,
            marker=marker,
            s=46 if detail else 34,
            c=colour,
            edgecolor="white",
            linewidths=0.8,
            zorder=7,
        )


def _label_sites(ax: matplotlib.axes.Axes, res: Result, box: Any | None = None) -> list[Any]:
    """Rank labels of the proposed sites, placed without overlap (:func:`place_labels`)."""
    p = res.sites[res.sites["status"] == "proposed"].sort_values("rank")
    if box is not None:
        p = p[p.intersects(box)]
    if p.empty:
        return []
    texts = [
        ax.text(
            r.geometry.x,
            r.geometry.y,
            str(int(r["rank"])),
            fontsize=7.5,
            fontweight="bold",
            zorder=9,
            ha="center",
            va="center",
            gid="site-label",
            bbox={
                "boxstyle": "round,pad=0.15",
                "facecolor": "white",
                "edgecolor": "#555555",
                "linewidth": 0.5,
                "alpha": 0.92,
            },
        )
        for _, r in p.iterrows()
    ]
    shown = res.sites[res.sites["status"].isin(["existing", "proposed"])]
    place_labels(
        ax,
        texts,
        np.column_stack([p.geometry.x, p.geometry.y]),
        avoid_xy=np.column_stack([shown.geometry.x, shown.geometry.y]),
    )
    return texts


def place_labels(
    ax: matplotlib.axes.Axes,
    texts: list[Any],
    xy: np.ndarray,
    *,
    avoid_xy: np.ndarray | None = None,
    marker_px: float = 5.0,
) -> None:
    """Move each label, in turn, to the first free spot around its point (greedy).

    Spots are tried at growing distances (9 to 90 px) in eight directions, diagonals first; a
    spot is free when the label's box stays inside the axes and overlaps neither a label
    already placed nor a marker (``avoid_xy``, squares of ``2 * marker_px``). A label moved
    farther than its marker's edge gets a thin leader line. A label with no free spot within
    90 px stays beside its point (never seen on the default town).

    Parameters
    ----------
    ax
        Axes whose aspect and limits are final (call ``ax.apply_aspect()`` first).
    texts
        Text artists centred (``ha``/``va`` centre) on their points.
    xy
        ``(n, 2)`` their points, data coordinates.
    avoid_xy
        ``(m, 2)`` markers labels must not cover.
    """
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    to_data = ax.transData.inverted()
    # boxes taken so far, as rows (x0, y0, x1, y1) in pixels: the markers, then each label
    n_avoid = 0 if avoid_xy is None else len(avoid_xy)
    taken = np.empty((n_avoid + len(texts), 4))
    if n_avoid:
        p = ax.transData.transform(np.asarray(avoid_xy, float))
        taken[:n_avoid] = np.column_stack([p - marker_px, p + marker_px])
    n_taken = n_avoid
    angles = np.radians([45, 135, 315, 225, 90, 270, 0, 180])
    # the spots in the order they are tried: each distance, then each direction
    rads = np.repeat(np.array([9, 14, 20, 28, 38, 50, 64, 80, 90], float), len(angles))
    dx, dy = np.tile(np.cos(angles), 9), np.tile(np.sin(angles), 9)
    for t, (x, y) in zip(texts, np.asarray(xy, float)):
        px, py = ax.transData.transform((x, y))
        bb = t.get_window_extent(renderer)  # the text; its rounded box adds a pad of 0.15 font size
        pad = 0.15 * t.get_fontsize() * ax.figure.dpi / 72 + 1.5
        w, h = bb.width + 2 * pad, bb.height + 2 * pad
        cx, cy = px + dx * (rads + w / 2 - 4), py + dy * (rads + h / 2 - 4)
        x0, y0 = cx - w / 2, cy - h / 2
        x1, y1 = x0 + w, y0 + h
        free = (frame.x0 <= x0) & (x1 <= frame.x1) & (frame.y0 <= y0) & (y1 <= frame.y1)
        o = taken[:n_taken]
        hit = (
            (x0[:, None] <= o[:, 2])
            & (o[:, 0] <= x1[:, None])
            & (y0[:, None] <= o[:, 3])
            & (o[:, 1] <= y1[:, None])
        )
        free &= ~hit.any(axis=1)
        if free.any():
            i = int(np.argmax(free))
            cx, cy, rad = float(cx[i]), float(cy[i]), float(rads[i])
        else:
            cx, cy, rad = px, py + h, 0
        taken[n_taken] = (cx - w / 2, cy - h / 2, cx - w / 2 + w, cy - h / 2 + h)
        n_taken += 1
        t.set_position(tuple(to_data.transform((cx, cy))))
        if rad > 12:
            lx, ly = to_data.transform((cx, cy))
            ax.plot([x, lx], [y, ly], color="#333333", linewidth=0.6, zorder=8.9)


def _legend_handles(res: Result, hc: HotspotClasses, cmap: ListedColormap) -> list[Any]:
    sc, g = res.scenario, res.grid
    s = res.sites
    n_ex = int((s["status"] == "existing").sum())
    units = "weighted incidents / km²" if g.method != "near_repeat" else "risk score"
    h: list[Any] = [
        Patch(
            facecolor="none",
            edgecolor="none",
            label=f"hotspots ({g.method}, {g.window}):\n{units}, "
            f"{'quantile' if hc.scheme == 'quantiles' else 'Fisher–Jenks'} classes",
        )
    ]
    h += [Patch(facecolor=cmap(k), alpha=0.7, label=lab) for k, lab in enumerate(hc.labels())]
    if hc.streets:
        h = street_map.legend_handles(res.demand_.forecast)
    h += [
        Patch(color="#c9c9c9", label="buildings (OSM)"),
        Line2D([], [], color="black", linestyle="--", label=f"study area: {res.town.name}"),
        Line2D(
            [],
            [],
            marker="s",
            color=EXISTING_COLOUR,
            linestyle="",
            label=f"existing cameras ({n_ex})",
        ),
    ]
    for (marker, colour), phase in zip(PHASE_STYLES, _phase_order(res)):
        n = int(((s["status"] == "proposed") & (s["phase"] == phase)).sum())
        h.append(
            Line2D(
                [],
                [],
                marker=marker,
                color=colour,
                markeredgecolor="white",
                linestyle="",
                markersize=8,
                label=f"proposed, {phase} ({n} sites), rank",
            )
        )
    h.append(
        Patch(
            facecolor="#2166ac",
            alpha=0.35,
            edgecolor="#2166ac",
            label=f"field of view ({sc.camera.covered_at}, {res.fov.range_m:.0f} m)",
        )
    )
    for k, c in enumerate(res.circuits):
        h.append(
            Line2D(
                [],
                [],
                color=PATROL_COLOURS[k % len(PATROL_COLOURS)],
                linewidth=2.2,
                marker="*",
                markeredgecolor="black",
                markersize=9,
                label=f"patrol {c.name}: {c.length_m / 1000:.2f} km, {len(c.stops)} stops",
            )
        )
    h.append(
        Line2D(
            [],
            [],
            marker="^",
            color="#333333",
            markerfacecolor="white",
            linestyle="",
            label="schools, gares, bus stations",
        )
    )
    return h


def _title(res: Result) -> tuple[str, str]:
    phases = _phase_order(res)
    counts = res.sites.loc[res.sites["status"] == "proposed", "phase"].value_counts()
    shown = " and ".join(f"{p} ({int(counts.get(p, 0))} sites)" for p in phases) or "none"
    cov = [f"existing {res.coverage_before:.1%}"]
    cov += [f"after {pp.phase.name} {pp.coverage_share:.1%}" for pp in (res.phase_plans or [])]
    if not res.phase_plans:
        cov.append(f"after {res.scenario.plan.phase_name} {res.coverage_after:.1%}")
    return (
        f"{res.scenario.name}: proposed sites of {shown}",
        "demand weight covered: " + " → ".join(cov),
    )


def plan_map(
    res: Result, *, scheme: str = "quantiles", k: int = 5, layer: str | None = None
) -> Figure:
    """The plan's overview map, with a zoom panel over the densest cluster of sites.

    The map frame holds only data (and the scale bar, north arrow and source); the legend and
    the zoom panel stand to its right. Hotspot cells are drawn in ``k`` classes
    (:func:`hotspot_classes`); each phase of proposed sites has its own marker and colour,
    each patrol circuit its own colour; rank labels are placed without overlap.

    Parameters
    ----------
    res
        A pipeline result.
    scheme, k
        Hotspot classification (see :func:`hotspot_classes`).
    layer
        ``"streets"`` (the forecast's hotspot streets, :func:`street_layer`) or ``"grid"``
        (the cells); default: the scenario's ``[output] hotspot_layer``.

    Returns
    -------
    matplotlib.figure.Figure
        Axes labelled ``map`` (the town), ``legend`` and ``zoom``.
    """

    hc = hotspot_classes(res.grid, res.demand_.grid_inside, k=k, scheme=scheme)
    hc = street_layer(res, hc, layer or res.scenario.output.hotspot_layer)
    cmap = ListedColormap([_ylorrd(t) for t in np.linspace(0.12, 0.95, max(len(hc.bins), 1))])
    fig = Figure(figsize=(15, 10.2))
    FigureCanvasAgg(fig)  # a renderer for the label placement (no pyplot, no global backend)
    title, sub = _title(res)
    fig.text(0.01, 0.985, title, fontsize=13, fontweight="bold", va="top")
    fig.text(0.01, 0.955, sub, fontsize=10, va="top")
    ax = fig.add_axes((0.01, 0.045, 0.64, 0.89), label="map")
    ax.set_aspect("equal", adjustable="box", anchor="NW")
    ax.set_facecolor("#f4f1ea")
    edges = res.streets
    _draw_layers(ax, res, hc, cmap, None, detail=False, edges=edges)
    frame = res.figures.map_frame
    xmin, ymin, xmax, ymax = frame.extent
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_xticks([])
    ax.set_yticks([])
    add_scale_bar(ax, frame.scale_bar)
    add_north_arrow(ax)
    if res.synthetic:
        add_synthetic_mark(ax, note=False)
    lax = fig.add_axes((0.665, 0.43, 0.33, 0.505), label="legend")
    lax.axis("off")
    lax.legend(
        handles=_legend_handles(res, hc, cmap),
        loc="upper left",
        fontsize=8,
        frameon=True,
        framealpha=1.0,
        borderaxespad=0.0,
        labelspacing=0.45,
    )
    _zoom_panel(fig, ax, res, hc, cmap, edges)
    _plan_map_notes(fig, res)
    ax.apply_aspect()
    _label_sites(ax, res)
    log.info(
        "plan_map: %d hotspot class(es) (%s), %d phase(s), %d circuit(s)",
        len(hc.bins),
        hc.scheme,
        len(_phase_order(res)),
        len(res.circuits),
    )
    return fig


def _zoom_panel(
    fig: Figure,
    ax: matplotlib.axes.Axes,
    res: Result,
    hc: HotspotClasses,
    cmap: ListedColormap,
    edges: Any,
) -> None:
    """The zoom panel of :func:`plan_map` over the densest cluster of proposed sites, framed on
    ``ax`` (the window is the figures step's :func:`siteplanner.steps.figures.map_frame`; none
    when the study area is smaller than it)."""

    frame = res.figures.map_frame
    win = frame.zoom
    if win is None:
        return
    side = frame.zoom_side_m
    zax = fig.add_axes((0.675, 0.045, 0.31, 0.36), label="zoom")
    zax.set_aspect("equal", adjustable="box", anchor="S")
    zax.set_facecolor("#f4f1ea")
    _draw_layers(zax, res, hc, cmap, shapely.box(*win), detail=True, edges=edges)
    zax.set_xlim(win[0], win[2])
    zax.set_ylim(win[1], win[3])
    zax.set_xticks([])
    zax.set_yticks([])
    zax.set_title(
        f"zoom: densest cluster of proposed sites ({frame.zoom_sites}), "
        f"{side:.0f} m × {side:.0f} m",
        fontsize=9,
    )
    add_scale_bar(zax)
    ax.add_patch(
        Rectangle(
            (win[0], win[1]),
            win[2] - win[0],
            win[3] - win[1],
            fill=False,
            edgecolor="black",
            linewidth=1.3,
            linestyle="-",
            zorder=21,
            gid="zoom-frame",
        )
    )
    pad = 0.01 * side
    ax.text(win[0] + pad, win[3] - pad, "zoom", fontsize=7, va="top", ha="left", zorder=21)
    zax.apply_aspect()
    _label_sites(zax, res, shapely.box(*win))


def _plan_map_notes(fig: Figure, res: Result) -> None:
    """The sources line of :func:`plan_map`, and its SYNTHETIC banner when the incidents are."""
    fig.text(
        0.01,
        0.012,
        f"Streets, buildings: © OpenStreetMap contributors (ODbL), {res.town.source}. Incidents: "
        f"{'SYNTHETIC (simulated, not real data)' if res.synthetic else 'scenario files'}. "
        "siteplanner",
        fontsize=7.5,
        color="#333333",
        va="bottom",
    )
    if res.synthetic:
        fig.text(
            0.99,
            0.985,
            "SYNTHETIC incidents — not real data",
            fontsize=10,
            fontweight="bold",
            ha="right",
            va="top",
            bbox={"facecolor": "white", "edgecolor": WATERMARK_GREY, "pad": 3},
        )


def _ylorrd(t: float) -> tuple[float, float, float, float]:
    from matplotlib import colormaps

    return colormaps[HOTSPOT_CMAP](float(t))


def coverage_curve(res: Result) -> Figure:
    """Coverage versus number of new cameras (greedy order): where adding cameras stops paying."""
    c = np.asarray(res.curve if res.curve is not None else [], float)
    fig = Figure(figsize=(7, 4), layout="tight")
    ax = fig.add_subplot()
    if len(c):
        ax.plot(np.arange(len(c)), 100 * c, marker=".", color="#2166ac")
        k = len(res.proposed)
        if 0 < k < len(c):
            ax.axvline(k, color="grey", linestyle="--", linewidth=1)
            ax.annotate(
                f"{res.scenario.plan.phase_name}: {k} cameras, {100 * c[k]:.1f} %",
                (k, 100 * c[k]),
                xytext=(8, -14),
                textcoords="offset points",
                fontsize=8,
            )
    ax.set_xlabel("new cameras (each the best next site)")
    ax.set_ylabel("demand weight covered (%)")
    ax.set_title(
        f"{res.scenario.name}: coverage versus cameras"
        + (" — SYNTHETIC incidents" if res.synthetic else ""),
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    return fig
