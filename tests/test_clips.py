"""Clipped extracts (#25): every clip of the shared extracts plans, or stops with one line.

Users cut their own extracts at a bounding box (``osmium extract``, Overpass, osmconvert,
Osmosis), and the cut leaves the ways and relations at its edge in one of three states, all
met in the wild:

``simple``
    the nodes inside the box only; ways keep their references to the nodes outside, which are
    missing (``osmium extract --strategy simple``, ``osmconvert -b``);
``complete``
    ways whole, with their nodes outside the box; relations keep members that are missing
    (``osmium extract --strategy complete_ways``, Overpass ``(way(bbox);>;)``);
``drop``
    ways and relations keep only their references inside the box, so that a closed way keeps
    its first and last node and cuts across the rest (Osmosis ``clipIncompleteEntities``): a
    lake or a riverbank cut this way crosses itself.

The shared extracts are cut with pyosmium at seeded random boxes of a few hundred metres; each
clip gets a scenario whose ``[area] polygon`` is about its box, with the incidents of the box.
``validate`` and ``run`` run on every clip through the CLI: each plans, or stops with one
``error:`` line of bad input and exit 1, never a traceback. The cases clips of other seeds
found are kept in :data:`KNOWN` with their outcome.
"""

from __future__ import annotations

import bz2
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from siteplanner.cli import app

from .conftest import ROOT, session_folder

OSM = ROOT / "data" / "osm"
INCIDENTS = ROOT / "data" / "incidents"

#: extract -> the synthetic incident files that cover it
EXTRACTS = {
    "monaco-beausoleil-2016.osm.bz2": (
        "beausoleil_synthetic_2021-2023.csv",
        "cap-d-ail_synthetic_2021-2023.csv",
    ),
    "monaco-2026.osm.pbf": ("monaco-2026_synthetic_2021-2023.csv",),
    "helsinki-2019.osm.bz2": ("helsinki_synthetic_2021-2023.csv",),
    "redon-centre-2019.osm.bz2": ("redon_synthetic_2021-2023.csv",),
    "liechtenstein-2015.osm.pbf": ("schaan_synthetic_2021-2023.csv",),
    "malta-2018.osm.pbf": ("malta_synthetic_2021-2023.csv",),
}
BOXES_PER_EXTRACT = 6
STRATEGIES = ("simple", "complete", "drop")
SEED = 25

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Clip:
    """One clip: its extract, box and cut, the study area (the box scaled about its centre)
    and the patrol start (None: the default, a police station or town hall inside)."""

    name: str
    extract: str
    box: Box
    strategy: str
    scale: float = 1.0
    start: tuple[float, float] | None = None

    def scenario(self, folder: Path) -> Path:
        return folder / f"{self.name}.toml"


#: Clips that once failed, with their outcome now: "ok" (they plan) or their error's words.
KNOWN = [
    # #25's TopologyException: a fountain (natural=water) whose nodes outside the box are
    # dropped crosses itself, and the study area's land was its difference with it as it was
    (
        Clip(
            "monaco-fountain",
            "monaco-beausoleil-2016.osm.bz2",
            (7.4255, 43.7385, 7.42595, 43.742),
            "drop",
            start=(7.42572, 43.7402),
        ),
        "ok",
    ),
    # the same on the Vilaine's riverbank in Redon
    (
        Clip(
            "redon-vilaine",
            "redon-centre-2019.osm.bz2",
            (-2.090532, 47.644382, -2.082746, 47.649166),
            "drop",
            start=(-2.0868, 47.6468),
        ),
        "ok",
    ),
    # the patrol start on a scrap of street the box cut off: `run` planned a circuit of one
    # point, and its map had no extent (ValueError: Axis limits cannot be NaN or Inf)
    (
        Clip(
            "monaco-scrap",
            "monaco-beausoleil-2016.osm.bz2",
            (7.424316, 43.744249, 7.428078, 43.747881),
            "drop",
            0.8,
            (7.426197, 43.746065),
        ),
        "a patrol could not leave its start",
    ),
    # no candidate site: `run` stopped on "ValueError: You are trying to merge on object and
    # float64 columns for key 'site_id'"
    (
        Clip(
            "schaan-no-site",
            "liechtenstein-2015.osm.pbf",
            (9.54, 47.161635, 9.544286, 47.166645),
            "simple",
            start=(9.542143, 47.16414),
        ),
        "the study area has no candidate site",
    ),
    # street nodes inside the box but no street between two of them: "ValueError: Graph
    # contains no edges." (osmnx, projecting an empty graph)
    (
        Clip(
            "malta-street-ends",
            "malta-2018.osm.pbf",
            (14.540471, 35.818846, 14.545871, 35.823686),
            "complete",
            start=(14.543171, 35.821266),
        ),
        "the study area contains no walkable street",
    ),
]


