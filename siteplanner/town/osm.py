"""Read an OpenStreetMap extract with pyosmium (libosmium).

:func:`parse` reads ``.osm``, ``.osm.gz``, ``.osm.bz2`` and ``.osm.pbf`` files and returns
the two layers :mod:`siteplanner.town.load` consumes:

``graph``
    The walking street network as an osmnx-compatible, simplified ``MultiDiGraph`` in
    WGS84 (node ``x``/``y`` are lon/lat, ``street_count``; edge ``osmid``, ``highway``,
    ``name``, ``length`` in metres, ``geometry``), both directions of every street. Only ways
    tagged ``highway`` that osmnx's ``walk`` type accepts: no building outline becomes a street.
``features``
    The tagged features (EPSG:4326) with osmnx's ``(element_type, osmid)`` index: buildings
    (ways and multipolygon relations), points of interest, admin boundaries, cameras,
    coastline and water.

Two passes are made: a cheap one over the relations (which member ways they need; an unknown
boundary fails here), then one over nodes and ways with a node-location index. Ways that
reference nodes missing from a clipped extract are cut where the nodes are missing, with one
warning that counts them. An admin boundary relation whose member ways are partly missing
is marked ``osm_cut`` (with ``osm_members`` and ``osm_members_present``); :func:`close_boundary`
closes it along the extract's bounds when its inside can be told. :func:`check_boundary`
counts the member ways present with a relations-and-ways pass, before any heavy work.

Water areas (:data:`siteplanner.town.water.WATER_TAGS`: lakes, rivers as ``natural=water`` or
``waterway=riverbank``, reservoirs) are ways or multipolygon relations assembled from their
member ways. One the extract's edge cuts (a closed way with nodes missing, a relation with
open chains) is closed along the extract's bounds, or left out when the data cannot tell its
water side (:func:`siteplanner.town.water.close_water`), with one warning that counts them.
pyosmium's own area assembler (``osmium.area``, ``FileProcessor.with_areas``) builds only the
relations whose every member is in the file, so a clipped extract would lose exactly these.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from siteplanner import vocab
from siteplanner._errors import InputError
from siteplanner.town.water import close_water, is_water, parity_faces, polygonal

log = logging.getLogger(__name__)

#: File name endings pyosmium reads.
SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf", ".osm.xml")

#: OSM tags of the features layer: key -> True (any value) or the accepted values.
FEATURE_TAGS: dict[str, bool | list[str]] = {
    "building": True,
    "amenity": True,
    "railway": ["station", "halt", "tram_stop", "subway_entrance"],
    "public_transport": ["station", "platform", "stop_position"],
    "highway": ["bus_stop", "street_lamp"],
    "man_made": ["surveillance"],
    "surveillance": True,
    "shop": True,
    "leisure": ["park", "playground", "pitch", "sports_centre"],
    "entrance": True,
    "boundary": ["administrative"],
    "landuse": ["residential", "reservoir"],
    "natural": ["coastline", "water"],
    "waterway": ["riverbank"],
}

#: Columns of the features layer (tags of the same name).
FEATURE_COLUMNS = (
    "name",
    "building",
    "building:levels",
    "height",
    "amenity",
    "railway",
    "public_transport",
    "highway",
    "man_made",
    "surveillance",
    "surveillance:type",
    "surveillance:zone",
    "camera:type",
    "camera:direction",
    "camera:angle",
    "camera:mount",
    "lit",
    "shop",
    "leisure",
    "entrance",
    "boundary",
    "admin_level",
    "landuse",
    "natural",
    "waterway",
    "bus",
    "train",
    "addr:street",
    "addr:housenumber",
    "ref:INSEE",
    "type",
)

#: Edge attributes kept from the street ways (tags of the same name).
EDGE_TAGS = (
    "highway",
    "name",
    "ref",
    "access",
    "service",
    "foot",
    "bicycle",
    "lit",
    "bridge",
    "tunnel",
    "width",
    "surface",
    "layer",
    "level",
    "indoor",
    "location",
    "covered",
)

# the rules of osmnx's "walk" network type (osmnx >= 2.0), copied here and applied to the
# local file; `!~` are unanchored regular expressions: a value *containing* one of these is
# refused.
_WALK_HIGHWAY_NO = re.compile(
    "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|raceway"
    "|razed|rest_area|services"
)
_WALK_TAG_NO = (
    ("area", "yes"),
    ("access", "private"),
    ("foot", "no"),
    ("service", "private"),
    ("sidewalk", "separate"),
    ("sidewalk:both", "separate"),
    ("sidewalk:left", "separate"),
    ("sidewalk:right", "separate"),
)

_EARTH_RADIUS_M = 6_371_009.0  # osmnx's great-circle radius
_AREA_KINDS = ("multipolygon", "boundary")


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether a way with these tags belongs to osmnx's ``walk`` network."""
    hw = tags.get("highway")
    if hw is None or _WALK_HIGHWAY_NO.search(hw):
        return False
    return not any(bad in tags.get(key, "") for key, bad in _WALK_TAG_NO)


