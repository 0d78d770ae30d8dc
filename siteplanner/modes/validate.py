"""``siteplanner validate``: every check that does not need the coverage computation.

In order, each failing with one :class:`~siteplanner._errors.InputError` that names the file,
the row or feature, what is wrong and what is accepted:

1. file formats: the OSM extract's suffix, the polygon, DEM, QPV, existing-camera and
   exclusion files readable as what they should be;
2. the boundary: present in the extract and complete (through the OSM reader's cheap
   boundary check when it has one, before any heavy parse), the study area loaded;
3. incident rows: every file read and checked row by row, with points in the study area,
   and incidents in the hotspot window;
4. the jurisdiction: the patrol start (a police station inside the commune, else its town
   hall, else ``patrol.start``) and the cable trench ends (``candidates.csu``);
5. ``k`` against the number of candidate sites.

With a warm cache (the town's parsed layers), this takes a few seconds.

A scenario without streets (no ``[area]``, or an ``[area]`` with ``polygon`` or ``bounds`` but no
OSM extract) is checked as ``siteplanner incidents`` reads it: the clip polygon, every incident
file row by row, the window (:func:`check_incidents_only`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from siteplanner import files
from siteplanner._errors import InputError
from siteplanner.coverage import candidates
from siteplanner.incidents import read as incidents
from siteplanner.scenario import Scenario
from siteplanner.steps.patrols import patrol_graph
from siteplanner.steps.sites import no_candidate_site
from siteplanner.town import jurisdiction
from siteplanner.town import load as io

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf")


@dataclass
class Checked:
    """What ``validate`` found: one line per fact, for the command's report."""

    facts: list[str] = field(default_factory=list)
    seconds: float = 0.0
    counts: dict[str, Any] = field(default_factory=dict)


def _osm_reader():
    """The pyosmium reader module (``siteplanner.osm``) when present, else None."""
    try:
        from siteplanner.town import osm  # type: ignore[attr-defined]
    except ImportError:
        return None
    return osm


def check_formats(sc: Scenario) -> None:
    """The scenario's files are of the kinds it names (without reading the OSM extract)."""
    osm_path = sc.resolve(sc.area.osm)
    osm = _osm_reader()
    if osm is not None and hasattr(osm, "check_suffix"):
        osm.check_suffix(osm_path)
    elif not osm_path.name.lower().endswith(OSM_SUFFIXES):
        raise InputError(
            f"{osm_path}: area.osm is not an OpenStreetMap extract; accepted: "
            f"{', '.join(OSM_SUFFIXES)}"
        )
    if sc.area.polygon:
        io.read_polygon(sc.resolve(sc.area.polygon))
    if sc.area.dem:
        _check_raster(sc.resolve(sc.area.dem))
    for label, p in (("area.qpv", sc.area.qpv), ("candidates.exclusion", sc.candidates.exclusion)):
        if p:
            _check_vector(sc.resolve(p), label, ("Polygon", "MultiPolygon"))
    cams = _existing_cameras_file(sc)
    if cams is not None:
        try:
            from siteplanner.town import cameras
        except ImportError:  # an older reader: the file only has to hold points
            _check_vector(cams, "area.existing_cameras", ("Point", "MultiPoint"))
        else:
            cameras.read_cameras(cams, crs=getattr(sc.area, "existing_cameras_crs", None))


def _existing_cameras_file(sc: Scenario) -> Path | None:
    v = sc.area.existing_cameras
    if v is None or str(v) in ("osm", "none"):
        return None
    return sc.resolve(Path(v))


def _check_raster(path: Path) -> None:
    import rasterio

    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(
                    f"{path}: area.dem has no CRS; accepted: a georeferenced raster "
                    "(SRTM .hgt, GeoTIFF)"
                )
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(
            f"{path}: area.dem cannot be read as an elevation raster ({exc}); accepted: SRTM .hgt, "
            "GeoTIFF"
        ) from exc


