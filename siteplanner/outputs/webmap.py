"""The interactive map ``map.html``: one offline file, drawn from the OSM data itself.

No tile server and no library from the internet: buildings, streets, hotspot segments,
fields of view, privacy masks, cameras, patrols and sensitive sites are SVG paths in the
town's projected CRS (metres, y flipped), with inline JavaScript (``webmap.js``, beside this
module) for pan (drag), zoom (wheel, buttons), layer switches and a click on a site that shows
the figures of its sheet in the report.

The page is also where the référent sûreté reviews the plan: each proposed site can be
accepted, rejected or moved (drag its marker), with a comment, the reviewer's name and the
date. A moved point is checked as the next run checks it
(:func:`siteplanner.town.placement.check_position`: inside a building, on an underground or
indoor way only, outside the study area), against the buildings and streets drawn in the page,
and the page says when it stands off the street. "Download review.csv" writes the rows of
:func:`siteplanner.review.review_rows` (the current review file's rows kept) with the page's
decisions, in :func:`siteplanner.review.review_text`'s format: the file the next run reads.
"""

from __future__ import annotations

import html
import json
import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyproj
import shapely

from siteplanner import __version__, files
from siteplanner import review as review_mod
from siteplanner.outputs import export
from siteplanner.outputs.plot import EXISTING_COLOUR, PATROL_COLOURS, PHASE_STYLES
from siteplanner.vocab import SENSITIVE_KINDS

if TYPE_CHECKING:
    from siteplanner.result import Result

log = logging.getLogger(__name__)

__all__ = ["MOVE_RULES", "build_map", "lonlat_fit", "review_data", "site_popups", "write_map"]

#: How the page judges a moved point, in metres: the rules of
#: :func:`siteplanner.town.placement.check_position` (``on_way_m``: this close to an
#: underground way is on it; ``surface_m``: a surface street this close makes it a street-level
#: point; outputs do not import the analysis layer, ``tests/test_browser.py`` checks that the
#: numbers agree) and ``off_street_m``: farther than this from every surface street's centre
#: line, the page warns that the mast stands off the street (the run accepts it, with a trench
#: from the street).
MOVE_RULES: dict[str, float] = {"on_way_m": 1.5, "surface_m": 3.0, "off_street_m": 10.0}


class _Frame:
    """Projected metres → SVG user units (origin top left, y down, 0.1 m precision)."""

    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        self.xmin, self.ymin, self.xmax, self.ymax = bounds

    def pts(self, coords: Any) -> str:
        c = np.asarray(coords, float)[:, :2]
        x = np.round(c[:, 0] - self.xmin, 1)
        y = np.round(self.ymax - c[:, 1], 1)
        return " ".join(f"{a:g},{b:g}" for a, b in zip(x, y))

    def path(self, geoms: Any) -> str:
        """SVG path data of (multi)polygons and (multi)lines."""
        return "".join(self.paths(geoms))

    def paths(self, geoms: Any) -> list[str]:
        """SVG path data of each geometry ("" for none, an empty one or a point): its
        polygons' rings of 3 points or more (``M…Z``) and its lines of 2 or more (``M…``)."""
        g = np.asarray(list(geoms) if not isinstance(geoms, np.ndarray) else geoms, dtype=object)
        out = [""] * len(g)
        ok = np.flatnonzero(~shapely.is_missing(g))
        if not len(ok):
            return out
        parts, owner = shapely.get_parts(g[ok], return_index=True)
        owner = ok[owner]
        kind = shapely.get_type_id(parts)
        poly, line = kind == 3, kind == 1
        rings, ring_of = shapely.get_rings(parts[poly], return_index=True)
        # rings and lines in the order of their parts (a polygon's exterior, then its holes)
        pieces = np.concatenate([rings, parts[line]])
        piece_part = np.concatenate([np.flatnonzero(poly)[ring_of], np.flatnonzero(line)])
        closed = np.r_[np.ones(len(rings), bool), np.zeros(int(line.sum()), bool)]
        order = np.argsort(piece_part, kind="stable")
        pieces, piece_part, closed = pieces[order], piece_part[order], closed[order]
        xy, which = shapely.get_coordinates(pieces, return_index=True)
        n = np.bincount(which, minlength=len(pieces))
        keep = n >= np.where(closed, 3, 2)
        x = np.round(xy[:, 0] - self.xmin, 1).tolist()
        y = np.round(self.ymax - xy[:, 1], 1).tolist()
        text = [f"{a:g},{b:g}" for a, b in zip(x, y)]
        ends = np.cumsum(n)
        for k in np.flatnonzero(keep):
            d = "M" + " ".join(text[ends[k] - n[k] : ends[k]]) + ("Z" if closed[k] else "")
            out[owner[piece_part[k]]] += d
        return out

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return round(x - self.xmin, 1), round(self.ymax - y, 1)


