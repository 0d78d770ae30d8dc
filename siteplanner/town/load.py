"""Read the town's data and write the outputs.

Reading
-------
:func:`load_town` turns an OpenStreetMap extract (``.osm``, ``.osm.gz``, ``.osm.bz2`` or
``.osm.pbf``) into a :class:`Town`: the study area, the walking network, building
footprints and the points of interest siteplanner uses (schools, gares, bus stations,
police, existing cameras, entrances, street lamps, attractors), all in one projected metric
CRS (the UTM zone of the study area). :mod:`siteplanner.town.osm` reads the file with pyosmium;
nothing touches the network.

Parsing the default extract takes a few seconds; the parsed layers are cached in a pickle
keyed on the extract's SHA-256 and on the loader version, in a cache folder outside the
outputs. A stale or unreadable cache entry is rebuilt; a run without cache gives the same
result.

Writing
-------
Every writer writes to a temporary file in the destination folder and moves it into
place with :func:`os.replace`, so a run killed half-way never leaves a truncated file.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from siteplanner import vocab
from siteplanner._errors import InputError
from siteplanner._gc import relaxed_gc
from siteplanner.files import atomic_path, dump_pickle, load_pickle
from siteplanner.town import osm, water

log = logging.getLogger(__name__)

#: Bump when the parsed layers change shape, so that old cache entries are ignored.
LOADER_VERSION = (
    "9"  # read_osm cache (6: underground ways; 7: bicycle; 8: water areas closed when cut;
    # 9: geometries pickled at once, files.dump_pickle)
)

#: OSM tags read from the extract into the features layer (see :mod:`siteplanner.town.osm`).
FEATURE_TAGS = osm.FEATURE_TAGS

#: Highway types that pedestrians cannot use.
NOT_WALKABLE = frozenset(
    {"motorway", "motorway_link", "trunk", "trunk_link", "construction", "proposed", "raceway"}
)


@dataclass(frozen=True)
class Town:
    """The study area and its layers, in one projected metric CRS.

    Attributes
    ----------
    name
        The study area's name (the admin boundary's ``name`` or the polygon file's stem).
    crs
        The projected CRS of every layer (a UTM zone, as an EPSG string).
    area
        The study area polygon.
    graph
        Walking network (osmnx MultiDiGraph, projected) within ``area`` buffered by
        ``margin_m``, largest weakly connected component.
    buildings
        Building footprints (``geometry``, ``building``, ``name``, ``height_m``,
        ``residential``) within ``area`` buffered by ``margin_m``.
    pois
        Points of interest (``kind``, ``name``, ``osm_id``, point ``geometry``) within the
        buffered area. Kinds: school, station, bus_station, bus_stop, police, townhall,
        camera, entrance, street_lamp, bar, nightclub, shop, park, parking, public_building.
    extras
        ``camera_features`` (the OSM cameras' tags) and ``underground_ways`` (a GeoSeries of
        every highway way below ground or indoors, walkable or not, within the buffered area:
        no camera site stands on one alone).
    source
        The extract's file name and date information, for attribution.
    extras
        ``camera_features`` (the OSM cameras' tags), ``house_numbers`` (the OSM addresses:
        ``street``, ``housenumber``, point) and ``warnings`` (what the first load warned about).
    """

    name: str
    crs: str
    area: Polygon | MultiPolygon
    graph: nx.MultiDiGraph
    buildings: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    source: str = ""
    margin_m: float = 150.0
    extras: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        """Counts of each layer, for the log and ``summary.json``."""
        kinds = self.pois["kind"].value_counts().sort_index()
        out = {
            "graph_nodes": self.graph.number_of_nodes(),
            "graph_edges": self.graph.number_of_edges(),
            "buildings": len(self.buildings),
        }
        out.update({f"poi_{k}": int(v) for k, v in kinds.items()})
        return out


# ---------------------------------------------------------------------------------------
# parsing with a cache
# ---------------------------------------------------------------------------------------


def file_sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _parse_osm(path: Path, boundary: int | str | None = None) -> dict[str, Any]:
    """Parse the extract with pyosmium: the walking street graph and the tagged features."""
    return osm.parse(path, boundary=boundary)


_FEATURE_COLUMNS = frozenset(osm.FEATURE_COLUMNS)


#: Tags of the OSM cameras kept in ``Town.extras["camera_features"]`` (see :mod:`.cameras`).
_CAMERA_COLUMNS = (
    "name",
    "man_made",
    "surveillance",
    "surveillance:type",
    "surveillance:zone",
    "camera:type",
    "camera:direction",
    "camera:angle",
    "camera:mount",
)


def _cache_path(cache_dir: str | Path, digest: str) -> Path:
    return Path(cache_dir) / f"osm-{digest[:24]}-v{reader_version()}.pickle"


def reader_version() -> str:
    """:data:`LOADER_VERSION` and a digest of the reader's code (``osm.py``, ``water.py``): a
    parse cache written by another version of the reader (an edit, another branch sharing the
    cache folder with the same LOADER_VERSION) is never reused."""
    code = hashlib.sha256(b"".join(Path(m.__file__).read_bytes() for m in (osm, water)))
    return f"{LOADER_VERSION}-{code.hexdigest()[:8]}"


_OSM_KINDS = "an .osm, .osm.gz, .osm.bz2 or .osm.pbf OpenStreetMap file"


def read_osm(
    path: str | Path, *, cache_dir: str | Path | None = ".cache", boundary: int | str | None = None
) -> dict[str, Any]:
    """Parse an OSM XML extract, through a cache keyed on the file's hash.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf`` file.
    cache_dir
        Folder for parsed layers; ``None`` disables the cache.
    boundary
        An admin boundary (relation id or name) the study needs: a parse fails on its
        absence before the heavy pass.

    Returns
    -------
    dict
        :func:`siteplanner.town.osm.parse`'s layers: ``graph`` (unprojected osmnx-style
        MultiDiGraph of the walkable streets), ``features`` (GeoDataFrame of the tagged
        features, EPSG:4326), ``bounds`` and ``cut_boundaries``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: OSM extract not found (expected {_OSM_KINDS})")
    osm.check_suffix(path)
    if cache_dir is None:
        return _parse_osm(path, boundary)
    digest = file_sha256(path)
    cache_path = _cache_path(cache_dir, digest)
    if (digest, reader_version()) in _PARSED:  # kept in this process (a batch's worker)
        layers = _PARSED[(digest, reader_version())]
        for msg in layers.get("warnings", []):
            log.warning("%s", msg)  # told again, as from the parse cache
        return layers
    with _one_parser(cache_path):  # another process parsing this extract: wait, read its cache
        if cache_path.is_file():
            try:
                with open(cache_path, "rb") as f:
                    cached = load_pickle(f)
                if cached.get("sha256") == digest and cached.get("version") == reader_version():
                    log.info("read parsed %s from cache %s", path.name, cache_path)
                    for msg in cached["layers"].get("warnings", []):
                        log.warning("%s", msg)  # the extract's problems, told again
                    return _keep_parsed(digest, cached["layers"])
                log.warning("cache %s does not match %s; rebuilding it", cache_path, path.name)
            except Exception as exc:  # a corrupt cache is rebuilt, never trusted
                log.warning("cache %s is unreadable (%s); rebuilding it", cache_path, exc)
        try:
            layers = _parse_osm(path, boundary)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(
                f"{path}: could not be read as an OpenStreetMap extract ({exc})"
            ) from exc
        payload = {"sha256": digest, "version": reader_version(), "layers": layers}
        with atomic_path(cache_path) as tmp:
            with open(tmp, "wb") as f:
                dump_pickle(payload, f)
    return _keep_parsed(digest, layers)


