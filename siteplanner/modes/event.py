"""Event mode: nomad cameras, filtering points and patrols for a public event.

``siteplanner event SCENARIO --event event.toml`` plans the security of one event (a fête, a
market, a concert; fiche 1.3 of the security contracts) in the scenario's town:

1. the **perimeter**: a polygon file, or a venue point and a radius;
2. its **entrances**: every walkable street that crosses the perimeter's edge (vehicle
   entrances on roads, pedestrian ones on paths and steps) — each is a **filtering point**
   (bag check; on a road also an anti-vehicle barrier);
3. the **gathering points**: the venue, squares and parks, transport stops and big junctions
   inside the perimeter;
4. **nomad cameras** (caméras nomades, temporary and movable): the sites that see the most
   entrance and gathering weight, with the town's coverage model and optimiser unchanged;
5. **patrol circuits** around the perimeter for the event's hours, with the patrol solver
   unchanged (prizes on the entrances, the gathering points and the perimeter's edge);
6. a one-page **event sheet** (map and tables) as PDF and PNG.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from siteplanner import files
from siteplanner._errors import InputError
from siteplanner.coverage.sightlines import build_obstacles
from siteplanner.hotspots.streets import street_points
from siteplanner.patrol.itinerary import to_gpx

log = logging.getLogger(__name__)

#: Streets on which an entrance is a vehicle entrance (filtering point + anti-vehicle barrier).
VEHICLE_ROADS = frozenset(
    {
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "residential",
        "unclassified",
        "living_street",
        "service",
    }
)
GATHERING_KINDS = ("park", "bus_stop", "bus_station", "station", "townhall", "public_building")


class EventPatrol(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    teams: Annotated[int, Field(ge=1, le=10)] = 2
    budget_min: Annotated[float, Field(gt=0)] = 60.0
    mode: Literal["foot", "bike"] = "foot"
    dwell_min: Annotated[float, Field(ge=0, le=60)] = 5.0


class EventFile(BaseModel):
    """The event file (TOML): what, when, where, how many people."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    date: dt.date
    hours: tuple[int, int]
    attendance: Annotated[int, Field(gt=0)]
    perimeter: Path | None = Field(None, description="polygon file of the perimeter")
    venue: tuple[float, float] | None = Field(
        None, description="[lon, lat] of the venue, with radius_m"
    )
    radius_m: Annotated[float, Field(gt=0, le=2000)] = 150.0
    nomad_cameras: Annotated[int, Field(ge=1, le=50)] | None = Field(
        None, description="default: 2 + one per 1,000 expected people"
    )
    camera_model: str = "dome_ptz"
    patrol: EventPatrol = EventPatrol()

    @model_validator(mode="after")
    def _where(self) -> EventFile:
        if (self.perimeter is None) == (self.venue is None):
            raise ValueError(
                "give exactly one of `perimeter` (a polygon file) or `venue` = [lon, lat]"
            )
        if not (
            0 <= self.hours[0] <= 24 and 0 <= self.hours[1] <= 24 and self.hours[0] != self.hours[1]
        ):
            raise ValueError("hours must be two different integers in 0..24, e.g. [18, 24]")
        return self

    def n_cameras(self) -> int:
        return self.nomad_cameras or 2 + math.ceil(self.attendance / 1000)

    def duration_h(self) -> float:
        a, b = self.hours
        return float((b - a) % 24 or 24)