def _check_vector(path: Path, label: str, kinds: tuple[str, ...]) -> None:
    try:
        g = gpd.read_file(path)
    except Exception as exc:
        raise InputError(
            f"{path}: {label} cannot be read as a vector file ({exc}); accepted: GeoJSON, "
            "GeoPackage, shapefile"
        ) from exc
    if g.crs is None:
        raise InputError(
            f"{path}: {label} has no CRS; accepted: a file with a declared CRS (GeoJSON is WGS84)"
        )
    bad = [i for i, t in enumerate(g.geom_type) if t not in kinds]
    if bad:
        raise InputError(
            f"{path}: {label} feature {bad[0]} is a {g.geom_type.iloc[bad[0]]}; accepted: "
            f"{' or '.join(kinds)}"
        )


def check_boundary(sc: Scenario) -> None:
    """The boundary relation is in the extract and complete, before the heavy parse (when
    the OSM reader offers a cheap check).

    A check that passed is remembered in the cache folder, keyed on the extract's SHA-256, the
    boundary and the reader's code: validating again does not read the extract again (a
    second on the default extract, which the parse cache then serves). A check that fails is
    never remembered.
    """
    osm = _osm_reader()
    fn = getattr(osm, "check_boundary", None) if osm is not None else None
    if fn is None or sc.area.boundary is None:
        return
    path = sc.resolve(sc.area.osm)
    if not path.is_file():
        fn(path, sc.area.boundary)  # its error
        return
    key = hashlib.sha256(
        f"{io.file_sha256(path)}|{sc.area.boundary!r}|{io.reader_version()}".encode()
    ).hexdigest()
    passed = sc.resolve(sc.cache_dir) / f"boundary-{key[:24]}.json"
    if passed.is_file():
        return
    found = fn(path, sc.area.boundary)
    try:
        files.write_json(passed, asdict(found))
    except OSError as exc:  # a cache folder it cannot write: checked again next time
        log.debug("could not remember the boundary check in %s: %s", passed, exc)


def load(sc: Scenario) -> io.Town:
    return io.scenario_town(sc)


def check_incidents(sc: Scenario, town: io.Town) -> tuple[int, int]:
    """Every incident file read row by row; returns (rows in the area, rows in the window)."""
    from siteplanner.steps.load import read_scenario_incidents

    _need_files(sc)
    reads = read_scenario_incidents(sc, area=town.area, crs=town.crs)
    return _in_window(sc, [r.frame for r in reads])


def _need_files(sc: Scenario) -> None:
    if not sc.incidents:
        raise InputError(
            f"{sc.path}: no [[incidents]] file; accepted: at least one incident file (or "
            "`siteplanner simulate-incidents` for a SYNTHETIC one)"
        )


def _in_window(sc: Scenario, frames: list) -> tuple[int, int]:
    n = sum(len(f) for f in frames)
    tw = sc.hotspots.window.time_window()
    in_win = sum(int(incidents.window_mask(f, tw).sum()) for f in frames if len(f))
    if in_win == 0:
        raise InputError(
            f"{sc.path}: no incident in the study area and time window {tw.name!r} "
            f"({n} in the area); "
            "check [[incidents]] files and [hotspots.window]"
        )
    return n, in_win


def check_k(sc: Scenario, town: io.Town) -> int:
    """The number of new candidate sites, at least the sites the phases ask for."""
    sites = candidates.candidate_sites(
        town.graph,
        town.area,
        town.pois,
        town.buildings,
        min_street_count=sc.candidates.min_street_count,
        street_lamps=sc.candidates.street_lamps,
        public_facades=sc.candidates.public_facades,
        merge_m=sc.candidates.merge_m,
        underground_ways=town.extras.get("underground_ways", ()),
    )
    n = int((~sites["existing"]).sum())
    ks = ([sc.plan.k] if sc.plan.budget_eur is None and sc.plan.k else []) + [
        p.k for p in sc.plan.phases if p.k
    ]
    if ks and n == 0:
        raise no_candidate_site(sc)
    if sum(ks) > n:
        later = f" (+ {sum(ks) - (sc.plan.k or 0)} in later phases)" if len(ks) > 1 else ""
        raise InputError(
            f"{sc.path}: plan.k = {sc.plan.k}"
            f"{later} "
            f"but the study area has only {n} candidate site(s); accepted: k <= {n}"
        )
    return n


