"""The review report: ``report.html`` (one self-contained file) and ``report.pdf``.

What the référent sûreté (the police or gendarmerie officer who advises the town on every
camera plan) and the CLSPD (conseil local de sécurité et de prévention de la délinquance)
read before deciding:

1. a summary: what was planned, with which data, which time windows, what is synthetic;
2. the maps: the plan, coverage before and after, coverage versus the number of cameras;
3. one sheet per proposed site: a close-up map (buildings, field of view, privacy mask,
   DORI ranges, hotspots, sensitive sites), the DORI ranges (EN 62676-4), the privacy
   figures (L251-3 CSI code), cost and funded share, rank and marginal gain, and the
   référent sûreté's decision;
4. the patrol circuits with their itineraries;
5. the evaluation dashboard for the period: indicateurs de contexte, d'activité, de résultats.

The HTML inlines every image (base64 PNG) and style: it opens offline and loads nothing.
The PDF holds the same content, one page per section or sheet. Only aggregates are shown,
never individual incidents; counts below the scenario's ``min_count_shared`` read "< n".
"""

from __future__ import annotations

import base64
import html
import io as _io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch
from matplotlib.path import Path as MplPath

from . import __version__, export, files, plot, report_sections
from .vocab import SENSITIVE_KINDS, small_count

if TYPE_CHECKING:
    from .result import Result

log = logging.getLogger(__name__)

__all__ = ["Report", "build_report", "write_report"]

_ATTR = "© OpenStreetMap contributors (ODbL)"
_DORI = ("detection", "observation", "recognition", "identification")
_DORI_STYLE = {"detection": ":", "observation": "--", "recognition": "-.", "identification": "-"}


@dataclass(frozen=True)
class Report:
    """A rendered report.

    Attributes
    ----------
    html
        The self-contained HTML document.
    pdf
        The multi-page PDF (empty when not asked for).
    figures
        Figure name → PNG bytes (the images inlined in the HTML).
    closeups
        Site id → the site's close-up map, inline SVG.
    site_ids
        Site ids that have a sheet, in rank order.
    """

    html: str
    pdf: bytes
    figures: dict[str, bytes] = field(default_factory=dict)
    site_ids: tuple[str, ...] = ()
    closeups: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# tables (pure)
# ---------------------------------------------------------------------------------------------


_small = small_count


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------


def _paths(geoms: Any) -> list[MplPath]:
    """Matplotlib paths (holes kept) of the polygonal parts of ``geoms``."""
    out = []
    for g in np.asarray(list(geoms), dtype=object):
        if g is None or g.is_empty:
            continue
        for part in shapely.get_parts(g):
            if part.geom_type != "Polygon":
                continue
            verts, codes = [], []
            for ring in [part.exterior, *part.interiors]:
                c = np.asarray(ring.coords)[:, :2]
                if len(c) < 3:
                    continue
                verts.append(c)
                codes.append(
                    [MplPath.MOVETO] + [MplPath.LINETO] * (len(c) - 2) + [MplPath.CLOSEPOLY]
                )
            if verts:
                out.append(MplPath(np.concatenate(verts), np.concatenate(codes)))
    return out


def _add_polys(ax: Axes, geoms: Any, **kw: Any) -> None:
    """Draw polygons (one collection, no geopandas redraw)."""
    paths = _paths(geoms)
    if paths:
        ax.add_collection(PathCollection(paths, **kw), autolim=False)


def _add_lines(ax: Axes, geoms: Any, **kw: Any) -> None:
    """Draw lines (one collection)."""
    segs = []
    for g in np.asarray(list(geoms), dtype=object):
        if g is None or g.is_empty:
            continue
        for part in shapely.get_parts(g):
            segs.append(np.asarray(part.coords)[:, :2])
    if segs:
        ax.add_collection(LineCollection(segs, **kw), autolim=False)


def _png(fig: Figure, *, dpi: int, bbox: Any = None, quantize: bool = True) -> bytes:
    """The figure as PNG bytes; ``quantize`` to a 256-colour palette (overviews, not close-ups)."""
    buf = _io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=dpi,
        metadata={"Software": None},
        bbox_inches=bbox,
        pil_kwargs={"compress_level": 0 if quantize else 2},
    )
    return _quantize(buf.getvalue()) if quantize else buf.getvalue()


def shrink_png(png: bytes, scale: float) -> bytes:
    """A PNG scaled down by ``scale`` (Lanczos) and quantized for the HTML (no second render)."""
    from PIL import Image

    im = Image.open(_io.BytesIO(png)).convert("RGB")
    im = im.resize(
        (max(1, round(im.width * scale)), max(1, round(im.height * scale))),
        Image.Resampling.BILINEAR,
        reducing_gap=2.0,
    )
    out = _io.BytesIO()
    im.save(out, format="PNG", compress_level=0)
    return _quantize(out.getvalue())


def _quantize(png: bytes) -> bytes:
    """The PNG with a 256-colour palette (3-4 times smaller, for the HTML)."""
    from PIL import Image

    im = (
        Image.open(_io.BytesIO(png))
        .convert("RGB")
        .quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    )
    out = _io.BytesIO()
    im.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def _attribution(res: Result) -> str:
    return (
        f"Streets, buildings: {_ATTR}, {res.town.source}. Incidents: "
        f"{'SYNTHETIC' if res.synthetic else 'scenario files'}. siteplanner {__version__}"
    )


def _finish_map(ax: Axes, res: Result, *, attribution: bool = True, scale_bar: bool = True) -> None:
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if scale_bar:
        plot.add_scale_bar(ax)
    plot.add_north_arrow(ax)
    if attribution:
        plot.add_attribution(ax, _attribution(res))
    if res.synthetic:
        plot.add_synthetic_mark(ax, note=attribution)