def load_event(path: str | Path) -> EventFile:
    """Read and check an event file; paths are relative to it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: event file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from exc
    try:
        ev = EventFile.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"  - {'.'.join(map(str, e['loc'])) or '(top level)'}: "
            f"{'unknown key (misspelt?)' if e['type'] == 'extra_forbidden' else e['msg']}"
            for e in exc.errors()
        ]
        raise InputError(f"{path}: invalid event file\n" + "\n".join(lines)) from None
    if ev.perimeter is not None:
        p = ev.perimeter if ev.perimeter.is_absolute() else path.parent / ev.perimeter
        if not p.is_file():
            raise InputError(f"{path}: perimeter file {p} not found")
        ev = ev.model_copy(update={"perimeter": p})
    return ev


# ------------------------------------------------------------------------------------------
# analysis (pure)
# ------------------------------------------------------------------------------------------


def perimeter_entrances(
    edges: gpd.GeoDataFrame, perimeter: BaseGeometry, *, merge_m: float = 15.0
) -> gpd.GeoDataFrame:
    """Where the walkable streets cross the perimeter's edge: one filtering point each.

    Returns ``point_id`` (F01…), ``street``, ``highway``, ``kind`` (``vehicle`` or
    ``pedestrian``), ``setup`` and the point on the edge.
    """
    ring = perimeter.boundary
    rows, pts = [], []
    for name, hw, geom in zip(edges["name"], edges["highway"], edges.geometry):
        x = geom.intersection(ring)
        if x.is_empty:
            continue
        h = hw[0] if isinstance(hw, list) else str(hw)
        for p in shapely.get_parts(x):
            rows.append(
                {
                    "street": name if isinstance(name, str) and name else "(sans nom)",
                    "highway": h,
                    "kind": "vehicle" if h in VEHICLE_ROADS else "pedestrian",
                }
            )
            pts.append(p if p.geom_type == "Point" else p.centroid)
    g = (
        gpd.GeoDataFrame(rows, geometry=pts, crs=edges.crs)
        if rows
        else gpd.GeoDataFrame({"street": [], "highway": [], "kind": []}, geometry=[], crs=edges.crs)
    )
    g = g.sort_values(["kind", "street"], ascending=[False, True], kind="stable")
    kept: list[int] = []
    for i, p in zip(g.index, g.geometry):
        if all(g.geometry[j].distance(p) >= merge_m for j in kept):
            kept.append(i)
    g = g.loc[kept].reset_index(drop=True)
    g.insert(0, "point_id", [f"F{i + 1:02d}" for i in range(len(g))])
    g["setup"] = np.where(g["kind"] == "vehicle", "filtrage + anti-véhicule", "filtrage piéton")
    log.info(
        "perimeter_entrances: %d filtering point(s) (%d vehicle)",
        len(g),
        int((g["kind"] == "vehicle").sum()),
    )
    return g


def gathering_points(
    perimeter: BaseGeometry,
    pois: gpd.GeoDataFrame,
    node_ids: np.ndarray,
    node_xy: np.ndarray,
    street_count: np.ndarray,
    *,
    venue: shapely.Point | None,
) -> gpd.GeoDataFrame:
    """The venue, the points of interest where people gather, and big junctions (≥ 4 streets)
    inside the perimeter."""
    rows, pts = [], []
    if venue is not None:
        rows.append({"kind": "venue", "name": "lieu de l'événement"})
        pts.append(venue)
    p = pois[pois["kind"].isin(GATHERING_KINDS) & pois.within(perimeter)]
    for k, nm, g in zip(p["kind"], p["name"], p.geometry):
        rows.append({"kind": k, "name": nm if isinstance(nm, str) else ""})
        pts.append(g)
    inside = shapely.contains_xy(perimeter, node_xy[:, 0], node_xy[:, 1]) & (street_count >= 4)
    for xy in node_xy[inside]:
        rows.append({"kind": "junction", "name": ""})
        pts.append(shapely.Point(xy))
    return gpd.GeoDataFrame(rows, geometry=pts, crs=pois.crs)


def event_demand(
    street_xy: np.ndarray,
    entrances_xy: np.ndarray,
    gathering_xy: np.ndarray,
    *,
    entrance_weight: float = 3.0,
    gathering_weight: float = 2.0,
    near_m: float = 20.0,
) -> np.ndarray:
    """Weight of each street point: 1, plus ``entrance_weight`` within ``near_m`` of an entrance,
    plus ``gathering_weight`` within ``near_m`` of a gathering point."""
    w = np.ones(len(street_xy))
    for xy, add in ((entrances_xy, entrance_weight), (gathering_xy, gathering_weight)):
        if len(xy):
            d, _ = cKDTree(xy).query(street_xy)
            w += np.where(d <= near_m, add, 0.0)
    return w


@dataclass(frozen=True)
class EventPlan:
    """Everything an event sheet shows."""

    event: EventFile
    perimeter: BaseGeometry
    filtering: gpd.GeoDataFrame
    gathering: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame
    fov: tuple
    circuits: list
    coverage_share: float
    entrance_coverage: float
    crs: str
    town_name: str
    source: str


# ------------------------------------------------------------------------------------------
# glue: the event's steps (the town's steps, unchanged, on the perimeter)
# ------------------------------------------------------------------------------------------


def plan_event(sc: Any, ev: EventFile) -> EventPlan:
    """Plan an event in a scenario's town (nothing is written)."""
    from siteplanner.coverage import candidates
    from siteplanner.patrol import plan as patrol
    from siteplanner.town import load as io

    town = io.scenario_town(sc)
    perimeter, venue = _perimeter(ev, town)
    edges = io.edges_gdf(town.graph, town.crs)
    filtering = perimeter_entrances(edges, perimeter)
    node_ids, node_xy = candidates.node_xy(town.graph)
    street_count = np.array([town.graph.nodes[n].get("street_count", 0) for n in node_ids])
    gathering = gathering_points(perimeter, town.pois, node_ids, node_xy, street_count, venue=venue)
    near = perimeter.buffer(20.0)
    sxy, _ = street_points(edges[edges.intersects(near)], spacing_m=5.0)
    sxy = sxy[shapely.contains_xy(near, sxy[:, 0], sxy[:, 1])]
    fxy = (
        np.column_stack([filtering.geometry.x, filtering.geometry.y])
        if len(filtering)
        else np.zeros((0, 2))
    )
    gxy = (
        np.column_stack([gathering.geometry.x, gathering.geometry.y])
        if len(gathering)
        else np.zeros((0, 2))
    )
    weight = event_demand(sxy, fxy, gxy)
    cams, fov, seen = _nomad_cameras(sc, ev, town, perimeter, sxy, weight)
    at_entrance = np.zeros(len(sxy), bool)
    if len(fxy):
        at_entrance = cKDTree(fxy).query(sxy)[0] <= 20.0
    circuits = _patrols(town, perimeter, ev, node_ids, node_xy, fxy, gxy, patrol)
    return EventPlan(
        event=ev,
        perimeter=perimeter,
        filtering=filtering,
        gathering=gathering,
        cameras=cams,
        fov=fov,
        circuits=circuits,
        coverage_share=float(weight[seen].sum() / weight.sum()),
        entrance_coverage=float(seen[at_entrance].mean()) if at_entrance.any() else 0.0,
        crs=town.crs,
        town_name=town.name,
        source=town.source,
    )


