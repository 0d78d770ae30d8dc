"""Scenario mapping of incident files: times, categories, positions, bad rows, one clear error each.

Every bad-input case runs ``siteplanner incidents`` on a hand-built file after a good run,
checks the message, and that the outputs already produced are still there, unchanged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siteplanner import pipeline
from siteplanner._errors import InputError
from siteplanner.hotspots import forecast as hotspots
from siteplanner.hotspots.grids import MAX_CELLS, grid_cell_m
from siteplanner.incidents import fields as incident_fields
from siteplanner.modes import incidents as incident_maps
from siteplanner.scenario import load_scenario
from siteplanner.steps import demand as demand_step

# 40 incidents around Beausoleil: WGS84 and the same points in Lambert-93
RNG = np.random.default_rng(3)
LON = np.round(7.42 + RNG.normal(0, 0.002, 40), 6)
LAT = np.round(43.742 + RNG.normal(0, 0.002, 40), 6)
TYPES = ["ASSAULT", "THEFT", "graffiti", "Break and Enter Commercial"] * 10
TIMES = [f"2023/{1 + i % 12:02d}/{1 + i % 27:02d} {i % 24:02d}:15:00+00" for i in range(40)]

GOOD_TOML = """
name = "test town"
[[incidents]]
path = "inc.csv"
source = "police"
columns = {{ category = "Type", lon = "Longitude", lat = "Latitude" }}
datetime = "{dt}"
{extra}
default_category = "autre"
[incidents.categories]
"ASSAULT" = "violence_voie_publique"
"Break and Enter*" = "cambriolage"
"re:^graff" = "degradation_tag"
[hotspots]
cell_m = 50
[output]
dir = "out"
"""


def _files(tmp_path: Path, *, toml_extra: str = "", dt: str = "When", **cols) -> Path:
    df = pd.DataFrame({"When": TIMES, "Type": TYPES, "Longitude": LON, "Latitude": LAT})
    for k, v in cols.items():
        df[k] = v
    df.to_csv(tmp_path / "inc.csv", index=False)
    p = tmp_path / "town.toml"
    p.write_text(GOOD_TOML.format(dt=dt, extra=toml_extra), encoding="utf-8")
    return p


@pytest.fixture()
def produced(tmp_path):
    """A good run's outputs, and their bytes (they must survive every failed run)."""
    p = _files(tmp_path)
    res, files = incident_maps.run(load_scenario(p))
    assert res.counts["incident_rows"]["kept"] == 40
    return tmp_path, {f.name: f.read_bytes() for f in files}


def _fails(tmp_path: Path, before: dict[str, bytes], match: str, **kw) -> str:
    p = _files(tmp_path, **kw)
    with pytest.raises(InputError) as err:
        incident_maps.run(load_scenario(p))
    msg = str(err.value)
    assert "inc.csv" in msg
    assert pytest.approx(0) == 0 and match in msg, msg
    out = tmp_path / "out"
    assert {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()} == before  # nothing lost
    return msg


def test_good_file_mapping_times_and_counts(tmp_path, caplog):
    p = _files(tmp_path)
    with caplog.at_level(logging.WARNING):
        res = incident_maps.build(load_scenario(p))
    c = res.counts["incident_rows"]
    assert (c["rows"], c["kept"], c["mapped"], c["defaulted"], c["quarantined"]) == (
        40,
        40,
        30,
        10,
        0,
    )
    assert c["unmapped_labels"] == {"THEFT": 10}
    assert "'THEFT' 10" in caplog.text  # unmapped label logged with its row count
    # "2023/01/01 00:15:00+00" is UTC: 01:15 in Paris (winter time)
    first = res.incidents.sort_values("line").iloc[0]
    assert first["datetime"] == pd.Timestamp("2023-01-01 01:15", tz="Europe/Paris")
    assert first["id"] == "inc.csv#2"  # stable id built from the file and the line


def test_missing_column(produced):
    tmp_path, before = produced
    msg = _fails(
        tmp_path, before, "datetime column(s) ['date_faits'] not in the file", dt="date_faits"
    )
    assert "found when, type, longitude, latitude" in msg


def test_foreign_date(produced):
    tmp_path, before = produced
    us = [
        f"{1 + i % 12}/{13 + i % 15}/2023 {1 + i % 12}:15 PM" for i in range(40)
    ]  # US month/day/year, 12-hour
    msg = _fails(tmp_path, before, "bad datetime '1/13/2023 1:15 PM'", When=us)
    assert "datetime_format" in msg and "40 problem(s)" in msg
    # the same file, with the publisher's format declared, is read
    p = _files(tmp_path, When=us, toml_extra='datetime_format = "%m/%d/%Y %I:%M %p"')
    res = incident_maps.build(load_scenario(p))
    assert res.incidents.sort_values("line")["datetime"].iloc[0] == pd.Timestamp(
        "2023-01-13 13:15", tz="Europe/Paris"
    )