def _coverage_fig(res: Result, edges: gpd.GeoDataFrame) -> Figure:
    """Two panels: demand points seen by the existing cameras, and after the next phase."""
    s = res.sites
    xy = np.column_stack([res.demand.geometry.x, res.demand.geometry.y])
    existing = np.flatnonzero((s["status"] == "existing").to_numpy())
    after = np.flatnonzero(
        ((s["status"] == "existing") | s["site_id"].isin(res.proposed["site_id"])).to_numpy()
    )
    fig = Figure(figsize=(12, 6.2))
    axes = fig.subplots(1, 2)
    xmin, ymin, xmax, ymax = res.town.area.buffer(40).bounds
    for ax, idx, title, share in (
        (axes[0], existing, "existing cameras", res.coverage_before),
        (axes[1], after, f"after {res.scenario.plan.phase_name}", res.coverage_after),
    ):
        seen = (
            np.asarray(res.A[idx].sum(axis=0)).ravel() > 0 if len(idx) else np.zeros(len(xy), bool)
        )
        _add_lines(ax, edges.geometry, colors="#d0d0d0", linewidths=0.5, zorder=1)
        _add_lines(
            ax, [res.town.area.boundary], colors="black", linestyles="--", linewidths=1, zorder=1.5
        )
        w = res.demand["weight"].to_numpy(float)
        big = w >= np.quantile(w, 0.75) if len(w) else np.zeros(0, bool)
        ax.scatter(xy[big & ~seen, 0], xy[big & ~seen, 1], s=2, c="#fd8d3c", linewidths=0, zorder=2)
        ax.scatter(xy[seen, 0], xy[seen, 1], s=3, c="#d62728", linewidths=0, zorder=3)
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        ax.set_title(f"{title}: {share:.1%} of demand weight covered", fontsize=10)
        _finish_map(ax, res)
    axes[1].legend(
        handles=[
            Line2D(
                [],
                [],
                marker="o",
                color="#d62728",
                linestyle="",
                markersize=4,
                label="street demand seen",
            ),
            Line2D(
                [],
                [],
                marker="o",
                color="#fd8d3c",
                linestyle="",
                markersize=4,
                label="hot street demand (top quarter) not seen",
            ),
            Line2D([], [], color="black", linestyle="--", label=f"study area: {res.town.name}"),
        ],
        loc="lower right",
        fontsize=7,
        bbox_to_anchor=(1.0, 0.04),
    )
    fig.suptitle(f"{res.scenario.name}: coverage before and after", fontsize=12)
    fig.tight_layout()
    return fig


def _sensitive(res: Result) -> gpd.GeoDataFrame:
    p = res.town.pois
    return p[p["kind"].isin(SENSITIVE_KINDS)]


@dataclass(frozen=True)
class _CloseupData:
    """What the close-ups draw, as arrays (taken from the result once, not per sheet)."""

    buildings: np.ndarray
    residential: np.ndarray
    building_tree: Any
    streets: np.ndarray
    street_tree: Any
    existing_xy: np.ndarray
    proposed_xy: np.ndarray
    sensitive: gpd.GeoDataFrame

    @classmethod
    def of(cls, res: Result, edges: gpd.GeoDataFrame) -> _CloseupData:
        b = res.town.buildings
        geoms = np.asarray(b.geometry.array, dtype=object)
        resid = (
            b["residential"].astype(bool).to_numpy()
            if "residential" in b
            else np.zeros(len(b), bool)
        )
        streets = np.asarray(edges.geometry.array, dtype=object)
        s = res.sites
        xy = np.column_stack([s.geometry.x, s.geometry.y])
        return cls(
            buildings=geoms,
            residential=resid,
            building_tree=shapely.STRtree(geoms),
            streets=streets,
            street_tree=shapely.STRtree(streets),
            existing_xy=xy[(s["status"] == "existing").to_numpy()],
            proposed_xy=xy[(s["status"] == "proposed").to_numpy()],
            sensitive=_sensitive(res),
        )


def _in_box(xy: np.ndarray, box: Any) -> np.ndarray:
    x0, y0, x1, y1 = box.bounds
    return xy[(xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)]


def _closeup_base(ax: Axes, res: Result, data: _CloseupData, box: Any) -> None:
    """What every close-up shows in ``box``.

    Hotspots, buildings, streets, cameras and sensitive sites.
    """
    g = res.grid
    x0, y0, x1, y1 = box.bounds
    r0 = max(int((g.transform.f - y1) / -g.transform.e), 0)
    r1 = min(int((g.transform.f - y0) / -g.transform.e) + 1, g.values.shape[0])
    c0 = max(int((x0 - g.transform.c) / g.transform.a), 0)
    c1 = min(int((x1 - g.transform.c) / g.transform.a) + 1, g.values.shape[1])
    vals = g.values[r0:r1, c0:c1]
    if vals.size:
        vmax = float(np.nanmax(g.values)) or 1.0
        xs = g.transform.c + (c0 + np.arange(vals.shape[1] + 1)) * g.transform.a
        ys = g.transform.f + (r0 + np.arange(vals.shape[0] + 1)) * g.transform.e
        # cells as a mesh (a few hundred quads): cheaper to draw than an image resampled to the view
        ax.pcolormesh(
            xs,
            ys,
            np.ma.masked_less_equal(vals, 0.05 * vmax),
            cmap="YlOrRd",
            alpha=0.45,
            vmin=0,
            vmax=vmax,
            zorder=2.6,
            shading="flat",
            edgecolors="none",
            antialiased=False,
        )
    near = data.building_tree.query(box, predicate="intersects")
    resid = data.residential[near]
    ax.add_artist(
        plot.polygons_patch(
            data.buildings[near[~resid]],
            facecolor="#c8c8c8",
            edgecolor="#8c8c8c",
            linewidth=0.4,
            zorder=2,
        )
    )
    ax.add_artist(
        plot.polygons_patch(
            data.buildings[near[resid]],
            facecolor="#e6d3b3",
            edgecolor="#8c6d3c",
            linewidth=0.4,
            zorder=2,
        )
    )
    _add_lines(
        ax,
        data.streets[data.street_tree.query(box, predicate="intersects")],
        colors="#7f7f7f",
        linewidths=0.8,
        zorder=2.5,
    )
    for xy, marker, colour in (
        (data.existing_xy, "s", "#1f77b4"),
        (data.proposed_xy, "o", "#ff9896"),
    ):
        xy = _in_box(xy, box)
        if len(xy):
            ax.scatter(
                xy[:, 0], xy[:, 1], marker=marker, s=28, c=colour, edgecolor="black", zorder=5
            )
    sens = data.sensitive
    xy = _in_box(np.column_stack([sens.geometry.x, sens.geometry.y]).reshape(-1, 2), box)
    if len(xy):
        ax.scatter(xy[:, 0], xy[:, 1], marker="^", s=60, c="#9467bd", edgecolor="black", zorder=5)