def _nomad_cameras(
    sc: Any,
    ev: EventFile,
    town: Any,
    perimeter: BaseGeometry,
    sxy: np.ndarray,
    weight: np.ndarray,
) -> tuple[gpd.GeoDataFrame, tuple, np.ndarray]:
    """The nomad cameras: the town's coverage model and optimiser on the perimeter's sites.

    Returns the cameras (``camera_id``, the site's columns, ``heading_deg``, ``gain``), their
    fields of view and which street points (``sxy``) they see.
    """
    from siteplanner.coverage import candidates
    from siteplanner.coverage import matrix as coverage
    from siteplanner.optimise import phases as optimise
    from siteplanner.steps.coverage import camera_ranges, camera_wedge_deg

    sites = candidates.candidate_sites(
        town.graph,
        perimeter.buffer(10.0),
        town.pois,
        town.buildings,
        min_street_count=2,
        street_lamps=True,
        public_facades=True,
    )
    sites = sites[~sites["existing"]].reset_index(drop=True)
    if sites.empty:
        raise InputError(
            f"event {ev.name!r}: no camera site inside the perimeter; widen it (radius_m or "
            "perimeter)"
        )
    model = next((m for m in sc.camera.catalogue if m.name == ev.camera_model), None)
    if model is None:
        raise InputError(
            f"event {ev.name!r}: camera_model {ev.camera_model!r} is not in the scenario's "
            f"catalogue ({', '.join(m.name for m in sc.camera.catalogue)})"
        )
    range_m = camera_ranges(model)[sc.camera.covered_at]
    fov_deg = camera_wedge_deg(model)
    obstacles = build_obstacles(
        town.buildings.geometry, heights_m=town.buildings["height_m"].to_numpy()
    )
    site_xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    fov = coverage.fields_of_view(
        obstacles,
        site_xy,
        range_m=range_m,
        fov_deg=fov_deg,
        n_headings=sc.camera.n_headings,
        target_xy=sxy,
        target_weight=weight,
    )
    A = coverage.coverage_matrix(fov.polygons, sxy)
    k = min(ev.n_cameras(), len(sites))
    empty = [i for i, p in enumerate(fov.polygons) if p.is_empty]
    plan_ = optimise.solve(A, weight, k=k, excluded=empty, method="auto", time_limit_s=30.0)
    chosen = list(plan_.selected)
    cams = sites.iloc[chosen].copy()
    cams.insert(0, "camera_id", [f"C{i + 1}" for i in range(len(cams))])
    cams["heading_deg"] = np.round(fov.heading_deg[chosen], 0)
    cams["gain"] = np.asarray(plan_.marginal_gain) / float(weight.sum())
    seen = np.asarray(A[chosen].sum(axis=0)).ravel() > 0 if chosen else np.zeros(len(sxy), bool)
    return cams, tuple(fov.polygons[i] for i in chosen), seen


