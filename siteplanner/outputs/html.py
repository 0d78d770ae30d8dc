"""Small HTML helpers of the review report: escaping, tables, key-value lists, badges, style.

Shared by :mod:`siteplanner.outputs.report` and :mod:`siteplanner.outputs.sections`; they format
what they are given and compute nothing."""

from __future__ import annotations

import base64
import html
from typing import Any

import numpy as np
import pandas as pd

CSS = (
    "\n"
    'body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",'
    "sans-serif;margin:0 auto;max-width:1100px;padding:1em 2em;color:#222}\n"
    "h1{font-size:1.7em;margin-bottom:.2em} h2{border-bottom:2px solid "
    "#d62728;padding-bottom:.2em;margin-top:1.6em}\n"
    "h3{margin:.2em 0}\n"
    "table{border-collapse:collapse;margin:.5em 0;font-size:.9em} td,th{border:1px solid "
    "#ccc;padding:.25em .6em;text-align:left;vertical-align:top}\n"
    "th{background:#f3f3f3} td.num{text-align:right}\n"
    "img,svg.closeup{max-width:100%;height:auto;border:1px solid #ddd}\n"
    ".synthetic{background:#fff0f0;border:2px solid #d62728;color:#a00;padding:.6em "
    "1em;font-weight:bold;margin:1em 0}\n"
    ".sheet{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1.2em "
    "0;page-break-before:always;break-before:page}\n"
    ".sheet .cols{display:flex;gap:1em;flex-wrap:wrap} .sheet .cols>div{flex:1 1 420px}\n"
    ".badge{display:inline-block;padding:.1em "
    ".6em;border-radius:1em;font-size:.85em;font-weight:bold;color:#fff}\n"
    ".accept{background:#2ca02c}.reject{background:#d62728}.move{background:#ff7f0e}"
    ".pending{background:#7f7f7f}\n"
    "nav ol{columns:2} .small{font-size:.85em;color:#555} "
    "footer{margin-top:3em;font-size:.8em;color:#555}\n"
    "@media print{body{max-width:none;padding:0}nav{display:none}.sheet{border:none}}\n"
)


def esc(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return html.escape(str(v))


def img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def table(df: pd.DataFrame, *, index: bool = False) -> str:
    if df.empty:
        return "<p class='small'>(none)</p>"
    d = df.reset_index() if index else df
    head = "".join(f"<th>{esc(c)}</th>" for c in d.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>"
        for row in d.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def kv(rows: list[tuple[str, Any]]) -> str:
    return (
        "<table>"
        + "".join(
            f"<tr><th>{esc(k)}</th><td>{v if isinstance(v, Raw) else esc(v)}</td></tr>"
            for k, v in rows
        )
        + "</table>"
    )


class Raw(str):
    """HTML that is already escaped."""


def plain(v: Any) -> str:
    import re

    return re.sub(r"<[^>]+>", "", v) if isinstance(v, Raw) else str(v)


def badge(decision: str) -> Raw:
    return Raw(f'<span class="badge {html.escape(decision)}">{html.escape(decision)}</span>')


def window_text(w: Any) -> str:
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