def _closeup_site(ax: Axes, res: Result, i: int, *, half_m: float) -> None:
    """What is proper to site ``i``: its field of view, privacy mask, DORI rings, heading, names."""
    s = res.sites
    pt = s.geometry.iloc[i]
    x0, y0 = pt.x, pt.y
    box = shapely.box(x0 - half_m, y0 - half_m, x0 + half_m, y0 + half_m)
    _add_polys(
        ax,
        [res.fov.polygons[i]],
        facecolors=(0.84, 0.15, 0.16, 0.35),
        edgecolors="#d62728",
        linewidths=1,
        zorder=3,
    )
    mask = res.privacy_masks.get(i)
    if mask is not None and not mask.is_empty:
        _add_polys(
            ax,
            [mask],
            facecolors=(0, 0, 0, 0.55),
            hatch="////",
            edgecolors="black",
            linewidths=0.5,
            zorder=3.5,
        )
    for lvl in _DORI:
        r = s[f"{lvl}_m"].iloc[i] if f"{lvl}_m" in s else None
        if r is not None and np.isfinite(r):
            ax.add_patch(
                Circle(
                    (x0, y0),
                    r,
                    fill=False,
                    linestyle=_DORI_STYLE[lvl],
                    color="#444",
                    linewidth=0.8,
                    zorder=4,
                )
            )
            ax.annotate(
                f"{lvl[0].upper()} {r:.0f} m",
                (x0 + r * 0.707, y0 + r * 0.707),
                fontsize=6.5,
                color="#222",
                zorder=4,
                annotation_clip=True,
            )
    sens = _sensitive(res)
    for _, p in sens[sens.intersects(box)].iterrows():
        ax.annotate(
            str(p["name"]) if isinstance(p["name"], str) else p["kind"],
            (p.geometry.x, p.geometry.y),
            xytext=(4, -8),
            textcoords="offset points",
            fontsize=6.5,
            color="#5b2c83",
            zorder=6,
        )
    ax.scatter([x0], [y0], marker="o", s=70, c="#d62728", edgecolor="black", zorder=6)
    h = s["heading_deg"].iloc[i]
    if np.isfinite(h):
        d = 0.2 * half_m
        ax.annotate(
            "",
            xy=(x0 + d * np.sin(np.radians(h)), y0 + d * np.cos(np.radians(h))),
            xytext=(x0, y0),
            arrowprops={"arrowstyle": "->", "color": "#d62728", "lw": 1.8},
            zorder=6,
        )
    ax.set_xlim(x0 - half_m, x0 + half_m)
    ax.set_ylim(y0 - half_m, y0 + half_m)
    plot.add_scale_bar(ax)


def _closeup(ax: Axes, res: Result, i: int, *, data: _CloseupData, half_m: float) -> None:
    """Close-up map of site ``i`` with its key and sources (a PDF page)."""
    pt = res.sites.geometry.iloc[i]
    _closeup_base(
        ax, res, data, shapely.box(pt.x - half_m, pt.y - half_m, pt.x + half_m, pt.y + half_m)
    )
    _closeup_site(ax, res, i, half_m=half_m)
    _finish_map(ax, res, scale_bar=False)
    ax.legend(
        handles=_closeup_key(),
        loc="lower right",
        fontsize=6,
        framealpha=0.85,
        bbox_to_anchor=(1.0, 0.05),
    )


def _svg_path(geoms: Any, x0: float, y1: float) -> str:
    """SVG path data of polygons and lines, in metres from the box's top left corner (y down)."""
    parts: list[str] = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        for p in shapely.get_parts(g):
            rings = [p.exterior, *p.interiors] if p.geom_type == "Polygon" else [p]
            for ring in rings:
                c = np.asarray(ring.coords)[:, :2]
                if len(c) < 2:
                    continue
                pts = " ".join(f"{x - x0:.1f},{y1 - y:.1f}" for x, y in c)
                parts.append("M" + pts + ("Z" if p.geom_type == "Polygon" else ""))
    return "".join(parts)