def site_popups(res: Result) -> dict[str, dict[str, Any]]:
    """The figures shown when a site is clicked: site id → label → value (strings)."""
    privacy = res.figures.privacy
    names = res.figures.addresses
    decisions = res.decisions.per_site
    s = res.sites
    out: dict[str, dict[str, Any]] = {}
    for i in s.index[s["status"].isin(["existing", "proposed"])]:
        r = s.loc[i]
        sid = str(r["site_id"])
        d: dict[str, Any] = {"site": names.at[i, "label"] if i in names.index else sid}
        d["reference (OSM)"] = sid
        d["status"] = r["status"]
        if r["status"] == "proposed":
            d["rank / phase"] = f"{int(r['rank'])} / {r['phase']}"
            if np.isfinite(r["marginal_gain"]):
                d["marginal gain"] = f"{r['marginal_gain']:.2%}"
            else:
                d["marginal gain"] = "– (fixed by review)"
            d["cost"] = f"{r['cost_eur']:,.0f} €".replace(",", " ")
            funded = r["funded_eur"]
            d["funded"] = f"{funded:,.0f} € ({res.scenario.plan.funded_share:.0%})".replace(
                ",", " "
            )
            dec = decisions.loc[i]
            d["review"] = dec["decision"] + (f": {dec['comment']}" if dec["comment"] else "")
            if dec["moved_from"]:
                d["moved"] = f"from {dec['moved_from']} by {dec['moved_by_m']:.0f} m"
        d["covers alone"] = f"{r['covered_weight']:.2%} of demand weight"
        n = int(r["covered_incidents"])
        mc = res.scenario.hotspots.min_count_shared
        d["incidents in view"] = f"< {mc}" if 0 < n < mc else str(n)
        d["heading / FOV"] = (
            f"{r['heading_deg']:.0f}°" if np.isfinite(r["heading_deg"]) else "360°"
        ) + f" / {r['fov_deg']:.0f}°"
        d["DORI (D/O/R/I)"] = (
            " / ".join(
                f"{r[f'{lvl}_m']:.0f}"
                for lvl in ("detection", "observation", "recognition", "identification")
                if f"{lvl}_m" in r
            )
            + " m"
        )
        if i in privacy.index:
            p = privacy.loc[i]
            d["privacy (L251-3)"] = (
                f"{p['facade_m']:.1f} m façade, {int(p['n_entrances'])} entrance(s), mask "
                f"{'yes' if not p.geometry.is_empty else 'no'}"
            )
        if isinstance(r.get("sensitive_sites"), str) and r["sensitive_sites"]:
            d["sensitive sites"] = r["sensitive_sites"]
        out[sid] = {k: str(v) for k, v in d.items()}
    return out