def _perimeter(ev: EventFile, town: Any) -> tuple[BaseGeometry, shapely.Point | None]:
    if ev.venue is not None:
        v = (
            gpd.GeoSeries.from_xy([ev.venue[0]], [ev.venue[1]], crs="EPSG:4326")
            .to_crs(town.crs)
            .iloc[0]
        )
        perimeter, venue = v.buffer(ev.radius_m, quad_segs=16), v
    else:
        g = gpd.read_file(ev.perimeter)
        if g.crs is None or g.empty:
            raise InputError(f"{ev.perimeter}: the perimeter file needs a polygon and a CRS")
        perimeter, venue = shapely.make_valid(g.to_crs(town.crs).union_all()), None
    if not perimeter.intersects(town.area.buffer(town.margin_m)):
        raise InputError(
            f"event {ev.name!r}: the perimeter is outside the study area of {town.name}"
        )
    return perimeter, venue


def _patrols(
    town: Any,
    perimeter: BaseGeometry,
    ev: EventFile,
    node_ids: np.ndarray,
    node_xy: np.ndarray,
    fxy: np.ndarray,
    gxy: np.ndarray,
    patrol: Any,
) -> list:
    """Rounds around the perimeter: prizes 3 at entrances, 2 at gathering points, 1 on the edge."""
    ring = perimeter.boundary
    d_edge = shapely.distance(shapely.points(node_xy), ring)
    inside = shapely.contains_xy(perimeter.buffer(40.0), node_xy[:, 0], node_xy[:, 1])
    cand = np.flatnonzero(inside)
    if not len(cand):
        return []
    prize = np.where(d_edge[cand] <= 40.0, 1.0, 0.2)
    for xy, add in ((fxy, 3.0), (gxy, 2.0)):
        if len(xy):
            prize += np.where(cKDTree(xy).query(node_xy[cand])[0] <= 25.0, add, 0.0)
    start_pt = perimeter.representative_point() if not len(fxy) else shapely.Point(fxy[0])
    start = int(node_ids[cKDTree(node_xy).query((start_pt.x, start_pt.y))[1]])
    nodes = [int(n) for n in node_ids[cand] if int(n) != start]
    prizes = [float(p) for n, p in zip(node_ids[cand], prize) if int(n) != start]
    speed = 4.5 if ev.patrol.mode == "foot" else 12.0
    shift = patrol.Shift(
        name=f"ronde {ev.hours[0]}h-{ev.hours[1]}h",
        budget_min=ev.patrol.budget_min,
        speed_kmh=speed,
        dwell_min=ev.patrol.dwell_min,
        teams=ev.patrol.teams,
    )
    return patrol.plan_circuits(town.graph, start, nodes, prizes, shifts=[shift], seed=0)


# ------------------------------------------------------------------------------------------
# outputs
# ------------------------------------------------------------------------------------------


