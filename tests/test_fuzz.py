"""Property-based fuzzing: malformed incident files and scenarios never give a traceback.

Hypothesis writes thousands of malformed incident files (bad encodings incl. Latin-1,
cp1252, UTF-16 and a BOM, ``;``/``,``/tab separators, French decimal commas, swapped
lat/lon, missing or renamed columns, empty files, huge and non-finite values, dates in
``dd/mm/yyyy``, truncated bytes, broken GeoJSON) and malformed scenarios (unknown keys,
wrong types, missing keys and files, invalid TOML, bad paths). Each must either

* be read, with every returned row valid (in the study area, a known category, a
  timezone-aware datetime, a unique id) -- the unambiguous repairs are logged; or
* raise one :class:`siteplanner._errors.SiteplannerError` whose message names the file.

Any other exception is a bug. The examples are derandomized (the same files every run),
and the counts are printed by the last test (``pytest -s tests/test_fuzz.py``).
"""

from __future__ import annotations

import atexit
import csv
import io
import json
import math
import os
import random
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box
from typer.testing import CliRunner

from siteplanner._errors import ScenarioError, SiteplannerError
from siteplanner.cli import app
from siteplanner.incidents.read import IncidentSpec, read_incidents, read_table, validate_incidents
from siteplanner.scenario import Scenario, load_scenario
from siteplanner.vocab import CATEGORIES

from .conftest import INCIDENTS, OSM, ROOT

CRS = "EPSG:32632"
AREA = box(372000, 4843500, 374500, 4846000)  # 2.5 km square around Beausoleil, UTM 32N
AREA_WGS = gpd.GeoSeries([AREA], crs=CRS).to_crs("EPSG:4326").iloc[0]
DEM = ROOT / "data" / "dem" / "N43E007.hgt"

#: What the fuzzers tried, for the record (printed by the last test).
COUNTS: Counter[str] = Counter()
WORKDIR = Path(tempfile.mkdtemp(prefix="siteplanner-fuzz-"))
atexit.register(shutil.rmtree, WORKDIR, ignore_errors=True)  # one folder per process, removed