def feature_match(tags: Mapping[str, str]) -> bool:
    """Whether an element with these tags belongs to the features layer."""
    for key, want in FEATURE_TAGS.items():
        value = tags.get(key)
        if value is not None and (want is True or value in want):  # type: ignore[operator]
            return True
    return False


def check_suffix(path: str | Path) -> None:
    """Raise an :class:`InputError` unless ``path`` is named like an OSM file."""
    name = Path(path).name.lower()
    if not name.endswith(SUFFIXES):
        raise InputError(
            f"{path}: not an OpenStreetMap file name (accepted: "
            f"{', '.join(SUFFIXES[:4])}; the file name says the format)"
        )


def _reader_error(path: Path, exc: Exception) -> InputError:
    return InputError(
        f"{path}: could not be read as an OpenStreetMap extract ({exc}); accepted: "
        ".osm / .osm.gz / .osm.bz2 XML or .osm.pbf"
    )


# --- relations pass ------------------------------------------------------------------


@dataclass(frozen=True)
class _Relation:
    tags: dict[str, str]
    outer: tuple[int, ...]
    inner: tuple[int, ...]
    anchors: tuple[int, ...]  # admin_centre / label nodes: a point inside a boundary


_IN_MEMORY_MAX = 1 << 30  # compressed XML up to this size (decompressed) is read once


