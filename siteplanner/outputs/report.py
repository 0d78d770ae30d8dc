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

import io as _io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from siteplanner import __version__, files
from siteplanner.outputs import export, plot, sections as report_sections, tables
from siteplanner.outputs.figures import (
    ATTR,
    DORI,
    CloseupData,
    closeup_key_png,
    closeup_page,
    closeup_svg,
    coverage_fig,
    figure_png,
    patrol_fig,
    text_page,
)
from siteplanner.outputs.html import CSS, badge, esc, img, kv, plain, table, window_text
from siteplanner.vocab import small_count

if TYPE_CHECKING:
    from siteplanner.result import Result
    from siteplanner.scenario import Scenario

log = logging.getLogger(__name__)

__all__ = [
    "Report",
    "build_report",
    "review_hint",
    "write_report",
]


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


def forecast_text(res: Result) -> str:
    """What the hotspot forecast is and how the default chose it (the summary's row)."""
    f = res.demand_.forecast
    if f is None:
        return f"{res.grid.method} (cell {res.grid.cell_m:g} m)"
    params = ", ".join(
        f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
        for k, v in f.params.items()
        if v is not None
    )
    text = f"{f.method} on {int(f.segments['inside'].sum()):,} street segments"
    text += f" ({params})" if params else ""
    if f.candidates:
        p = f.inner.get("inner_pai_net", [])
        text += (
            f"; chosen among {len(f.candidates)} grid and street methods by an inner temporal "
            f"split ({f.inner['fitted_on']:,} incidents fitted, {f.inner['held_out']:,} held out; "
            f"PAI at 1/5/10 % of street length {' / '.join(f'{v:.1f}' for v in p)})"
        )
    if f.warnings:
        text += ". Warning: " + "; ".join(f.warnings)
    return text


def _variant_notes(res: Result) -> list[str]:
    """One sentence per shift whose variants were asked: how many different circuits exist."""
    notes = []
    for shift, v in (res.counts.get("patrol_variants") or {}).items():
        if v["found"] < v["asked"]:
            notes.append(
                f"Shift {shift}: {v['asked']} variant(s) asked, {v['found']} found — no other "
                f"circuit within {v['within_share']:.0%} of the best prize has at least half of "
                "its stops different (variants that only reorder or reverse the stops are not "
                "counted)."
            )
        else:
            notes.append(
                f"Shift {shift}: {v['found']} variant(s), each within {v['within_share']:.0%} of "
                "the best prize, with at least half of its stops different from the base circuit "
                "and the other variants."
            )
    return notes


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
        ("street and building data", f"OpenStreetMap extract {res.town.source} — {ATTR}"),
        ("incident data", ", ".join(Path(f).name for f in incident_files) or "none"),
        (
            "synthetic incidents",
            "YES — not real data, for demonstration only" if res.synthetic else "no",
        ),
        (
            "incidents (in the window)",
            f"{len(res.incidents):,} ({len(res.window_incidents):,})".replace(",", " "),
        ),
        ("hotspot window", window_text(sc.hotspots.window)),
        ("hotspot method", forecast_text(res)),
        (
            "patrol windows",
            "; ".join(f"{s.name}: {window_text(s.window)}" for s in sc.patrol.shifts),
        ),
        (
            "camera",
            f"{model.name} ({model.kind}), covered at {sc.camera.covered_at} "
            f"({res.fov.range_m:.0f} m, {res.fov.fov_deg:.0f}°)",
        ),
        (
            "plan",
            f"{sc.plan.phase_name}: {len(prop)} site(s), solver {p.solver}, gap {p.gap:.2%}; "
            + (
                f"no two sites less than {sc.plan.min_spacing_m:g} m apart"
                if sc.plan.min_spacing_m
                else "no spacing rule between sites"
            ),
        ),
        ("existing cameras", tables.existing_cameras_text(res)),
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