FUZZ = dict(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
#: ``SITEPLANNER_FUZZ_SCALE=0.1`` for a quick local run (the 5,000-file check then does not apply).
SCALE = float(os.environ.get("SITEPLANNER_FUZZ_SCALE", "1"))
N_INCIDENT_FULL = max(
    1, int(1500 * SCALE)
)  # files through read_incidents (read, validate, project, clip)
N_INCIDENT_TABLE = max(
    1, int(3400 * SCALE)
)  # files through read_table + validate_incidents (no projection)
N_GEOJSON = max(1, int(120 * SCALE))  # vector files through read_incidents
N_SCENARIO = max(1, int(1000 * SCALE))  # scenario files through load_scenario
N_CLI = max(1, int(60 * SCALE))  # scenario files through the CLI (`siteplanner validate`)

# ------------------------------------------------------------------------------------------
# incident files
# ------------------------------------------------------------------------------------------

COLUMNS = ["id", "datetime", "category", "source", "lon", "lat"]

IDS = [
    "A1",
    "A2",
    "A3",
    "A1",
    "",
    " ",
    "nan",
    "NULL",
    "é-12",
    "1e309",
    "x" * 300,
    "0",
    "-1",
    "a,b",
    'q"t',
    "\\",
]
DATES = [
    "2023-05-14T22:30:00+02:00",
    "2023-05-14T22:30:00Z",
    "2023-05-14T22:30:00",
    "2023-05-14 22:30",
    "2023-05-14",
    "14/05/2023",
    "14/05/2023 22:30",
    "14/05/2023 22:30:15",
    "1/2/2023",
    "05/14/2023",
    "31/02/2023",
    "2023-02-30",
    "2023-03-26T02:30:00",
    "2023-10-29T02:30:00",
    "99999-01-01",
    "0001-01-01T00:00:00",
    "2023-05-14T25:00:00",
    "14 mai 2023",
    "",
    "nan",
    "1e10",
    "1684096200",
    "2023-13-01",
    "2023/05/14",
    "14.05.2023",
    "+2023-05-14",
    "2023-05-14T22:30:00+99:00",
    "2262-04-12",
    "1677-09-21",
    "14/05/99999",
    "2023-05-14T22:30:00.123456789123",
]
CATS = list(CATEGORIES) + [
    "CAMBRIOLAGE",
    " vol_roulotte ",
    "graffiti",
    "",
    "nan",
    "dégradation",
    "cambriolage;x",
    "Incendie de véhicule",
]
SRCS = [
    "police_nationale",
    "police_municipale",
    "bailleur_social",
    "Police_Nationale",
    "",
    "gendarmerie",
    "nan",
    "é",
]
WEIRD_NUM = [
    "",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "1e400",
    "abc",
    "7.4.2",
    "7,42,3",
    "200",
    "-95",
    "0",
    " 7.42 ",
    "7.42e0",
    "0x1F",
    "1_000",
    "∞",
    "7·42",
]
GOOD_LON = st.floats(7.405, 7.445, allow_nan=False)
GOOD_LAT = st.floats(43.725, 43.755, allow_nan=False)
NOISE = ["", "x", "é", ";", ",", '"', "\t", "0", "\x00"]


def _num(value: float, *, comma: bool) -> str:
    s = f"{value:.6f}"
    return s.replace(".", ",") if comma else s


@st.composite
def incident_tables(draw) -> tuple[bytes, str, dict]:
    """Bytes of a (usually malformed) incident CSV, the file suffix and the reading spec."""
    n = draw(st.integers(0, 6))
    cols = list(COLUMNS)
    mutation = draw(
        st.sampled_from(
            [
                "none",
                "none",
                "drop",
                "rename",
                "xy",
                "upper",
                "extra",
                "shuffle",
                "dup_col",
                "no_source",
                "mapped",
            ]
        )
    )
    spec: dict = {}
    if mutation == "drop":
        cols.remove(draw(st.sampled_from(cols)))
    elif mutation == "rename":
        i = draw(st.integers(0, len(cols) - 1))
        cols[i] = draw(st.sampled_from(["date", "lng", "latitude", "catégorie", "", "ID ", "x"]))
    elif mutation == "xy":
        cols[4:6] = ["x", "y"]
        if draw(st.booleans()):
            spec["crs"] = draw(
                st.sampled_from(
                    ["EPSG:32632", "EPSG:2154", "EPSG:4326", "EPSG:999999", "not a crs"]
                )
            )
    elif mutation == "upper":
        cols = [c.upper() for c in cols]
    elif mutation == "extra":
        cols.append(draw(st.sampled_from(["commentaire", "id", "", "geometry"])))
    elif mutation == "shuffle":
        cols = draw(st.permutations(cols))
    elif mutation == "dup_col":
        cols.append(draw(st.sampled_from(cols)))
    elif mutation == "no_source":
        cols.remove("source")
        if draw(st.booleans()):
            spec["source"] = "police_municipale"
    elif mutation == "mapped":
        cols[1] = "date_faits"
        spec["columns"] = {
            "datetime": draw(st.sampled_from(["date_faits", "DATE_FAITS", "absent"]))
        }
    comma = draw(st.booleans())
    swap = draw(st.integers(0, 4)) == 0
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))  # cheap cell values, seeded by hypothesis
    good_rate = draw(
        st.sampled_from([1.0, 0.9, 0.5])
    )  # share of cells drawn from the well-formed values

    def pick(good: list[str], bad: list[str]) -> str:
        return rnd.choice(good) if rnd.random() < good_rate else rnd.choice(bad)

    rows = []
    for _ in range(n):
        row = []
        lon, lat = rnd.uniform(7.405, 7.445), rnd.uniform(43.725, 43.755)
        if swap:
            lon, lat = lat, lon
        for c in cols:
            key = c.strip().lower()
            if key == "id":
                row.append(
                    f"R{rnd.randrange(10**6)}" if rnd.random() < good_rate else rnd.choice(IDS)
                )
            elif key in ("datetime", "date", "date_faits"):
                row.append(pick(DATES[:10], DATES))
            elif key in ("category", "catégorie"):
                row.append(pick(list(CATEGORIES), CATS))
            elif key == "source":
                row.append(pick(SRCS[:3], SRCS))
            elif key in ("lon", "lng", "x"):
                row.append(pick([_num(lon, comma=comma)], WEIRD_NUM))
            elif key in ("lat", "latitude", "y"):
                row.append(pick([_num(lat, comma=comma)], WEIRD_NUM))
            else:
                row.append(rnd.choice(NOISE))
        if rnd.random() < 0.1:  # ragged row
            row = row[: rnd.randrange(len(row) + 1)] + [
                rnd.choice(NOISE) for _ in range(rnd.randrange(3))
            ]
        rows.append(row)
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    buf = io.StringIO()
    quoting = draw(
        st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE])
    )
    writer = csv.writer(
        buf,
        delimiter=sep,
        lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])),
        quoting=quoting,
        escapechar="\\",
    )
    writer.writerow(cols)
    for row in rows:
        try:
            writer.writerow(row)
        except csv.Error:  # one empty field cannot be written unquoted: it is a blank line
            buf.write("\n")
    text = buf.getvalue()
    encoding = draw(
        st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "ascii"])
    )
    data = text.encode(encoding, errors="replace")
    damage = draw(
        st.sampled_from(
            ["none"] * 6 + ["empty", "blank", "truncate", "garbage", "nul", "header_only"]
        )
    )
    if damage == "empty":
        data = b""
    elif damage == "blank":
        data = b" \n\r\n\t\n"
    elif damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "garbage":
        data = draw(st.binary(max_size=200))
    elif damage == "nul":
        data = data.replace(b",", b"\x00", 1)
    elif damage == "header_only":
        data = data.splitlines(keepends=True)[0] if data else data
    suffix = draw(st.sampled_from([".csv"] * 8 + [".txt", ".CSV"]))
    COUNTS[f"incident: {mutation} columns"] += 1
    COUNTS[f"incident: {encoding} encoding"] += 1
    COUNTS[f"incident: {damage} damage"] += 1
    return data, suffix, spec