_CSS = """
html,body{margin:0;height:100%;overflow:hidden;font-family:system-ui,"DejaVu Sans",sans-serif}
#map{position:absolute;top:0;left:360px;width:calc(100% - 360px);height:100%;background:#f4f1ea;
cursor:grab}
#panel{position:absolute;top:8px;right:8px;background:#fffe;border:1px solid #999;border-radius:6px;
padding:8px 10px;font-size:13px;max-width:260px}
#panel label{display:block} #panel h1{font-size:15px;margin:0 0 4px}
#layers{margin-top:4px} #layers summary{cursor:pointer;font-weight:bold}
#popup{position:absolute;left:370px;bottom:28px;background:#fff;border:1px solid #d62728;
border-radius:6px;padding:8px 10px;font-size:13px;display:none;max-width:360px}
#popup table{border-collapse:collapse} #popup td{padding:1px 6px;border-bottom:1px solid #eee;
vertical-align:top}
#attr{position:absolute;right:0;bottom:0;background:#fffc;font-size:11px;padding:2px 6px}
#zoom{position:absolute;left:370px;top:8px}
#zoom button{display:block;width:30px;height:30px;font-size:18px;margin-bottom:2px}
.synthetic{color:#d62728;font-weight:bold}
.site{cursor:pointer} .fov{cursor:pointer} .site.movable{cursor:move}
#l-review{pointer-events:none}
#review{position:absolute;top:0;left:0;bottom:0;width:360px;box-sizing:border-box;overflow-y:auto;
background:#fff;border-right:1px solid #999;padding:8px 10px;font-size:13px}
#review h2{font-size:15px;margin:0 0 4px} #review p{margin:4px 0}
#review label{display:block;margin:2px 0} #rv-reviewer{width:calc(100% - 70px)}
.rv-site{border-top:1px solid #ddd;padding:5px 0}
.rv-site[data-decision=accept]{background:#eaf6ea}
.rv-site[data-decision=reject]{background:#fbeaea}
.rv-site[data-decision=move]{background:#e8f0f8} .rv-site[data-refused="1"]{background:#fbd5d5}
.rv-phase,.rv-hint{color:#666;font-size:11px}
.rv-btns button{font-size:12px;margin:2px 2px 2px 0;border:1px solid #999;border-radius:4px;
background:#f6f6f6;padding:2px 6px;cursor:pointer}
.rv-btns button.on[data-d=accept]{background:#2ca02c;color:#fff}
.rv-btns button.on[data-d=reject]{background:#d62728;color:#fff}
.rv-btns button.on[data-d=pending]{background:#777;color:#fff}
.rv-move{font-size:12px} .rv-move button{font-size:11px}
.rv-ok{color:#1a7a1a} .rv-note{color:#a85d00} .rv-bad{color:#c00;font-weight:bold}
.rv-comment{width:100%;box-sizing:border-box;font-size:12px;margin-top:2px}
#rv-actions{position:sticky;bottom:-8px;background:#fff;border-top:2px solid #999;padding:6px 0}
#rv-download,#rv-anyway{font-size:14px;padding:4px 10px;margin-right:6px}
#rv-warn{color:#a00;font-size:12px} #rv-warn ul{margin:2px 0;padding-left:18px}
#rv-count{font-size:12px;color:#333}
"""


def _script() -> str:
    """The page's script (``webmap.js``, beside this module)."""
    return resources.files("siteplanner.outputs").joinpath("webmap.js").read_text(encoding="utf-8")


def _base_layers(res: Result, fr: _Frame) -> list[tuple[str, str, str, bool]]:
    """Buildings, streets, hotspot segments (in classes) and the study area.

    One path per building and per street edge, in the order of :func:`review_data`'s
    ``buildings`` and ``streets``: the review checks a moved point against them. Underground
    and indoor ways are dashed.
    """
    town = res.town
    edges = res.streets
    segs = res.figures.hotspot_segments
    layers: list[tuple[str, str, str, bool]] = []
    bpaths = fr.paths(town.buildings.geometry.values)
    layers.append(
        (
            "l-buildings",
            "buildings (OSM)",
            '<g fill="#d6d0c4" stroke="#a9a191" stroke-width="0.3" fill-rule="evenodd">'
            + "".join(f'<path d="{d}"/>' for d in bpaths if d)
            + "</g>",
            True,
        )
    )
    below = edges["underground"].to_numpy(bool)
    spaths = fr.paths(edges.geometry.values)
    layers.append(
        (
            "l-streets",
            "streets (OSM; dashed: underground or indoor)",
            '<g fill="none" stroke="#888" stroke-width="1.2">'
            + "".join(
                f'<path d="{d}"' + (' stroke="#bbb" stroke-dasharray="3 2"' if b else "") + "/>"
                for d, b in zip(spaths, below)
                if d
            )
            + "</g>",
            True,
        )
    )
    hot = []
    breaks = export.hotspot_breaks(segs)
    ramp = ["#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"]
    per = segs["per_100m"].astype("Float64").fillna(-1.0).to_numpy(float)
    ncls = len(breaks) - 1
    for k in range(ncls):
        lo, hi = breaks[k], breaks[k + 1]
        sel = (per >= lo) & ((per < hi) if k < ncls - 1 else (per <= hi))
        col = (
            ramp[max(len(ramp) - ncls, 0) + k] if ncls <= len(ramp) else ramp[min(k, len(ramp) - 1)]
        )
        if sel.any():
            hot.append(
                f'<path d="{fr.path(segs.geometry.values[sel])}" fill="none" stroke="{col}" '
                f'stroke-width="{2 + 1.2 * k:g}" stroke-linecap="round" opacity="0.85">'
                f"<title>{lo:g}–{hi:g} incidents "
                "per 100 m</title></path>"
            )
    layers.append(
        (
            "l-hotspots",
            f"hotspot segments (incidents per 100 m, {html.escape(res.grid.window)})",
            "".join(hot),
            True,
        )
    )
    layers.append(
        (
            "l-area",
            f"study area: {html.escape(town.name)}",
            f'<path id="study-area" d="{fr.path([town.area])}" fill="none" stroke="#000" '
            'stroke-width="2" stroke-dasharray="8 5" fill-rule="evenodd"/>',
            True,
        )
    )
    return layers