def site_label(res: Result, i: Any) -> str:
    """The name of site ``i`` (a label of the sites' index) as a référent sûreté says it."""
    names = res.figures.addresses
    if i in names.index and names.at[i, "label"]:
        return str(names.at[i, "label"])
    return str(res.sites.at[i, "site_id"])


def _review_rows(res: Result, i: Any) -> list[tuple[str, Any]]:
    """The référent sûreté's decision on site ``i``, where a moved site came from, and the
    comment, reviewer and date when the review file gives them."""
    dec = res.decisions.per_site.loc[i]
    rows: list[tuple[str, Any]] = []
    if dec["moved_from"]:
        s = res.sites
        j = s.index[s["site_id"] == dec["moved_from"]][0]
        rows.append(
            (
                "moved",
                f"moved from {site_label(res, j)} ({dec['moved_from']}) by "
                f"{dec['moved_by_m']:.0f} m",
            )
        )
    rows.append(("review decision", badge(str(dec["decision"]))))
    said = " — ".join(
        x for x in (dec["comment"], " ".join(x for x in (dec["reviewer"], dec["date"]) if x)) if x
    )
    if said:
        rows.append(("review comment", said))
    return rows


def _sheet_rows(
    res: Result, i: Any, row: pd.Series, priv: pd.Series | None
) -> list[tuple[str, Any]]:
    sc = res.scenario
    dori = ", ".join(
        f"{lvl} {row[f'{lvl}_m']:.0f} m"
        for lvl in DORI
        if f"{lvl}_m" in row and np.isfinite(row[f"{lvl}_m"])
    )
    funded = row.get("funded_eur", row["cost_eur"] * sc.plan.funded_share)
    facade = priv["facade_m"] if priv is not None else row.get("privacy_facade_m", np.nan)
    n_ent = priv["n_entrances"] if priv is not None else row.get("privacy_entrances", 0)
    has_mask = priv is not None and not priv.geometry.is_empty
    rows = [
        ("site", site_label(res, i)),
        ("reference (OpenStreetMap)", str(row["site_id"])),
        ("rank / phase", f"{int(row['rank'])} / {row['phase']}"),
        (
            "marginal gain",
            f"{row['marginal_gain']:.2%} of demand weight"
            if np.isfinite(row["marginal_gain"])
            else "– (fixed by the référent sûreté's review, not chosen by the optimiser)",
        ),
        ("covers alone", f"{row['covered_weight']:.2%} of demand weight"),
        (
            "incidents of the window in view",
            small_count(int(row["covered_incidents"]), sc.hotspots.min_count_shared),
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
        (
            "sensitive sites within range",
            row["sensitive_sites"]
            if isinstance(row.get("sensitive_sites"), str) and row["sensitive_sites"]
            else "none",
        ),
        (
            "privacy (L251-3)",
            f"{facade:.1f} m of residential façade, {int(n_ent)} entrance(s) seen at recognition "
            f"range; mask {'declared' if has_mask else 'not needed'}",
        ),
        (
            "cost",
            f"{row['cost_eur']:,.0f} €".replace(",", " ")
            + f" (camera, mount, trench {row.get('trench_m', 0):.0f} m to the CSU)",
        ),
        (
            "funded share",
            (
                f"{funded:,.0f} € ({sc.plan.funded_share:.0%}); town "
                f"{row['cost_eur'] - funded:,.0f} €"
            ).replace(",", " "),
        ),
        ("network reach (150 m walk)", f"{row['reach_m']:.0f} m of street"),
    ]
    return rows + _review_rows(res, i)


def incident_rows_text(rows: dict | None, no_hour_in_window: int = 0) -> str:
    """One sentence on what happened to the incident files' rows (from ``summary.json`` counts)."""
    if not rows:
        return ""
    text = (
        f"{rows['rows']:,} rows read, {rows['kept']:,} kept ({rows['mapped']:,} by the scenario's "
        f"category mapping, {rows['native']:,} already in the town's categories, "
        f"{rows['defaulted']:,} given the default category), {rows['quarantined']:,} set aside in "
        f"quarantine.csv, {rows['outside_area']:,} outside the study area; {rows['no_hour']:,} "
        f"have a date but no hour (they count for day-level windows only, {no_hour_in_window:,} in "
        "the hotspot window)"
    )
    if rows.get("undated"):
        text += f", {rows['undated']:,} have no date"
    return text + "."


def _open_pdf(res: Result, buf: _io.BytesIO) -> Any:
    """The PDF pages writer of the report (matplotlib's PDF backend)."""
    from matplotlib.backends.backend_pdf import PdfPages  # imported only when asked (0.3 s)

    return PdfPages(
        buf,
        metadata={
            "Title": f"siteplanner report: {res.scenario.name}",
            "Creator": f"siteplanner {__version__}",
            "Producer": None,
            "CreationDate": None,
        },
    )


def _site_pdf_page(
    res: Result,
    pos: int,
    sid: str,
    row: pd.Series,
    rows: list[tuple[str, Any]],
    *,
    data: CloseupData,
    half: float,
) -> Figure:
    """The PDF page of one site: the close-up as vectors, and the figures as text."""
    fig = Figure(figsize=(11.69, 8.27))
    fig.text(
        0.03,
        0.95,
        f"{rows[0][1]} — site {sid}, rank {int(row['rank'])}, {row['phase']}",
        fontsize=14,
        fontweight="bold",
    )
    ax = fig.add_axes([0.02, 0.04, 0.56, 0.88])
    closeup_page(ax, res, pos, data=data, half_m=half)
    fig.text(
        0.6,
        0.9,
        "\n".join(_wrap(f"{k}: {plain(v)}", 60) for k, v in rows),
        va="top",
        fontsize=8,
        linespacing=1.5,
    )
    return fig


def _site_sheets(res: Result, edges: gpd.GeoDataFrame, pages: Any, closeups: dict) -> list:
    """One sheet per proposed site, in rank order: (site id, rows, site row, WGS84 point, index).

    Fills ``closeups`` (site id → inline SVG) and saves each site's PDF page into ``pages``.
    """
    s = res.sites
    prop = s[s["status"] == "proposed"].sort_values(["rank", "site_id"], kind="stable")
    privacy = res.figures.privacy
    sheets = []
    positions = [s.index.get_loc(i) for i in prop.index]
    halves = [max(float(r) * 1.6, 60.0) for r in prop["range_m"]]
    data = CloseupData.of(res, edges)
    for i, pos, half in zip(prop.index, positions, halves):
        row = s.loc[i]
        sid = str(row["site_id"])
        priv = privacy.loc[i] if i in privacy.index else None
        rows = _sheet_rows(res, i, row, priv)
        closeups[sid] = closeup_svg(res, pos, data=data, half_m=half)
        if pages is not None:
            pages.savefig(_site_pdf_page(res, pos, sid, row, rows, data=data, half=half))
        ll = gpd.GeoSeries([row.geometry], crs=res.town.crs).to_crs("EPSG:4326").iloc[0]
        sheets.append((sid, rows, row, ll, i))
    return sheets


def _closing_pages(res: Result) -> Iterator[Figure]:
    """The PDF's last pages: one per patrol circuit, the dashboard and the review."""
    for c in res.circuits:
        steps = res.patrols.itineraries[c.name]
        lines = [
            f"{c.length_m / 1000:.2f} km, {c.duration_min:.0f} of {c.budget_min:.0f} min, "
            f"{len(c.stops)} stops, {c.speed_kmh:g} km/h"
        ]
        lines += [
            f"stop {st.order}: {st.name or 'stop'} — arrive at {st.eta_min:.0f} min, stay "
            f"{st.dwell_min:.0f} min"
            for st in c.stops
        ]
        lines += [f"{k:>3}. {line}" for k, line in enumerate(steps, start=1)]
        yield text_page(f"Patrol circuit: {c.name}", lines, synthetic=res.synthetic)
    lines = []
    for name, df in res.figures.dashboard.items():
        lines += ["", name.replace("_", " ").upper()] + _table_lines(df)
    yield text_page("Evaluation dashboard", lines, synthetic=res.synthetic)
    effects = res.figures.review_effects
    yield text_page(
        "Review by the référent sûreté",
        _table_lines(effects[["site_id", "decision", "effect"]])
        if len(effects)
        else [review_hint(res.scenario)],
        synthetic=res.synthetic,
    )


def _draw(
    res: Result,
    pages: Any,
    figures: dict[str, bytes],
    closeups: dict[str, str],
    *,
    dpi: int,
    summary_rows: list[tuple[str, Any]],
    overview: Figure | None,
    overview_png: bytes | None,
) -> list:
    """Render the figures (into ``figures``), the close-ups and the PDF pages.

    Returns the sheets.
    """
    sc = res.scenario

    def keep(fig: Figure, name: str, *, bbox: Any = None) -> None:
        figures[name] = figure_png(fig, dpi=dpi, bbox=bbox)
        if pages is not None:
            pages.savefig(fig)

    if pages is not None:
        lines = [f"{k}: {v}" for k, v in summary_rows]
        f = text_page(f"siteplanner — {sc.name}: review report", lines, synthetic=res.synthetic)
        pages.savefig(f)
    # overview map and curve (plot.py draws them)
    overview = plot.plan_map(res, scheme=sc.output.map_classes) if overview is None else overview
    curve = plot.coverage_curve(res)
    figures["overview"] = (
        overview_png if overview_png is not None else figure_png(overview, dpi=dpi)
    )
    figures["curve"] = figure_png(curve, dpi=dpi)
    if pages is not None:
        pages.savefig(overview)
        pages.savefig(curve)
    edges = res.streets
    keep(coverage_fig(res, edges), "coverage")
    sheets = _site_sheets(res, edges, pages, closeups)
    keep(patrol_fig(res, edges), "patrols")
    if pages is not None:
        for f in _closing_pages(res):
            pages.savefig(f)
    return sheets


def _html_top(res: Result, summary_rows: list[tuple[str, Any]], figures: dict[str, bytes]) -> str:
    """The head of the document, the synthetic banner, the contents, the summary and the maps."""
    sc = res.scenario
    h: list[str] = []
    a = h.append
    title = f"siteplanner — {sc.name}: review report"
    a(
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{CSS}</style>"
        "</head><body>"
    )
    a(
        f"<h1>{esc(title)}</h1><p class='small'>{esc(sc.plan.phase_name)} — generated by "
        f"siteplanner {esc(__version__)}</p>"
    )
    if res.synthetic:
        a(
            "<div class='synthetic' id='synthetic'>SYNTHETIC incidents: the incident data of this "
            "report are synthetic (simulated), not real. Hotspots, coverage and patrols are "
            "illustrations of the method.</div>"
        )
    a(
        "<nav><h2>Contents</h2><ol><li><a href='#summary'>Summary</a></li><li>"
        "<a href='#maps'>Maps</a></li><li><a href='#review'>Review</a></li><li>"
        "<a href='#sites'>Site sheets</a></li><li><a href='#patrols'>Patrols</a></li><li>"
        "<a href='#dashboard'>Dashboard</a></li><li><a href='#sources'>Sources</a></li></ol></nav>"
    )
    a("<section id='summary'><h2>Summary</h2>" + kv(summary_rows) + "</section>")
    a(
        "<section id='maps'><h2>Maps</h2><h3>The plan</h3>"
        + img(figures["overview"], "plan overview map")
    )
    a("<h3>Coverage before and after</h3>" + img(figures["coverage"], "coverage before and after"))
    a(
        "<h3>Coverage versus cameras</h3><p>Each extra camera is the best next site; where the "
        "curve flattens, adding cameras stops paying.</p>"
        + img(figures["curve"], "coverage versus number of cameras")
        + "</section>"
    )
    return "".join(h)


def review_hint(sc: Scenario) -> str:
    """How to start the review when there is no review file yet.

    The paths are the scenario's as the run was given it (``scenarios/beausoleil.toml`` when
    run from the repository's root), so that the command works from where the run was started.
    """
    scenario = sc.path.as_posix() if sc.path is not None else "SCENARIO"
    return (
        f"No review file yet ({sc.review_path.as_posix()}): review the sites in map.html (accept, "
        "reject, drag a marker to move it) and save its review.csv there, or write one with "
        f"`siteplanner review init {scenario}` and fill in a decision per site (accept, reject, "
        "move, pending); then run again."
    )


def _html_review(res: Result) -> str:
    """The review section: the référent sûreté's decisions and what the optimiser did."""
    sc, rv = res.scenario, res.review
    h = ["<section id='review'><h2>Review by the référent sûreté</h2>"]
    if rv is None:
        h.append(f"<p>{esc(review_hint(sc))}</p>")
    else:
        d = res.figures.review_effects.copy()
        h.append(
            f"<p>{len(d)} row(s) in {esc(Path(rv.source).name)}: "
            + ", ".join(
                f"{int((d['decision'] == k).sum())} {k}"
                for k in ("accept", "reject", "move", "pending")
            )
            + ".</p>"
        )
        h.append(table(d))
    h.append("</section>")
    return "".join(h)


def _html_sheets(res: Result, sheets: list, closeups: dict[str, str]) -> str:
    """The site sheets section: the table of sites, the close-ups' key and one sheet per site."""
    decisions = res.decisions.per_site
    h: list[str] = []
    a = h.append
    a(f"<section id='sites'><h2>Site sheets ({len(sheets)} proposed sites)</h2>")
    a(
        "<table><thead><tr><th>rank</th><th>site</th><th>reference</th><th>phase</th>"
        "<th>gain</th><th>cost €</th><th>privacy mask</th><th>review</th></tr></thead><tbody>"
    )
    for sid, _, row, _, i in sheets:
        gain = row["marginal_gain"]
        cost = f"{row['cost_eur']:,.0f}".replace(",", " ")  # the name keeps its commas
        a(
            f"<tr><td>{int(row['rank'])}</td><td><a href='#site-{esc(sid)}'>"
            f"{esc(site_label(res, i))}</a></td><td>{esc(sid)}</td><td>{esc(row['phase'])}</td>"
            f"<td>{f'{gain:.2%}' if np.isfinite(gain) else 'fixed by review'}</td>"
            f"<td>{cost}</td><td>{'yes' if bool(row.get('privacy_mask', False)) else 'no'}</td>"
            f"<td>{badge(str(decisions.at[i, 'decision']))}</td></tr>"
        )
    a("</tbody></table>")
    if sheets:
        a(
            "<p class='small'>Key of the close-ups:</p>"
            + img(closeup_key_png(res), "key of the close-up maps")
        )
    for sid, rows, row, ll, i in sheets:
        a(
            f"<section class='sheet' id='site-{esc(sid)}' data-site-id='{esc(sid)}'>"
            f"<h3>{esc(site_label(res, i))} — rank {int(row['rank'])}, {esc(row['phase'])}</h3>"
            f"<p class='small'>site {esc(sid)} (OpenStreetMap reference) — {ll.y:.6f} N, "
            f"{ll.x:.6f} E</p>"
            f"<div class='cols'><div>{closeups[sid]}</div><div>{kv(rows)}</div></div></section>"
        )
    a("</section>")
    return "".join(h)


def _html_patrols(res: Result, figures: dict[str, bytes]) -> str:
    """The patrols section: the map, the variants' notes, each circuit's stops and itinerary."""
    h: list[str] = []
    a = h.append
    a("<section id='patrols'><h2>Patrol circuits</h2>" + img(figures["patrols"], "patrol circuits"))
    for note in _variant_notes(res):
        a(f"<p class='small'>{esc(note)}</p>")
    for c in res.circuits:
        steps = res.patrols.itineraries[c.name]
        a(
            f"<h3>{esc(c.name)}</h3><p>{c.length_m / 1000:.2f} km, {c.duration_min:.0f} of "
            f"{c.budget_min:.0f} min, {len(c.stops)} stops, {c.speed_kmh:g} km/h.</p>"
        )
        a(
            table(
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
                    f"<li>{'<b>' + esc(t) + '</b>' if t.startswith('STOP') else esc(t)}</li>"
                    for t in steps
                )
                + "</ol></details>"
            )
    a("</section>")
    return "".join(h)


def _html_dashboard(res: Result) -> str:
    """The evaluation dashboard: indicateurs de contexte, d'activité, de résultats."""
    sc, dash = res.scenario, res.figures.dashboard
    return (
        "<section id='dashboard'><h2>Evaluation dashboard</h2>"
        f"<p class='small'>Period: {esc(window_text(sc.hotspots.window))}. Aggregates only; counts "
        f"below {sc.hotspots.min_count_shared} read “&lt; {sc.hotspots.min_count_shared}”.</p>"
        "<h3>Indicateurs de contexte</h3><p>Incidents of the window by category and source:</p>"
        + table(dash["contexte_categories"], index=True)
        + "<p>Around sensitive sites:</p>"
        + table(dash["contexte_sites"])
        + "<h3>Indicateurs d'activité</h3>"
        + table(dash["activite"])
        + "<h3>Indicateurs de résultats</h3>"
        + table(dash["resultats"])
        + "</section>"
    )


def _html_sources(res: Result) -> str:
    """Sources and methods, and the footer."""
    return (
        "<section id='sources'><h2>Sources and methods</h2><ul><li>Streets, buildings, points of "
        f"interest: {ATTR}, extract {esc(res.town.source)}.</li><li>DORI ranges: EN 62676-4 "
        "(detection 25, observation 62, recognition 125, identification 250 px/m).</li>"
        "<li>Privacy: L251-3 of the Code de la sécurité intérieure — cameras must not view the "
        "inside of dwellings nor their entrances; the masks are declared in prefecture.csv.</li>"
        "<li>Incidents: "
        + (
            "SYNTHETIC (simulated) incidents."
            if res.synthetic
            else "the scenario's incident files."
        )
        + " "
        + esc(
            incident_rows_text(
                res.counts.get("incident_rows"), res.counts.get("incidents_in_window_no_hour", 0)
            )
        )
        + "</li></ul></section>"
        + f"<footer>siteplanner {esc(__version__)} — {ATTR}</footer></body></html>"
    )


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
        The plan map already drawn by :func:`siteplanner.outputs.plot.plan_map` (drawn here if
        None).
    overview_png
        That map already rendered as PNG for the HTML (rendered here at ``dpi`` if None).

    Returns
    -------
    Report
    """
    figures: dict[str, bytes] = {}
    closeups: dict[str, str] = {}  # site id → inline SVG
    pdf_buf = _io.BytesIO()
    pages = _open_pdf(res, pdf_buf) if pdf else None
    summary_rows = _summary_rows(res)
    try:
        sheets = _draw(
            res,
            pages,
            figures,
            closeups,
            dpi=dpi,
            summary_rows=summary_rows,
            overview=overview,
            overview_png=overview_png,
        )
    finally:
        if pages is not None:
            pages.close()
    doc = "".join(
        [
            _html_top(res, summary_rows, figures),
            _html_review(res),
            _html_sheets(res, sheets, closeups),
            _html_patrols(res, figures),
            _html_dashboard(res),
            report_sections.sections_html(res),  # night, marches, entrances, evidence (#17)
            _html_sources(res),
        ]
    )
    log.info("build_report: %d site sheet(s), %d figure(s)", len(sheets), len(figures))
    return Report(
        html=doc,
        pdf=pdf_buf.getvalue() if pdf else b"",
        figures=figures,
        site_ids=tuple(s[0] for s in sheets),
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