def _check_frame(gdf: gpd.GeoDataFrame, *, projected: bool) -> None:
    """Every returned row is valid: known category, aware datetime, unique id, point in the area."""
    assert {"id", "datetime", "category", "source"} <= set(gdf.columns)
    assert gdf["category"].isin(CATEGORIES).all()
    assert gdf["id"].is_unique
    assert str(gdf["datetime"].dt.tz) == "Europe/Paris" and gdf["datetime"].notna().all()
    assert gdf.geometry.notna().all() and (gdf.geometry.geom_type == "Point").all()
    if projected:
        assert gdf.crs == CRS
        assert gdf.within(AREA).all()
    else:
        x, y = gdf.geometry.x, gdf.geometry.y
        assert ((x.abs() <= 180) & (y.abs() <= 90)).all()


def _expect_clean(exc: BaseException, path: Path) -> None:
    """The only acceptable failure: one of our errors, naming the file."""
    if not isinstance(exc, SiteplannerError):
        raise AssertionError(f"{type(exc).__name__} escaped for {path}: {exc}") from exc
    assert str(path) in str(exc) or path.name in str(exc), f"message does not name the file: {exc}"


@settings(max_examples=N_INCIDENT_FULL, **FUZZ)
@given(table=incident_tables())
def test_incident_files_read_or_one_clear_error(table):
    data, suffix, spec = table
    path = WORKDIR / f"incidents{suffix}"
    path.write_bytes(data)
    COUNTS["incident files (read_incidents)"] += 1
    try:
        gdf = read_incidents(IncidentSpec(path, **spec), area=AREA, crs=CRS)
    except Exception as exc:  # noqa: BLE001 - the property under test
        _expect_clean(exc, path)
        COUNTS["incident files rejected with one error"] += 1
        return
    _check_frame(gdf, projected=True)
    COUNTS["incident files read (with logged repairs)"] += 1


@settings(max_examples=N_INCIDENT_TABLE, **FUZZ)
@given(table=incident_tables())
def test_incident_tables_validate_or_one_clear_error(table):
    data, suffix, spec = table
    path = WORKDIR / f"table{suffix}"
    path.write_bytes(data)
    COUNTS["incident files (read_table + validate_incidents)"] += 1
    try:
        df = read_table(path)
        if spec.get("columns"):
            df = df.rename(columns={str(v).lower(): k for k, v in spec["columns"].items()})
        gdf = validate_incidents(
            df,
            source_name=str(path),
            crs=spec.get("crs"),
            default_source=spec.get("source"),
            area_wgs84=AREA_WGS,
        )
    except Exception as exc:  # noqa: BLE001
        _expect_clean(exc, path)
        COUNTS["incident files rejected with one error"] += 1
        return
    _check_frame(gdf, projected=False)
    COUNTS["incident files read (with logged repairs)"] += 1