def closeup_svg(res: Result, i: int, *, data: _CloseupData, half_m: float, px: int = 560) -> str:
    """Close-up map of site ``i`` as inline SVG (vector: sharp at any zoom, and fast to write).

    Buildings (dwellings apart), streets, hotspot cells, the field of view, the privacy mask,
    the DORI rings, other cameras, sensitive sites with their names, the heading, a scale bar,
    north, and the SYNTHETIC mark when the incidents are. The key is shown once in the report.
    """
    from matplotlib import colormaps

    sites = res.sites
    pt = sites.geometry.iloc[i]
    xc, yc = pt.x, pt.y
    hatch = f"hatch-{i}"  # ids are unique in the report
    x0, y1, w = xc - half_m, yc + half_m, 2 * half_m
    box = shapely.box(xc - half_m, yc - half_m, xc + half_m, yc + half_m)
    k = w / px  # metres per pixel: strokes and text are sized in pixels
    o: list[str] = [
        f'<svg class="closeup" xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
        f'viewBox="0 0 {w:.1f} {w:.1f}" role="img"><title>close-up map of site '
        f"{html.escape(str(sites['site_id'].iloc[i]))}</title>"
        f'<defs><pattern id="{hatch}" width="4" height="4" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="4" height="4" fill="#000" fill-opacity="0.45"/>'
        '<line x1="0" y1="0" x2="0" y2="4" stroke="#000" stroke-width="1.5"/></pattern></defs>'
        f'<rect width="{w:.1f}" height="{w:.1f}" fill="#fff"/>'
    ]
    g = res.grid
    r0 = max(int((g.transform.f - y1) / -g.transform.e), 0)
    r1 = min(int((g.transform.f - (yc - half_m)) / -g.transform.e) + 1, g.values.shape[0])
    c0 = max(int((x0 - g.transform.c) / g.transform.a), 0)
    c1 = min(int((xc + half_m - g.transform.c) / g.transform.a) + 1, g.values.shape[1])
    vmax = float(np.nanmax(g.values)) or 1.0
    cmap = colormaps["YlOrRd"]
    cells = []
    for r in range(r0, r1):
        for c in range(c0, c1):
            v = g.values[r, c]
            if not np.isfinite(v) or v <= 0.05 * vmax:
                continue
            rgb = "#%02x%02x%02x" % tuple(int(255 * t) for t in cmap(v / vmax)[:3])
            cx, cy = (
                g.transform.c + c * g.transform.a - x0,
                y1 - (g.transform.f + r * g.transform.e),
            )
            cells.append(
                f'<rect x="{cx:.1f}" y="{cy:.1f}" width="{g.transform.a:g}" '
                f'height="{-g.transform.e:g}" '
                f'fill="{rgb}"/>'
            )
    near = data.building_tree.query(box, predicate="intersects")
    resid = data.residential[near]
    for sel, fill, stroke in (
        (near[~resid], "#c8c8c8", "#8c8c8c"),
        (near[resid], "#e6d3b3", "#8c6d3c"),
    ):
        o.append(
            f'<path d="{_svg_path(data.buildings[sel], x0, y1)}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{0.6 * k:.3f}" fill-rule="evenodd"/>'
        )
    streets = data.streets[data.street_tree.query(box, predicate="intersects")]
    o.append(
        f'<path d="{_svg_path(streets, x0, y1)}" fill="none" stroke="#7f7f7f" '
        f'stroke-width="{1.1 * k:.3f}"/>'
    )
    o.append(
        f'<g opacity="0.45">{"".join(cells)}</g>'
    )  # hotspots over the buildings, as on the PDF page
    o.append(
        f'<path d="{_svg_path([res.fov.polygons[i]], x0, y1)}" fill="#d62728" fill-opacity="0.35" '
        f'stroke="#d62728" stroke-width="{1.4 * k:.3f}" fill-rule="evenodd"/>'
    )
    mask = res.privacy_masks.get(i)
    if mask is not None and not mask.is_empty:
        o.append(
            f'<path d="{_svg_path([mask], x0, y1)}" fill="url(#{hatch})" stroke="#000" '
            f'stroke-width="{0.7 * k:.3f}" fill-rule="evenodd"/>'
        )
    dash = {
        "detection": "2 3",
        "observation": "6 4",
        "recognition": "6 3 2 3",
        "identification": "none",
    }
    for lvl in _DORI:
        r = sites[f"{lvl}_m"].iloc[i] if f"{lvl}_m" in sites else None
        if r is not None and np.isfinite(r):
            da = (
                " ".join(f"{float(t) * k:.2f}" for t in dash[lvl].split())
                if dash[lvl] != "none"
                else "none"
            )
            o.append(
                f'<circle cx="{half_m:.1f}" cy="{half_m:.1f}" r="{r:.1f}" fill="none" '
                f'stroke="#444" '
                f'stroke-width="{1.1 * k:.3f}" stroke-dasharray="{da}"/>'
                f'<text x="{half_m + 0.707 * r:.1f}" y="{half_m - 0.707 * r:.1f}" '
                f'font-size="{9 * k:.2f}" '
                f'fill="#222">{lvl[0].upper()} {r:.0f} m</text>'
            )
    for xy, square, colour in (
        (data.existing_xy, True, "#1f77b4"),
        (data.proposed_xy, False, "#ff9896"),
    ):
        for x, y in _in_box(xy, box):
            if (x, y) == (xc, yc):
                continue
            x_, y_ = x - x0, y1 - y
            o.append(
                f'<rect x="{x_ - 4 * k:.1f}" y="{y_ - 4 * k:.1f}" width="{8 * k:.1f}" '
                f'height="{8 * k:.1f}" '
                f'fill="{colour}" stroke="#000" stroke-width="{k:.3f}"/>'
                if square
                else f'<circle cx="{x_:.1f}" cy="{y_:.1f}" r="{4 * k:.1f}" '
                f'fill="{colour}" stroke="#000" '
                f'stroke-width="{k:.3f}"/>'
            )
    sens = data.sensitive
    for (x, y), name, kind in zip(
        np.column_stack([sens.geometry.x, sens.geometry.y]).reshape(-1, 2),
        sens["name"],
        sens["kind"],
    ):
        if not (x0 <= x <= x0 + w and y1 - w <= y <= y1):
            continue
        x_, y_ = x - x0, y1 - y
        label = name if isinstance(name, str) and name else kind
        o.append(
            f'<polygon points="{x_:.1f},{y_ - 6 * k:.1f} {x_ - 5 * k:.1f},{y_ + 4 * k:.1f} '
            f'{x_ + 5 * k:.1f},{y_ + 4 * k:.1f}" fill="#9467bd" stroke="#000" '
            f'stroke-width="{k:.3f}"/>'
            f'<text x="{x_ + 6 * k:.1f}" y="{y_ + 10 * k:.1f}" font-size="{9 * k:.2f}" '
            f'fill="#5b2c83">'
            f"{html.escape(label)}</text>"
        )
    h = sites["heading_deg"].iloc[i]
    if np.isfinite(h):
        d = 0.2 * half_m
        hx, hy = half_m + d * np.sin(np.radians(h)), half_m - d * np.cos(np.radians(h))
        o.append(
            f'<line x1="{half_m:.1f}" y1="{half_m:.1f}" x2="{hx:.1f}" y2="{hy:.1f}" '
            f'stroke="#d62728" '
            f'stroke-width="{2.4 * k:.3f}"/>'
        )
    o.append(
        f'<circle cx="{half_m:.1f}" cy="{half_m:.1f}" r="{5.5 * k:.1f}" fill="#d62728" '
        f'stroke="#000" '
        f'stroke-width="{1.2 * k:.3f}"/>'
    )
    bar = plot._nice_length(w)
    o.append(
        f'<rect x="{0.04 * w:.1f}" y="{0.94 * w:.1f}" width="{bar:g}" '
        f'height="{0.008 * w:.2f}" fill="#000"/>'
        f'<text x="{0.04 * w + bar / 2:.1f}" y="{0.93 * w:.1f}" font-size="{10 * k:.2f}" '
        f'text-anchor="middle">{bar:g} m</text>'
        f'<text x="{0.95 * w:.1f}" y="{0.09 * w:.1f}" font-size="{14 * k:.2f}" font-weight="bold" '
        f'text-anchor="middle">N</text><path d="M{0.95 * w:.1f},{0.02 * w:.1f} l{-0.015 * w:.1f},'
        f'{0.04 * w:.1f} h{0.03 * w:.1f}Z" fill="#000"/>'
    )
    if res.synthetic:
        o.append(
            f'<text x="{half_m:.1f}" y="{half_m:.1f}" font-size="{0.16 * w:.1f}" '
            f'font-weight="bold" '
            f'text-anchor="middle" dominant-baseline="middle" fill="none" '
            f'stroke="{plot.WATERMARK_GREY}" '
            f'stroke-opacity="0.6" stroke-width="{1.2 * k:.3f}" transform="rotate(-30 {half_m:.1f} '
            f'{half_m:.1f})">SYNTHETIC</text>'
        )
    o.append(
        f'<rect width="{w:.1f}" height="{w:.1f}" fill="none" stroke="#000" '
        f'stroke-width="{1.5 * k:.3f}"/></svg>'
    )
    return "".join(o)


def _closeup_key() -> list[Any]:
    """The legend of the site close-ups."""
    return [
        Patch(color="#d62728", alpha=0.35, label="field of view"),
        Patch(facecolor="black", alpha=0.6, hatch="////", label="privacy mask (L251-3)"),
        Patch(color="#e6d3b3", label="dwellings"),
        Patch(color="#c8c8c8", label="other buildings"),
        Patch(color="#fd8d3c", alpha=0.55, label="hotspot density"),
        Line2D([], [], color="#444", linestyle="--", label="DORI ranges (D, O, R, I)"),
        Line2D([], [], marker="^", color="#9467bd", linestyle="", label="school / gare"),
        Line2D(
            [],
            [],
            marker="o",
            color="#ff9896",
            markeredgecolor="black",
            linestyle="",
            label="other proposed sites",
        ),
        Line2D(
            [],
            [],
            marker="s",
            color="#1f77b4",
            markeredgecolor="black",
            linestyle="",
            label="existing cameras",
        ),
    ]


def _closeup_key_png(res: Result) -> bytes:
    fig = Figure(figsize=(9.5, 0.75))
    fig.legend(handles=_closeup_key(), loc="center", ncol=5, fontsize=7.5, frameon=False)
    fig.text(0.5, 0.02, _attribution(res), ha="center", va="bottom", fontsize=6.5, color="#333")
    return _png(fig, dpi=90)