def check_incidents_only(sc: Scenario) -> Checked:
    """``validate`` for a scenario without streets: the clip polygon, incident rows, window."""
    from siteplanner.modes import incidents as incident_maps

    t0 = time.perf_counter()
    out = Checked()
    if sc.area is not None and sc.area.polygon:
        io.read_polygon(sc.resolve(sc.area.polygon))
    _need_files(sc)
    area, crs, reads = incident_maps.study_area(sc)
    n, in_win = _in_window(sc, [r.frame for r in reads])
    rows = incidents.ingest_counts(reads)
    where = (
        "no [area]: study area = convex hull of the incidents + "
        f"{incident_maps.HULL_MARGIN_M:.0f} m"
        if sc.area is None
        else f"[area] {'polygon' if sc.area.polygon else 'bounds'} without OSM extract"
    )
    out.facts.append(f"{where} ({area.area / 1e6:,.1f} km², {crs})")
    out.facts.append(
        f"incidents: {rows['rows']:,} rows, {n:,} kept in the study area, {in_win:,} in the "
        f"window {sc.hotspots.window.name!r}; {rows['quarantined']:,} bad row(s) and "
        f"{rows['outside_area']:,} outside the area set aside (quarantine.csv)"
    )
    out.facts.append(
        "streets, candidate sites and the patrol start not checked (no OSM extract): "
        "`siteplanner incidents` maps these incidents; a camera plan needs [area] osm"
    )
    out.counts = {
        "incidents": n,
        "incidents_in_window": in_win,
        "area_km2": float(np.round(area.area / 1e6, 3)),
    }
    out.seconds = time.perf_counter() - t0
    return out


def check_scenario(sc: Scenario) -> Checked:
    """Run every check of ``validate``; raises the first problem found."""
    if sc.area is None or not sc.area.has_streets:
        return check_incidents_only(sc)
    t0 = time.perf_counter()
    out = Checked()
    check_formats(sc)
    check_boundary(sc)
    town = load(sc)
    out.facts.append(
        f"study area {town.name}: {town.area.area / 1e6:.2f} km², {town.graph.number_of_nodes():,} "
        f"street nodes, {len(town.buildings):,} buildings ({town.crs})"
    )
    n, in_win = check_incidents(sc, town)
    out.facts.append(
        f"incidents: {n:,} in the study area, {in_win:,} in the window {sc.hotspots.window.name!r}"
    )
    source = str(sc.path or sc.name)
    start = jurisdiction.patrol_start(
        town.pois, town.area, town.crs, start=sc.patrol.start, source=source
    )
    ends = jurisdiction.trench_ends(
        town.pois, town.area, town.crs, csu=sc.candidates.csu, source=source
    )
    if sc.patrol.shifts:
        patrol_graph(town, start, np.zeros((0, 2)), source=source)  # the start leads somewhere
    out.facts.append(f"patrol start: {start.label}")
    out.facts.append(
        "cable trenches end at: "
        + (", ".join(a.label for a in ends) or "the nearest existing camera")
    )
    n_cand = check_k(sc, town)
    out.facts.append(
        f"candidate sites: {n_cand:,} for k = "
        f"{sc.plan.k if sc.plan.budget_eur is None else '(budget)'}"
    )
    out.counts = {
        "incidents": n,
        "incidents_in_window": in_win,
        "candidates": n_cand,
        "area_km2": float(np.round(town.area.area / 1e6, 3)),
    }
    out.seconds = time.perf_counter() - t0
    return out
