"""The figures of the review report: overview panels, site close-ups and patrol circuits.

:mod:`siteplanner.outputs.report` lays them out in ``report.html`` and ``report.pdf``. Every
function here draws what the :class:`~siteplanner.result.Result` holds and computes nothing of
its own: matplotlib figures (coverage before and after, patrol circuits, text pages of the PDF),
the close-up of each proposed site (a matplotlib axes for the PDF, inline SVG for the HTML) and
the PNG helpers that inline them."""

from __future__ import annotations

import html
import io as _io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch
from matplotlib.path import Path as MplPath

from siteplanner import __version__
from siteplanner.outputs import plot, shapes
from siteplanner.vocab import SENSITIVE_KINDS

if TYPE_CHECKING:
    from siteplanner.result import Result

ATTR = "© OpenStreetMap contributors (ODbL)"
DORI = ("detection", "observation", "recognition", "identification")
_DORI_STYLE = {"detection": ":", "observation": "--", "recognition": "-.", "identification": "-"}


def _paths(geoms: Any) -> list[MplPath]:
    """Matplotlib paths (holes kept) of the polygonal parts of ``geoms``."""
    xy, codes, part = shapes.ring_arrays(geoms)
    cut = np.flatnonzero(np.diff(part)) + 1
    return [MplPath(v, c) for v, c in zip(np.split(xy, cut), np.split(codes, cut)) if len(v)]


def _add_polys(ax: Axes, geoms: Any, **kw: Any) -> None:
    """Draw polygons (one collection, no geopandas redraw)."""
    paths = _paths(geoms)
    if paths:
        ax.add_collection(PathCollection(paths, **kw), autolim=False)


def _add_lines(ax: Axes, geoms: Any, **kw: Any) -> None:
    """Draw lines (one collection)."""
    segs = shapes.line_parts(geoms)
    if segs:
        ax.add_collection(LineCollection(segs, **kw), autolim=False)


def figure_png(fig: Figure, *, dpi: int, bbox: Any = None, quantize: bool = True) -> bytes:
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
        f"Streets, buildings: {ATTR}, {res.town.source}. Incidents: "
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


def coverage_fig(res: Result, edges: gpd.GeoDataFrame) -> Figure:
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
class CloseupData:
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
    def of(cls, res: Result, edges: gpd.GeoDataFrame) -> CloseupData:
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


def _closeup_base(ax: Axes, res: Result, data: CloseupData, box: Any) -> None:
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
    for lvl in DORI:
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


def closeup_page(ax: Axes, res: Result, i: int, *, data: CloseupData, half_m: float) -> None:
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


_SVG_DASH = {
    "detection": "2 3",
    "observation": "6 4",
    "recognition": "6 3 2 3",
    "identification": "none",
}


def _svg_cells(res: Result, x0: float, y1: float, xc: float, yc: float, half_m: float) -> str:
    """The hotspot cells of the close-up around (``xc``, ``yc``), as SVG rectangles."""
    from matplotlib import colormaps

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
                f'height="{-g.transform.e:g}" fill="{rgb}"/>'
            )
    return "".join(cells)


def _svg_base(data: CloseupData, box: Any, x0: float, y1: float, k: float) -> list[str]:
    """Buildings (dwellings apart) and streets in ``box``."""
    o = []
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
    return o


def _svg_view(
    res: Result, i: int, *, x0: float, y1: float, half_m: float, k: float, hatch: str
) -> list[str]:
    """Site ``i``'s field of view, privacy mask and DORI rings."""
    sites = res.sites
    o = [
        f'<path d="{_svg_path([res.fov.polygons[i]], x0, y1)}" fill="#d62728" fill-opacity="0.35" '
        f'stroke="#d62728" stroke-width="{1.4 * k:.3f}" fill-rule="evenodd"/>'
    ]
    mask = res.privacy_masks.get(i)
    if mask is not None and not mask.is_empty:
        o.append(
            f'<path d="{_svg_path([mask], x0, y1)}" fill="url(#{hatch})" stroke="#000" '
            f'stroke-width="{0.7 * k:.3f}" fill-rule="evenodd"/>'
        )
    for lvl in DORI:
        r = sites[f"{lvl}_m"].iloc[i] if f"{lvl}_m" in sites else None
        if r is not None and np.isfinite(r):
            da = (
                " ".join(f"{float(t) * k:.2f}" for t in _SVG_DASH[lvl].split())
                if _SVG_DASH[lvl] != "none"
                else "none"
            )
            o.append(
                f'<circle cx="{half_m:.1f}" cy="{half_m:.1f}" r="{r:.1f}" fill="none" '
                f'stroke="#444" stroke-width="{1.1 * k:.3f}" stroke-dasharray="{da}"/>'
                f'<text x="{half_m + 0.707 * r:.1f}" y="{half_m - 0.707 * r:.1f}" '
                f'font-size="{9 * k:.2f}" fill="#222">{lvl[0].upper()} {r:.0f} m</text>'
            )
    return o


def _svg_neighbours(
    data: CloseupData, box: Any, *, xc: float, yc: float, x0: float, y1: float, w: float, k: float
) -> list[str]:
    """The other cameras and the sensitive sites (with their names) in ``box``."""
    o = []
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
                f'height="{8 * k:.1f}" fill="{colour}" stroke="#000" stroke-width="{k:.3f}"/>'
                if square
                else f'<circle cx="{x_:.1f}" cy="{y_:.1f}" r="{4 * k:.1f}" '
                f'fill="{colour}" stroke="#000" stroke-width="{k:.3f}"/>'
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
            f'stroke-width="{k:.3f}"/><text x="{x_ + 6 * k:.1f}" y="{y_ + 10 * k:.1f}" '
            f'font-size="{9 * k:.2f}" fill="#5b2c83">'
            f"{html.escape(label)}</text>"
        )
    return o


