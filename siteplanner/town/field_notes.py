"""Marches exploratoires: the notes of residents' walks, and what the plan does about each.

A *marche exploratoire* is a walk of residents (often women) with the town's services, noting
dark spots and places where they feel unsafe (Mons-en-Barœul's STSPD, fiche 1.12). Each note
is a point or a line with a category, a comment, a date and the walk's name.

Notes raise the demand near them: every demand point within ``radius_m`` of a note gains the
note's category weight times the mean demand weight of the study area (a note of weight 1
makes the street around it count as much as an average street, even where no incident was
recorded). The report then gives every note one outcome, the first that holds:

1. ``camera`` — inside the field of view of a proposed (or existing) camera: which one;
2. ``patrol`` — within ``patrol_m`` of a patrol circuit: which one;
3. ``unlit_street`` — on a street that is not lit at night (a matter for the lighting service);
4. ``not_addressed`` — none of these;

and ``outside_area`` for a note outside the study area (it raises no demand).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from siteplanner._errors import InputError, report_problems

log = logging.getLogger(__name__)

#: Category codes and the words accepted for each (English and French, any case/accents).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "dark_spot": ("dark spot", "dark_spot", "point sombre", "point noir", "zone sombre", "sombre"),
    "feeling_unsafe": (
        "feeling unsafe",
        "feeling_unsafe",
        "sentiment d'insecurite",
        "insecurite",
        "unsafe",
    ),
    "broken_lamp": (
        "broken lamp",
        "broken_lamp",
        "lampadaire en panne",
        "eclairage en panne",
        "lampadaire casse",
    ),
    "hidden_corner": ("hidden corner", "hidden_corner", "recoin", "recoin cache", "angle mort"),
    "other": ("other", "autre"),
}
#: Default demand weight of each category.
DEFAULT_WEIGHTS: dict[str, float] = {
    "dark_spot": 1.0,
    "feeling_unsafe": 1.5,
    "broken_lamp": 0.5,
    "hidden_corner": 1.0,
    "other": 0.5,
}
COLUMNS = ("note_id", "category", "comment", "date", "walk", "file")


def _fold(s: str) -> str:
    s = (
        unicodedata.normalize("NFKD", str(s).replace("’", "'"))
        .encode("ascii", "ignore")
        .decode()
        .lower()
    )
    return " ".join(s.split())


_WORDS = {_fold(w): code for code, words in CATEGORIES.items() for w in words}


def category_code(value: object) -> str | None:
    """The category code of a written category (``"Point sombre"`` → ``dark_spot``), or None."""
    return _WORDS.get(_fold(value)) if isinstance(value, str) else None


def read_notes(
    path: str | Path, *, walk: str | None = None, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read a walk's notes from CSV or GeoJSON / GeoPackage.

    CSV: ``category``, ``comment``, ``date``, ``walk`` (or the ``walk`` argument), and either
    ``lon``, ``lat`` (points, WGS84) or ``wkt`` (POINT or LINESTRING, WGS84 unless ``crs``).
    Vector files: Point or LineString features with the same properties. An ``id`` column is
    kept as ``note_id`` (default: ``<file stem>-<row>``).

    Returns
    -------
    GeoDataFrame
        ``note_id, category, comment, date, walk, file`` and the geometry, EPSG:4326.

    Raises
    ------
    InputError
        Every problem of the file in one message (row, column, value, what is accepted).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: field notes file not found")
    if path.suffix.lower() == ".csv":
        g = _read_csv(path, crs)
    else:
        try:
            g = gpd.read_file(path)
        except Exception as exc:
            raise InputError(
                f"{path}: cannot be read as CSV, GeoJSON or GeoPackage ({exc})"
            ) from exc
        if g.crs is None:
            raise InputError(f"{path}: the field notes file has no CRS")
        g = g.to_crs("EPSG:4326")
    g.columns = [str(c).strip().lower() if c != g.geometry.name else c for c in g.columns]
    first_row = 2 if path.suffix.lower() == ".csv" else 0
    label = "row" if first_row else "feature"
    if walk is not None and "walk" not in g.columns:
        g["walk"] = walk
    problems = [
        f"missing column {c!r}"
        for c in ("category", "comment", "date", "walk")
        if c not in g.columns
    ]
    report_problems(problems, source=str(path))
    accepted = "; ".join(f"{c} ({', '.join(w[:2])})" for c, w in CATEGORIES.items())
    codes = g["category"].map(category_code)
    for i, (raw, code) in enumerate(zip(g["category"], codes)):
        if not isinstance(code, str):
            problems.append(
                f"{label} {i + first_row}: category {raw!r} is not accepted; accepted: {accepted}"
            )
    dates = pd.to_datetime(g["date"].astype(str), errors="coerce", format="mixed", dayfirst=False)
    problems += [
        f"{label} {i + first_row}: date {d!r} is not a date (give YYYY-MM-DD)"
        for i, (d, p) in enumerate(zip(g["date"], dates))
        if pd.isna(p)
    ]
    problems += [
        f"{label} {i + first_row}: geometry {t} is not accepted (Point or LineString)"
        for i, t in enumerate(g.geom_type)
        if t not in ("Point", "LineString", "MultiLineString")
    ]
    problems += [
        f"{label} {i + first_row}: empty walk name"
        for i, w in enumerate(g["walk"])
        if not isinstance(w, str) or not w.strip()
    ]
    report_problems(problems, source=str(path))
    ids = (
        g["id"].astype(str)
        if "id" in g.columns
        else pd.Series([f"{path.stem}-{i + 1}" for i in range(len(g))])
    )
    out = gpd.GeoDataFrame(
        {
            "note_id": ids.to_numpy(),
            "category": codes.to_numpy(),
            "comment": g["comment"].fillna("").astype(str).to_numpy(),
            "date": dates.dt.date.astype(str).to_numpy(),
            "walk": g["walk"].astype(str).to_numpy(),
            "file": path.name,
        },
        geometry=g.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    log.info(
        "read_notes: %d note(s) from %s (%s)",
        len(out),
        path.name,
        ", ".join(f"{k} {v}" for k, v in out["category"].value_counts().sort_index().items()),
    )
    return out


def _read_csv(path: Path, crs: str | None) -> gpd.GeoDataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:
        raise InputError(f"{path}: cannot be read as CSV ({exc})") from exc
    df.columns = [c.strip().lower() for c in df.columns]
    problems = []
    if "wkt" in df.columns:
        geoms = []
        for i, w in enumerate(df["wkt"]):
            try:
                geoms.append(shapely.from_wkt(w))
            except (shapely.errors.GEOSException, TypeError, ValueError):
                problems.append(f"row {i + 2}: wkt {w[:60]!r} is not a WKT POINT or LINESTRING")
                geoms.append(None)
    elif {"lon", "lat"} <= set(df.columns):
        lon = pd.to_numeric(df["lon"], errors="coerce")
        lat = pd.to_numeric(df["lat"], errors="coerce")
        problems += [
            f"row {i + 2}: lon/lat {a!r}, {b!r} are not WGS84 degrees"
            for i, (a, b, x, y) in enumerate(zip(df["lon"], df["lat"], lon, lat))
            if not (np.isfinite(x) and np.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90)
        ]
        geoms = list(shapely.points(lon.fillna(0), lat.fillna(0)))
    else:
        problems.append(
            "no position: give lon, lat columns (points) or a wkt column (points or lines)"
        )
        geoms = [None] * len(df)
    report_problems(problems, source=str(path))
    g = gpd.GeoDataFrame(df, geometry=geoms, crs=crs or "EPSG:4326")
    return g.to_crs("EPSG:4326")


def notes_demand(
    demand_xy: np.ndarray,
    weight: np.ndarray,
    notes: gpd.GeoDataFrame,
    area: BaseGeometry,
    *,
    weights: Mapping[str, float],
    radius_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Demand weights raised near the notes, and which notes are inside the study area.

    Parameters
    ----------
    demand_xy, weight
        Demand points and their weights (projected, same CRS as ``notes``).
    notes
        Projected notes (``category`` codes).
    weights
        Category → added weight, in units of the mean demand weight.

    Returns
    -------
    new_weight : numpy.ndarray
        ``weight`` plus, for each point within ``radius_m`` of a note, the largest category
        weight of those notes times the mean of ``weight``.
    inside : numpy.ndarray
        ``(len(notes),)`` whether each note touches the study area.
    """
    inside = notes.intersects(area).to_numpy() if len(notes) else np.zeros(0, bool)
    if not len(notes) or not len(demand_xy):
        return weight.copy(), inside
    ref = float(np.mean(weight)) if len(weight) else 0.0
    add = np.zeros(len(demand_xy))
    pts = shapely.points(demand_xy[:, 0], demand_xy[:, 1])
    tree = shapely.STRtree(pts)
    for geom, cat, ok in zip(notes.geometry, notes["category"], inside):
        if not ok:
            continue
        near = tree.query(geom, predicate="dwithin", distance=radius_m)
        add[near] = np.maximum(add[near], float(weights.get(cat, DEFAULT_WEIGHTS.get(cat, 0.0))))
    log.info(
        "notes_demand: %d demand point(s) raised by %d note(s)",
        int((add > 0).sum()),
        int(inside.sum()),
    )
    return weight + add * ref, inside