def test_unmapped_label_without_default(produced):
    tmp_path, before = produced
    p = _files(tmp_path)
    p.write_text(p.read_text().replace('default_category = "autre"\n', ""))
    with pytest.raises(InputError) as err:
        incident_maps.run(load_scenario(p))
    msg = str(err.value)
    assert (
        "unknown category 'THEFT' (map it under [incidents.categories] "
        "or declare `default_category`)" in msg
    )
    assert {f.name: f.read_bytes() for f in (tmp_path / "out").iterdir()} == before


@pytest.mark.parametrize("crs", ["EPSG:2154", "EPSG:32632"])
def test_coordinates_in_another_crs_name_it(produced, crs):
    import pyproj

    tmp_path, before = produced
    x, y = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(LON, LAT)
    msg = _fails(
        tmp_path, before, "outside WGS84 range", Longitude=np.round(x, 2), Latitude=np.round(y, 2)
    )
    if crs == "EPSG:2154":
        assert (
            "they look like Lambert-93 (EPSG:2154) metres: map them as x, y "
            'and add the line `crs = "EPSG:2154"`' in msg
        )
    else:
        assert "they look like UTM" in msg and "`crs = " in msg


def test_web_mercator_named_near_the_study_area():
    import pyproj
    import shapely

    x, y = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(LON, LAT)
    area = shapely.box(7.40, 43.72, 7.44, 43.76)
    assert incident_fields.guess_crs(np.asarray(x), np.asarray(y), near_wgs84=area) == (
        "EPSG:3857",
        "Web Mercator",
    )
    x2, y2 = pyproj.Transformer.from_crs(4326, 2154, always_xy=True).transform(LON, LAT)
    assert (
        incident_fields.guess_crs(np.asarray(x2), np.asarray(y2), near_wgs84=area)[0] == "EPSG:2154"
    )


def test_too_many_bad_rows(produced):
    tmp_path, before = produced
    lon = LON.astype(object)
    lon[[3, 7]] = ""
    msg = _fails(
        tmp_path,
        before,
        "2 of 40 rows (5.0%) are bad, more than max_bad_share = 0.01",
        Longitude=lon,
        toml_extra='on_bad_rows = "skip"',
    )
    assert "line 5: missing or non-numeric coordinates" in msg and "raise max_bad_share" in msg
    # within the allowed share, the two rows go to the quarantine with their line
    p = _files(tmp_path, Longitude=lon, toml_extra='on_bad_rows = "skip"\nmax_bad_share = 0.05')
    res, _ = incident_maps.run(load_scenario(p))
    q = pd.read_csv(tmp_path / "out" / "quarantine.csv")
    assert q["line"].tolist() == [5, 9] and res.counts["incident_rows"]["quarantined"] == 2


def test_datetime_forms():
    s = pd.Series(
        [
            "2017/02/28 05:00:00+00",
            "2023-11-16",
            "13 6 14 845",
            "2020 6 19 3 40",
            "14/05/2023 22:30",
        ]
    )
    t, has_time, _ = incident_fields.parse_times(s[:2])
    assert t.iloc[0] == pd.Timestamp(
        "2017-02-28 06:00", tz="Europe/Paris"
    ) and has_time.tolist() == [True, False]
    t, has_time, _ = incident_fields.parse_times(s[2:3], fmt="%y %m %d %H%M")
    assert t.iloc[0] == pd.Timestamp("2013-06-14 08:45", tz="Europe/Paris") and has_time.iloc[0]
    t, _, _ = incident_fields.parse_times(pd.Series(["13 1 2 5"]), fmt="%y %m %d %H%M")
    assert t.iloc[0] == pd.Timestamp("2013-01-02 00:05", tz="Europe/Paris")
    t, has_time, _ = incident_fields.parse_times(
        s[3:4], tz_naive="America/Vancouver", out_tz="America/Vancouver"
    )
    assert (
        t.iloc[0] == pd.Timestamp("2020-06-19 03:40", tz="America/Vancouver") and has_time.iloc[0]
    )
    t, _, n = incident_fields.parse_times(s[4:])
    assert t.iloc[0] == pd.Timestamp("2023-05-14 22:30", tz="Europe/Paris") and n == 1