@st.composite
def geojson_files(draw) -> bytes:
    """A GeoJSON incident file: well-formed or not, points or other geometries, odd properties."""
    kind = draw(
        st.sampled_from(
            [
                "ok",
                "ok",
                "no_features",
                "not_json",
                "linestring",
                "null_geom",
                "bad_coords",
                "missing_props",
                "crs84_swapped",
            ]
        )
    )
    if kind == "not_json":
        return draw(
            st.sampled_from([b"", b"{", b"[]", b"null", b'{"type": "Feature"}', b"\xff\xfe{}"])
        )
    feats = []
    for i in range(draw(st.integers(0, 4))):
        lon, lat = draw(GOOD_LON), draw(GOOD_LAT)
        if kind == "crs84_swapped":
            lon, lat = lat, lon
        geom = {"type": "Point", "coordinates": [lon, lat]}
        if kind == "linestring":
            geom = {"type": "LineString", "coordinates": [[lon, lat], [lon + 1e-4, lat]]}
        elif kind == "null_geom":
            geom = None
        elif kind == "bad_coords":
            geom = {
                "type": "Point",
                "coordinates": draw(st.sampled_from([[], [1e308, 1e308], [lon], ["a", "b"]])),
            }
        props = {
            "id": draw(st.sampled_from(IDS)),
            "datetime": draw(st.sampled_from(DATES)),
            "category": draw(st.sampled_from(CATS)),
            "source": draw(st.sampled_from(SRCS)),
        }
        if kind == "missing_props":
            props.pop(draw(st.sampled_from(sorted(props))))
        feats.append({"type": "Feature", "properties": props, "geometry": geom})
    doc = {"type": "FeatureCollection", "features": feats if kind != "no_features" else []}
    return json.dumps(doc).encode()


@settings(max_examples=N_GEOJSON, **FUZZ)
@given(data=geojson_files())
def test_geojson_incident_files_read_or_one_clear_error(data):
    path = WORKDIR / "incidents.geojson"
    path.write_bytes(data)
    COUNTS["incident files (GeoJSON)"] += 1
    try:
        gdf = read_incidents(IncidentSpec(path), area=AREA, crs=CRS)
    except Exception as exc:  # noqa: BLE001
        _expect_clean(exc, path)
        COUNTS["incident files rejected with one error"] += 1
        return
    _check_frame(gdf, projected=True)
    COUNTS["incident files read (with logged repairs)"] += 1


def test_the_shipped_file_passes_the_same_checks():
    """Sanity check of the property itself: the real (synthetic) file is read and passes."""
    area = AREA.buffer(5000)
    gdf = read_incidents(IncidentSpec(INCIDENTS), area=area, crs=CRS)
    assert len(gdf) > 1000
    assert gdf["category"].isin(CATEGORIES).all() and gdf["id"].is_unique and gdf.within(area).all()


# ------------------------------------------------------------------------------------------
# scenarios
# ------------------------------------------------------------------------------------------


def _base_scenario() -> dict:
    return {
        "name": "fuzz",
        "area": {"osm": str(OSM), "boundary": 174562, "margin_m": 150, "dem": str(DEM)},
        "incidents": [{"path": str(INCIDENTS)}],
        "hotspots": {
            "method": "default",
            "cell_m": 10,
            "window": {"name": "all", "hours": [18, 24]},
        },
        "weights": {"categories": {"cambriolage": 1.0}, "sensitive": {"school": 1.5}},
        "camera": {"model": "bullet_4mp_6mm", "covered_at": "observation", "n_headings": 8},
        "candidates": {"min_street_count": 3, "privacy_policy": "mask"},
        "plan": {"k": 10, "method": "auto", "phase_name": "phase 3"},
        "patrol": {
            "n_candidates": 60,
            "shifts": [{"name": "soirée", "budget_min": 90, "mode": "foot"}],
        },
        "output": {"dir": "out", "include_incident_points": False},
    }


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return (
            "nan"
            if math.isnan(v)
            else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
        )
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return (
            "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
        )
    raise TypeError(type(v))


def to_toml(doc: dict) -> str:
    """A TOML document of top-level keys with inline tables (enough for any dict of TOML values)."""
    return "".join(f"{json.dumps(str(k))} = {_toml_value(v)}\n" for k, v in doc.items())