def _site_svg(res: Result, fr: _Frame, style: dict[str, tuple[str, str]]) -> tuple[str, str, str]:
    """Fields of view, privacy masks and camera markers (with rank labels) of the shown sites."""
    privacy = res.figures.privacy
    names = res.figures.addresses
    s = res.sites
    shown = s[s["status"].isin(["existing", "proposed"])].sort_values(
        ["status", "rank", "site_id"], kind="stable"
    )
    fovs, masks, cams = [], [], []
    for i in shown.index:
        sid = html.escape(str(s.at[i, "site_id"]), quote=True)
        ex = s.at[i, "status"] == "existing"
        marker, col = ("s", EXISTING_COLOUR) if ex else style.get(s.at[i, "phase"], PHASE_STYLES[0])
        p = res.fov.polygons[i]
        if not p.is_empty:
            fovs.append(
                f'<path class="fov" data-site="{sid}" d="{fr.path([p])}" fill="{col}" '
                f'fill-opacity="0.35" stroke="{col}" stroke-width="0.8" fill-rule="evenodd"/>'
            )
        if i in privacy.index and not privacy.geometry.loc[i].is_empty:
            masks.append(
                f'<path d="{fr.path([privacy.geometry.loc[i]])}" fill="#000" fill-opacity="0.6"/>'
            )
        x, y = fr.xy(s.geometry.loc[i].x, s.geometry.loc[i].y)
        label = (
            ""
            if ex
            else f'<text x="{x + 6}" y="{y - 6}" font-size="11" '
            f'font-weight="bold">{int(s.at[i, "rank"])}</text>'
        )
        shape = _marker(marker, x, y, col)
        name = names.at[i, "label"] if i in names.index else ""
        title = html.escape(f"{name} (site {s.at[i, 'site_id']})" if name else f"site {sid}")
        cams.append(
            f'<g class="site" data-site="{sid}" id="site-{sid}"><title>{title}</title>'
            f"{shape}{label}</g>"
        )
    return "".join(fovs), "".join(masks), "".join(cams)


def _patrol_svg(res: Result, fr: _Frame) -> str:
    """Patrol circuits and their numbered stops."""
    pat = []
    for k, c in enumerate(res.circuits):
        col = PATROL_COLOURS[k % len(PATROL_COLOURS)]
        if c.geometry is not None and not c.geometry.is_empty:
            pat.append(
                f'<path d="{fr.path([c.geometry])}" fill="none" stroke="{col}" stroke-width="3.5" '
                'opacity="0.9">'
                f"<title>{html.escape(c.name)}: {c.length_m / 1000:.2f} km, {len(c.stops)} "
                "stops</title></path>"
            )
        for st in c.stops:
            x, y = fr.xy(st.x, st.y)
            pat.append(
                f'<g><circle cx="{x}" cy="{y}" r="7" fill="#fff" stroke="{col}" stroke-width="2"/>'
                f'<text x="{x}" y="{y + 3.5}" font-size="9" text-anchor="middle" '
                f'font-weight="bold">{st.order}</text>'
                f"<title>{html.escape(c.name)} stop {st.order}: {html.escape(st.name or 'stop')}, "
                f"{st.eta_min:.0f} min</title></g>"
            )
    return "".join(pat)


def _sensitive_svg(res: Result, fr: _Frame) -> str:
    """Schools, gares and bus stations, as triangles with their names."""
    sens = res.town.pois[res.town.pois["kind"].isin(SENSITIVE_KINDS)]
    tri = []
    for _, p in sens.iterrows():
        x, y = fr.xy(p.geometry.x, p.geometry.y)
        nm = html.escape(p["name"] if isinstance(p["name"], str) else p["kind"])
        tri.append(
            f'<polygon points="{x},{y - 8} {x - 7},{y + 5} {x + 7},{y + 5}" fill="#9467bd" '
            'stroke="#000">'
            f"<title>{nm} ({p['kind']})</title></polygon>"
        )
    return "".join(tri)