def _svg_marks(res: Result, i: int, *, half_m: float, k: float) -> list[str]:
    """Site ``i``'s heading and marker, the scale bar, north, the SYNTHETIC mark, the frame."""
    w = 2 * half_m
    o = []
    h = res.sites["heading_deg"].iloc[i]
    if np.isfinite(h):
        d = 0.2 * half_m
        hx, hy = half_m + d * np.sin(np.radians(h)), half_m - d * np.cos(np.radians(h))
        o.append(
            f'<line x1="{half_m:.1f}" y1="{half_m:.1f}" x2="{hx:.1f}" y2="{hy:.1f}" '
            f'stroke="#d62728" stroke-width="{2.4 * k:.3f}"/>'
        )
    o.append(
        f'<circle cx="{half_m:.1f}" cy="{half_m:.1f}" r="{5.5 * k:.1f}" fill="#d62728" '
        f'stroke="#000" stroke-width="{1.2 * k:.3f}"/>'
    )
    bar = plot._nice_length(w)
    o.append(
        f'<rect x="{0.04 * w:.1f}" y="{0.94 * w:.1f}" width="{bar:g}" height="{0.008 * w:.2f}" '
        f'fill="#000"/><text x="{0.04 * w + bar / 2:.1f}" y="{0.93 * w:.1f}" '
        f'font-size="{10 * k:.2f}" text-anchor="middle">{bar:g} m</text>'
        f'<text x="{0.95 * w:.1f}" y="{0.09 * w:.1f}" font-size="{14 * k:.2f}" font-weight="bold" '
        f'text-anchor="middle">N</text><path d="M{0.95 * w:.1f},{0.02 * w:.1f} '
        f'l{-0.015 * w:.1f},{0.04 * w:.1f} h{0.03 * w:.1f}Z" fill="#000"/>'
    )
    if res.synthetic:
        o.append(
            f'<text x="{half_m:.1f}" y="{half_m:.1f}" font-size="{0.16 * w:.1f}" '
            'font-weight="bold" text-anchor="middle" dominant-baseline="middle" fill="none" '
            f'stroke="{plot.WATERMARK_GREY}" stroke-opacity="0.6" stroke-width="{1.2 * k:.3f}" '
            f'transform="rotate(-30 {half_m:.1f} {half_m:.1f})">SYNTHETIC</text>'
        )
    o.append(
        f'<rect width="{w:.1f}" height="{w:.1f}" fill="none" stroke="#000" '
        f'stroke-width="{1.5 * k:.3f}"/></svg>'
    )
    return o


def closeup_svg(res: Result, i: int, *, data: CloseupData, half_m: float, px: int = 560) -> str:
    """Close-up map of site ``i`` as inline SVG (vector: sharp at any zoom, and fast to write).

    Buildings (dwellings apart), streets, hotspot cells, the field of view, the privacy mask,
    the DORI rings, other cameras, sensitive sites with their names, the heading, a scale bar,
    north, and the SYNTHETIC mark when the incidents are. The key is shown once in the report.
    """
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
        'patternTransform="rotate(45)"><rect width="4" height="4" fill="#000" '
        'fill-opacity="0.45"/><line x1="0" y1="0" x2="0" y2="4" stroke="#000" stroke-width="1.5"/>'
        f'</pattern></defs><rect width="{w:.1f}" height="{w:.1f}" fill="#fff"/>'
    ]
    cells = _svg_cells(res, x0, y1, xc, yc, half_m)
    o += _svg_base(data, box, x0, y1, k)
    o.append(f'<g opacity="0.45">{cells}</g>')  # hotspots over the buildings, as on the PDF page
    o += _svg_view(res, i, x0=x0, y1=y1, half_m=half_m, k=k, hatch=hatch)
    o += _svg_neighbours(data, box, xc=xc, yc=yc, x0=x0, y1=y1, w=w, k=k)
    o += _svg_marks(res, i, half_m=half_m, k=k)
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


def closeup_key_png(res: Result) -> bytes:
    fig = Figure(figsize=(9.5, 0.75))
    fig.legend(handles=_closeup_key(), loc="center", ncol=5, fontsize=7.5, frameon=False)
    fig.text(0.5, 0.02, _attribution(res), ha="center", va="bottom", fontsize=6.5, color="#333")
    return figure_png(fig, dpi=90)


def patrol_fig(res: Result, edges: gpd.GeoDataFrame) -> Figure:
    fig = Figure(figsize=(9, 8))
    ax = fig.subplots()
    geoms = [c.geometry for c in res.circuits if c.geometry is not None and not c.geometry.is_empty]
    if geoms:
        around = shapely.union_all(geoms).buffer(120)
        if around.is_empty:  # circuits that do not leave their start: around their points
            around = shapely.multipoints(np.vstack([shapely.get_coordinates(g) for g in geoms]))
            around = around.buffer(120)
        xmin, ymin, xmax, ymax = around.bounds
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


def text_page(title: str, lines: list[str], *, synthetic: bool) -> Figure:
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