def _paths(doc: dict, prefix=()):
    """Every (path, value) in a nested document, lists of tables included."""
    for k, v in doc.items():
        here = prefix + (k,)
        yield here, v
        if isinstance(v, dict):
            yield from _paths(v, here)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, x in enumerate(v):
                yield from _paths(x, here + (i,))


def _parent(doc, path):
    for p in path[:-1]:
        doc = doc[p]
    return doc


WRONG_VALUES = st.sampled_from(
    [
        "text",
        "",
        "\x00",
        "~nobody-xyz/file",
        "a" * 5000,
        -1,
        0,
        10**30,
        -(10**30),
        1.5,
        math.nan,
        math.inf,
        -math.inf,
        True,
        [],
        [1, 2, 3],
        ["a"],
        {},
        {"a": 1},
        "174562",
        "Beausoleil",
        "EPSG:4326",
        [[1, 2]],
        [24, 24],
        [-1, 30],
    ]
)


@st.composite
def scenario_docs(draw) -> tuple[bytes, str]:
    doc = _base_scenario()
    kinds = []
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p, _ in _paths(doc)]
        kind = draw(
            st.sampled_from(
                [
                    "unknown_key",
                    "wrong_type",
                    "wrong_type",
                    "delete",
                    "missing_file",
                    "area_both",
                    "area_none",
                    "k_and_budget",
                    "bad_model",
                    "bad_column",
                    "bad_category",
                    "path_key",
                ]
            )
        )
        kinds.append(kind)
        if kind == "unknown_key":
            tables = [()] + [p for p, v in _paths(doc) if isinstance(v, dict)]
            t = draw(st.sampled_from(tables))
            target = _parent(doc, t + ("_",)) if t else doc
            target[
                draw(st.sampled_from(["nmae", "bondary", "K", "budget", "extra", "path ", "ârea"]))
            ] = draw(WRONG_VALUES)
        elif kind == "wrong_type" and paths:
            p = draw(st.sampled_from(paths))
            _parent(doc, p)[p[-1]] = draw(WRONG_VALUES)
        elif kind == "delete" and paths:
            p = draw(st.sampled_from(paths))
            del _parent(doc, p)[p[-1]]
        elif kind == "missing_file":
            key = draw(st.sampled_from(["osm", "dem", "qpv", "polygon", "existing_cameras"]))
            if not isinstance(
                doc.get("area"), dict
            ):  # absent, or made a wrong type by an earlier step
                doc["area"] = {}
            area = doc["area"]
            area[key] = draw(
                st.sampled_from(
                    [
                        "absent.osm",
                        "/nonexistent/dir/x.geojson",
                        str(WORKDIR),
                        "../" * 40 + "x",
                        "x" * 300 + ".geojson",
                        "~nobody-xyz/a.gpkg",
                        "a\x00b",
                    ]
                )
            )
        elif kind == "area_both" and isinstance(doc.get("area"), dict):
            doc["area"]["polygon"] = str(INCIDENTS)
        elif kind == "area_none" and isinstance(doc.get("area"), dict):
            doc["area"].pop("boundary", None)
            doc["area"].pop("polygon", None)
        elif kind == "k_and_budget" and isinstance(doc.get("plan"), dict):
            doc["plan"]["budget_eur"] = draw(st.sampled_from([50000.0, -1.0, 0.0, math.nan]))
        elif kind == "bad_model" and isinstance(doc.get("camera"), dict):
            doc["camera"]["model"] = draw(st.sampled_from(["none", "", "dome_ptz"]))
            if draw(st.booleans()):
                doc["camera"]["catalogue"] = draw(
                    st.sampled_from(
                        [
                            [],
                            [{"name": "c"}],
                            [{"name": "c", "focal_mm": -1}],
                            [{"name": "dome_ptz", "fov_deg": 720}],
                        ]
                    )
                )
        elif kind == "bad_column" and isinstance(doc.get("incidents"), list) and doc["incidents"]:
            if isinstance(doc["incidents"][0], dict):
                doc["incidents"][0]["columns"] = draw(
                    st.sampled_from([{"date": "x"}, {"datetime": 3}, {"lon": "lng"}])
                )
        elif kind == "bad_category" and isinstance(doc.get("weights"), dict):
            doc["weights"]["categories"] = {
                draw(st.sampled_from(["vol", "CAMBRIOLAGE", "cambriolage"])): draw(WRONG_VALUES)
            }
        elif kind == "path_key":
            doc["path"] = draw(st.sampled_from(["elsewhere.toml", 3]))
    text = to_toml(doc)
    render = draw(
        st.sampled_from(["ok"] * 8 + ["truncate", "latin1", "empty", "dup_key", "garbage"])
    )
    data = text.encode()
    if render == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif render == "latin1":
        data = (text + '\n"é" = "é"\n').encode("latin-1", errors="replace")
    elif render == "empty":
        data = b""
    elif render == "dup_key":
        data += b'name = "again"\n'
    elif render == "garbage":
        data = draw(st.binary(max_size=100))
    for k in kinds:
        COUNTS[f"scenario: {k}"] += 1
    COUNTS[f"scenario: rendered {render}"] += 1
    return data, "+".join(kinds)