def _patrol_fig(res: Result, edges: gpd.GeoDataFrame) -> Figure:
    fig = Figure(figsize=(9, 8))
    ax = fig.subplots()
    geoms = [c.geometry for c in res.circuits if c.geometry is not None and not c.geometry.is_empty]
    if geoms:
        xmin, ymin, xmax, ymax = shapely.union_all(geoms).buffer(120).bounds
    else:
        xmin, ymin, xmax, ymax = res.town.area.bounds
    span = max(xmax - xmin, ymax - ymin) / 2
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    view = shapely.box(cx - span, cy - span, cx + span, cy + span)
    _add_lines(
        ax,
        edges.geometry.values[edges.sindex.query(view, predicate="intersects")],
        colors="#bdbdbd",
        linewidths=0.5,
        zorder=1,
    )
    b = res.town.buildings
    ax.add_artist(
        plot.polygons_patch(
            b.geometry.values[b.sindex.query(view, predicate="intersects")],
            facecolor="#e3e3e3",
            edgecolor="none",
            zorder=0.5,
        )
    )
    handles = []
    for k, c in enumerate(res.circuits):
        col = plot.PATROL_COLOURS[k % len(plot.PATROL_COLOURS)]
        if c.geometry is not None and not c.geometry.is_empty:
            x, y = c.geometry.xy
            ax.plot(x, y, color=col, linewidth=2.2, zorder=3)
        for st in c.stops:
            ax.scatter(
                [st.x], [st.y], marker="o", s=110, c="white", edgecolor=col, linewidth=1.5, zorder=4
            )
            ax.annotate(
                str(st.order),
                (st.x, st.y),
                ha="center",
                va="center",
                fontsize=7,
                fontweight="bold",
                zorder=5,
            )
        handles.append(
            Line2D(
                [],
                [],
                color=col,
                linewidth=2.2,
                label=f"{c.name}: {c.length_m / 1000:.2f} km, {len(c.stops)} stops",
            )
        )
    ax.set_xlim(cx - span, cx + span)
    ax.set_ylim(cy - span, cy + span)
    ax.legend(
        handles=handles,
        loc="upper center",
        fontsize=8,
        bbox_to_anchor=(0.5, -0.01),
        ncol=2,
        frameon=False,
    )  # below the map, not on it
    ax.set_title(f"{res.scenario.name}: patrol circuits (numbered stops)", fontsize=11)
    _finish_map(ax, res)
    fig.tight_layout()
    return fig


def _variant_notes(res: Result) -> list[str]:
    """One sentence per shift whose variants were asked: how many different circuits exist."""
    notes = []
    for shift, v in (res.counts.get("patrol_variants") or {}).items():
        if v["found"] < v["asked"]:
            notes.append(
                f"Shift {shift}: {v['asked']} variant(s) asked, {v['found']} found — no "
                f"other circuit within "
                f"{v['within_share']:.0%} of the best prize has at least half of its "
                f"stops different "
                "(variants that only reorder or reverse the stops are not counted)."
            )
        else:
            notes.append(
                f"Shift {shift}: {v['found']} variant(s), each within "
                f"{v['within_share']:.0%} of the best "
                "prize, with at least half of its stops different from the base circuit "
                "and the other variants."
            )
    return notes


def _text_page(title: str, lines: list[str], *, synthetic: bool) -> Figure:
    fig = Figure(figsize=(8.27, 11.69))
    fig.text(0.07, 0.95, title, fontsize=15, fontweight="bold", va="top")
    lines = [ln if len(ln) <= 110 else ln[:107] + "..." for ln in lines]
    if len(lines) > 75:
        lines = lines[:74] + [f"... ({len(lines) - 74} more lines in report.html)"]
    fig.text(
        0.07,
        0.91,
        "\n".join(lines),
        fontsize=8,
        va="top",
        family="DejaVu Sans Mono",
        linespacing=1.3,
    )
    if synthetic:
        fig.text(
            0.5,
            0.5,
            "SYNTHETIC",
            fontsize=70,
            color="red",
            alpha=0.1,
            rotation=30,
            ha="center",
            va="center",
        )
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n    ".join(textwrap.wrap(str(text), width)) or str(text)


def _table_lines(df: pd.DataFrame) -> list[str]:
    if df.empty:
        return ["(none)"]
    return [
        line
        for line in df.to_string(
            index=df.index.name is not None or not isinstance(df.index, pd.RangeIndex)
        ).splitlines()
    ]


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

_CSS = (
    "\n"
    'body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",'
    "sans-serif;margin:0 auto;max-width:1100px;padding:1em 2em;color:#222}\n"
    "h1{font-size:1.7em;margin-bottom:.2em} h2{border-bottom:2px solid #d62728;"
    "padding-bottom:.2em;margin-top:1.6em}\n"
    "h3{margin:.2em 0}\n"
    "table{border-collapse:collapse;margin:.5em 0;font-size:.9em} td,th{border:1px "
    "solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\n"
    "th{background:#f3f3f3} td.num{text-align:right}\n"
    "img,svg.closeup{max-width:100%;height:auto;border:1px solid #ddd}\n"
    ".synthetic{background:#fff0f0;border:2px solid #d62728;color:#a00;padding:.6em "
    "1em;font-weight:bold;margin:1em 0}\n"
    ".sheet{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1.2em 0;"
    "page-break-before:always;break-before:page}\n"
    ".sheet .cols{display:flex;gap:1em;flex-wrap:wrap} .sheet .cols>div{flex:1 1 "
    "420px}\n"
    ".badge{display:inline-block;padding:.1em .6em;border-radius:1em;font-size:.85em;"
    "font-weight:bold;color:#fff}\n"
    ".accept{background:#2ca02c}.reject{background:#d62728}.move{background:#ff7f0e}"
    ".pending{background:#7f7f7f}\n"
    "nav ol{columns:2} .small{font-size:.85em;color:#555} footer{margin-top:3em;"
    "font-size:.8em;color:#555}\n"
    "@media print{body{max-width:none;padding:0}nav{display:none}.sheet{border:none}}"
    "\n"
)