def _review_panel(res: Result, rv: dict[str, Any]) -> str:
    """The référent sûreté's review panel (filled in by the script from ``#review-data``)."""
    sc = res.scenario
    scenario = sc.path.as_posix() if sc.path is not None else "SCENARIO"
    return (
        '<div id="review"><h2>Review by the référent sûreté</h2>'
        "<p>For each proposed site: accept it, reject it, or drag its marker on the map to "
        "where the camera should stand (the page checks the point as the next run does). A "
        "comment per site, then your name, and download the file.</p>"
        '<label>Reviewer <input id="rv-reviewer" placeholder="name, rank, service" '
        f'value="{html.escape(rv["reviewer"], quote=True)}"></label>'
        '<label>Date <input type="date" id="rv-date"></label>'
        + ("" if rv["sites"] else "<p>No proposed site to review.</p>")
        + '<div id="rv-list"></div><div id="rv-actions">'
        '<button id="rv-download">Download review.csv</button>'
        '<button id="rv-anyway" hidden>Download anyway</button>'
        '<div id="rv-count"></div><div id="rv-warn"></div>'
        f'<div class="rv-hint">Save it as <code>{html.escape(rv["path"])}</code> (beside the '
        "scenario; the rows already decided in it are kept) and run the plan again: "
        f"<code>siteplanner run {html.escape(scenario)}</code>.</div></div></div>"
    )


def _document(
    res: Result,
    layers: list[tuple[str, str, str, bool]],
    popup_json: str,
    rv: dict[str, Any],
    w: float,
    h: float,
) -> str:
    """The HTML document around the map's layers: panels, zoom buttons, popup, script."""
    town = res.town
    body = "".join(f'<g id="{lid}">{svg}</g>' for lid, _, svg, _ in layers)
    toggles = "".join(
        f'<label><input type="checkbox" data-layer="{lid}" checked> {label}</label>'
        for lid, label, _, _ in layers
    )
    synth = (
        '<div class="synthetic">SYNTHETIC incidents — not real data</div>' if res.synthetic else ""
    )
    title = f"siteplanner — {res.scenario.name}: interactive map"
    review_json = json.dumps(rv, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{_CSS}</style>"
        "</head><body>"
        f'<svg id="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:g} {h:g}" '
        'preserveAspectRatio="xMidYMid meet">'
        f"{body}</svg>"
        '<div id="zoom"><button id="zin" title="zoom in">+</button><button id="zout" title="zoom '
        'out">−</button><button id="zfit" title="whole town">⌂</button></div>'
        f'<div id="panel"><h1>{html.escape(res.scenario.name)}</h1>{synth}'
        f"<div>{html.escape(_panel_text(res))}</div>"
        f"<details id='layers'><summary>Layers</summary>{toggles}</details>"
        "<div style='font-size:11px;margin-top:4px'>Click a site or its field of view for its "
        "figures. Drag to pan, wheel to zoom.</div></div>"
        + _review_panel(res, rv)
        + '<div id="popup"></div><div id="attr">© OpenStreetMap contributors (ODbL), '
        f"{html.escape(town.source)} "
        f"— {html.escape(town.crs)} — siteplanner {html.escape(__version__)}</div>"
        f'<script type="application/json" id="sites-data">{popup_json}</script>'
        f'<script type="application/json" id="review-data">{review_json}</script>'
        f"<script>{_script()}</script></body></html>"
    )