@settings(max_examples=N_SCENARIO, **FUZZ)
@given(sd=scenario_docs())
def test_scenarios_load_or_one_clear_error(sd):
    data, kinds = sd
    path = WORKDIR / "scenario.toml"
    path.write_bytes(data)
    COUNTS["scenario files (load_scenario)"] += 1
    try:
        sc = load_scenario(path)
    except Exception as exc:  # noqa: BLE001
        if not isinstance(exc, ScenarioError):
            raise AssertionError(
                f"{type(exc).__name__} escaped for a scenario ({kinds}): {exc}"
            ) from exc
        assert str(path) in str(exc)
        COUNTS["scenario files rejected with one error"] += 1
        return
    assert isinstance(sc, Scenario)
    assert sc.path == path  # a `path` key in the file never overrides where the scenario is
    assert (
        sc.area is None or sc.resolve(sc.area.osm).is_file()
    )  # no [area]: `siteplanner incidents` only
    COUNTS["scenario files accepted"] += 1


@settings(max_examples=N_CLI, **FUZZ)
@given(sd=scenario_docs())
def test_cli_validate_never_shows_a_traceback(sd):
    data, kinds = sd
    path = WORKDIR / "cli.toml"
    path.write_bytes(data)
    r = CliRunner().invoke(app, ["validate", str(path)])
    COUNTS["scenario files (CLI validate)"] += 1
    assert r.exit_code in (0, 1), (kinds, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), (kinds, repr(r.exception))
    assert "Traceback" not in r.output
    if r.exit_code == 1:
        assert "error:" in r.output


def test_unambiguous_repairs_are_logged(tmp_path, caplog):
    """A Latin-1, ';'-separated file with decimal commas and dd/mm/yyyy dates is read, each repair
    logged."""
    text = (
        "\ufeffid;datetime;category;source;lon;lat\n"
        "B1;14/05/2023 22:30;cambriolage;police_municipale;7,4235;43,7425\n"
        "B2;15/05/2023;depot_sauvage;police_municipale;7,4240;43,7430\n"
    )
    p = tmp_path / "export.csv"
    p.write_bytes(text.encode("utf-8"))
    caplog.set_level("INFO", logger="siteplanner")
    gdf = read_incidents(IncidentSpec(p), area=AREA, crs=CRS)
    assert list(gdf["id"]) == ["B1", "B2"]
    assert gdf["datetime"].iloc[0] == pd.Timestamp("2023-05-14 22:30", tz="Europe/Paris")
    log = caplog.text
    assert "byte-order mark" in log and "';' as column separator" in log
    assert "decimal comma" in log and "dd/mm/yyyy" in log


@pytest.fixture(scope="module", autouse=True)
def _fuzz_counts():
    """Report what the fuzzers tried once the module's tests are done, whatever their order."""
    yield
    if not COUNTS:
        return
    inc = (
        COUNTS["incident files (read_incidents)"]
        + COUNTS["incident files (read_table + validate_incidents)"]
        + COUNTS["incident files (GeoJSON)"]
    )
    print("\nfuzz counts:")
    for k, v in sorted(COUNTS.items()):
        if not k.startswith(("incident:", "scenario:")):
            print(f"  {k}: {v}")
    print(f"  TOTAL incident files: {inc}")
    full = (
        COUNTS["incident files (read_incidents)"] >= N_INCIDENT_FULL
        and COUNTS["incident files (read_table + validate_incidents)"] >= N_INCIDENT_TABLE
        and COUNTS["incident files (GeoJSON)"] >= N_GEOJSON
    )
    if SCALE >= 1 and full:
        assert inc >= 5000