def test_one_column_positions():
    s = pd.Series(
        [
            "{'lon': 2.33, 'lat': 48.88}",
            "48.88, 2.33",
            "POINT (2.33 48.88)",
            "[2.33, 48.88]",
            "(48.88 2.33)",
            "?",
        ]
    )
    lon, lat = incident_fields.split_coordinates(s)
    assert lon.tolist() == ["2.33"] * 5 + [""] and lat.tolist() == ["48.88"] * 5 + [""]


def test_date_only_rows_count_for_day_windows_not_hour_windows():
    from siteplanner.incidents.read import window_mask
    from siteplanner.incidents.windows import TimeWindow

    inc = pd.DataFrame(
        {
            "datetime": pd.to_datetime(
                ["2023-05-13 00:00", "2023-05-13 20:00", "2023-05-15 00:00", None]
            ).tz_localize("Europe/Paris"),
            "time_precision": ["date", "time", "date", "none"],
        }
    )
    assert window_mask(inc, TimeWindow("all")).tolist() == [True, True, True, True]
    assert window_mask(inc, TimeWindow("weekend", days="weekend")).tolist() == [
        True,
        True,
        False,
        False,
    ]
    assert window_mask(inc, TimeWindow("nuit", hours=(0, 6))).tolist() == [
        False,
        False,
        False,
        False,
    ]
    assert window_mask(inc, TimeWindow("soir", hours=(18, 24))).tolist() == [
        False,
        True,
        False,
        False,
    ]


def test_pipeline_gives_the_default_method_times_and_weights(tmp_path):
    """The scenario path's surface is the default method's on the times and category weights."""
    p = _files(tmp_path)
    p.write_text(
        p.read_text() + "[weights.categories]\nviolence_voie_publique = 2.0\nautre = 0.25\n"
    )
    sc = load_scenario(p)
    res = incident_maps.build(sc)
    win = res.window_incidents
    w = win["category"].map({"violence_voie_publique": 2.0, "autre": 0.25}).fillna(1.0).to_numpy()
    xy = np.column_stack([win.geometry.x, win.geometry.y])
    want = hotspots.default_grid(
        xy, win["datetime"], weight=w, bounds=res.grid.bounds, cell_m=50.0, area=res.area
    )
    assert np.allclose(res.grid.values, want.values) and res.grid.params == want.params
    unweighted = hotspots.default_grid(
        xy, win["datetime"], bounds=res.grid.bounds, cell_m=50.0, area=res.area
    )
    assert not np.allclose(res.grid.values, unweighted.values)
    assert demand_step.hotspot_grid is incident_maps.__dict__.get(
        "hotspot_grid", demand_step.hotspot_grid
    )


def test_lonlat_into_the_planar_api_raises():
    xy = np.column_stack([LON, LAT])
    with pytest.raises(InputError, match="look like WGS84 degrees"):
        hotspots.predict("kde", xy, bounds=(7.41, 43.73, 7.43, 43.75), cell_m=10.0)
    with pytest.raises(InputError, match="look like lon/lat degrees"):
        hotspots.predict(
            "count_grid", np.array([[7.41, 43.73]]), bounds=(7.41, 43.73, 7.43, 43.75), cell_m=10.0
        )


def test_grid_cell_sized_to_area_and_never_too_many_cells():
    chicago = (424000.0, 4610000.0, 457200.0, 4652200.0)  # 33 x 42 km
    assert grid_cell_m(chicago, 148_636, area_m2=6.0e8) == 75.0
    c = grid_cell_m(chicago, 148_636, cell_m=10.0)
    w, h = chicago[2] - chicago[0], chicago[3] - chicago[1]
    assert c == 20.0 and (w / c) * (h / c) <= MAX_CELLS
    assert grid_cell_m((0, 0, 1000, 1000), 10_000) == 10.0  # many incidents: fine cells


def test_report_sentence_and_run_without_area(tmp_path):
    from siteplanner.outputs.report import incident_rows_text

    p = _files(
        tmp_path,
        toml_extra='on_bad_rows = "skip"\nmax_bad_share = 0.1',
        Longitude=[""] + list(LON[1:]),
    )
    sc = load_scenario(p)
    res = incident_maps.build(sc)
    text = incident_rows_text(
        res.counts["incident_rows"], res.counts["incidents_in_window_no_hour"]
    )
    assert text.startswith(
        "40 rows read, 39 kept (29 by the scenario's category mapping, 0 already in the town's "
        "categories, 10 given the default category), 1 set aside in quarantine.csv"
    )
    with pytest.raises(InputError, match="run `siteplanner incidents"):
        pipeline.plan(sc)