# ---------------------------------------------------------------------------------------
# cutting an extract
# ---------------------------------------------------------------------------------------


def _source(path: Path):
    import osmium

    if path.suffix == ".bz2":
        with bz2.open(path) as f:
            return osmium.io.FileBuffer(f.read(), "osm")
    return str(path)


def _held(ids: list[int], lons: list[float], lats: list[float], boxes: np.ndarray) -> dict:
    """Node id -> the indices of the boxes that hold it (for the nodes in at least one)."""
    lon, lat = np.array(lons, float)[:, None], np.array(lats, float)[:, None]
    held = (boxes[:, 0] <= lon) & (lon <= boxes[:, 2]) & (boxes[:, 1] <= lat) & (lat <= boxes[:, 3])
    inside: dict[int, list[int]] = {}
    for row, i in zip(*(a.tolist() for a in np.nonzero(held))):
        inside.setdefault(ids[row], []).append(i)
    return inside


def cut(path: Path, cuts: list[tuple[tuple[float, float, float, float], str, Path]]) -> None:
    """Write one clip of ``path`` per ``(box, strategy, out)``.

    A first pass finds the nodes inside each box (their positions tested all at once) and the
    ways that reference them; the second writes each clip (its nodes, ways and the relations
    with a member in it).
    """
    import osmium

    src = _source(path)
    boxes = np.array([c[0] for c in cuts], float)
    x0, y0 = boxes[:, :2].min(axis=0).tolist()
    x1, y1 = boxes[:, 2:].max(axis=0).tolist()
    ids, lons, lats = [], [], []  # the nodes inside the boxes' union
    inside: dict[int, list[int]] | None = None  # node id -> the clips whose box holds it
    ways: dict[int, list[int]] = {}  # way id -> the clips that keep it
    outside: dict[int, set[int]] = {}  # node id -> the "complete" clips that need it
    for obj in osmium.FileProcessor(src, osmium.osm.NODE | osmium.osm.WAY):
        if obj.is_node():
            loc = obj.location
            lon, lat = loc.lon, loc.lat
            if x0 <= lon <= x1 and y0 <= lat <= y1:
                ids.append(obj.id)
                lons.append(lon)
                lats.append(lat)
            continue
        if inside is None:  # the nodes come first: each one's boxes, tested all at once
            inside = _held(ids, lons, lats, boxes)
        refs = [n.ref for n in obj.nodes]
        hit = sorted({i for r in refs for i in inside.get(r, ())})
        if hit:
            ways[obj.id] = hit
            for i in hit:
                if cuts[i][1] == "complete":
                    for r in refs:
                        outside.setdefault(r, set()).add(i)
    if inside is None:
        inside = _held(ids, lons, lats, boxes)
    writers = [osmium.SimpleWriter(str(c[2]), overwrite=True) for c in cuts]
    try:
        for obj in osmium.FileProcessor(src):
            if obj.is_node():
                a, b = inside.get(obj.id), outside.get(obj.id)
                if a is not None or b is not None:
                    for i in sorted(set(a or ()) | (b or set())):
                        writers[i].add_node(obj)
            elif obj.is_way():
                for i in ways.get(obj.id, ()):
                    if cuts[i][1] == "drop":
                        refs = [n.ref for n in obj.nodes if i in inside.get(n.ref, ())]
                        writers[i].add_way(obj.replace(nodes=refs))
                    else:
                        writers[i].add_way(obj)
            else:
                members = [(m.type, m.ref, m.role) for m in obj.members]
                for i in range(len(cuts)):
                    keep = [
                        m
                        for m in members
                        if i
                        in (ways if m[0] == "w" else inside if m[0] == "n" else {}).get(m[1], ())
                    ]
                    if keep:
                        writers[i].add_relation(
                            obj.replace(members=keep) if cuts[i][1] == "drop" else obj
                        )
    finally:
        for w in writers:
            w.close()