def note_outcomes(
    notes: gpd.GeoDataFrame,
    inside: np.ndarray,
    *,
    fov: Sequence[BaseGeometry],
    site_labels: Sequence[str],
    circuits: Sequence[tuple[str, BaseGeometry]],
    edges: gpd.GeoDataFrame,
    street_lit: np.ndarray,
    patrol_m: float = 25.0,
) -> gpd.GeoDataFrame:
    """One outcome per note: ``camera``, ``patrol``, ``unlit_street``, ``not_addressed`` or
    ``outside_area`` (see the module docstring), with ``addressed_by`` naming the camera
    site(s), the circuit(s) or the street.

    Parameters
    ----------
    notes
        Projected notes; ``inside`` says which touch the study area.
    fov, site_labels
        Field-of-view polygons of the proposed and existing cameras, and a label for each
        (e.g. ``"N123 (proposed, rank 2)"``).
    circuits
        ``(name, LineString)`` of each patrol circuit.
    edges, street_lit
        The streets (``name`` column) and whether each is lit at night.
    """
    fov_tree = shapely.STRtree(list(fov)) if len(fov) else None
    outcome, by, street = [], [], []
    ok_edges = len(edges) > 0
    for geom, ok in zip(notes.geometry, inside):
        j = int(edges.sindex.nearest(geom, return_all=False)[1][0]) if ok_edges else -1
        nm = edges["name"].iloc[j] if j >= 0 else None
        street.append(nm if isinstance(nm, str) and nm else "(rue sans nom)")
        if not ok:
            outcome.append("outside_area")
            by.append("")
            continue
        cams = sorted(fov_tree.query(geom, predicate="intersects")) if fov_tree is not None else []
        if cams:
            outcome.append("camera")
            by.append("; ".join(site_labels[i] for i in cams))
            continue
        near = [
            name for name, line in circuits if line is not None and line.distance(geom) <= patrol_m
        ]
        if near:
            outcome.append("patrol")
            by.append("; ".join(dict.fromkeys(near)))
            continue
        if j >= 0 and not bool(street_lit[j]):
            outcome.append("unlit_street")
            by.append(street[-1])
            continue
        outcome.append("not_addressed")
        by.append("")
    out = notes.copy()
    out["street"] = street
    out["outcome"] = outcome
    out["addressed_by"] = by
    log.info(
        "note_outcomes: %s", ", ".join(f"{k} {v}" for k, v in out["outcome"].value_counts().items())
    )
    return out