def _source(path: Path) -> Any:
    """What pyosmium reads: compressed XML is decompressed once into memory (two passes read
    it), anything else is read from the file."""
    import bz2
    import gzip

    import osmium

    opener = {".bz2": bz2.open, ".gz": gzip.open}.get(path.suffix.lower())
    if opener is None or path.stat().st_size > _IN_MEMORY_MAX // 12:
        return str(path)
    try:
        with opener(path, "rb") as f:
            data = f.read(_IN_MEMORY_MAX + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(
            f"{path}: not a readable {path.suffix[1:]} file ({exc}); accepted: "
            ".osm / .osm.gz / .osm.bz2 XML or .osm.pbf"
        ) from exc
    if len(data) > _IN_MEMORY_MAX:
        return str(path)
    return osmium.io.FileBuffer(data, "osm")


def _read_relations(src: Any) -> dict[int, _Relation]:
    """The multipolygon and boundary relations of the features layer."""
    import osmium

    out: dict[int, _Relation] = {}
    fp = osmium.FileProcessor(src, osmium.osm.RELATION)
    fp.with_filter(osmium.filter.KeyFilter("type"))
    for rel in fp:
        tags = dict(rel.tags)
        if tags.get("type") not in _AREA_KINDS or not feature_match(tags):
            continue
        outer, inner, anchors = [], [], []
        for m in rel.members:
            if m.type == "w":
                (inner if m.role == "inner" else outer).append(m.ref)
            elif m.type == "n" and m.role in ("admin_centre", "label"):
                anchors.append(m.ref)
        out[rel.id] = _Relation(tags, tuple(outer), tuple(inner), tuple(anchors))
    return out


@dataclass(frozen=True)
class BoundaryCheck:
    """How much of an admin boundary relation the extract holds."""

    relation: int
    name: str | None
    admin_level: str | None
    members: int
    present: int
    #: whether its ``admin_centre``/``label`` node (which tells the inside of a cut boundary)
    #: is in the extract; None when the boundary is complete (not looked for)
    anchor_present: bool | None = None

    @property
    def complete(self) -> bool:
        return self.present == self.members


def _pick_boundary(rels: Mapping[int, _Relation], boundary: int | str, source: str) -> int:
    admin = {i: r for i, r in rels.items() if r.tags.get("boundary") == "administrative"}
    if isinstance(boundary, int) or str(boundary).isdigit():
        if int(boundary) in admin:
            return int(boundary)
        raise InputError(
            f"{source}: no administrative boundary relation {boundary} in the "
            f"extract; relations present: {sorted(admin)[:15]}"
        )
    match = [
        (i, r)
        for i, r in admin.items()
        if str(r.tags.get("name", "")).casefold() == str(boundary).casefold()
    ]
    if not match:
        names = sorted({r.tags["name"] for r in admin.values() if "name" in r.tags})
        raise InputError(
            f"{source}: no administrative boundary named {boundary!r} in the "
            f"extract; names present: {', '.join(names[:20])}"
        )

    def level(item: tuple[int, _Relation]) -> float:
        try:
            return -float(item[1].tags.get("admin_level", "nan"))
        except ValueError:
            return math.inf

    return sorted(match, key=lambda t: (level(t), t[0]))[0][0]


def check_boundary(path: str | Path, boundary: int | str) -> BoundaryCheck:
    """Count the member ways of an admin boundary the extract holds, without a full parse.

    Reads relations, then way ids only (no node locations, no geometry), and for a cut
    boundary whether its ``admin_centre`` node is in the extract: a second or two on the
    default extract. A cut boundary is closed by :func:`close_boundary` at load time when the
    node is there (or, failing it, when complete neighbouring boundaries tell the inside).

    Raises
    ------
    InputError
        The file is not an OSM extract, or holds no such boundary relation, or none of its
        member ways.
    """
    import osmium

    path = Path(path)
    check_suffix(path)
    try:
        src = _source(path)
        rels = _read_relations(src)
        rid = _pick_boundary(rels, boundary, str(path))
        rel = rels[rid]
        wanted = set(rel.outer) | set(rel.inner)
        fp = osmium.FileProcessor(src, osmium.osm.WAY)
        fp.with_filter(osmium.filter.IdFilter(wanted))
        present = sum(1 for _ in fp)
        anchor = None
        if present < len(wanted):
            nodes = osmium.FileProcessor(src, osmium.osm.NODE)
            anchor = any(True for _ in nodes.with_filter(osmium.filter.IdFilter(rel.anchors)))
    except InputError:
        raise
    except RuntimeError as exc:
        raise _reader_error(path, exc) from exc
    out = BoundaryCheck(
        rid, rel.tags.get("name"), rel.tags.get("admin_level"), len(wanted), present, anchor
    )
    if present == 0:
        raise InputError(
            f"{path}: boundary relation {rid} ({out.name}) is listed but none of its "
            f"{len(wanted)} member ways is in the extract; give `polygon =` in the "
            "scenario's [area] instead"
        )
    return out


# --- nodes and ways pass -------------------------------------------------------------


def _runs(nodes: Any) -> tuple[list[list[tuple[int, float, float]]], bool]:
    """The way's runs of consecutive nodes with a location, and whether any node was missing."""
    runs: list[list[tuple[int, float, float]]] = [[]]
    clipped = False
    for n in nodes:
        loc = n.location
        if loc.valid():
            runs[-1].append((n.ref, loc.lon, loc.lat))
        else:
            clipped = True
            if runs[-1]:
                runs.append([])
    return [r for r in runs if len(r) >= 2], clipped


@dataclass
class _Collected:
    streets: list[tuple[int, dict[str, str], list[tuple[int, float, float]]]]
    rows: list[tuple[tuple[str, int], dict[str, str], BaseGeometry]]
    member_lines: dict[int, list[list[tuple[float, float]]]]
    clipped_members: set[int]
    anchors: dict[int, tuple[float, float]]
    clipped_streets: int
    clipped_features: int
    bounds: tuple[float, float, float, float]
    #: every highway way below ground or indoors (walkable or not), as lon/lat lines
    underground: list[list[tuple[float, float]]]


def _collect(src: Any, rels: Mapping[int, _Relation]) -> _Collected:
    """One pass over nodes (with tags) and ways, with a node-location index.

    Ways complete in the extract that only the features layer needs are turned into WKB by
    libosmium and into shapely geometries in bulk at the end; the others (streets, relation
    members, clipped ways) are read node by node.
    """
    import osmium

    members = {w for r in rels.values() for w in (*r.outer, *r.inner)}
    anchor_ids = {n for r in rels.values() for n in r.anchors}
    fab = osmium.geom.WKBFactory()
    streets, rows = [], []
    wkb_keys: list[tuple] = []
    wkb_lines: list[str] = []
    wkb_closed: list[bool] = []
    member_lines: dict[int, list[list[tuple[float, float]]]] = {}
    anchors: dict[int, tuple[float, float]] = {}
    clipped_members: set[int] = set()
    below: list[list[tuple[float, float]]] = []
    n_clip_st = n_clip_ft = 0
    fp = osmium.FileProcessor(src, osmium.osm.NODE | osmium.osm.WAY).with_locations()
    fp.with_filter(osmium.filter.EmptyTagFilter().enable_for(osmium.osm.NODE))
    for obj in fp:
        if obj.is_node():
            if obj.id in anchor_ids:
                anchors[obj.id] = (obj.location.lon, obj.location.lat)
            tags = dict(obj.tags)
            if feature_match(tags):
                rows.append((("node", obj.id), tags, Point(obj.location.lon, obj.location.lat)))
            continue
        tags = dict(obj.tags)
        walk, feat, member = is_walkable(tags), feature_match(tags), obj.id in members
        if "highway" in tags and vocab.underground(tags):  # no camera mast on or above it
            below.extend([(p[1], p[2]) for p in r] for r in _runs(obj.nodes)[0])
        if not (walk or feat or member):
            continue
        if feat and not (walk or member):
            try:
                wkb_lines.append(fab.create_linestring(obj, use_nodes=osmium.geom.ALL))
            except (osmium.InvalidLocationError, RuntimeError):
                pass  # clipped (or degenerate): read node by node below
            else:
                wkb_keys.append((("way", obj.id), tags))
                wkb_closed.append(
                    obj.is_closed()
                    and len(obj.nodes) >= 4
                    and tags.get("area") != "no"
                    and tags.get("natural") != "coastline"
                )
                continue
        runs, clipped = _runs(obj.nodes)
        if walk:
            n_clip_st += clipped
            streets.extend((obj.id, tags, r) for r in runs)
        if member:
            member_lines[obj.id] = [[(p[1], p[2]) for p in r] for r in runs]
            if clipped:
                clipped_members.add(obj.id)
        if feat:
            n_clip_ft += clipped and not walk
            geom = _way_geometry(obj, runs, clipped, tags)
            if geom is not None:
                rows.append((("way", obj.id), tags, geom))
    rows.extend(_bulk_geometries(wkb_keys, wkb_lines, wkb_closed))
    pts = (
        [shapely.get_coordinates(r[2]) for r in rows]
        + [np.asarray(seg, float)[:, 1:] for _, _, seg in streets]
        + [np.asarray(seg, float) for segs in member_lines.values() for seg in segs]
    )
    allxy = np.concatenate(pts) if pts else np.zeros((1, 2))
    bounds = (*allxy.min(axis=0), *allxy.max(axis=0))
    return _Collected(
        streets,
        rows,
        member_lines,
        clipped_members,
        anchors,
        n_clip_st,
        n_clip_ft,
        tuple(float(b) for b in bounds),
        below,
    )  # type: ignore[arg-type]


def _bulk_geometries(keys: list[tuple], wkb: list[str], closed: list[bool]) -> list[tuple]:
    """Lines from libosmium's hex WKB; the closed ones as polygons."""
    if not keys:
        return []
    lines = shapely.from_wkb(wkb)
    geoms = lines.copy()
    closed_a = np.asarray(closed, bool)
    if closed_a.any():
        xy, idx = shapely.get_coordinates(lines[closed_a], return_index=True)
        rings = shapely.linearrings(xy, indices=idx)
        geoms[closed_a] = shapely.polygons(rings)
    return [(k, t, g) for (k, t), g in zip(keys, geoms)]


def _way_geometry(
    way: Any, runs: list, clipped: bool, tags: Mapping[str, str]
) -> BaseGeometry | None:
    """A closed way as a polygon (unless ``area=no``), any other as a line; None if unusable."""
    if not runs:
        return None
    closed = way.nodes[0].ref == way.nodes[-1].ref and len(way.nodes) >= 4
    if closed and tags.get("area") != "no" and tags.get("natural") != "coastline":
        if not clipped:
            return Polygon([(p[1], p[2]) for p in runs[0]])
        if not is_water(tags):
            return None  # a building cut by the extract's edge has no footprint
        # water cut by the edge: its runs, closed along the bounds by _close_cut_water
    if len(runs) == 1:
        return LineString([(p[1], p[2]) for p in runs[0]])
    return shapely.MultiLineString([[(p[1], p[2]) for p in r] for r in runs])


# --- relations as polygons -----------------------------------------------------------


def _rings(lines: list[list[tuple[float, float]]]) -> list[Polygon]:
    if not lines:
        return []
    merged = shapely.line_merge(shapely.MultiLineString(lines))
    return [
        p
        for p in shapely.get_parts(shapely.polygonize(shapely.get_parts(merged)))
        if not p.is_empty
    ]


def _relation_polygon(rel: _Relation, lines: Mapping[int, list]) -> BaseGeometry | None:
    """Outer rings minus inner rings, from the member ways present (None if nothing closes)."""
    outer = _rings([seg for w in rel.outer for seg in lines.get(w, [])])
    if not outer:
        return None
    geom = polygonal(shapely.union_all(outer))
    inner = _rings([seg for w in rel.inner for seg in lines.get(w, [])])
    if inner:
        geom = polygonal(geom.difference(polygonal(shapely.union_all(inner))))
    return geom if not geom.is_empty else None


def _close_along_bounds(
    rel: _Relation,
    lines: Mapping[int, list],
    anchors: Mapping[int, tuple],
    bounds: tuple[float, float, float, float],
    neighbours: list[BaseGeometry],
) -> tuple[BaseGeometry | None, str]:
    """A boundary cut by the extract's edge, closed along the extract's bounds.

    The member lines present are extended from their loose ends to the bounds' rectangle,
    which they cut into faces; crossing the boundary flips inside and outside, so the faces
    fall in two sets. The inside set is the one holding the relation's ``admin_centre`` (or
    ``label``) node; without it in the extract, the set that does not overlap the complete
    boundaries of the same level (the neighbours); failing that, the smaller set. Returns
    the polygon (None if nothing closes) and the rule that chose it.
    """
    anchor = next((anchors[n] for n in rel.anchors if n in anchors), None)
    segs = [seg for w in (*rel.outer, *rel.inner) for seg in lines.get(w, [])]
    if not segs:
        return None, "no member way"
    sets = parity_faces(segs, bounds, anchor)
    even, odd = (shapely.union_all(s) if s else Polygon() for s in sets)
    if anchor is not None:
        rule = "admin_centre node"
        inside = even
    else:
        near = shapely.union_all(neighbours) if neighbours else Polygon()
        over_even, over_odd = even.intersection(near).area, odd.intersection(near).area
        if (
            max(over_even, over_odd) > 0.5 * near.area > 0
            and min(over_even, over_odd) < 0.05 * near.area
        ):
            rule = "neighbouring boundaries"
            inside = even if over_even < over_odd else odd
        else:
            rule = "smaller side"
            inside = even if even.area <= odd.area else odd
    return (shapely.make_valid(inside) if not inside.is_empty else None), rule


def _loose_ends(rel: _Relation, lines: Mapping[int, list]) -> bool:
    """Whether the member lines present leave a ring open (a relation cut short)."""
    segs = [seg for w in (*rel.outer, *rel.inner) for seg in lines.get(w, [])]
    if not segs:
        return True
    merged = shapely.get_parts(shapely.line_merge(shapely.MultiLineString(segs)))
    return not all(g.is_ring for g in merged)


def _relation_rows(rels: Mapping[int, _Relation], c: _Collected) -> tuple[list[tuple], dict]:
    """Feature rows of the relations; admin boundaries cut short get an empty polygon here and
    their parts are returned, so that :func:`close_boundary` closes the one the study needs."""
    rows, cut = [], {}
    for rid, rel in rels.items():
        wanted = (*rel.outer, *rel.inner)
        present = sum(1 for w in wanted if w in c.member_lines and w not in c.clipped_members)
        geom = _relation_polygon(rel, c.member_lines)
        tags = dict(rel.tags)
        if rel.tags.get("boundary") == "administrative":
            tags["osm_members"] = str(len(wanted))
            tags["osm_members_present"] = str(present)
            if present < len(wanted) or _loose_ends(rel, c.member_lines):
                tags["osm_cut"] = "yes"
                geom = None
                cut[rid] = {
                    "relation": rel,
                    "anchors": {n: c.anchors[n] for n in rel.anchors if n in c.anchors},
                    "lines": {w: c.member_lines[w] for w in wanted if w in c.member_lines},
                }
        rows.append((("relation", rid), tags, geom if geom is not None else Polygon()))
    return rows, cut


def _close_cut_water(
    rows: list[tuple], rels: Mapping[int, _Relation], c: _Collected
) -> tuple[list[tuple], int, int]:
    """The water areas the extract's edge cuts (a closed way's runs, a relation's open chains),
    closed along the bounds (:func:`siteplanner.town.water.close_water`) or left as they are.

    Returns the rows and how many water areas were closed and left out.
    """
    todo = []
    for i, (key, tags, geom) in enumerate(rows):
        if not is_water(tags):
            continue
        if key[0] == "way" and geom.geom_type in ("LineString", "MultiLineString"):
            todo.append((i, [list(g.coords) for g in shapely.get_parts(geom)]))
        elif key[0] == "relation" and _loose_ends(rels[key[1]], c.member_lines):
            rel = rels[key[1]]
            segs = [seg for w in (*rel.outer, *rel.inner) for seg in c.member_lines.get(w, [])]
            if segs:
                todo.append((i, segs))
    if not todo:
        return rows, 0, 0
    land = _land_points(c)
    rows, closed = list(rows), 0
    for i, segs in todo:
        try:
            geom = close_water(segs, c.bounds, land)
        except shapely.errors.GEOSException:
            geom = None
        if geom is not None:
            rows[i] = (rows[i][0], rows[i][1], geom)
            closed += 1
    return rows, closed, len(todo) - closed


def _land_points(c: _Collected) -> np.ndarray:
    """Points on land: the buildings' centroids and the street nodes off bridges and tunnels."""
    xy = [
        (lon, lat)
        for _, tags, run in c.streets
        if tags.get("bridge", "no") == "no" and tags.get("tunnel", "no") == "no"
        for _, lon, lat in run
    ]
    blds = [g for _, tags, g in c.rows if "building" in tags and g.geom_type == "Polygon"]
    out = np.asarray(xy, float).reshape(-1, 2)
    if blds:
        out = np.vstack([out, shapely.get_coordinates(shapely.centroid(blds))])
    return out


def close_boundary(layers: Mapping[str, Any], relation: int) -> tuple[BaseGeometry | None, str]:
    """Close an admin boundary the extract holds only in part (see :func:`_close_along_bounds`).

    Parameters
    ----------
    layers
        :func:`parse`'s result.
    relation
        The boundary relation's id (one marked ``osm_cut`` in the features).

    Returns
    -------
    The polygon (WGS84), or None when the inside cannot be told (no ``admin_centre`` node in
    the extract and no complete neighbouring boundary of the same level), and the rule used.
    """
    part = layers.get("cut_boundaries", {}).get(relation)
    if part is None:
        return None, "not cut"
    feats = layers["features"]
    rel = part["relation"]
    level = rel.tags.get("admin_level")
    same = feats[
        (feats.get("boundary") == "administrative")
        & (feats.get("admin_level") == level)
        & ~feats.geometry.is_empty
    ]
    if "osm_cut" in same:
        same = same[same["osm_cut"].isna()]
    try:
        geom, rule = _close_along_bounds(
            rel, part["lines"], part["anchors"], layers["bounds"], list(same.geometry.values)
        )
    except shapely.errors.GEOSException as exc:
        return None, f"failed ({exc})"

    if rule == "smaller side":
        return None, rule
    return geom, rule


# --- the street graph ----------------------------------------------------------------


def _segment_lengths_m(lon_lat: np.ndarray) -> np.ndarray:
    """Great-circle length (m, osmnx's haversine) of ``(n, 4)`` lon, lat, lon, lat rows."""
    lon_lat = lon_lat.reshape(-1, 4)  # none: (0, 4)
    y1, y2 = np.radians(lon_lat[:, 1]), np.radians(lon_lat[:, 3])
    dlat, dlon = y2 - y1, np.radians(lon_lat[:, 2] - lon_lat[:, 0])
    h = np.sin(dlat / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _one_or_list(values: Iterable[Any]) -> Any:
    seen = list(dict.fromkeys(v for v in values if v is not None))
    return (seen[0] if len(seen) == 1 else seen) if seen else None


def street_graph(
    streets: list[tuple[int, Mapping[str, str], list[tuple[int, float, float]]]],
) -> nx.MultiDiGraph:
    """The simplified walking graph of street ways (osmnx's simplification rules).

    A node stays when it is a dead end, where three or more street segments meet, on a
    self-loop, where two streets run in parallel between the same nodes, or where a street
    goes below ground or indoors, or closes to the public (a tunnel's mouth, a gate: each edge
    is of one kind, :func:`siteplanner.vocab.underground` and :func:`~siteplanner.vocab.
    private_way`); every other node becomes a vertex of its edge's geometry. Each edge exists
    in both directions.
    """
    coords: dict[int, tuple[float, float]] = {}
    seg_u, seg_v, seg_way = [], [], []
    for i, (_, _, run) in enumerate(streets):
        for (a, ax, ay), (b, bx, by) in itertools.pairwise(run):
            if a == b:
                continue
            coords[a], coords[b] = (ax, ay), (bx, by)
            seg_u.append(a)
            seg_v.append(b)
            seg_way.append(i)
    incident: dict[int, list[int]] = {}
    for s, (a, b) in enumerate(zip(seg_u, seg_v)):
        incident.setdefault(a, []).append(s)
        incident.setdefault(b, []).append(s)

    def other(s: int, n: int) -> int:
        return seg_v[s] if seg_u[s] == n else seg_u[s]

    kind = [(vocab.underground(t), vocab.private_way(t)) for _, t, _ in streets]

    def is_end(n: int) -> bool:
        inc = incident[n]
        return (
            len(inc) != 2
            or len({other(s, n) for s in inc}) != 2
            or kind[seg_way[inc[0]]] != kind[seg_way[inc[1]]]
        )

    ends = {n for n in incident if is_end(n)}
    # each segment's length, all at once (an edge's is the sum of its segments', either way)
    seg_m = _segment_lengths_m(np.array([coords[a] + coords[b] for a, b in zip(seg_u, seg_v)]))
    used = np.zeros(len(seg_u), bool)
    g = nx.MultiDiGraph(crs="epsg:4326", simplified=True, created_with="siteplanner.osm")
    made: list[tuple[dict, dict, np.ndarray]] = []
    for start in sorted(ends) + sorted(incident):
        if start not in ends:  # a ring with no end: cut it at its first node
            if all(used[s] for s in incident[start]):
                continue
            ends.add(start)
        for s0 in incident[start]:
            if used[s0]:
                continue
            path, segs, s, n = [start], [], s0, start
            while True:
                used[s] = True
                segs.append(s)
                n = other(s, n)
                path.append(n)
                if n in ends:
                    break
                s = next(t for t in incident[n] if t != s)
                if used[s]:
                    break
            made.append(_add_edge(g, path, segs, coords, seg_way, streets, seg_m))
    if made:  # the edges' lines, made all at once (reversed for the way back)
        sizes = [len(m[2]) for m in made]
        lines = shapely.linestrings(
            np.vstack([m[2] for m in made]), indices=np.repeat(np.arange(len(made)), sizes)
        )
        for (there, back, _), line, rev in zip(made, lines, shapely.reverse(lines)):
            there["geometry"], back["geometry"] = line, rev
    for n in g.nodes:
        g.nodes[n]["street_count"] = len(incident[n]) if n in incident else 0
    return g


def _add_edge(
    g: nx.MultiDiGraph,
    path: list[int],
    segs: list[int],
    coords: Mapping,
    seg_way: list[int],
    streets: list,
    seg_m: np.ndarray,
) -> tuple[dict, dict, np.ndarray]:
    """Add ``path``'s edge both ways; its two attribute dicts (geometry to set) and points."""
    u, v = path[0], path[-1]
    for n in (u, v):
        if n not in g:
            g.add_node(n, x=coords[n][0], y=coords[n][1])
    xy = np.array([coords[n] for n in path])
    ways = [streets[i] for i in dict.fromkeys(seg_way[s] for s in segs)]  # each once, in order
    if len(ways) == 1:  # most edges lie on one way: its id and tags as they are
        attrs: dict[str, Any] = {"osmid": ways[0][0], "oneway": False}
        tags = ways[0][1]
        attrs.update((tag, tags[tag]) for tag in EDGE_TAGS if tags.get(tag) is not None)
    else:
        attrs = {"osmid": _one_or_list(w[0] for w in ways), "oneway": False}
        for tag in EDGE_TAGS:
            val = _one_or_list(w[1].get(tag) for w in ways)
            if val is not None:
                attrs[tag] = val
    attrs["length"] = float(seg_m[segs].sum())
    there = g.add_edge(u, v, **attrs, reversed=False, geometry=None)
    back = g.add_edge(v, u, **attrs, reversed=True, geometry=None)
    return g._succ[u][v][there], g._succ[v][u][back], xy


# --- the whole parse -----------------------------------------------------------------


def _features_frame(rows: list[tuple]) -> gpd.GeoDataFrame:
    cols = [*FEATURE_COLUMNS, "osm_members", "osm_members_present", "osm_cut"]
    data = {c: [r[1].get(c) for r in rows] for c in cols}
    data = {c: v for c, v in data.items() if any(x is not None for x in v)}
    import pandas as pd

    index = (
        pd.MultiIndex.from_tuples([r[0] for r in rows], names=["element", "id"])
        if rows
        else pd.MultiIndex.from_tuples([], names=["element", "id"])
    )
    return gpd.GeoDataFrame(data, geometry=[r[2] for r in rows], index=index, crs="EPSG:4326")


def parse(path: str | Path, *, boundary: int | str | None = None) -> dict[str, Any]:
    """Parse an OSM extract: the walking street graph and the tagged features (WGS84).

    ``boundary`` (a relation id or name), when given, must be an admin boundary relation of
    the extract: this is checked after the cheap relations pass, before the heavy one.

    Returns
    -------
    dict
        ``graph`` (simplified osmnx-style MultiDiGraph of walkable streets, lon/lat),
        ``features`` (GeoDataFrame, EPSG:4326, index ``(element_type, osmid)``),
        ``bounds`` (lon/lat box of the data read) and ``underground_ways`` (the lon/lat lines of
        every highway way below ground or indoors, :func:`siteplanner.vocab.underground`).

    Raises
    ------
    InputError
        The file is not named or not readable as an OSM extract.
    """
    path = Path(path)
    check_suffix(path)
    t0 = time.perf_counter()
    try:
        src = _source(path)
        rels = _read_relations(src)
        if boundary is not None:
            _pick_boundary(rels, boundary, str(path))
        c = _collect(src, rels)
    except RuntimeError as exc:
        raise _reader_error(path, exc) from exc
    t1 = time.perf_counter()
    graph = street_graph(c.streets)
    rel_rows, cut = _relation_rows(rels, c)
    rows, closed, left_out = _close_cut_water(c.rows + rel_rows, rels, c)
    features = _features_frame(rows)
    warnings = []
    if c.clipped_streets or c.clipped_features:
        warnings.append(
            f"{path.name}: {c.clipped_streets} street way(s) and {c.clipped_features} other "
            "way(s) reference nodes missing from the extract (clipped at its edge); they are "
            "cut where the nodes are missing"
        )
    if closed or left_out:
        warnings.append(
            f"{path.name}: {closed + left_out} water area(s) cut by the extract's edge: "
            f"{closed} closed along its bounds (the water side: the one without buildings and "
            "streets)"
            + (
                f"; {left_out} left out, their water side cannot be told (the study area keeps "
                "the water they cover)"
                if left_out
                else ""
            )
        )
    for msg in warnings:
        log.warning("%s", msg)
    log.info(
        "parsed %s with pyosmium in %.1f s (read %.1f s): walking graph of %d nodes and "
        "%d edges, %d tagged features",
        path.name,
        time.perf_counter() - t0,
        t1 - t0,
        graph.number_of_nodes(),
        graph.number_of_edges(),
        len(features),
    )
    return {
        "graph": graph,
        "features": features,
        "bounds": c.bounds,
        "cut_boundaries": cut,
        "warnings": warnings,
        "clipped_ways": c.clipped_streets + c.clipped_features,
        "underground_ways": c.underground,
    }
