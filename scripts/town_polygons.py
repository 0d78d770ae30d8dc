"""Write the study-area polygons of the town-centre extracts that have no complete boundary.

    python scripts/town_polygons.py

The Redon and Helsinki extracts are clipped rectangles: the communes' admin relations are cut
(Redon 961138: 1 of 9 member ways; Helsinki 34914: 0 of 56), so their scenarios give
``[area] polygon =`` instead. Each polygon is the extract's rectangle (the bounding box of its
nodes) moved in by ``INSET_M`` so that lines of sight near the edge still see mapped data:

* ``data/areas/redon_centre.geojson`` -- also cut along the one mapped member way of Redon's
  boundary (OSM way 61908774, the Vilaine between Redon and Saint-Nicolas-de-Redon), keeping
  the Redon side;
* ``data/areas/helsinki_centre.geojson`` -- the rectangle only (all of it is in Helsinki);
  siteplanner clips it to land with the coastline mapped in the extract.

Derived from OpenStreetMap data (© OpenStreetMap contributors, ODbL 1.0).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import osmium
import shapely
from shapely.ops import split

ROOT = Path(__file__).resolve().parents[1]
INSET_M = 40.0
REDON_RIVER_WAY = 61908774
REDON_POLICE = (-2.08529, 47.6502555)  # amenity=police "Police municipale", on the Redon side


def node_bbox(path: Path) -> tuple[float, float, float, float]:
    """The bounding box (lon, lat) of all nodes of an extract."""
    xy = np.array(
        [
            (n.location.lon, n.location.lat)
            for n in osmium.FileProcessor(str(path)).with_filter(
                osmium.filter.EntityFilter(osmium.osm.NODE)
            )
        ]
    )
    return (
        float(xy[:, 0].min()),
        float(xy[:, 1].min()),
        float(xy[:, 0].max()),
        float(xy[:, 1].max()),
    )


def inset_box(bbox: tuple[float, float, float, float], inset_m: float) -> shapely.Polygon:
    """The box moved in by ``inset_m`` metres on each side (local degree lengths)."""
    lon0, lat0, lon1, lat1 = bbox
    dlat = inset_m / 111_320.0
    dlon = inset_m / (111_320.0 * np.cos(np.radians((lat0 + lat1) / 2)))
    return shapely.box(lon0 + dlon, lat0 + dlat, lon1 - dlon, lat1 - dlat)


def way_line(path: Path, way_id: int) -> shapely.LineString:
    """The present nodes of one way, as a line extended 200 m at both ends."""
    for obj in osmium.FileProcessor(str(path)).with_locations():
        if obj.is_way() and obj.id == way_id:
            pts = np.array([(n.lon, n.lat) for n in obj.nodes if n.location.valid()])
            break
    else:
        raise SystemExit(f"{path}: way {way_id} not found")
    head = pts[0] + (pts[0] - pts[1]) / np.linalg.norm(pts[0] - pts[1]) * 0.003
    tail = pts[-1] + (pts[-1] - pts[-2]) / np.linalg.norm(pts[-1] - pts[-2]) * 0.003
    return shapely.LineString(np.vstack([head, pts, tail]))


def write(poly: shapely.Polygon, name: str, out: Path) -> None:
    """One-feature GeoJSON in WGS84, coordinates to 7 decimals."""
    feat = {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": json.loads(shapely.to_geojson(shapely.set_precision(poly, 1e-7))),
    }
    fc = {
        "type": "FeatureCollection",
        "name": out.stem,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": [feat],
    }
    out.write_text(json.dumps(fc) + "\n", encoding="utf-8")
    print(f"{out.relative_to(ROOT)}: {name}, bounds {tuple(round(v, 5) for v in poly.bounds)}")


def main() -> None:
    osm = ROOT / "data" / "osm"
    redon = osm / "redon-centre-2019.osm.bz2"
    box = inset_box(node_bbox(redon), INSET_M)
    parts = split(box, way_line(redon, REDON_RIVER_WAY)).geoms
    keep = next(p for p in parts if p.contains(shapely.Point(REDON_POLICE)))
    write(
        keep,
        "Redon (centre extract, Redon side of the Vilaine)",
        ROOT / "data/areas/redon_centre.geojson",
    )
    helsinki = osm / "helsinki-2019.osm.bz2"
    write(
        inset_box(node_bbox(helsinki), INSET_M),
        "Helsinki (centre extract)",
        ROOT / "data/areas/helsinki_centre.geojson",
    )


if __name__ == "__main__":
    main()