def _e(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return html.escape(str(v))


def _img(png: bytes, alt: str) -> str:
    return (
        f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
    )


def _table(df: pd.DataFrame, *, index: bool = False) -> str:
    if df.empty:
        return "<p class='small'>(none)</p>"
    d = df.reset_index() if index else df
    head = "".join(f"<th>{_e(c)}</th>" for c in d.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>"
        for row in d.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _kv(rows: list[tuple[str, Any]]) -> str:
    return (
        "<table>"
        + "".join(
            f"<tr><th>{_e(k)}</th><td>{v if isinstance(v, _Raw) else _e(v)}</td></tr>"
            for k, v in rows
        )
        + "</table>"
    )


class _Raw(str):
    """HTML that is already escaped."""


def _plain(v: Any) -> str:
    import re

    return re.sub(r"<[^>]+>", "", v) if isinstance(v, _Raw) else str(v)


def _badge(decision: str) -> _Raw:
    return _Raw(f'<span class="badge {html.escape(decision)}">{html.escape(decision)}</span>')


def _window_text(w: Any) -> str:
    if w is None:
        return "–"
    parts = [w.name]
    if w.hours:
        parts.append(f"{w.hours[0]}h–{w.hours[1]}h")
    if w.days != "all":
        parts.append(w.days)
    if w.school_holidays is not None:
        parts.append("school holidays" if w.school_holidays else "outside school holidays")
    if w.public_holidays is not None:
        parts.append("public holidays" if w.public_holidays else "outside public holidays")
    if w.period:
        parts.append(f"period {w.period}")
    return ", ".join(parts)


def _summary_rows(res: Result) -> list[tuple[str, Any]]:
    sc, p = res.scenario, res.plan
    incident_files = (
        sorted(set(res.incidents["file"])) if len(res.incidents) and "file" in res.incidents else []
    )
    model = sc.camera.chosen()
    prop = res.proposed
    ph = res.phases.iloc[0] if res.phases is not None and len(res.phases) else None
    cost = float(ph["cost_eur"]) if ph is not None else 0.0
    funded = float(ph["funded_eur"]) if ph is not None else 0.0
    rows: list[tuple[str, Any]] = [
        ("scenario", sc.name),
        ("study area", f"{res.town.name} ({res.town.area.area / 1e6:.2f} km², {res.town.crs})"),
        ("street and building data", f"OpenStreetMap extract {res.town.source} — {_ATTR}"),
        ("incident data", ", ".join(Path(f).name for f in incident_files) or "none"),
        (
            "synthetic incidents",
            "YES — not real data, for demonstration only" if res.synthetic else "no",
        ),
        (
            "incidents (in the window)",
            f"{len(res.incidents):,} ({len(res.window_incidents):,})".replace(",", " "),
        ),
        ("hotspot window", _window_text(sc.hotspots.window)),
        ("hotspot method", f"{res.grid.method} (cell {res.grid.cell_m:g} m)"),
        (
            "patrol windows",
            "; ".join(f"{s.name}: {_window_text(s.window)}" for s in sc.patrol.shifts),
        ),
        (
            "camera",
            f"{model.name} ({model.kind}), covered at {sc.camera.covered_at} "
            f"({res.fov.range_m:.0f} m, {res.fov.fov_deg:.0f}°)",
        ),
        ("plan", f"{sc.plan.phase_name}: {len(prop)} site(s), solver {p.solver}, gap {p.gap:.2%}"),
        ("coverage of demand weight", f"{res.coverage_before:.1%} → {res.coverage_after:.1%}"),
        (
            "cost of the phase",
            f"{cost:,.0f} € (funded {sc.plan.funded_share:.0%}: {funded:,.0f} €, "
            f"town {cost - funded:,.0f} €)".replace(",", " "),
        ),
        ("privacy policy (L251-3)", sc.candidates.privacy_policy),
    ]
    for r in res.phases.iloc[1:].to_dict("records") if res.phases is not None else []:
        rows.append(
            (
                f"later phase: {r['phase']}",
                f"{r['sites']} site(s), cost {r['cost_eur']:,.0f} €, "
                f"funded {r['funded_eur']:,.0f} €, coverage {r['coverage_share']:.1%}".replace(
                    ",", " "
                ),
            )
        )
    return rows


def _sheet_rows(
    res: Result, i: int, row: pd.Series, priv: pd.Series | None, decision: str, rv_row: Any
) -> list[tuple[str, Any]]:
    sc = res.scenario
    dori = ", ".join(
        f"{lvl} {row[f'{lvl}_m']:.0f} m"
        for lvl in _DORI
        if f"{lvl}_m" in row and np.isfinite(row[f"{lvl}_m"])
    )
    funded = row.get("funded_eur", row["cost_eur"] * sc.plan.funded_share)
    facade = priv["facade_m"] if priv is not None else row.get("privacy_facade_m", np.nan)
    n_ent = priv["n_entrances"] if priv is not None else row.get("privacy_entrances", 0)
    has_mask = priv is not None and not priv.geometry.is_empty
    rows = [
        ("rank / phase", f"{int(row['rank'])} / {row['phase']}"),
        (
            "marginal gain",
            f"{row['marginal_gain']:.2%} of demand weight"
            if np.isfinite(row["marginal_gain"])
            else "– (fixed by review)",
        ),
        ("covers alone", f"{row['covered_weight']:.2%} of demand weight"),
        (
            "incidents of the window in view",
            _small(int(row["covered_incidents"]), sc.hotspots.min_count_shared),
        ),
        ("kind / mount", f"{row['kind']} / {row['mount']}"),
        (
            "heading / field of view",
            (
                f"{row['heading_deg']:.0f}° ({export._compass(row['heading_deg'])})"
                if np.isfinite(row["heading_deg"])
                else "360°"
            )
            + f", {row['fov_deg']:.0f}°",
        ),
        ("DORI ranges (EN 62676-4)", dori or f"{sc.camera.covered_at} {row['range_m']:.0f} m"),
        ("sensitive sites within range", row.get("sensitive_sites") or "none"),
        (
            "privacy (L251-3)",
            f"{facade:.1f} m of residential façade, {int(n_ent)} entrance(s) seen at "
            f"recognition range; "
            f"mask {'declared' if has_mask else 'not needed'}",
        ),
        (
            "cost",
            f"{row['cost_eur']:,.0f} €".replace(",", " ")
            + f" (camera, mount, trench {row.get('trench_m', 0):.0f} m to the CSU)",
        ),
        (
            "funded share",
            (
                f"{funded:,.0f} € ({sc.plan.funded_share:.0%}); "
                f"town {row['cost_eur'] - funded:,.0f} €"
            ).replace(",", " "),
        ),
        ("network reach (150 m walk)", f"{row['reach_m']:.0f} m of street"),
        ("review decision", _badge(decision)),
    ]
    if rv_row is not None and (rv_row.comment or rv_row.reviewer):
        rows.append(
            ("review comment", f"{rv_row.comment} — {rv_row.reviewer} {rv_row.date}".strip(" —"))
        )
    return rows


def incident_rows_text(rows: dict | None, no_hour_in_window: int = 0) -> str:
    """One sentence on what happened to the incident files' rows (from ``summary.json`` counts)."""
    if not rows:
        return ""
    text = (
        f"{rows['rows']:,} rows read, {rows['kept']:,} kept ({rows['mapped']:,} by the "
        f"scenario's category "
        f"mapping, {rows['native']:,} already in the town's categories, "
        f"{rows['defaulted']:,} given the default "
        f"category), {rows['quarantined']:,} set aside in quarantine.csv, "
        f"{rows['outside_area']:,} outside the "
        f"study area; {rows['no_hour']:,} have a date but no hour (they count for "
        f"day-level windows only, "
        f"{no_hour_in_window:,} in the hotspot window)"
    )
    if rows.get("undated"):
        text += f", {rows['undated']:,} have no date"
    return text + "."


def build_report(
    res: Result,
    *,
    dpi: int = 80,
    pdf: bool = False,
    overview: Figure | None = None,
    overview_png: bytes | None = None,
) -> Report:
    """Render the review report of a result.

    Parameters
    ----------
    res
        A pipeline result.
    dpi
        Resolution of the overview images.
    pdf
        Also render the multi-page PDF (``[output] pdf = true``).
    overview
        The plan map already drawn by :func:`siteplanner.plot.plan_map` (drawn here if None).
    overview_png
        That map already rendered as PNG for the HTML (rendered here at ``dpi`` if None).

    Returns
    -------
    Report
    """
    sc = res.scenario
    figures: dict[str, bytes] = {}
    closeups: dict[str, str] = {}  # site id → inline SVG
    pdf_buf = _io.BytesIO()
    if pdf:
        from matplotlib.backends.backend_pdf import PdfPages  # imported only when asked (0.3 s)
    pages = (
        PdfPages(
            pdf_buf,
            metadata={
                "Title": f"siteplanner report: {sc.name}",
                "Creator": f"siteplanner {__version__}",
                "Producer": None,
                "CreationDate": None,
            },
        )
        if pdf
        else None
    )

    def keep(fig: Figure, name: str, *, bbox: Any = None) -> None:
        figures[name] = _png(fig, dpi=dpi, bbox=bbox)
        if pages is not None:
            pages.savefig(fig)

    try:
        summary_rows = _summary_rows(res)
        if pages is not None:
            lines = [f"{k}: {v}" for k, v in summary_rows]
            f = _text_page(
                f"siteplanner — {sc.name}: review report", lines, synthetic=res.synthetic
            )
            pages.savefig(f)
        # overview map and curve (plot.py draws them)
        overview = (
            plot.plan_map(res, scheme=sc.output.map_classes) if overview is None else overview
        )
        curve = plot.coverage_curve(res)
        figures["overview"] = overview_png if overview_png is not None else _png(overview, dpi=dpi)
        figures["curve"] = _png(curve, dpi=dpi)
        if pages is not None:
            pages.savefig(overview)
            pages.savefig(curve)
        edges = res.figures.streets
        keep(_coverage_fig(res, edges), "coverage")
        # one sheet per proposed site
        s = res.sites
        prop = s[s["status"] == "proposed"].sort_values(["rank", "site_id"], kind="stable")
        privacy = res.figures.privacy
        rv = res.review
        sheets = []
        positions = [s.index.get_loc(i) for i in prop.index]
        halves = [max(float(r) * 1.6, 60.0) for r in prop["range_m"]]
        data = _CloseupData.of(res, edges)
        for i, pos, half in zip(prop.index, positions, halves):
            row = s.loc[i]
            sid = str(row["site_id"])
            decision = rv.decision(sid) if rv is not None else "pending"
            rv_row = rv.row(sid) if rv is not None else None
            priv = privacy.loc[i] if i in privacy.index else None
            rows = _sheet_rows(res, pos, row, priv, decision, rv_row)
            closeups[sid] = closeup_svg(res, pos, data=data, half_m=half)
            if pages is not None:  # the PDF page: the close-up as vectors, and the figures as text
                fig = Figure(figsize=(11.69, 8.27))
                fig.text(
                    0.03,
                    0.95,
                    f"Site {sid} — rank {int(row['rank'])}, {row['phase']}",
                    fontsize=14,
                    fontweight="bold",
                )
                ax = fig.add_axes([0.02, 0.04, 0.56, 0.88])
                _closeup(ax, res, pos, data=data, half_m=half)
                fig.text(
                    0.6,
                    0.9,
                    "\n".join(_wrap(f"{k}: {_plain(v)}", 60) for k, v in rows),
                    va="top",
                    fontsize=8,
                    linespacing=1.5,
                )
                pages.savefig(fig)
            ll = gpd.GeoSeries([row.geometry], crs=res.town.crs).to_crs("EPSG:4326").iloc[0]
            sheets.append((sid, rows, row, ll))
        # patrols
        keep(_patrol_fig(res, edges), "patrols")
        itins = [(c, res.patrols.itineraries[c.name]) for c in res.circuits]
        dash = res.figures.dashboard
        effects = res.figures.review_effects
        if pages is not None:
            for c, steps in itins:
                lines = [
                    f"{c.length_m / 1000:.2f} km, {c.duration_min:.0f} of "
                    f"{c.budget_min:.0f} min, {len(c.stops)} stops, "
                    f"{c.speed_kmh:g} km/h"
                ]
                lines += [
                    f"stop {st.order}: {st.name or 'stop'} — arrive at {st.eta_min:.0f} min, stay "
                    f"{st.dwell_min:.0f} min"
                    for st in c.stops
                ]
                lines += [f"{k:>3}. {line}" for k, line in enumerate(steps, start=1)]
                f = _text_page(f"Patrol circuit: {c.name}", lines, synthetic=res.synthetic)
                pages.savefig(f)
            lines = []
            for name, df in dash.items():
                lines += ["", name.replace("_", " ").upper()] + _table_lines(df)
            f = _text_page("Evaluation dashboard", lines, synthetic=res.synthetic)
            pages.savefig(f)
            f = _text_page(
                "Review by the référent sûreté",
                _table_lines(effects[["site_id", "decision", "effect"]])
                if len(effects)
                else ["No review file: write one with `siteplanner review init SCENARIO`."],
                synthetic=res.synthetic,
            )
            pages.savefig(f)
    finally:
        if pages is not None:
            pages.close()

    # ---- HTML ----------------------------------------------------------------------------------
    h: list[str] = []
    a = h.append
    title = f"siteplanner — {sc.name}: review report"
    a(
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<meta name='viewport' "
        f"content='width=device-width,initial-scale=1'><style>{_CSS}</style></head><body>"
    )
    a(
        f"<h1>{_e(title)}</h1><p class='small'>{_e(sc.plan.phase_name)} — generated by "
        f"siteplanner {_e(__version__)}</p>"
    )
    if res.synthetic:
        a(
            "<div class='synthetic' id='synthetic'>SYNTHETIC incidents: the incident data "
            "of this report are synthetic "
            "(simulated), not real. Hotspots, coverage and patrols are illustrations of "
            "the method.</div>"
        )
    a(
        "<nav><h2>Contents</h2><ol><li><a href='#summary'>Summary</a></li><li><a "
        "href='#maps'>Maps</a></li>"
        "<li><a href='#review'>Review</a></li><li><a href='#sites'>Site "
        "sheets</a></li><li><a href='#patrols'>Patrols</a></li>"
        "<li><a href='#dashboard'>Dashboard</a></li><li><a "
        "href='#sources'>Sources</a></li></ol></nav>"
    )
    a("<section id='summary'><h2>Summary</h2>" + _kv(summary_rows) + "</section>")
    a(
        "<section id='maps'><h2>Maps</h2><h3>The plan</h3>"
        + _img(figures["overview"], "plan overview map")
    )
    a("<h3>Coverage before and after</h3>" + _img(figures["coverage"], "coverage before and after"))
    a(
        "<h3>Coverage versus cameras</h3><p>Each extra camera is the best next site; "
        "where the curve flattens, adding "
        "cameras stops paying.</p>"
        + _img(figures["curve"], "coverage versus number of cameras")
        + "</section>"
    )
    a("<section id='review'><h2>Review by the référent sûreté</h2>")
    if rv is None:
        a(
            f"<p>No review file yet ({_e(sc.review_path.name)}): write one with "
            f"<code>siteplanner review init "
            f"{_e(sc.path.name if sc.path else 'SCENARIO')}</code>, fill in a decision "
            f"per site (accept, reject, move, pending) "
            "and run again.</p>"
        )
    else:
        d = effects.copy()
        a(
            f"<p>{len(d)} row(s) in {_e(Path(rv.source).name)}: "
            + ", ".join(
                f"{int((d['decision'] == k).sum())} {k}"
                for k in ("accept", "reject", "move", "pending")
            )
            + ".</p>"
        )
        a(_table(d))
    a("</section>")
    a(f"<section id='sites'><h2>Site sheets ({len(sheets)} proposed sites)</h2>")
    a(
        "<table><thead><tr><th>rank</th><th>site</th><th>phase</th><th>gain</th><th>cost "
        "€</th><th>privacy mask</th>"
        "<th>review</th></tr></thead><tbody>"
    )
    for sid, _, row, _ in sheets:
        dec = rv.decision(sid) if rv is not None else "pending"
        a(
            f"<tr><td>{int(row['rank'])}</td><td><a "
            f"href='#site-{_e(sid)}'>{_e(sid)}</a></td><td>{_e(row['phase'])}</td>"
            f"<td>{row['marginal_gain']:.2%}</td><td>{row['cost_eur']:,.0f}</td>".replace(",", " ")
            + f"<td>{'yes' if bool(row.get('privacy_mask', False)) else 'no'}</td>"
            f"<td>{_badge(dec)}</td></tr>"
        )
    a("</tbody></table>")
    if sheets:
        a(
            "<p class='small'>Key of the close-ups:</p>"
            + _img(_closeup_key_png(res), "key of the close-up maps")
        )
    for sid, rows, row, ll in sheets:
        a(
            f"<section class='sheet' id='site-{_e(sid)}' "
            f"data-site-id='{_e(sid)}'><h3>Site {_e(sid)} — rank {int(row['rank'])}"
            f", {_e(row['phase'])}</h3><p class='small'>{ll.y:.6f} N, {ll.x:.6f} E"
            + (
                f" — {_e(row['name'])}"
                if isinstance(row.get("name"), str) and row.get("name")
                else ""
            )
            + "</p>"
            f"<div class='cols'><div>{closeups[sid]}</div>"
            f"<div>{_kv(rows)}</div></div></section>"
        )
    a("</section>")
    a(
        "<section id='patrols'><h2>Patrol circuits</h2>"
        + _img(figures["patrols"], "patrol circuits")
    )
    for note in _variant_notes(res):
        a(f"<p class='small'>{_e(note)}</p>")
    for c, steps in itins:
        a(
            f"<h3>{_e(c.name)}</h3><p>{c.length_m / 1000:.2f} km, {c.duration_min:.0f} of "
            f"{c.budget_min:.0f} min, "
            f"{len(c.stops)} stops, {c.speed_kmh:g} km/h.</p>"
        )
        a(
            _table(
                pd.DataFrame(
                    [
                        {
                            "stop": st.order,
                            "where": st.name or "–",
                            "arrive (min)": f"{st.eta_min:.0f}",
                            "stay (min)": f"{st.dwell_min:.0f}",
                        }
                        for st in c.stops
                    ]
                )
            )
        )
        if steps:
            a(
                "<details><summary>Itinerary, street by street, with the stops</summary><ol>"
                + "".join(
                    f"<li>{'<b>' + _e(t) + '</b>' if t.startswith('STOP') else _e(t)}</li>"
                    for t in steps
                )
                + "</ol></details>"
            )
    a("</section>")
    a("<section id='dashboard'><h2>Evaluation dashboard</h2>")
    a(
        f"<p class='small'>Period: {_e(_window_text(sc.hotspots.window))}. Aggregates "
        f"only; counts below "
        f"{sc.hotspots.min_count_shared} read “&lt; {sc.hotspots.min_count_shared}”.</p>"
    )
    a(
        "<h3>Indicateurs de contexte</h3><p>Incidents of the window by category and source:</p>"
        + _table(dash["contexte_categories"], index=True)
        + "<p>Around sensitive sites:</p>"
        + _table(dash["contexte_sites"])
    )
    a("<h3>Indicateurs d'activité</h3>" + _table(dash["activite"]))
    a("<h3>Indicateurs de résultats</h3>" + _table(dash["resultats"]) + "</section>")
    a(report_sections.sections_html(res))  # night, marches exploratoires, entrances, evidence (#17)
    a(
        "<section id='sources'><h2>Sources and methods</h2><ul>"
        f"<li>Streets, buildings, points of interest: {_ATTR}, extract {_e(res.town.source)}.</li>"
        "<li>DORI ranges: EN 62676-4 (detection 25, observation 62, recognition 125, "
        "identification 250 px/m).</li>"
        "<li>Privacy: L251-3 of the Code de la sécurité intérieure — cameras must not "
        "view the inside of dwellings nor "
        "their entrances; the masks are declared in prefecture.csv.</li>"
        "<li>Incidents: "
        + (
            "SYNTHETIC (simulated) incidents."
            if res.synthetic
            else "the scenario's incident files."
        )
        + " "
        + _e(
            incident_rows_text(
                res.counts.get("incident_rows"), res.counts.get("incidents_in_window_no_hour", 0)
            )
        )
        + "</li></ul></section>"
    )
    a(f"<footer>siteplanner {_e(__version__)} — {_ATTR}</footer></body></html>")
    log.info("build_report: %d site sheet(s), %d figure(s)", len(sheets), len(figures))
    return Report(
        html="".join(h),
        pdf=pdf_buf.getvalue() if pdf else b"",
        figures=figures,
        site_ids=tuple(sid for sid, *_ in sheets),
        closeups=closeups,
    )


def write_report(
    res: Result,
    out_dir: str | Path,
    *,
    pdf: bool = False,
    overview: Figure | None = None,
    overview_png: bytes | None = None,
) -> list[Path]:
    """Write ``report.html`` (and ``report.pdf`` if ``pdf``) into ``out_dir``.

    Returns the files written.
    """
    out_dir = Path(out_dir)
    rep = build_report(res, pdf=pdf, overview=overview, overview_png=overview_png)
    files.write_text(out_dir / "report.html", rep.html)
    written = [out_dir / "report.html"]
    if pdf:
        files.write_with(out_dir / "report.pdf", lambda p: Path(p).write_bytes(rep.pdf))
        written.append(out_dir / "report.pdf")
    return written
