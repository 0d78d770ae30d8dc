"""The frictions of real police exports (#23): a separate hour column, bad formats, clipping
without an OSM extract, a weight column, the bad-row hint, ``validate`` without streets.

Hand-built files whose answers are known, then the real files of the shared data folder
where they apply (skipped when it is absent).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from siteplanner._errors import InputError, ScenarioError
from siteplanner.cli import app
from siteplanner.incidents import fields
from siteplanner.modes import incidents as incident_maps
from siteplanner.modes.validate import check_scenario
from siteplanner.scenario import load_scenario
from siteplanner.steps import demand as demand_step

from .conftest import SHARED_ROOT

ROOT = Path(__file__).resolve().parents[1]
SHARED = next(
    (p for p in (SHARED_ROOT / "data",) if (p / "incidents").is_dir()),
    None,
)
real = pytest.mark.skipif(SHARED is None, reason="shared real data folder absent")

RNG = np.random.default_rng(23)
N = 60
LON = np.round(7.42 + RNG.normal(0, 0.002, N), 6)
LAT = np.round(43.742 + RNG.normal(0, 0.002, N), 6)
DATES = [f"{1 + i % 28:02d}/{1 + i % 12:02d}/2023" for i in range(N)]  # dd/mm/yyyy, no hour
HOURS = [str(i % 24) for i in range(N)]

TOML = """
name = "export"
[[incidents]]
path = "inc.csv"
source = "police"
columns = {{ category = "Type", lon = "Longitude", lat = "Latitude"{cols} }}
datetime = "Date"
default_category = "autre"
{extra}
{area}
[hotspots]
cell_m = 50
[output]
dir = "out"
"""


def _write(tmp_path: Path, *, extra="", area="", cols="", **columns) -> Path:
    df = pd.DataFrame(
        {"Date": DATES, "Hour": HOURS, "Type": "THEFT", "Longitude": LON, "Latitude": LAT}
    )
    for k, v in columns.items():
        df[k] = v
    df.to_csv(tmp_path / "inc.csv", index=False)
    p = tmp_path / "export.toml"
    p.write_text(TOML.format(extra=extra, area=area, cols=cols), encoding="utf-8")
    return p


# --------------------------------------------------------------------------- time column
def test_clock_parser_reads_what_publishers_write():
    raw = pd.Series(["13", "845", "1345", "13:45", "13h45", "1:45 PM", "12 AM", "13.0", "", "25"])
    minutes, empty = fields.parse_clock(raw)
    assert minutes[:8].tolist() == [780, 525, 825, 825, 825, 825, 0, 780]
    assert empty.tolist() == [False] * 8 + [True, False] and minutes[8:].isna().all()


def test_a_separate_hour_column_gives_the_hour(tmp_path):
    hours = HOURS.copy()
    hours[1] = ""  # no hour: kept, dated only
    sc = load_scenario(_write(tmp_path, extra='time = "Hour"', Hour=hours))
    res = incident_maps.build(sc)
    inc = res.incidents.sort_values("line").reset_index(drop=True)
    assert inc["datetime"][0] == pd.Timestamp("2023-01-01 00:00", tz="Europe/Paris")
    assert inc["datetime"][5] == pd.Timestamp("2023-06-06 05:00", tz="Europe/Paris")
    assert inc["time_precision"][1] == "date" and (inc["time_precision"] == "time").sum() == N - 1
    assert res.counts["incident_rows"]["no_hour"] == 1


def test_the_date_column_own_midnight_is_dropped_for_the_hour_column(tmp_path):
    us = [f"{1 + i % 12:02d}/{1 + i % 28:02d}/2023 12:00:00 AM" for i in range(N)]
    sc = load_scenario(
        _write(
            tmp_path,
            extra='time = "Hour"\ndatetime_format = "%m/%d/%Y %I:%M:%S %p"',
            Date=us,
            Hour=[f"{i % 12 + 1}:30 PM" for i in range(N)],
        )
    )
    inc = incident_maps.build(sc).incidents.sort_values("line")
    assert inc["datetime"].iloc[2] == pd.Timestamp("2023-03-03 15:30", tz="Europe/Paris")


def test_a_bad_hour_is_a_bad_row_and_the_error_names_skip(tmp_path):
    hours = HOURS.copy()
    hours[3] = "midi"
    sc = load_scenario(_write(tmp_path, extra='time = "Hour"', Hour=hours))
    with pytest.raises(InputError) as err:
        incident_maps.build(sc)
    msg = str(err.value)
    assert "line 5: bad time 'midi' in the time column" in msg and "inc.csv" in msg
    assert 'on_bad_rows = "skip"' in msg


def test_every_time_at_midnight_is_warned(tmp_path, caplog):
    p = _write(tmp_path, Date=[f"2023-02-{1 + i % 28:02d} 00:00" for i in range(N)])
    with caplog.at_level(logging.WARNING):
        incident_maps.build(load_scenario(p))
    assert "every one of the 60 times read is 00:00" in caplog.text
    assert 'time = "<column>"' in caplog.text


def test_a_directive_twice_is_one_line_naming_file_and_key(tmp_path):
    p = _write(tmp_path, extra='datetime_format = "%d/%m/%Y %H %H"')
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    msg = str(err.value)
    assert "export.toml" in msg and "incidents.0.datetime_format" in msg
    assert "the directive %H appears twice" in msg and "redefinition" not in msg
    r = CliRunner().invoke(app, ["incidents", str(p)])
    assert r.exit_code == 1 and "Traceback" not in r.output and "appears twice" in r.output
    p = _write(tmp_path, extra='datetime_format = "%d/%m/%Y %Q"')
    with pytest.raises(ScenarioError, match="'Q' is a bad directive"):
        load_scenario(p)


# --------------------------------------------------------------------------- weight
def test_a_weight_column_counts_offences(tmp_path):
    weight = np.where(np.arange(N) < 10, 3, 1)
    sc = load_scenario(_write(tmp_path, cols=', weight = "number"', number=weight))
    res = incident_maps.build(sc)
    assert res.incidents["weight"].sum() == 10 * 3 + 50
    _, w, _ = demand_step.window_incidents(sc, res.incidents, sc.hotspots.window.time_window())
    assert w.sum() == pytest.approx(80.0)
    assert res.indicators.set_index("zone").loc["all", "weighted"] == pytest.approx(80.0)
    bad = weight.astype(object)
    bad[4] = "-2"
    sc = load_scenario(_write(tmp_path, cols=', weight = "number"', number=bad))
    with pytest.raises(InputError, match=r"line 6: bad weight '-2' \(accepted: a number >= 0\)"):
        incident_maps.build(sc)


# --------------------------------------------------------------------------- clipping
FAR_LON, FAR_LAT = [6.2] * 5, [44.6] * 5  # ~150 km away: mis-geocoded rows at one point


def _with_far_rows(tmp_path, area: str, copies: int = 1) -> Path:
    lon, lat = np.r_[np.tile(LON, copies), FAR_LON], np.r_[np.tile(LAT, copies), FAR_LAT]
    df = pd.DataFrame(
        {"Date": DATES * copies + DATES[:5], "Type": "THEFT", "Longitude": lon, "Latitude": lat}
    )
    df.to_csv(tmp_path / "inc.csv", index=False)
    p = tmp_path / "export.toml"
    p.write_text(TOML.format(extra="", area=area, cols=""), encoding="utf-8")
    return p


def test_bounds_clip_without_osm_and_rows_outside_are_quarantined(tmp_path):
    p = _with_far_rows(tmp_path, "[area]\nbounds = [7.40, 43.72, 7.44, 43.76]")
    res, _ = incident_maps.run(load_scenario(p))
    rows = res.counts["incident_rows"]
    inside = ((LON > 7.40) & (LON < 7.44) & (LAT > 43.72) & (LAT < 43.76)).sum()
    assert rows["kept"] == inside and rows["outside_area"] == N + 5 - inside
    q = pd.read_csv(tmp_path / "out" / "quarantine.csv")
    assert (q["reason"] == "outside the area").sum() == N + 5 - inside
    assert {62, 63, 64, 65, 66} <= set(q["line"])  # the five far rows (lines 62-66)
    assert res.area.area == pytest.approx(3.2e3 * 4.45e3, rel=0.05)  # about 3.2 × 4.4 km


def test_polygon_clip_without_osm(tmp_path):
    poly = shapely.box(7.41, 43.73, 7.43, 43.75)
    gpd.GeoSeries([poly], crs="EPSG:4326").to_file(tmp_path / "town.geojson")
    p = _with_far_rows(tmp_path, '[area]\npolygon = "town.geojson"')
    res = incident_maps.build(load_scenario(p))
    inside = ((LON > 7.41) & (LON < 7.43) & (LAT > 43.73) & (LAT < 43.75)).sum()
    assert res.counts["incident_rows"]["kept"] == inside
    assert "(quarantine" not in res.quarantine_csv and "outside the area" in res.quarantine_csv


def test_area_keys_without_osm_are_checked(tmp_path):
    for area, match in (
        ("boundary = 174562", "`boundary` is read from an OSM extract"),
        ("", "without `osm`, give exactly one of `polygon`"),
        ("bounds = [7.44, 43.72, 7.40, 43.76]", "west < east"),
    ):
        p = _with_far_rows(tmp_path, f"[area]\n{area}")
        with pytest.raises(ScenarioError, match=match):
            load_scenario(p)


def test_a_far_extent_is_warned_without_an_area(tmp_path, caplog):
    p = _with_far_rows(tmp_path, "", copies=5)  # 5 far rows of 305 (the export had 237 of 30,000)
    with caplog.at_level(logging.WARNING):
        incident_maps.build(load_scenario(p))
    assert "5 row(s) lie more than" in caplog.text and "mis-geocoded" in caplog.text
    assert "[area] bounds = [" in caplog.text
    caplog.clear()
    _write(tmp_path)  # the same town without the far rows: no warning
    with caplog.at_level(logging.WARNING):
        incident_maps.build(load_scenario(tmp_path / "export.toml"))
    assert "mis-geocoded" not in caplog.text


def test_a_plan_needs_an_osm_extract(tmp_path):
    from siteplanner.steps.load import load

    p = _with_far_rows(tmp_path, "[area]\nbounds = [7.40, 43.72, 7.44, 43.76]")
    with pytest.raises(InputError, match=r"no OSM extract \(\[area\] osm\).*siteplanner incidents"):
        load(load_scenario(p))


# --------------------------------------------------------------------------- validate
def test_validate_on_incidents_only_scenarios(tmp_path):
    p = _with_far_rows(tmp_path, "")
    checked = check_scenario(load_scenario(p))
    assert checked.counts["incidents"] == N + 5
    assert any("convex hull of the incidents" in f for f in checked.facts)
    p = _with_far_rows(tmp_path, "[area]\nbounds = [7.40, 43.72, 7.44, 43.76]")
    r = CliRunner().invoke(app, ["validate", str(p)])
    assert r.exit_code == 0, r.output
    assert "incidents only" in r.output and "outside the area set aside" in r.output


# --------------------------------------------------------------------------- real files
def _real(tmp_path: Path, name: str, extra: str = ""):
    text = (ROOT / "scenarios" / "examples" / f"{name}.toml").read_text(encoding="utf-8")
    text = text.replace('"../../../shared/data/', f'"{SHARED.as_posix()}/')
    text = text.replace('dir = "../../outputs/', f'dir = "{tmp_path.as_posix()}/')
    p = tmp_path / f"{name}.toml"
    p.write_text(text + extra, encoding="utf-8")
    return p


@real
def test_baac_hrmn_as_a_time_column_gives_the_shipped_times(tmp_path):
    shipped = incident_maps.build(load_scenario(_real(tmp_path, "baac_2013_dep06"))).incidents
    text = _real(tmp_path, "baac_2013_dep06").read_text(encoding="utf-8")
    text = text.replace(
        'datetime = ["an", "mois", "jour", "hrmn"]', 'datetime = ["an", "mois", "jour"]'
    )
    text = text.replace('"%y %m %d %H%M"', '"%y %m %d"\ntime = "hrmn"')
    (tmp_path / "split.toml").write_text(text, encoding="utf-8")
    split = incident_maps.build(load_scenario(tmp_path / "split.toml")).incidents
    assert len(split) == len(shipped) == 31
    assert split["datetime"].tolist() == shipped["datetime"].tolist()
    assert (split["time_precision"] == "time").all()


@real
def test_dansmarue_clipped_by_bounds_without_osm(tmp_path):
    box = [2.33, 48.85, 2.37, 48.88]  # around the 3rd and 10th arrondissements
    p = _real(tmp_path, "dansmarue_paris")
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace("[[incidents]]", f"[area]\nbounds = {box}\n\n[[incidents]]", 1))
    res, _ = incident_maps.run(load_scenario(p))
    raw = pd.read_csv(SHARED / "incidents" / "dansmarue_paris_2023-2024_sample.csv")
    xy = raw["geo_point_2d"].str.extract(r"'lon': ([-\d.]+), 'lat': ([-\d.]+)").astype(float)
    inside = ((xy[0] > box[0]) & (xy[0] < box[2]) & (xy[1] > box[1]) & (xy[1] < box[3])).sum()
    rows = res.counts["incident_rows"]
    assert rows["kept"] == inside and rows["outside_area"] == len(raw) - inside
    q = pd.read_csv(tmp_path / "examples" / "dansmarue_paris" / "quarantine.csv")
    assert (q["reason"] == "outside the area").sum() == len(raw) - inside
    checked = check_scenario(load_scenario(p))
    assert checked.counts["incidents"] == inside