# ---------------------------------------------------------------------------------------
# the clips and their scenarios
# ---------------------------------------------------------------------------------------


def _box(lon: float, lat: float, w_m: float, h_m: float) -> tuple[float, float, float, float]:
    dx = w_m / 2 / (111_320 * math.cos(math.radians(lat)))
    dy = h_m / 2 / 110_540
    return (round(lon - dx, 6), round(lat - dy, 6), round(lon + dx, 6), round(lat + dy, 6))


def _polygon_file(box: tuple[float, float, float, float], scale: float, path: Path) -> None:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hx, hy = (box[2] - box[0]) / 2 * scale, (box[3] - box[1]) / 2 * scale
    ring = [[cx - hx, cy - hy], [cx + hx, cy - hy], [cx + hx, cy + hy], [cx - hx, cy + hy]]
    geo = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            }
        ],
    }
    path.write_text(json.dumps(geo), encoding="utf-8")


SCENARIO = """name = "{name}"
cache_dir = "{cache}"

[area]
osm = "{osm}"
polygon = "{polygon}"
margin_m = 50

[[incidents]]
path = "{incidents}"

[plan]
k = 2

[patrol]
n_candidates = 8{start}
[[patrol.shifts]]
name = "soirée"
budget_min = 20
mode = "foot"
dwell_min = 5

[output]
dir = "{out}"
"""


def seeded_clips() -> list[Clip]:
    """:data:`BOXES_PER_EXTRACT` seeded clips of each shared extract.

    Most boxes are centred on an incident (a town centre) and start the patrols there; the last
    two of each extract fall anywhere around the incidents (sea, fields, the extract's edge),
    and the very last gives no patrol start.
    """
    rng = np.random.default_rng(SEED)
    clips = []
    for extract, files in EXTRACTS.items():
        xy = _incidents(files)[["lon", "lat"]].to_numpy(float)
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        for i in range(BOXES_PER_EXTRACT):
            if i < BOXES_PER_EXTRACT - 2:
                lon, lat = xy[rng.integers(len(xy))]
            else:
                lon, lat = rng.uniform(lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo))
            box = _box(float(lon), float(lat), *rng.uniform(250, 600, size=2))
            how = STRATEGIES[int(rng.integers(len(STRATEGIES)))]
            scale = float(rng.choice([1.0, 1.0, 0.8, 1.25]))
            start = None if i == BOXES_PER_EXTRACT - 1 else (round(lon, 6), round(lat, 6))
            clips.append(
                Clip(f"{extract.split('.')[0]}-{i}-{how}", extract, box, how, scale, start)
            )
    return clips


def _incidents(files: tuple[str, ...]) -> pd.DataFrame:
    return pd.concat([pd.read_csv(INCIDENTS / f) for f in files], ignore_index=True)


