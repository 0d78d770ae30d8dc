"""Hotspot streets on the maps: the forecast's street segments coloured by class (#23).

The classes are shares of the street length inside the study area, hottest first (top 1 %,
1–5 %, 5–10 %; :func:`siteplanner.hotspots.segments.length_classes`); the rest of the streets is
drawn grey by the map itself. Drawn by :func:`siteplanner.outputs.plot.plan_map` unless the
scenario's ``[output] hotspot_layer = "grid"`` asks for the grid cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.axes
import numpy as np
import shapely
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

if TYPE_CHECKING:
    from siteplanner.hotspots.segments import StreetForecast

#: Hotspot street classes (share of the street length, hottest first): colour, line width.
STREET_CLASSES = {
    1: ("#b10026", 3.4, "top 1 % of the street length"),
    2: ("#fc4e2a", 2.6, "1–5 %"),
    3: ("#feb24c", 2.0, "5–10 %"),
}


def _lines(geoms: Any, **kwargs: Any) -> LineCollection:
    parts = shapely.get_parts(np.asarray(list(geoms), dtype=object))
    return LineCollection([shapely.get_coordinates(g) for g in parts if not g.is_empty], **kwargs)


def draw_hotspot_streets(
    ax: matplotlib.axes.Axes, forecast: StreetForecast, box: Any | None, *, detail: bool
) -> None:
    """The forecast's street segments inside the area, coloured by class (coolest first)."""
    seg = forecast.segments
    seg = seg[seg["inside"] & (seg["rank_class"] > 0)]
    if box is not None:
        seg = seg.iloc[seg.sindex.query(box, predicate="intersects")]
    for c in sorted(STREET_CLASSES, reverse=True):
        colour, width, _ = STREET_CLASSES[c]
        part = seg[seg["rank_class"] == c]
        if len(part):
            ax.add_collection(
                _lines(
                    part.geometry,
                    colors=colour,
                    linewidths=width * (1.6 if detail else 1.0),
                    capstyle="round",
                    zorder=2.7 + 0.01 * (4 - c),
                    gid=f"hotspot-streets-{c}",
                ),
                autolim=False,
            )


def legend_handles(forecast: StreetForecast) -> list[Any]:
    """The legend's entries for the hotspot streets: what was chosen, and the classes."""
    how = "chosen by inner validation" if forecast.candidates else "set in the scenario"
    h: list[Any] = [
        Patch(
            facecolor="none",
            edgecolor="none",
            label=f"hotspot streets ({forecast.method}, {how};\n{forecast.window}): "
            "segments ≤ 50 m",
        )
    ]
    h += [
        Line2D([], [], color=colour, linewidth=width, label=label)
        for colour, width, label in STREET_CLASSES.values()
    ]
    return h