@contextmanager
def _one_parser(cache_path: Path) -> Iterator[None]:
    """A lock beside the parse cache, held while it is read or written: the workers of a batch
    on an empty cache parse the extract once, the others wait and read the cache it writes."""
    try:
        import fcntl
    except ImportError:  # not POSIX: each process parses for itself
        yield
        return
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    with open(cache_path.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


#: Parsed extracts kept in this process, and how many (:func:`keep_parsed_extracts`).
_PARSED: dict[tuple[str, str], dict[str, Any]] = {}
_KEEP_PARSED = [0]


def keep_parsed_extracts(n: int) -> None:
    """Keep up to ``n`` parsed extracts in this process (0, the default: none).

    ``siteplanner batch`` keeps one per worker: the communes of one extract then read its
    parse cache (a 26 MB pickle for Malta) once per worker, not once per commune. The layers
    are only read (each study area copies what it keeps); keyed on the extract's SHA-256.
    """
    _KEEP_PARSED[0] = max(0, int(n))
    while len(_PARSED) > _KEEP_PARSED[0]:
        _PARSED.pop(next(iter(_PARSED)))  # the oldest goes


def _keep_parsed(digest: str, layers: dict[str, Any]) -> dict[str, Any]:
    if _KEEP_PARSED[0]:
        _PARSED[(digest, reader_version())] = layers
        keep_parsed_extracts(_KEEP_PARSED[0])
    return layers


# ---------------------------------------------------------------------------------------
# the study area
# ---------------------------------------------------------------------------------------


def _boundaries(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if "boundary" not in features:
        return features.iloc[:0]
    b = features[
        (features["boundary"] == "administrative")
        & features.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    ]
    return b


def study_area_from_osm(
    features: gpd.GeoDataFrame,
    boundary: int | str,
    *,
    source: str,
    layers: dict[str, Any] | None = None,
) -> tuple[str, BaseGeometry]:
    """The admin boundary named by relation id or by name, as a WGS84 polygon.

    A boundary relation the extract holds only in part (cut by its edge) is closed along the
    extract's bounds with a warning "N of M member ways present" (``layers``, the parse
    result, gives the parts), or refused with an error that says to give ``polygon =``.
    """
    name, geom, row = _find_boundary(features, boundary, source=source)
    if str(row.get("osm_cut", "")) != "yes":
        if geom.is_empty:
            raise InputError(
                f"{source}: boundary {boundary} ({name}) does not form a closed polygon "
                "in the extract; give `polygon =` (a polygon file) in the scenario's [area]"
            )
        return name, geom
    rid = int(row["_rid"])
    present, members = row.get("osm_members_present"), row.get("osm_members")
    closed, rule = osm.close_boundary(layers, rid) if layers is not None else (None, "no parts")
    if present == members:  # the extract kept only the members it holds: they leave a gap
        members = f"{members} (the ring does not close)"
    if closed is None or closed.is_empty:
        raise InputError(
            f"{source}: boundary relation {rid} ({name}) is cut by the extract's edge "
            f"({present} of {members} member ways present) and cannot be closed reliably "
            f"({_WHY.get(rule, rule)}); give `polygon =` (a polygon file of the commune) in the "
            "scenario's [area], or use an extract that holds the whole commune"
        )
    log.warning(
        "%s: boundary relation %d (%s) is cut by the extract's edge: %s of %s member ways "
        "present; closed along the extract's bounds (inside told by its %s). Check the study "
        "area, or give `polygon =` in the scenario",
        source,
        rid,
        name,
        present,
        members,
        rule,
    )
    return name, closed


_WHY = {
    "smaller side": "its admin_centre node is outside the extract and no complete neighbouring "
    "boundary tells its inside from its outside",
    "no member way": "none of its member ways is in the extract",
    "no parts": "its parts were not kept by the parse",
}


def _find_boundary(
    features: gpd.GeoDataFrame, boundary: int | str, *, source: str
) -> tuple[str, BaseGeometry, pd.Series]:
    b = _boundaries(features)
    if isinstance(boundary, int) or (isinstance(boundary, str) and boundary.isdigit()):
        key = ("relation", int(boundary))
        if key not in b.index:
            rel_ids = sorted(i for t, i in b.index if t == "relation")
            raise InputError(
                f"{source}: no administrative boundary relation {boundary} in the extract; "
                f"relations present: {rel_ids[:15]}{' ...' if len(rel_ids) > 15 else ''}"
            )
        row = b.loc[key]
    else:
        names = b.get("name", pd.Series(dtype=object))
        match = b[names.astype(str).str.casefold() == boundary.casefold()]
        if match.empty:
            avail = sorted(set(names.dropna().astype(str)))
            raise InputError(
                f"{source}: no administrative boundary named {boundary!r} in the extract; "
                f"names present: {', '.join(avail[:20])}"
            )
        if "admin_level" in match:
            match = match.assign(
                _lvl=pd.to_numeric(match["admin_level"], errors="coerce")
            ).sort_values("_lvl", ascending=False)
        row = match.iloc[0]
    name = str(row.get("name", boundary)) if pd.notna(row.get("name", None)) else str(boundary)
    row = row.copy()
    row["_rid"] = row.name[1] if isinstance(row.name, tuple) else -1
    return name, water.polygonal(row.geometry), row


_WATER = ", ".join(f"{k}={'/'.join(v)}" for k, v in water.WATER_TAGS.items())


def clip_to_land(
    area_wgs84: BaseGeometry, features: gpd.GeoDataFrame, crs: str, *, source: str
) -> BaseGeometry:
    """The study area less the sea and the water the extract maps, with a warning.

    Where the extract maps ``natural=coastline`` (land on its left) or water areas
    (:data:`siteplanner.town.water.WATER_TAGS`) across the area, the area is clipped to land
    and the share removed is logged.

    Raises
    ------
    InputError
        Nothing of the area is land.
    """
    land, mapped = water.land_share(area_wgs84, features)
    if not mapped:
        return area_wgs84
    before, after = gpd.GeoSeries([area_wgs84, land], crs="EPSG:4326").to_crs(crs).area
    if after <= 0.0:
        raise InputError(
            f"{source}: the study area is all sea or water in the extract "
            f"(natural=coastline, {_WATER}); check the boundary or the polygon"
        )
    removed = 1.0 - after / before
    if removed > 0.001:
        log.warning(
            "%s: %.1f %% of the study area (%.2f of %.2f km²) is sea or water mapped in "
            "the extract (natural=coastline, %s); the area is clipped to land",
            source,
            100 * removed,
            (before - after) / 1e6,
            before / 1e6,
            _WATER,
        )
        return land
    return area_wgs84


def read_polygon(path: str | Path) -> tuple[str, gpd.GeoSeries]:
    """Read a study-area polygon file (GeoJSON, GeoPackage, shapefile) as one geometry."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: study area file not found (expected a polygon GeoJSON / GeoPackage)"
        )
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot be read as a vector file ({exc})") from exc
    if gdf.empty or gdf.crs is None:
        raise InputError(
            f"{path}: the study area file must hold at least one polygon with a declared CRS"
        )
    polys = gdf[gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        raise InputError(
            f"{path}: no Polygon or MultiPolygon feature (found {sorted(set(gdf.geom_type))})"
        )
    # each polygon made valid before the union: a self-intersecting one would stop it
    area = water.polygonal(shapely.union_all([water.polygonal(g) for g in polys.geometry]))
    if area.is_empty:
        raise InputError(f"{path}: its polygons have no area (accepted: polygons of the area)")
    return path.stem, gpd.GeoSeries([area], crs=gdf.crs)


def utm_crs(geom_wgs84: BaseGeometry) -> str:
    """The UTM zone (EPSG:326xx / 327xx) of a WGS84 geometry's centroid."""
    c = geom_wgs84.centroid
    zone = int((c.x + 180) // 6) + 1
    return f"EPSG:{32600 + zone if c.y >= 0 else 32700 + zone}"


# ---------------------------------------------------------------------------------------
# layers
# ---------------------------------------------------------------------------------------


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series(pd.NA, index=df.index, dtype=object)


def classify_pois(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per point of interest and kind (a feature may have several kinds).

    Returns a GeoDataFrame (same CRS) with ``kind``, ``name``, ``osm_id`` and the
    feature's representative point as geometry.
    """
    amenity = _col(features, "amenity")
    railway = _col(features, "railway")
    pt = _col(features, "public_transport")
    highway = _col(features, "highway")
    building = _col(features, "building")
    rules: list[tuple[str, pd.Series]] = [
        (
            "school",
            amenity.isin(["school", "college", "kindergarten", "university"])
            | building.isin(["school"]),
        ),
        (
            "station",
            railway.isin(["station", "halt"])
            | (pt.eq("station") & _col(features, "train").eq("yes")),
        ),
        ("bus_station", amenity.eq("bus_station")),
        (
            "bus_stop",
            highway.eq("bus_stop") | (pt.eq("platform") & _col(features, "bus").eq("yes")),
        ),
        ("police", amenity.eq("police")),
        ("townhall", amenity.eq("townhall")),
        ("camera", _col(features, "man_made").eq("surveillance")),
        ("entrance", _col(features, "entrance").notna() & (features.geometry.geom_type == "Point")),
        ("street_lamp", highway.eq("street_lamp")),
        ("bar", amenity.isin(["bar", "pub", "biergarten"])),
        ("nightclub", amenity.isin(["nightclub", "casino"])),
        ("restaurant", amenity.isin(["restaurant", "fast_food", "cafe"])),
        ("shop", _col(features, "shop").notna()),
        ("park", _col(features, "leisure").isin(["park", "playground", "pitch", "sports_centre"])),
        ("parking", amenity.eq("parking")),
        (
            "public_building",
            amenity.isin(
                [
                    "townhall",
                    "police",
                    "library",
                    "community_centre",
                    "post_office",
                    "social_facility",
                ]
            )
            | building.isin(["public", "civic", "government"]),
        ),
    ]
    parts = []
    reps = features.geometry.representative_point()
    names = _col(features, "name")
    ids = [f"{t[0]}/{t[1]}" if isinstance(t, tuple) else str(t) for t in features.index]
    ids = pd.Series(ids, index=features.index)
    for kind, mask in rules:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            parts.append(
                gpd.GeoDataFrame(
                    {
                        "kind": kind,
                        "name": names[mask].astype(object).values,
                        "osm_id": ids[mask].values,
                    },
                    geometry=reps[mask].values,
                    crs=features.crs,
                )
            )
    if not parts:
        return gpd.GeoDataFrame(
            {"kind": [], "name": [], "osm_id": []}, geometry=[], crs=features.crs
        )
    out = pd.concat(parts, ignore_index=True)
    out["name"] = out["name"].where(out["name"].notna(), None)
    return out.sort_values(["kind", "osm_id"], kind="stable").reset_index(drop=True)


def walk_graph(
    graph: nx.MultiDiGraph, area_wgs84: BaseGeometry, crs: str, *, source: str = "the study area"
) -> nx.MultiDiGraph:
    """The walkable part of ``graph`` within ``area_wgs84``, projected, largest component."""
    walk = []  # the walkable edges (streets only), of the whole extract
    for u, v, k, d in graph.edges(keys=True, data=True):
        hw = d.get("highway")
        hws = set(hw) if isinstance(hw, list) else {hw}
        acc = d.get("access")
        accs = set(acc) if isinstance(acc, list) else {acc}
        if not (hw is None or hws <= NOT_WALKABLE or accs <= {"no", "private"}):
            walk.append((u, v, k, d))
    ends = {u for u, _, _, _ in walk} | {v for _, v, _, _ in walk}
    nodes = np.array([n for n in graph.nodes if n in ends], dtype=object)
    xs = np.fromiter((graph.nodes[n]["x"] for n in nodes), float, len(nodes))
    ys = np.fromiter((graph.nodes[n]["y"] for n in nodes), float, len(nodes))
    keep = set(nodes[shapely.contains_xy(area_wgs84, xs, ys)].tolist())
    # the walkable streets between nodes inside, copied (the parsed extract stays as it is)
    g = nx.MultiDiGraph()
    g.graph.update(graph.graph)
    g.add_nodes_from((n, dict(graph.nodes[n])) for n in nodes if n in keep)
    for u, v, k, d in walk:  # add_edge, not add_edges_from: the same graph, twice as fast
        if u in keep and v in keep:
            g.add_edge(u, v, key=k, **d)
    if g.number_of_edges() == 0:  # no node inside, or only the ends of streets cut at the edge
        raise InputError(
            f"{source}: the study area contains no walkable street of the OSM extract; "
            "check the boundary or the polygon (and that the extract covers it)"
        )
    parts = sorted(nx.weakly_connected_components(g), key=lambda c: (-len(c), min(c)))
    largest = parts[0]
    dropped = [c for c in parts[1:] if len(c) >= 50]
    if dropped:  # an island or a cut-off district is not planned: say so, never silently
        n_drop = sum(len(c) for c in dropped)
        log.warning(
            "%s: %d street node(s) in %d network(s) not connected to the main one (%d nodes) are "
            "left out of the plan (an island or a district the extract cuts off); plan them as "
            "their own study area",
            source,
            n_drop,
            len(dropped),
            len(largest),
        )
    g.remove_nodes_from([n for n in list(g.nodes) if n not in largest])
    nx.set_node_attributes(g, streets_per_node(g), name="street_count")
    g = project_graph(g, crs)
    # deterministic node order
    h = nx.MultiDiGraph()
    h.graph.update(g.graph)
    h.add_nodes_from(sorted(g.nodes(data=True), key=lambda t: t[0]))
    for u, v, k, d in sorted(g.edges(keys=True, data=True), key=lambda t: (t[0], t[1], t[2])):
        h.add_edge(u, v, key=k, **d)
    return h


def streets_per_node(g: nx.MultiDiGraph) -> dict:
    """How many streets meet at each node: osmnx's ``stats.count_streets_per_node`` (each
    undirected edge once, parallel edges each, a self-loop once), without importing osmnx
    (seconds of a cold run)."""
    gu = g.to_undirected(reciprocal=False, as_view=True)
    loops = set(nx.selfloop_edges(gu, keys=False))
    edges = [e for e in gu.edges(keys=False) if e not in loops] + list(loops)
    counts = Counter(itertools.chain.from_iterable(edges))
    return {n: counts[n] for n in g.nodes}


def project_graph(g: nx.MultiDiGraph, crs: str) -> nx.MultiDiGraph:
    """``g`` projected to ``crs``: osmnx's ``project_graph`` for a graph whose edges all have a
    geometry, without importing osmnx (the same frames, so the same attributes, in the same
    order and of the same types: nodes and edges come out as from osmnx)."""
    nodes, data = zip(*g.nodes(data=True), strict=True)
    gdf_nodes = gpd.GeoDataFrame(
        data,
        index=nodes,
        crs=g.graph["crs"],
        geometry=[shapely.Point(d["x"], d["y"]) for d in data],
    ).to_crs(crs)
    gdf_nodes["x"], gdf_nodes["y"] = gdf_nodes.geometry.x, gdf_nodes.geometry.y
    u, v, k, edata = zip(*g.edges(keys=True, data=True), strict=True)
    gdf_edges = gpd.GeoDataFrame(edata).set_crs(g.graph["crs"])
    gdf_edges["u"], gdf_edges["v"], gdf_edges["key"] = u, v, k
    gdf_edges = gdf_edges.set_index(["u", "v", "key"]).to_crs(crs)
    df_nodes = gdf_nodes.drop(columns=gdf_nodes.active_geometry_name)
    h = nx.MultiDiGraph(**g.graph)
    names = gdf_edges.columns.to_list()
    for a, b, key, vals in zip(u, v, k, gdf_edges.to_numpy(), strict=True):
        # pd.notna of the values these frames hold: None and NaN are missing (a list is not)
        attrs = {
            n: x for n, x in zip(names, vals) if not (x is None or (type(x) is float and x != x))
        }
        h.add_edge(a, b, key=key, **attrs)
    h.add_nodes_from(set(df_nodes.index) - set(h.nodes))
    for col in df_nodes.columns:
        nx.set_node_attributes(h, values=df_nodes[col].dropna().to_dict(), name=col)
    h.graph["crs"] = gdf_nodes.crs
    return h


@relaxed_gc()
def load_town(
    osm_path: str | Path,
    *,
    boundary: int | str | None = None,
    area_path: str | Path | None = None,
    margin_m: float = 150.0,
    cache_dir: str | Path | None = ".cache",
) -> Town:
    """Load the study area and its layers from an OSM extract.

    Parameters
    ----------
    osm_path
        The OSM XML extract.
    boundary
        OSM admin relation id (``174562``) or boundary name (``"Beausoleil"``).
    area_path
        A polygon file instead of ``boundary``.
    margin_m
        Streets, buildings and POIs are kept this far beyond the area, so that fields of
        view and patrols near the edge see their surroundings.
    cache_dir
        Parse cache folder (``None``: no cache).
    """
    osm_path = Path(osm_path)
    if (boundary is None) == (area_path is None):
        raise InputError(
            "give exactly one of a boundary (OSM relation id or name) or a polygon file for the "
            "study area"
        )
    if not osm_path.is_file():
        raise InputError(f"{osm_path}: OSM extract not found (expected {_OSM_KINDS})")
    # the study area's layers are cached too, keyed on the extract, the area and the margin
    town_key = None
    if cache_dir is not None:
        parts = [
            file_sha256(osm_path),
            str(boundary),
            file_sha256(area_path) if area_path else "",
            f"{margin_m:g}",
            LOADER_VERSION,
            file_sha256(__file__),
            file_sha256(osm.__file__),
            file_sha256(water.__file__),
        ]  # a changed loader never reuses an old town
        town_key = (
            Path(cache_dir)
            / f"town-{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:24]}.pickle"
        )
        if town_key.is_file():
            try:
                with open(town_key, "rb") as f:
                    cached = load_pickle(f)
                if isinstance(cached, dict) and cached.get("key") == parts:
                    town = cached["town"]
                    log.info(
                        "read %s (%s) from cache %s: %s",
                        town.name,
                        town.crs,
                        town_key.name,
                        ", ".join(f"{k} {v:,}" for k, v in town.summary().items()),
                    )
                    for msg in town.extras.get("warnings", []):
                        log.warning("%s", msg)  # what the first load warned about, told again
                    return town
            except Exception as exc:  # a corrupt cache is rebuilt, never trusted
                log.warning("cache %s is unreadable (%s); rebuilding it", town_key, exc)
    with _captured_warnings() as told:
        town = _build_town(osm_path, boundary, area_path, margin_m, cache_dir)
    town.extras["warnings"] = [m for m in told if not m.startswith("cache ")]
    log.info(
        "loaded %s (%s): %s",
        town.name,
        town.crs,
        ", ".join(f"{k} {v:,}" for k, v in town.summary().items()),
    )
    if town_key is not None:
        with atomic_path(town_key) as tmp:
            with open(tmp, "wb") as f:
                dump_pickle({"key": parts, "town": town}, f)
    return town


@contextmanager
def _captured_warnings() -> Iterator[list[str]]:
    """The warnings siteplanner logs inside the block (kept with a cached town, told again)."""
    told: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            told.append(record.getMessage())

    handler = _Keep(level=logging.WARNING)
    root = logging.getLogger("siteplanner")
    root.addHandler(handler)
    try:
        yield told
    finally:
        root.removeHandler(handler)


def _build_town(
    osm_path: Path,
    boundary: int | str | None,
    area_path: str | Path | None,
    margin_m: float,
    cache_dir: str | Path | None,
) -> Town:
    layers = read_osm(
        osm_path, cache_dir=cache_dir, boundary=boundary
    )  # no such boundary: fails early
    features: gpd.GeoDataFrame = layers["features"]
    if boundary is not None:
        name, area_wgs = study_area_from_osm(
            features, boundary, source=str(osm_path), layers=layers
        )
    else:
        name, series = read_polygon(area_path)  # type: ignore[arg-type]
        area_wgs = series.to_crs("EPSG:4326").iloc[0]
    crs = utm_crs(area_wgs)
    area_wgs = clip_to_land(area_wgs, features, crs, source=f"{osm_path} ({name})")
    area = gpd.GeoSeries([area_wgs], crs="EPSG:4326").to_crs(crs).iloc[0]
    buffered = area.buffer(margin_m)
    buffered_wgs = gpd.GeoSeries([buffered], crs=crs).to_crs("EPSG:4326").iloc[0]

    area_label = f"{area_path}" if area_path is not None else f"{osm_path} (boundary {boundary})"
    graph = walk_graph(layers["graph"], buffered_wgs, crs, source=area_label)

    feats = features[features.intersects(buffered_wgs)]
    bmask = _col(feats, "building").notna() & feats.geometry.geom_type.isin(
        ["Polygon", "MultiPolygon"]
    )
    b = feats[bmask]
    buildings = gpd.GeoDataFrame(
        {
            "osm_id": [f"{t[0]}/{t[1]}" for t in b.index],
            "building": _col(b, "building").astype(str).values,
            "name": _col(b, "name").astype(object).values,
            "height_m": vocab.building_height_m(
                _col(b, "building:levels"), _col(b, "height")
            ).to_numpy(float),
        },
        geometry=b.geometry.values,
        crs="EPSG:4326",
    ).to_crs(crs)
    buildings["geometry"] = shapely.make_valid(buildings.geometry.values)
    buildings = buildings[
        buildings.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
        & ~buildings.geometry.is_empty
    ]
    # Most French buildings are mapped as building=yes; for the L251-3 check they count as
    # dwellings unless named (the cautious reading of the law): vocab.residential_mask
    buildings["residential"] = vocab.residential_mask(buildings["building"], buildings["name"])
    buildings = buildings.sort_values("osm_id", kind="stable").reset_index(drop=True)
    buildings["name"] = buildings["name"].where(buildings["name"].notna(), None)

    pois = classify_pois(feats).to_crs(crs)
    pois = pois[pois.within(buffered)].reset_index(drop=True)
    cams = feats[_col(feats, "man_made").eq("surveillance")]
    cams = cams[[c for c in _CAMERA_COLUMNS if c in cams] + ["geometry"]].to_crs(crs)
    cams = cams[cams.intersects(buffered)]
    below = gpd.GeoSeries(
        [shapely.LineString(w) for w in layers.get("underground_ways", []) if len(w) >= 2],
        crs="EPSG:4326",
    ).to_crs(crs)
    below = below[below.intersects(buffered)].reset_index(drop=True)
    numbers = house_numbers(feats, crs)
    return Town(
        name=name,
        crs=crs,
        area=area,
        graph=graph,
        buildings=buildings,
        pois=pois,
        source=osm_path.name,
        margin_m=margin_m,
        extras={
            "camera_features": cams,
            "underground_ways": below,
            "house_numbers": numbers[numbers.within(buffered)],
        },
    )


def house_numbers(features: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """The OSM addresses of the features (``addr:street``, ``addr:housenumber``) as points.

    Returns ``street``, ``housenumber`` and the feature's representative point, in ``crs``
    (the site names of :mod:`siteplanner.town.addresses` read them: "12 avenue X").
    """
    street, number = _col(features, "addr:street"), _col(features, "addr:housenumber")
    ok = street.notna() & number.notna()
    f = features[ok.to_numpy(bool)]
    out = gpd.GeoDataFrame(
        {
            "street": street[ok].astype(str).to_numpy(),
            "housenumber": number[ok].astype(str).to_numpy(),
        },
        geometry=f.geometry.representative_point().to_numpy(),
        crs=features.crs,
    )
    return out.to_crs(crs).reset_index(drop=True)


def scenario_town(sc: Any) -> Town:
    """The study area of a scenario (``[area]`` and ``cache_dir``, paths resolved), loaded once.

    The one place where a scenario's ``[area]`` becomes :func:`load_town`'s arguments: ``run``,
    ``validate``, ``incidents``, ``event``, the observatory and the benchmarks all call it.
    """
    return load_town(
        sc.resolve(sc.area.osm),
        boundary=sc.area.boundary,
        area_path=sc.resolve(sc.area.polygon),
        margin_m=sc.area.margin_m,
        cache_dir=sc.resolve(sc.cache_dir),
    )


def edges_gdf(graph: nx.MultiDiGraph, crs: str) -> gpd.GeoDataFrame:
    """Street edges of a projected graph as a GeoDataFrame (one row per undirected edge).

    ``underground`` says whether the street is below ground or indoors
    (:func:`siteplanner.vocab.underground`: a tunnel, a negative level, an indoor corridor).
    """
    rows, geoms, seen = [], [], set()
    nodes = graph.nodes
    for u, v, k, d in graph.edges(keys=True, data=True):
        key = (min(u, v), max(u, v), k)
        if key in seen:
            continue
        seen.add(key)
        geom = d.get("geometry")
        if geom is None:
            geom = shapely.LineString(
                [(nodes[u]["x"], nodes[u]["y"]), (nodes[v]["x"], nodes[v]["y"])]
            )
        name = d.get("name")
        if isinstance(name, list):
            name = " / ".join(map(str, name))
        rows.append(
            (
                u,
                v,
                k,
                float(d.get("length", geom.length)),
                name,
                str(d.get("highway")),
                vocab.underground(d),
            )
        )
        geoms.append(geom)
    cols = ["u", "v", "key", "length", "name", "highway", "underground"]
    df = pd.DataFrame(rows, columns=cols)
    return gpd.GeoDataFrame(df, geometry=geoms, crs=crs)