def build_map(res: Result) -> str:
    """The ``map.html`` document of a result (self-contained, offline)."""
    town = res.town
    xmin, ymin, xmax, ymax = town.area.buffer(town.margin_m).bounds
    fr = _Frame((xmin, ymin, xmax, ymax))
    w, h = round(xmax - xmin, 1), round(ymax - ymin, 1)
    popups = site_popups(res)
    layers = _base_layers(res, fr)
    phases = _phases(res)
    style = {ph: PHASE_STYLES[k % len(PHASE_STYLES)] for k, ph in enumerate(phases)}
    fovs, masks, cams = _site_svg(res, fr, style)
    layers.append(("l-fov", "fields of view", fovs, True))
    layers.append(("l-masks", "privacy masks (L251-3)", masks, True))
    layers.append(("l-patrols", "patrol circuits and stops", _patrol_svg(res, fr), True))
    layers.append(("l-sensitive", "schools, gares, bus stations", _sensitive_svg(res, fr), True))
    shapes = {"o": "●", "D": "◆", "s": "■", "^": "▲"}
    legend = ", ".join(
        f'<span style="color:{style[ph][1]}">{shapes.get(style[ph][0], "●")}</span> '
        f"{html.escape(ph)}"
        for ph in phases
    )
    layers.append(("l-cameras", f"cameras: existing ■, proposed (rank): {legend}", cams, True))
    layers.append(("l-review", "review: accepted, rejected, moved (from → to)", "", True))
    # the sites in their order, each popup's rows in the sheet's order (the name first)
    popup_json = json.dumps(popups, ensure_ascii=False).replace("</", "<\\/")
    rv = review_data(res, fr)
    log.info(
        "build_map: review of %d site(s), %d row(s); map units → WGS84 within %.1g°",
        len(rv["sites"]),
        len(rv["rows"]),
        rv["lonlat"]["max_error_deg"],
    )
    doc = _document(res, layers, popup_json, rv, w, h)
    log.info(
        "build_map: %d layer(s), %d site(s), %.1f MB", len(layers), len(popups), len(doc) / 1e6
    )
    return doc


