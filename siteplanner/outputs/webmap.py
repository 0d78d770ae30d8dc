"""The interactive map ``map.html``: one offline file, drawn from the OSM data itself.

No tile server and no library from the internet: buildings, streets, hotspot segments,
fields of view, privacy masks, cameras, patrols and sensitive sites are SVG paths in the
town's projected CRS (metres, y flipped), with a few lines of inline JavaScript for pan
(drag), zoom (wheel, buttons), layer switches and a click on a site that shows the figures
of its sheet in the report.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from siteplanner import __version__, files
from siteplanner.outputs import export
from siteplanner.outputs.plot import EXISTING_COLOUR, PATROL_COLOURS, PHASE_STYLES
from siteplanner.vocab import SENSITIVE_KINDS

if TYPE_CHECKING:
    from siteplanner.result import Result

log = logging.getLogger(__name__)

__all__ = ["build_map", "site_popups", "write_map"]


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
        parts: list[str] = []
        for g in geoms:
            if g is None or g.is_empty:
                continue
            for p in shapely.get_parts(g):
                if p.geom_type == "Polygon":
                    for ring in [p.exterior, *p.interiors]:
                        if len(ring.coords) >= 3:
                            parts.append("M" + self.pts(ring.coords) + "Z")
                elif p.geom_type == "LineString" and len(p.coords) >= 2:
                    parts.append("M" + self.pts(p.coords))
        return "".join(parts)

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


_CSS = (
    "\n"
    'html,body{margin:0;height:100%;overflow:hidden;font-family:system-ui,"DejaVu '
    'Sans",sans-serif}\n'
    "#map{position:absolute;top:0;left:0;width:100%;height:100%;background:#f4f1ea;cursor:grab}\n"
    "#panel{position:absolute;top:8px;right:8px;background:#fffe;border:1px solid "
    "#999;border-radius:6px;padding:8px 10px;font-size:13px;max-width:260px}\n"
    "#panel label{display:block} #panel h1{font-size:15px;margin:0 0 4px}\n"
    "#popup{position:absolute;left:8px;bottom:28px;background:#fff;border:1px solid "
    "#d62728;border-radius:6px;padding:8px 10px;font-size:13px;display:none;max-width:360px}\n"
    "#popup table{border-collapse:collapse} #popup td{padding:1px 6px;border-bottom:1px solid "
    "#eee;vertical-align:top}\n"
    "#attr{position:absolute;right:0;bottom:0;background:#fffc;font-size:11px;padding:2px 6px}\n"
    "#zoom{position:absolute;left:8px;top:8px} #zoom "
    "button{display:block;width:30px;height:30px;font-size:18px;margin-bottom:2px}\n"
    ".synthetic{color:#d62728;font-weight:bold}\n"
    ".site{cursor:pointer} .fov{cursor:pointer}\n"
)

_JS = (
    "\n"
    "(function(){\n"
    " const svg=document.getElementById('map'); const "
    "data=JSON.parse(document.getElementById('sites-data').textContent);\n"
    " let vb=svg.getAttribute('viewBox').split(' ').map(Number); const full=vb.slice();\n"
    " function set(){svg.setAttribute('viewBox',vb.join(' '));}\n"
    " function zoom(f,cx,cy){const nw=vb[2]*f,nh=vb[3]*f; "
    "vb=[cx-(cx-vb[0])*f,cy-(cy-vb[1])*f,nw,nh]; set();}\n"
    " function toUser(ev){const r=svg.getBoundingClientRect(); const "
    "s=Math.max(vb[2]/r.width,vb[3]/r.height);\n"
    "   const ox=vb[0]+(vb[2]-r.width*s)/2, oy=vb[1]+(vb[3]-r.height*s)/2; return "
    "[ox+(ev.clientX-r.left)*s, oy+(ev.clientY-r.top)*s, s];}\n"
    " svg.addEventListener('wheel',ev=>{ev.preventDefault(); const p=toUser(ev); "
    "zoom(ev.deltaY>0?1.2:1/1.2,p[0],p[1]);},{passive:false});\n"
    " let drag=null;\n"
    " svg.addEventListener('mousedown',ev=>{drag=[ev.clientX,ev.clientY,vb[0],vb[1],"
    "toUser(ev)[2]]; svg.style.cursor='grabbing';});\n"
    " window.addEventListener('mouseup',()=>{drag=null; svg.style.cursor='grab';});\n"
    " window.addEventListener('mousemove',ev=>{if(!drag)return; "
    "vb[0]=drag[2]-(ev.clientX-drag[0])*drag[4]; vb[1]=drag[3]-(ev.clientY-drag[1])*drag[4]; "
    "set();});\n"
    " document.getElementById('zin').onclick=()=>zoom(1/1.5,vb[0]+vb[2]/2,vb[1]+vb[3]/2);\n"
    " document.getElementById('zout').onclick=()=>zoom(1.5,vb[0]+vb[2]/2,vb[1]+vb[3]/2);\n"
    " document.getElementById('zfit').onclick=()=>{vb=full.slice(); set();};\n"
    " document.querySelectorAll('#panel "
    "input[data-layer]').forEach(cb=>{cb.addEventListener('change',()=>{\n"
    "   document.getElementById(cb.dataset.layer).style.display=cb.checked?'':'none';});});\n"
    " const pop=document.getElementById('popup');\n"
    " function esc(s){return "
    "String(s).replace(/[&<>\"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;'}[c]));}\n"
    " window.showSite=function(id){const d=data[id]; if(!d)return;\n"
    "   let h='<b>'+esc(d.site||id)+'</b><br>Site '+esc(id)+' <a "
    "href=\"report.html#site-'+encodeURIComponent(id)+'\">sheet</a><table>';\n"
    "   for(const k in d){if(k==='site')continue; "
    "h+='<tr><td>'+esc(k)+'</td><td>'+esc(d[k])+'</td></tr>';}\n"
    "   pop.innerHTML=h+'</table>'; pop.style.display='block'; pop.dataset.site=id;};\n"
    " document.querySelectorAll('[data-site]').forEach(el=>el.addEventListener('click"
    "',ev=>{ev.stopPropagation(); showSite(el.dataset.site);}));\n"
    "})();\n"
)


def _base_layers(res: Result, fr: _Frame) -> list[tuple[str, str, str, bool]]:
    """Buildings, streets, hotspot segments (in classes) and the study area."""
    town = res.town
    edges = res.streets
    segs = res.figures.hotspot_segments
    layers: list[tuple[str, str, str, bool]] = []
    layers.append(
        (
            "l-buildings",
            "buildings (OSM)",
            f'<path d="{fr.path(town.buildings.geometry.values)}" fill="#d6d0c4" stroke="#a9a191" '
            'stroke-width="0.3" fill-rule="evenodd"/>',
            True,
        )
    )
    layers.append(
        (
            "l-streets",
            "streets (OSM)",
            f'<path d="{fr.path(edges.geometry.values)}" fill="none" stroke="#888" '
            'stroke-width="1.2"/>',
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
            f'<path d="{fr.path([town.area])}" fill="none" stroke="#000" stroke-width="2" '
            'stroke-dasharray="8 5"/>',
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


def _document(
    res: Result, layers: list[tuple[str, str, str, bool]], popup_json: str, w: float, h: float
) -> str:
    """The HTML document around the map's layers: panel, zoom buttons, popup, script."""
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
        "<div "
        f'id="panel"><h1>{html.escape(res.scenario.name)}</h1>{synth}<div>{html.escape(_panel_text(res))}</div>'
        f"<div style='margin-top:4px'>{toggles}</div>"
        "<div style='font-size:11px;margin-top:4px'>Click a site or its field of view for its "
        "figures. Drag to pan, wheel to zoom.</div></div>"
        '<div id="popup"></div><div id="attr">© OpenStreetMap contributors (ODbL), '
        f"{html.escape(town.source)} "
        f"— {html.escape(town.crs)} — siteplanner {html.escape(__version__)}</div>"
        f'<script type="application/json" id="sites-data">{popup_json}'
        f"</script><script>{_JS}</script></body></html>"
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
    # the sites in their order, each popup's rows in the sheet's order (the name first)
    popup_json = json.dumps(popups, ensure_ascii=False).replace("</", "<\\/")
    doc = _document(res, layers, popup_json, w, h)
    log.info(
        "build_map: %d layer(s), %d site(s), %.1f MB", len(layers), len(popups), len(doc) / 1e6
    )
    return doc


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
