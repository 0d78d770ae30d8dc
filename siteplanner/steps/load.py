"""Step 1, ``load``: the scenario's files read once, into a frozen :class:`Inputs`.

The town (streets, buildings, places) comes from the OSM extract (:mod:`siteplanner.town.load`),
the incidents from every ``[[incidents]]`` file with its mapping
(:mod:`siteplanner.incidents.read`), the QPV polygons, and the existing cameras
(``[area] existing_cameras``). The patrol start and the cable trench ends are found first,
before any heavy work: a town without a police station or town hall fails here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from siteplanner._errors import InputError
from siteplanner.incidents import kept
from siteplanner.incidents import read as incidents
from siteplanner.result import Inputs, Paths
from siteplanner.scenario import Scenario
from siteplanner.steps import stepcache
from siteplanner.town import cameras, jurisdiction
from siteplanner.town import load as io

log = logging.getLogger(__name__)


def load(sc: Scenario, *, town: io.Town | None = None, for_plan: bool = True) -> Inputs:
    """Read a scenario's inputs.

    Parameters
    ----------
    sc
        The scenario.
    town
        A town already loaded for this scenario's area (tests reuse one);
        ``None`` reads it from the OSM extract.
    for_plan
        ``False`` for the observatory: no patrol start, trench ends nor existing cameras are
        looked for (a town without a police station can still have its observatory).

    Raises
    ------
    InputError
        The scenario has no ``[area]``, a file cannot be read, or the area has no patrol start.
    """
    if sc.area is None or not sc.area.has_streets:
        what = "no [area]" if sc.area is None else "no OSM extract ([area] osm)"
        raise InputError(
            f"{sc.path}: {what} (OSM extract and boundary or polygon): a camera plan needs "
            f"streets; run `siteplanner incidents {sc.path}` for the incident maps without streets"
        )
    town = io.scenario_town(sc) if town is None else town
    # the jurisdiction's anchors, before any heavy work: a town without a patrol start fails here
    start, ends = anchors(town, sc) if for_plan else (None, [])
    paths = scenario_paths(sc)
    reads = read_scenario_incidents(sc, area=town.area, crs=town.crs)
    inc, n_dup = merge_reads(sc, reads, town.crs)
    qpv = read_qpv(paths.qpv, town.crs, town.area) if paths.qpv else None
    counts = dict(town.summary())
    counts["incidents"] = len(inc)
    counts["incident_rows"] = incidents.ingest_counts(reads)
    counts["incident_duplicates_dropped"] = n_dup
    counts["incidents_by_category"] = {
        k: int(v) for k, v in inc["category"].value_counts().sort_index().items()
    }
    counts["incidents_by_source"] = {
        k: int(v) for k, v in inc["source"].value_counts().sort_index().items()
    }
    counts["qpv"] = 0 if qpv is None else len(qpv)
    return Inputs(
        scenario=sc,
        paths=paths,
        town=town,
        streets=io.edges_gdf(town.graph, town.crs),
        incidents=inc,
        reads=reads,
        quarantine_csv=incidents.quarantine_csv(reads),
        qpv=qpv,
        existing_cameras=existing_cameras(sc, town) if for_plan else None,
        patrol_start=start,
        trench_ends=ends,
        counts=counts,
    )


def scenario_paths(sc: Scenario) -> Paths:
    """Every file the scenario names, resolved against its folder."""
    area = sc.area
    return Paths(
        osm=sc.resolve(area.osm) if area is not None and area.osm else None,
        qpv=sc.resolve(area.qpv) if area is not None and area.qpv else None,
        dem=sc.resolve(area.dem) if area is not None and area.dem else None,
        exclusion=sc.resolve(sc.candidates.exclusion) if sc.candidates.exclusion else None,
        review=sc.review_path,
        lighting=sc.resolve(sc.lighting.file)
        if sc.lighting is not None and sc.lighting.file
        else None,
        output=sc.resolve(sc.output.dir),
        incidents=tuple(sc.resolve(f.path) for f in sc.incidents),
        field_notes=tuple(sc.resolve(f.path) for f in sc.field_notes),
        cameras=sc.resolve(area.cameras_file) if area is not None and area.cameras_file else None,
    )


def anchors(town: io.Town, sc: Scenario) -> tuple[jurisdiction.Anchor, list[jurisdiction.Anchor]]:
    """The patrol start and the cable trench ends, inside the study area (cheap; raises early)."""
    source = str(sc.path or sc.name)
    start = jurisdiction.patrol_start(
        town.pois, town.area, town.crs, start=sc.patrol.start, source=source
    )
    ends = jurisdiction.trench_ends(
        town.pois, town.area, town.crs, csu=sc.candidates.csu, source=source
    )
    return start, ends


def read_scenario_incidents(sc: Scenario, *, area, crs: str) -> list[incidents.IncidentRead]:
    """Every ``[[incidents]]`` file of the scenario, read with its mapping (one reader).

    A file read and validated before for the same study area, with the same bytes, mapping
    and code, is taken from the scenario's ``cache_dir`` (:mod:`siteplanner.steps.stepcache`).
    """
    reads = []
    for f in sc.incidents:
        spec = f.spec(sc.resolve(f.path))

        def read(spec=spec) -> incidents.IncidentRead:
            return kept.read_incident_file(  # a batch validates a shared file once per process
                spec, area=area, crs=crs, categories=sc.categories, timezone=sc.timezone
            )

        if not Path(spec.path).is_file():
            reads.append(read())  # which says so
            continue
        parts = {
            "file": Path(spec.path).read_bytes(),
            "spec": repr(spec),
            "area": area,
            "crs": str(crs),
            "categories": list(sc.categories),
            "timezone": sc.timezone,
        }
        reads.append(stepcache.cached("incidents", parts, read, sc.resolve(sc.cache_dir)))
    return reads


def merge_reads(
    sc: Scenario, reads: list[incidents.IncidentRead], crs: str
) -> tuple[gpd.GeoDataFrame, int]:
    """The files' incidents in one frame, cross-source duplicates dropped (the OLS's rule)."""
    if reads:
        return incidents.merge_sources(
            [r.frame for r in reads],
            distance_m=sc.observatory.duplicate_distance_m,
            minutes=sc.observatory.duplicate_minutes,
        )
    cols = {c: [] for c in incidents.OUTPUT_COLUMNS + ("synthetic", "file")}
    return gpd.GeoDataFrame(cols, geometry=[], crs=crs), 0


def read_qpv(path: Path, crs: str, area) -> gpd.GeoDataFrame:
    """QPV polygons clipped to the study area; invalid shapes repaired with make_valid (logged)."""
    try:
        q = gpd.read_file(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot be read as QPV polygons ({exc})") from exc
    if q.crs is None:
        raise InputError(f"{path}: QPV file has no CRS")
    invalid = ~q.geometry.is_valid
    if invalid.any():
        log.warning(
            "%s: repaired %d invalid QPV polygon(s) with shapely.make_valid",
            path.name,
            int(invalid.sum()),
        )
        q["geometry"] = shapely.make_valid(q.geometry.values)
    q = q.to_crs(crs)
    q = q[q.intersects(area.buffer(500))]
    name_col = next((c for c in ("nom_qp", "NOM_QP", "name", "nom") if c in q.columns), None)
    q = q.assign(name=q[name_col] if name_col else [f"QPV {i + 1}" for i in range(len(q))])
    return q[["name", "geometry"]].reset_index(drop=True)


def existing_cameras(sc: Scenario, town: io.Town) -> gpd.GeoDataFrame:
    """The existing cameras the scenario asks for (``[area] existing_cameras``), town's CRS.

    ``view_x``, ``view_y`` and ``view_from`` say where each camera's field of view starts
    (:func:`siteplanner.town.cameras.view_origins`: off the wall of a camera mapped on it).
    """
    feats = town.extras.get("camera_features", gpd.GeoDataFrame(geometry=[], crs=town.crs))
    if sc.area.existing_cameras == "none":
        out = cameras.osm_cameras(feats.iloc[:0])
    elif sc.area.existing_cameras == "osm":
        out = cameras.osm_cameras(feats, exclude=sc.area.camera_exclude)
    else:
        out = cameras.read_cameras(scenario_paths(sc).cameras, crs=sc.area.existing_cameras_crs)
    out = out.to_crs(town.crs) if out.crs is not None else out.set_crs(town.crs)
    xy = np.column_stack([out.geometry.x, out.geometry.y]) if len(out) else np.zeros((0, 2))
    origin, view_from = cameras.view_origins(xy, town.buildings.geometry)
    out = out.assign(view_x=origin[:, 0], view_y=origin[:, 1], view_from=view_from)
    n = cameras.view_counts(out["heading_source"], out["view_from"])
    log.info(
        "existing cameras (%s): %d, %d with a known heading, %d without (%d seen all round, "
        "%d with the best heading assumed); %d looked at from outside the wall they are mapped "
        "on, %d inside a building (no view)",
        sc.area.existing_cameras,
        n["cameras"],
        n["direction_mapped"],
        n["no_direction"],
        n["assumed_360"],
        n["assumed_best_heading"],
        n["moved_off_wall"],
        n["inside_building"],
    )
    return out
