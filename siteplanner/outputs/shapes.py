"""Geometries read all at once into the arrays a drawing needs (matplotlib paths and lines).

A town's map draws tens of thousands of buildings and streets; reading them one geometry at a
time takes seconds, reading them all at once with shapely's array functions a fraction of one.
The arrays are the same as those read one by one, so the pictures are the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from matplotlib.path import Path as MplPath


def line_parts(geoms: Any) -> list[np.ndarray]:
    """The ``(n, 2)`` coordinates of each part of each (multi)line, in order (none missing or
    empty), read all at once."""
    g = np.asarray(list(geoms), dtype=object)
    g = g[~shapely.is_missing(g)]
    g = g[~shapely.is_empty(g)]
    if not len(g):
        return []
    parts = shapely.get_parts(g)
    xy = shapely.get_coordinates(parts)
    return np.split(xy, np.cumsum(shapely.get_num_coordinates(parts))[:-1])


def ring_arrays(geoms: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rings of 3 points or more of the polygonal parts of ``geoms`` (exterior, then
    holes), read all at once: their ``(n, 2)`` vertices, the matplotlib path codes (a move to
    each ring's first point, a close at its last) and each vertex's polygon (its position among
    the polygonal parts)."""
    g = np.asarray(list(geoms), dtype=object)
    g = g[~shapely.is_missing(g)]
    g = g[~shapely.is_empty(g)]
    parts = shapely.get_parts(g) if len(g) else np.zeros(0, dtype=object)
    parts = parts[shapely.get_type_id(parts) == 3]
    rings, part_of = shapely.get_rings(parts, return_index=True)
    n = shapely.get_num_coordinates(rings)
    ok = n >= 3
    rings, part_of, n = rings[ok], part_of[ok], n[ok]
    xy = shapely.get_coordinates(rings)
    codes = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
    start = np.cumsum(n) - n
    codes[start], codes[start + n - 1] = MplPath.MOVETO, MplPath.CLOSEPOLY
    return xy, codes, np.repeat(part_of, n)