def tables(ep: EventPlan) -> dict[str, pd.DataFrame]:
    """The sheet's tables: nomad cameras, filtering points, patrol circuits."""
    ll = ep.cameras.to_crs("EPSG:4326").geometry
    cams = pd.DataFrame(
        {
            "camera": ep.cameras["camera_id"],
            "mount": ep.cameras["mount"],
            "heading": [
                ("360°" if not np.isfinite(h) else f"{h:.0f}°") for h in ep.cameras["heading_deg"]
            ],
            "gain": [f"{g:.0%}" for g in ep.cameras["gain"]],
            "lon": ll.x.round(6),
            "lat": ll.y.round(6),
        }
    )
    fl = ep.filtering.to_crs("EPSG:4326").geometry if len(ep.filtering) else gpd.GeoSeries([])
    filt = pd.DataFrame(
        {
            "point": ep.filtering["point_id"],
            "street": ep.filtering["street"],
            "setup": ep.filtering["setup"],
            "lon": fl.x.round(6) if len(fl) else [],
            "lat": fl.y.round(6) if len(fl) else [],
        }
    )
    circ = pd.DataFrame(
        [
            {
                "circuit": c.name,
                "km": round(c.length_m / 1000, 2),
                "minutes": round(c.duration_min),
                "stops": len(c.stops),
                "loops in the event": int(ep.event.duration_h() * 60 // c.budget_min),
            }
            for c in ep.circuits
        ]
    )
    return {"cameras": cams, "filtering": filt, "circuits": circ}


def event_sheet(
    ep: EventPlan, town_graph: Any, buildings: gpd.GeoDataFrame, path: Path, *, dpi: int = 110
) -> None:
    """The one-page event sheet (A4 portrait): map, key figures and tables; PDF or PNG by suffix."""
    from matplotlib.figure import Figure

    ev = ep.event
    fig = Figure(figsize=(8.27, 11.69))  # no pyplot: no global backend is chosen
    _sheet_map(fig, ep, town_graph, buildings)
    fig.text(0.04, 0.965, f"Fiche événement — {ev.name}", fontsize=13, weight="bold")
    fig.text(
        0.04,
        0.94,
        f"{ep.town_name}, {ev.date.isoformat()}, {ev.hours[0]} h–{ev.hours[1]} h, "
        f"{ev.attendance:,} personnes attendues".replace(",", " "),
        fontsize=9,
    )
    fig.text(
        0.04,
        0.925,
        f"{len(ep.cameras)} caméras nomades ({ev.camera_model}) voient {ep.coverage_share:.0%} "
        f"de la demande du périmètre et {ep.entrance_coverage:.0%} des abords des entrées; "
        f"{len(ep.filtering)} points de filtrage; {len(ep.circuits)} ronde(s).",
        fontsize=8,
    )
    _sheet_tables(fig, ep)
    fig.savefig(path, dpi=dpi)


def _sheet_map(fig: Any, ep: EventPlan, town_graph: Any, buildings: gpd.GeoDataFrame) -> None:
    """The event sheet's map: buildings, streets, perimeter, fields of view, rounds, points."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from siteplanner.outputs import plot
    from siteplanner.town import load as io

    ax = fig.add_axes((0.04, 0.44, 0.92, 0.475))
    xmin, ymin, xmax, ymax = ep.perimeter.buffer(60).bounds
    bb = shapely.box(xmin, ymin, xmax, ymax)
    b = buildings[buildings.intersects(bb)]
    if len(b):
        b.plot(ax=ax, color="#d9d9d9", linewidth=0)
    e = io.edges_gdf(town_graph, ep.crs)
    e[e.intersects(bb)].plot(ax=ax, color="#888888", linewidth=0.6)
    gpd.GeoSeries([ep.perimeter.boundary], crs=ep.crs).plot(
        ax=ax, color="#1f4e9c", linewidth=1.6, linestyle="--"
    )
    fovs = [p for p in ep.fov if not p.is_empty]
    if fovs:
        gpd.GeoSeries(fovs, crs=ep.crs).plot(ax=ax, color="#2ca02c", alpha=0.25, linewidth=0)
    for c, col in zip(ep.circuits, ["#d62728", "#9467bd", "#8c564b", "#e377c2"]):
        gpd.GeoSeries([c.geometry], crs=ep.crs).plot(ax=ax, color=col, linewidth=1.4, alpha=0.8)
    if len(ep.filtering):
        ep.filtering.plot(
            ax=ax, marker="^", color="#ff7f0e", markersize=45, edgecolor="black", linewidth=0.5
        )
        for pid, p in zip(ep.filtering["point_id"], ep.filtering.geometry):
            ax.annotate(pid, (p.x, p.y), xytext=(3, 3), textcoords="offset points", fontsize=6)
    ep.cameras.plot(
        ax=ax, marker="o", color="#2ca02c", markersize=40, edgecolor="black", linewidth=0.6
    )
    for cid, p in zip(ep.cameras["camera_id"], ep.cameras.geometry):
        ax.annotate(
            cid, (p.x, p.y), xytext=(3, -8), textcoords="offset points", fontsize=7, weight="bold"
        )
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.legend(
        handles=[
            Line2D([], [], color="#1f4e9c", linestyle="--", label="périmètre"),
            Line2D(
                [],
                [],
                marker="o",
                color="#2ca02c",
                linestyle="",
                markeredgecolor="black",
                label="caméra nomade",
            ),
            Patch(color="#2ca02c", alpha=0.25, label="champ de vision"),
            Line2D(
                [],
                [],
                marker="^",
                color="#ff7f0e",
                linestyle="",
                markeredgecolor="black",
                label="point de filtrage",
            ),
            Line2D([], [], color="#d62728", label="ronde"),
        ],
        loc="upper left",
        fontsize=6.5,
        framealpha=0.9,
    )
    plot.add_scale_bar(ax)
    plot.add_north_arrow(ax)
    plot.add_attribution(ax, f"© OpenStreetMap contributors (ODbL), {ep.source}")


def _sheet_tables(fig: Any, ep: EventPlan) -> None:
    """The event sheet's tables (cameras, filtering points, rounds), first rows only."""
    t = tables(ep)
    y = 0.415
    row_h = 0.0145
    for title, df, n_max, csv in (
        ("Caméras nomades", t["cameras"], 8, "event_cameras.csv"),
        ("Points de filtrage", t["filtering"], 10, "event_filtering_points.csv"),
        ("Rondes autour du périmètre", t["circuits"], 4, ""),
    ):
        more = f" — {len(df) - n_max} de plus dans {csv}" if len(df) > n_max else ""
        fig.text(0.04, y, title + more, fontsize=8.5, weight="bold")
        shown = df.head(n_max)
        if len(shown):
            h = row_h * (len(shown) + 1)
            tab = fig.add_axes((0.04, y - 0.006 - h, 0.92, h))
            tab.axis("off")
            tb = tab.table(
                cellText=shown.astype(str).values,
                colLabels=list(shown.columns),
                loc="upper left",
                cellLoc="left",
                bbox=(0, 0, 1, 1),
            )
            tb.auto_set_font_size(False)
            tb.set_fontsize(6.5)
            y -= h + 0.03


def write_event(
    ep: EventPlan, town_graph: Any, buildings: gpd.GeoDataFrame, out_dir: str | Path
) -> list[Path]:
    """Write the event sheet (PDF, PNG), its tables (CSV), the layers (GeoJSON) and GPX circuits."""

    out_dir = Path(out_dir)
    t = tables(ep)
    with files.staged_folder(out_dir) as (stage, written):
        files.write_with(
            stage / "event_sheet.pdf", lambda p: event_sheet(ep, town_graph, buildings, p)
        )
        files.write_with(
            stage / "event_sheet.png", lambda p: event_sheet(ep, town_graph, buildings, p, dpi=90)
        )
        files.write_text(
            stage / "event_cameras.csv", t["cameras"].to_csv(index=False, lineterminator="\n")
        )
        files.write_text(
            stage / "event_filtering_points.csv",
            t["filtering"].to_csv(index=False, lineterminator="\n"),
        )
        layers = [
            gpd.GeoDataFrame(
                {"feature": ["perimeter"], "id": [""]}, geometry=[ep.perimeter], crs=ep.crs
            ),
            gpd.GeoDataFrame(
                {"feature": "nomad_camera", "id": ep.cameras["camera_id"]},
                geometry=ep.cameras.geometry.values,
                crs=ep.crs,
            ),
            gpd.GeoDataFrame(
                {"feature": "camera_view", "id": ep.cameras["camera_id"]},
                geometry=list(ep.fov),
                crs=ep.crs,
            ),
            gpd.GeoDataFrame(
                {"feature": "filtering_point", "id": ep.filtering["point_id"]},
                geometry=ep.filtering.geometry.values,
                crs=ep.crs,
            ),
            gpd.GeoDataFrame(
                {"feature": "patrol", "id": [c.name for c in ep.circuits]},
                geometry=[c.geometry for c in ep.circuits],
                crs=ep.crs,
            ),
        ]
        files.write_geojson(
            stage / "event.geojson",
            gpd.GeoDataFrame(pd.concat(layers, ignore_index=True), crs=ep.crs),
        )
        for i, c in enumerate(ep.circuits, start=1):
            files.write_text(stage / f"event_patrol_{i}.gpx", to_gpx(c, ep.crs))
    return written
