"""Report sections of issue #17: night coverage, marches exploratoires, town entrances, and
what cameras are expected to do.

Each function renders one HTML fragment from the :class:`~siteplanner.result.Result`
(it computes nothing the result does not hold); :func:`sections_html` joins those that
apply, for :mod:`siteplanner.outputs.report` to insert before its sources.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from siteplanner.outputs.html import esc, img, table
from siteplanner.vocab import EVIDENCE_SOURCES, LAPI_NOTE, OUTCOME_TEXT, OUTCOMES

if TYPE_CHECKING:
    from siteplanner.result import Result

log = logging.getLogger(__name__)

PHASE_TEXT = {
    "day": "day",
    "night": "night, lights on",
    "extinction": "night, lights off (extinction)",
}


def _hours(h: tuple[int, int] | None) -> str:
    return "–" if h is None else f"{h[0]} h–{h[1]} h"


def night_table(res: Result) -> pd.DataFrame:
    """Coverage of the demand weight by phase, before and after the plan."""
    n = res.night
    return pd.DataFrame(
        [
            {
                "phase": PHASE_TEXT[ph],
                "hours": _hours(n.off)
                if ph == "extinction"
                else (_hours(n.night) if ph == "night" else "daylight"),
                "existing cameras": f"{v['before']:.1%}",
                "after the plan": f"{v['after']:.1%}",
            }
            for ph, v in n.coverage.items()
        ]
    )


def night_figure(res: Result, *, dpi: int = 90) -> bytes:
    """Map of the demand the plan covers by day, and what darkness removes (PNG bytes)."""
    import io as _io

    import geopandas as gpd
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from siteplanner.outputs import plot

    n = res.night
    xy = np.column_stack([res.demand.geometry.x, res.demand.geometry.y])
    day, dark = n.seen_by_phase["day"], n.seen_by_phase[n.darkest]
    fig = Figure(figsize=(7.5, 7.5))
    ax = fig.subplots()
    res.streets.plot(ax=ax, color="#cccccc", linewidth=0.5)
    gpd.GeoSeries([res.town.area.boundary], crs=res.town.crs).plot(
        ax=ax, color="#1f4e9c", linewidth=1.0
    )
    ax.scatter(*xy[~day].T, s=1, color="#bbbbbb")
    ax.scatter(*xy[day & dark].T, s=4, color="#2ca02c")
    ax.scatter(*xy[day & ~dark].T, s=6, color="#d62728")
    cams = res.sites[res.sites["status"].isin(["existing", "proposed"])]
    ax.scatter(
        cams.geometry.x, cams.geometry.y, s=14, marker="s", facecolors="none", edgecolors="black"
    )
    (xmin, ymin), (xmax, ymax) = xy.min(axis=0), xy.max(axis=0)  # the streets with demand
    ax.set_xlim(xmin - 80, xmax + 80)
    ax.set_ylim(ymin - 80, ymax + 80)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(
        handles=[
            Line2D([], [], marker="o", ls="", color="#bbbbbb", label="demand not seen"),
            Line2D([], [], marker="o", ls="", color="#2ca02c", label="seen by day and at night"),
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                color="#d62728",
                label=f"seen by day only ({PHASE_TEXT[n.darkest]})",
            ),
            Line2D(
                [],
                [],
                marker="s",
                ls="",
                markerfacecolor="none",
                color="black",
                label="camera (existing, proposed)",
            ),
        ],
        loc="center left",
        fontsize=7,
        framealpha=0.9,
    )
    ax.set_title(f"Coverage lost to darkness: {n.lost_share:.1%} of the demand weight", fontsize=10)
    plot.add_scale_bar(ax)
    plot.add_north_arrow(ax)
    plot.add_attribution(ax, f"© OpenStreetMap contributors (ODbL), {res.town.source}")
    if res.synthetic:
        plot.add_synthetic_mark(ax)
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def night_html(res: Result) -> str:
    """Coverage by day and by night, and the streets where darkness removes coverage."""
    n = res.night
    if n is None:
        return ""
    model = res.scenario.camera.chosen()
    lt = res.scenario.lighting
    h = ["<section id='night'><h2>Coverage by day and by night</h2>"]
    h.append(
        "<p>At night a camera sees a point of its daytime field of view only where the street is "
        f"lit (and {lt.lit_lux:g} lx reach the camera's minimum illumination of {model.min_lux:g} "
        f"lx), or within its infrared range ({model.ir_range_m:g} m for {esc(model.name)}). Street "
        "lighting comes from the OSM <code>lit</code> tag"
        + (" and the lighting file" if lt.file else "")
        + "; streets without it are counted as "
        f"{'lit' if lt.unknown == 'lit' else 'unlit'} while the lights are on.</p>"
    )
    h.append(table(night_table(res)))
    h.append(
        f"<p><b>{n.lost_share:.1%}</b> of the demand weight is covered by day but not in the "
        f"{PHASE_TEXT[n.darkest]} ({n.lost_of_covered:.0%} of what the plan covers by day).</p>"
    )
    h.append("<h3>Demand by street lighting</h3>")
    d = n.demand_by_state.assign(demand_share=lambda x: x["demand_share"].map("{:.1%}".format))
    h.append(table(d))
    h.append(img(night_figure(res), "coverage lost to darkness"))
    h.append(f"<h3>Streets where darkness removes coverage ({PHASE_TEXT[n.darkest]})</h3>")
    ds = n.dark_streets.assign(weight_lost=lambda x: x["weight_lost"].map("{:.2%}".format))
    h.append(table(ds))
    h.append("</section>")
    return "".join(h)


def notes_table(res: Result) -> pd.DataFrame:
    """Every field note with its outcome."""
    f = res.field_notes
    return pd.DataFrame(
        {
            "note": f["note_id"],
            "walk": f["walk"],
            "date": f["date"],
            "category": f["category"],
            "street": f["street"],
            "comment": f["comment"],
            "outcome": f["outcome"].map(OUTCOME_TEXT),
            "by": f["addressed_by"],
        }
    )


def notes_html(res: Result) -> str:
    """The marches exploratoires: every note and what the plan does about it."""
    f = res.field_notes
    if f is None or "outcome" not in f:
        return ""
    counts = ", ".join(
        f"{int((f['outcome'] == k).sum())} {OUTCOME_TEXT[k]}"
        for k in OUTCOMES
        if (f["outcome"] == k).any()
    )
    walks = ", ".join(sorted(set(f["walk"])))
    return (
        "<section id='field-notes'><h2>Marches exploratoires</h2>"
        f"<p>{len(f)} note(s) of {esc(walks)}: {esc(counts)}. Notes raise the demand within "
        f"{res.scenario.field_notes[0].radius_m:g} m (weights by category: "
        + esc(", ".join(f"{k} {v:g}" for k, v in res.scenario.field_notes[0].weights.items()))
        + ", in units of the mean demand weight).</p>"
        + table(notes_table(res))
        + "</section>"
    )


def entrances_html(res: Result) -> str:
    """The town entrances, as a proposal to the State partner, with the LAPI legal note."""
    e = res.entrances
    if e is None:
        return ""
    return (
        "<section id='entrances'><h2>Entrées de ville — proposition au partenaire État</h2>"
        f"<p>{len(e)} road(s) cross the commune's boundary (primary to tertiary roads, and "
        "residential roads with through traffic). They are candidate sites for <b>context "
        "cameras</b> of the vehicle entrances, listed as a proposal to the State partner (police "
        "nationale or gendarmerie), not as municipal sites.</p><p class='legal'>"
        f"<b>Legal note.</b> {esc(LAPI_NOTE)} siteplanner never proposes "
        "number-plate readers as municipal cameras.</p>"
        + table(res.figures.entrances_table.drop(columns="legal_note"))
        + "</section>"
    )


def evidence_html(res: Result) -> str:
    """Covered incidents by category beside the evidence class of camera effects."""
    tab = res.figures.evidence
    if tab is None:
        return ""
    return (
        "<section id='evidence'><h2>What cameras are expected to do</h2><p>Incidents of the window "
        "inside the fields of view of the existing and proposed cameras, by category, beside the "
        "evidence of camera effects on that kind of crime from the meta-analyses. Read the "
        "coverage figure with this expectation: effects concentrate on vehicle and property crime "
        "and car parks, with little measurable effect on violence.</p>"
        + table(tab)
        + "<p class='small'>Sources: "
        + esc("; ".join(EVIDENCE_SOURCES))
        + "</p></section>"
    )


def sections_html(res: Result) -> str:
    """Every issue #17 section that applies, in report order."""
    return "".join(fn(res) for fn in (night_html, notes_html, entrances_html, evidence_html))