def write_clips(clips: list[Clip], folder: Path) -> None:
    """Cut every clip (one pair of passes per extract) and write its scenario and files."""
    for extract in dict.fromkeys(c.extract for c in clips):
        mine = [c for c in clips if c.extract == extract]
        incidents = _incidents(EXTRACTS[extract])
        xy = incidents[["lon", "lat"]].to_numpy(float)
        for c in mine:
            x0, y0, x1, y1 = c.box
            inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
            incidents[inside].to_csv(folder / f"{c.name}.csv", index=False)
            _polygon_file(c.box, c.scale, folder / f"{c.name}.geojson")
            start = "" if c.start is None else f"\nstart = [{c.start[0]}, {c.start[1]}]"
            c.scenario(folder).write_text(
                SCENARIO.format(
                    name=c.name,
                    cache=(folder / "cache").as_posix(),
                    osm=(folder / f"{c.name}.osm.pbf").as_posix(),
                    polygon=(folder / f"{c.name}.geojson").as_posix(),
                    incidents=(folder / f"{c.name}.csv").as_posix(),
                    start=start,
                    out=(folder / "out" / c.name).as_posix(),
                ),
                encoding="utf-8",
            )
        cut(OSM / extract, [(c.box, c.strategy, folder / f"{c.name}.osm.pbf") for c in mine])


# ---------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------

runner = CliRunner()


def outcome(command: str, scenario: Path) -> str:
    """``"ok"``, or the one error line of a command that stops on bad input; fails on a
    traceback and on any other exception the CLI caught (it prints those as ``ValueError: …``)."""
    r = runner.invoke(app, ["--quiet", command, str(scenario)])
    if r.exit_code == 0:
        return "ok"
    assert isinstance(r.exception, SystemExit), (
        f"{command} {scenario.name}: traceback {type(r.exception).__name__}: {r.exception}"
    )
    errors = [ln.removeprefix("error: ") for ln in r.output.splitlines() if ln.startswith("error:")]
    assert r.exit_code == 1 and len(errors) == 1, f"{command} {scenario.name}: {r.output}"
    assert "Traceback" not in r.output
    assert not re.match(r"\w+(Error|Exception): ", errors[0]), (
        f"{command} {scenario.name}: {errors[0]}"
    )
    return errors[0]


def clips_of(extract: str) -> list[Clip]:
    """The seeded and known clips of one extract."""
    return [c for c in seeded_clips() + [c for c, _ in KNOWN] if c.extract == extract]


def folder_of(tmp_path_factory, extract: str) -> Path:
    """The clips of one extract, cut once in the session (whichever xdist worker comes first)."""
    with session_folder(tmp_path_factory, "clips-" + extract.split(".")[0]) as folder:
        if not (folder / "cut.done").is_file():
            write_clips(clips_of(extract), folder)
            (folder / "cut.done").touch()
    return folder


def test_seeded_clips_are_the_same_every_time():
    a, b = seeded_clips(), seeded_clips()
    assert a == b and len(a) == BOXES_PER_EXTRACT * len(EXTRACTS) >= 30
    assert {c.strategy for c in a} == set(STRATEGIES)


@pytest.mark.parametrize("extract", list(EXTRACTS), ids=[e.split(".")[0] for e in EXTRACTS])
def test_every_clip_plans_or_stops_with_one_line(tmp_path_factory, extract):
    """``validate`` and ``run`` on each seeded clip of an extract: "ok" or one error line, the
    same for both (``validate`` makes every check that does not need the coverage computation).
    One test per extract, so that the extracts' clips run side by side under xdist."""
    folder = folder_of(tmp_path_factory, extract)
    got = {
        c.name: (outcome("validate", c.scenario(folder)), outcome("run", c.scenario(folder)))
        for c in seeded_clips()
        if c.extract == extract
    }
    assert len(got) == BOXES_PER_EXTRACT
    for name, (checked, ran) in got.items():
        assert (checked == "ok") == (ran == "ok"), (name, checked, ran)
        if ran == "ok":
            assert (folder / "out" / name / "summary.json").is_file()
    # most boxes sit on the town's incidents: they must plan, not stop for a reason of the clip
    assert sum(ran == "ok" for _, ran in got.values()) >= len(got) // 2, got


@pytest.mark.parametrize("clip, expected", KNOWN, ids=[c.name for c, _ in KNOWN])
def test_known_clip(tmp_path_factory, clip, expected):
    folder = folder_of(tmp_path_factory, clip.extract)
    for command in ("validate", "run"):
        got = outcome(command, clip.scenario(folder))
        assert (got == "ok") if expected == "ok" else (expected in got), (command, got)