def lonlat_fit(crs: str, fr: _Frame, *, degree: int = 4, n: int = 17) -> dict[str, Any]:
    """Map units → WGS84 as a polynomial the page evaluates: the town's projection, fitted.

    The page has no projection library: a moved point's longitude and latitude are
    ``sum(c[k] * s**i * t**j)`` over the terms ``(i, j)`` of total degree at most ``degree``,
    with ``s, t`` the map units centred on the frame and divided by its half size. Fitted by
    least squares on an ``n × n`` grid over the frame; ``max_error_deg`` is the largest
    error on a finer grid (about 1e-13 degrees over a commune, 1e-11 over 20 km: well below
    the review file's 7 decimals).
    """
    w, h = fr.xmax - fr.xmin, fr.ymax - fr.ymin
    cu, cv, scale = w / 2, h / 2, max(w, h) / 2
    terms = [(i, j) for i in range(degree + 1) for j in range(degree + 1 - i)]
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def design(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        s_, t_ = (u - cu) / scale, (v - cv) / scale
        return np.column_stack([s_**i * t_**j for i, j in terms])

    def grid(k: int) -> tuple[np.ndarray, np.ndarray]:
        u, v = np.meshgrid(np.linspace(0, w, k), np.linspace(0, h, k))
        return u.ravel(), v.ravel()

    u, v = grid(n)
    lon, lat = to_ll.transform(fr.xmin + u, fr.ymax - v)
    m = design(u, v)
    c_lon = np.linalg.lstsq(m, lon, rcond=None)[0]
    c_lat = np.linalg.lstsq(m, lat, rcond=None)[0]
    u2, v2 = grid(2 * n + 1)
    lon2, lat2 = to_ll.transform(fr.xmin + u2, fr.ymax - v2)
    m2 = design(u2, v2)
    err = float(max(np.abs(m2 @ c_lon - lon2).max(), np.abs(m2 @ c_lat - lat2).max()))
    return {
        "origin": [cu, cv],
        "scale": scale,
        "terms": terms,
        "lon": c_lon.tolist(),
        "lat": c_lat.tolist(),
        "max_error_deg": err,
    }


def _street_label(name: Any, highway: Any) -> str:
    """A street's name, else its kind (``placement._street_label``'s wording)."""
    if isinstance(name, str) and name:
        return name
    return f"a {str(highway).strip('[]').replace(chr(39), '')} without a name"


def review_data(res: Result, fr: _Frame) -> dict[str, Any]:
    """What the review page needs: the proposed sites, the review file's rows, the check's layers.

    ``sites`` lists the proposed sites in rank order, each with the row of the review file it
    is decided by (``row``: a moved site ``<id>-M`` is decided by the row of ``<id>``), its
    marker (``x, y``, map units) and the place a decision other than a move puts it back to
    (``home``: the original site's place for a moved site). ``rows`` are the rows the
    downloaded file starts from (:func:`siteplanner.review.review_rows` of the current review
    file), as written; ``buildings`` (``[osm_id, name]``) and ``streets`` (``[label,
    underground]``) follow the order of the paths of the ``l-buildings`` and ``l-streets``
    layers.
    """
    sc, s = res.scenario, res.sites
    names = res.figures.addresses
    ids = review_mod.proposed_site_ids(res)
    old = res.review.rows if res.review is not None else ()
    rows = review_mod.review_rows(ids, old)
    where = {str(sid): i for i, sid in zip(s.index, s["site_id"])}
    sites = []
    for sid, row in zip(ids, rows):
        i = where[sid]
        g = s.geometry.loc[i]
        home = s.geometry.loc[where[row.site_id]] if row.site_id in where else g
        sites.append(
            {
                "id": sid,
                "row": row.site_id,
                "rank": int(s.at[i, "rank"]),
                "phase": str(s.at[i, "phase"]),
                "label": str(names.at[i, "label"]) if i in names.index else "",
                "x": fr.xy(g.x, g.y)[0],
                "y": fr.xy(g.x, g.y)[1],
                "home": list(fr.xy(home.x, home.y)),
            }
        )
    b = res.town.buildings
    bnames = b["name"].where(b["name"].map(lambda v: isinstance(v, str)), "")
    buildings = [
        [str(o), str(nm)] for o, nm, d in zip(b["osm_id"], bnames, fr.paths(b.geometry.values)) if d
    ]
    e = res.streets
    streets = [
        [_street_label(nm, hw), int(ug)]
        for nm, hw, ug, d in zip(
            e["name"], e["highway"], e["underground"], fr.paths(e.geometry.values)
        )
        if d
    ]
    signed = [r.reviewer for r in old if r.decision != "pending" and r.reviewer]
    return {
        "columns": list(review_mod.COLUMNS),
        "rows": [r.as_record() for r in rows],
        "sites": sites,
        "file": sc.review_path.name,
        "path": sc.review_path.as_posix(),
        "reviewer": signed[-1] if signed else "",
        "area_name": res.town.name,
        "frame": [fr.xmin, fr.ymax],
        "rules": MOVE_RULES,
        "lonlat": lonlat_fit(res.town.crs, fr),
        "buildings": buildings,
        "streets": streets,
    }


def _phases(res: Result) -> list[str]:
    """Phases of the proposed sites, in plan order."""
    names = [pp.phase.name for pp in (res.phase_plans or [])]
    shown = res.sites.loc[res.sites["status"] == "proposed", "phase"].dropna().unique().tolist()
    return [p for p in names if p in shown] + sorted(p for p in shown if p not in names)


def _panel_text(res: Result) -> str:
    """Which phases the map shows, with the coverage each reaches."""
    n = res.sites.loc[res.sites["status"] == "proposed", "phase"].value_counts()
    cov = {pp.phase.name: pp.coverage_share for pp in (res.phase_plans or [])}
    cov.setdefault(res.scenario.plan.phase_name, res.coverage_after)
    parts = [
        f"{ph}: {int(n.get(ph, 0))} proposed site(s), coverage {cov[ph]:.1%}"
        if ph in cov
        else f"{ph}: {int(n.get(ph, 0))} proposed site(s)"
        for ph in _phases(res)
    ]
    return f"existing cameras: coverage {res.coverage_before:.1%}; " + "; ".join(parts)


def _marker(marker: str, x: float, y: float, col: str) -> str:
    """An SVG marker of the map.png shape (circle, diamond, square, triangle)."""
    if marker == "s":
        return f'<rect x="{x - 5}" y="{y - 5}" width="10" height="10" fill="{col}" stroke="#fff"/>'
    if marker == "D":
        return (
            f'<polygon points="{x},{y - 7} {x + 7},{y} {x},{y + 7} {x - 7},{y}" fill="{col}" '
            'stroke="#fff" stroke-width="1.2"/>'
        )
    if marker == "^":
        return (
            f'<polygon points="{x},{y - 7} {x - 6},{y + 5} {x + 6},{y + 5}" fill="{col}" '
            'stroke="#fff"/>'
        )
    return f'<circle cx="{x}" cy="{y}" r="6" fill="{col}" stroke="#fff" stroke-width="1.2"/>'


def write_map(res: Result, out_dir: str | Path) -> list[Path]:
    """Write ``map.html`` into ``out_dir``; returns the file written."""
    path = Path(out_dir) / "map.html"
    files.write_text(path, build_map(res))
    return [path]
