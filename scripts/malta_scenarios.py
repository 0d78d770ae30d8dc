"""Write the Malta batch: one scenario per local council in ``scenarios/malta/``.

    python scripts/malta_scenarios.py              # the scenario files
    python scripts/malta_scenarios.py --incidents  # and the SYNTHETIC incident files (Malta, Gozo)
    python scripts/malta_scenarios.py --gozo-incidents  # only Gozo's

Reads ``data/osm/malta-2018.osm.pbf`` (© OpenStreetMap contributors, ODbL 1.0) with pyosmium:
the local councils (boundary relations of admin_level 8; the 2018 extract maps 67 of Malta's
68 councils), the police stations and town halls, and the walkable streets (the rule of
:func:`siteplanner.town.osm.is_walkable`). For each council it writes ``<name>_<relation>.toml``:

* ``k`` = one camera per 5 km of walkable street in the council, between 2 and 12;
* where no police station or town hall is mapped inside the council, ``patrol.start`` and
  ``candidates.csu`` are the street node nearest the council's representative point;
* the councils of the island of Malta read one incident file,
  ``data/incidents/malta_synthetic_2021-2023.csv``, simulated once over the whole study area
  ``data/areas/malta_whole.geojson`` at 50 incidents per km of street and year, capped at 110
  per 1,000 inhabitants (475,700 in 2018); the 14 councils of Gozo (and Comino) read
  ``gozo_synthetic_2021-2023.csv``, simulated over the union of their boundaries (capped for
  32,000 inhabitants): a study area keeps its largest connected street network, which for the
  whole of Malta is the main island's, so Gozo needs its own. Each run keeps the incidents
  inside its council. SYNTHETIC: see data/incidents/README.md.

``siteplanner batch scenarios/malta`` then runs all of them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import osmium
import pyproj
import shapely

ROOT = Path(__file__).resolve().parents[1]
OSM = ROOT / "data" / "osm" / "malta-2018.osm.pbf"
OUT = ROOT / "scenarios" / "malta"
INCIDENTS = ROOT / "data" / "incidents" / "malta_synthetic_2021-2023.csv"
GOZO_INCIDENTS = ROOT / "data" / "incidents" / "gozo_synthetic_2021-2023.csv"
GOZO_LAT, GOZO_POPULATION = 35.99, 32_000  # councils north of this latitude are on Gozo or Comino
WHOLE = ROOT / "data" / "areas" / "malta_whole.geojson"
KM_PER_CAMERA, K_MIN, K_MAX = 5.0, 2, 12
PER_STREET_KM, PER_1000_INHABITANTS, POPULATION = 50.0, 110.0, 475_700
_ASCII = str.maketrans(
    {"ħ": "h", "Ħ": "h", "ġ": "g", "Ġ": "g", "ż": "z", "Ż": "z", "ċ": "c", "Ċ": "c"}
)


class _Reader(osmium.SimpleHandler):
    """Councils (as areas), police stations and town halls, walkable street lines."""

    def __init__(self) -> None:
        super().__init__()
        self.councils: dict[int, tuple[str, shapely.MultiPolygon]] = {}
        self.anchors: list[shapely.Point] = []
        self.streets: list[shapely.LineString] = []
        self.wkb = osmium.geom.WKBFactory()

    def node(self, n) -> None:
        if n.tags.get("amenity") in ("police", "townhall"):
            self.anchors.append(shapely.Point(n.location.lon, n.location.lat))

    def way(self, w) -> None:
        from siteplanner.town.osm import is_walkable

        if is_walkable(dict(w.tags)):
            pts = [(n.lon, n.lat) for n in w.nodes if n.location.valid()]
            if len(pts) >= 2:
                self.streets.append(shapely.LineString(pts))

    def area(self, a) -> None:
        tags = a.tags
        if tags.get("amenity") in ("police", "townhall"):
            self.anchors.append(
                shapely.from_wkb(self.wkb.create_multipolygon(a)).representative_point()
            )
        if (
            not a.from_way()
            and tags.get("boundary") == "administrative"
            and tags.get("admin_level") == "8"
        ):
            self.councils[a.orig_id()] = (
                tags.get("name", str(a.orig_id())),
                shapely.from_wkb(self.wkb.create_multipolygon(a)),
            )


def slug(name: str, rel: int) -> str:
    """A file name: ASCII, lower case, hyphens, with the relation id."""
    text = unicodedata.normalize("NFKD", name.translate(_ASCII)).encode("ascii", "ignore").decode()
    return f"{re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')}_{rel}"


def scenario_text(
    name: str, rel: int, k: int, start: tuple[float, float] | None, km: float, incidents: str
) -> str:
    """The TOML of one council."""
    fixed = ""
    if start is not None:
        where = f"[{start[0]:.6f}, {start[1]:.6f}]"
        fixed = (
            f"csu = {where}   # no police station or town hall mapped in the council: "
            "the street node nearest its centre\n"
        )
    head = (
        f"# siteplanner scenario: {name} (Malta), local council {rel}; written by "
        f"scripts/malta_scenarios.py.\n# `siteplanner batch scenarios/malta` runs every council. "
        f"{km:.1f} km of walkable street.\n"
    )
    return (
        head
        + f'''name = "{name}"
cache_dir = "../../.cache"

[area]
osm = "../../data/osm/malta-2018.osm.pbf"   # © OpenStreetMap contributors, ODbL
boundary = {rel}
margin_m = 150

# SYNTHETIC incidents over the whole island (no open incident file): see data/incidents/README.md
[[incidents]]
path = "../../data/incidents/{incidents}"

[hotspots.window]
name = "2021-2023, toutes heures"

[camera]
model = "bullet_4mp_6mm"
covered_at = "observation"
n_headings = 8

[candidates]
{fixed}
[plan]
k = {k}
funded_share = 0.5
phase_name = "phase suivante"

[patrol]
n_candidates = 30
{"" if start is None else f"start = {where}" + chr(10)}
[[patrol.shifts]]
name = "soirée"
budget_min = 90
mode = "foot"
dwell_min = 12
[patrol.shifts.window]
name = "soirée (18h-24h)"
hours = [18, 24]

[output]
dir = "../../outputs/malta/{slug(name, rel)}"
include_incident_points = false
'''
    )


def main(argv: list[str]) -> None:
    reader = _Reader()
    reader.apply_file(str(OSM), locations=True)
    utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32633", always_xy=True).transform
    streets = shapely.STRtree(reader.streets)
    nodes = np.array([c for s in reader.streets for c in s.coords])
    anchors = shapely.MultiPoint(reader.anchors)
    OUT.mkdir(parents=True, exist_ok=True)
    written: set[Path] = set()
    total_km, gozo_km, gozo = 0.0, 0.0, []
    for rel, (name, poly) in sorted(reader.councils.items(), key=lambda kv: slug(kv[1][0], kv[0])):
        idx = streets.query(poly, predicate="intersects")
        km = (
            sum(
                shapely.transform(
                    reader.streets[i].intersection(poly),
                    lambda xy: np.column_stack(utm(xy[:, 0], xy[:, 1])),
                ).length
                for i in idx
            )
            / 1000
        )
        on_gozo = poly.representative_point().y > GOZO_LAT
        total_km += km
        if on_gozo:
            gozo_km += km
            gozo.append(poly)
        k = int(np.clip(round(km / KM_PER_CAMERA), K_MIN, K_MAX))
        start = None
        if not poly.intersects(anchors):
            inside = nodes[shapely.contains_xy(poly, nodes[:, 0], nodes[:, 1])]
            c = poly.representative_point()
            start = tuple(inside[np.argmin(np.hypot(inside[:, 0] - c.x, inside[:, 1] - c.y))])
        path = OUT / f"{slug(name, rel)}.toml"
        text = scenario_text(
            name, rel, k, start, km, (GOZO_INCIDENTS if on_gozo else INCIDENTS).name
        )
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.add(path)
    for old in set(OUT.glob("*.toml")) - written:
        old.unlink()
    print(
        f"wrote {len(reader.councils)} council scenarios to {OUT.relative_to(ROOT)} "
        f"({total_km:.0f} km of walkable street in all)"
    )
    if "--incidents" in argv:
        simulate("Malta", WHOLE, INCIDENTS, total_km, POPULATION)
    if "--gozo-incidents" in argv or "--incidents" in argv:
        with tempfile.TemporaryDirectory() as tmp:
            area = Path(tmp) / "gozo.geojson"
            area.write_text(
                json.dumps(
                    {
                        "type": "FeatureCollection",
                        "features": [
                            {
                                "type": "Feature",
                                "properties": {"name": "Gozo"},
                                "geometry": json.loads(shapely.to_geojson(shapely.union_all(gozo))),
                            }
                        ],
                    }
                ),
                encoding="utf-8",
            )
            simulate("Gozo", area, GOZO_INCIDENTS, gozo_km, GOZO_POPULATION)


def simulate(name: str, area: Path, out: Path, km: float, population: int) -> None:
    """``siteplanner simulate-incidents`` over a polygon, scaled to its streets and people."""
    per_year = round(min(PER_STREET_KM * km, PER_1000_INHABITANTS * population / 1000))
    print(f"{name}: {km:.0f} km of street, {population:,} inhabitants -> --per-year {per_year}")
    with tempfile.TemporaryDirectory() as tmp:
        sc = Path(tmp) / "area.toml"
        sc.write_text(
            f'name = "{name}"\ncache_dir = "{(ROOT / ".cache").as_posix()}"\n[area]\n'
            f'osm = "{OSM.as_posix()}"\npolygon = "{area.as_posix()}"\nmargin_m = 150\n',
            encoding="utf-8",
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "siteplanner.cli",
                "simulate-incidents",
                str(sc),
                "--seed",
                "0",
                "--per-year",
                str(per_year),
                "--out",
                str(out),
            ],
            check=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
