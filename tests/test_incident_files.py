"""Real incident exports read through the scenario reader with only the example scenarios' lines.

Each test loads ``scenarios/examples/<name>.toml`` as shipped (its paths point at the shared
data folder next to the project), reads its file with the same reader as ``siteplanner run``
and checks the rows kept, mapped, defaulted and quarantined against counts computed here
independently with pandas. Skipped when the shared data folder is absent.
"""

from __future__ import annotations

import ast
import gzip
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from siteplanner.modes import incidents as incident_maps
from siteplanner.scenario import load_scenario
from siteplanner.steps.load import read_scenario_incidents

from .conftest import SHARED_ROOT

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "scenarios" / "examples"
SHARED = next(
    (p for p in (SHARED_ROOT / "data",) if (p / "incidents").is_dir()),
    None,
)
pytestmark = pytest.mark.skipif(SHARED is None, reason="shared real data folder absent")


def _scenario(name: str, tmp_path: Path, extra: str = ""):
    """The example scenario as shipped.

    Only its data prefix points at where the shared folder is here.
    """
    text = (EXAMPLES / f"{name}.toml").read_text(encoding="utf-8")
    text = text.replace('"../../../shared/data/', f'"{SHARED.as_posix()}/')
    text = text.replace('dir = "../../outputs/', f'dir = "{tmp_path.as_posix()}/')
    p = tmp_path / f"{name}.toml"
    p.write_text(text + extra, encoding="utf-8")
    return load_scenario(p)


def _read(sc):
    (r,) = read_scenario_incidents(sc, area=None, crs="EPSG:4326")
    return r


def _check(counts: dict, **expected: int) -> None:
    got = {k: counts[k] for k in expected}
    assert got == expected
    assert counts["kept"] + counts["quarantined"] + counts["outside_area"] == counts["rows"]
    assert counts["mapped"] + counts["native"] + counts["defaulted"] == counts["kept"]


def test_dansmarue_free_text_types_and_dates_without_hour(tmp_path):
    sc = _scenario("dansmarue_paris", tmp_path)
    r = _read(sc)
    d = pd.read_csv(SHARED / "incidents" / "dansmarue_paris_2023-2024_sample.csv", dtype=str)
    mapped = d["type"].isin(
        [
            "Graffitis, tags, affiches et autocollants",
            "Mobiliers urbains",
            "Objets abandonnés",
            "Propreté",
        ]
    )
    _check(
        r.counts,
        rows=len(d),
        kept=len(d),
        mapped=int(mapped.sum()),
        defaulted=int((~mapped).sum()),
        quarantined=0,
        no_hour=len(d),
    )
    assert r.counts["unmapped_labels"] == d.loc[~mapped, "type"].value_counts().to_dict()
    # position from "{'lon': …, 'lat': …}", date as the publisher wrote it, local midnight
    first = r.frame.set_index("id").loc[d["id_dmr"].iloc[0]]
    lonlat = ast.literal_eval(d["geo_point_2d"].iloc[0])  # the test's own reading
    assert first.geometry.x == pytest.approx(lonlat["lon"]) and first.geometry.y == pytest.approx(
        lonlat["lat"]
    )
    assert str(first["datetime"].date()) == d["datedecl"].iloc[0]
    assert (r.frame["time_precision"] == "date").all()


def test_baac_2013_old_format_unlocated_rows_quarantined(tmp_path):
    sc = _scenario("baac_2013_dep06", tmp_path)
    r = _read(sc)
    b = pd.read_csv(SHARED / "incidents" / "baac_caracteristiques_2013_dep06.csv", dtype=str)
    lat, lon = pd.to_numeric(b["lat"], errors="coerce"), pd.to_numeric(b["long"], errors="coerce")
    located = lat.notna() & lon.notna() & ~((lat == 0) & (lon == 0))
    kept = b[located]
    mapped = kept["lum"].isin(["1", "2", "3", "4", "5"])
    _check(
        r.counts,
        rows=len(b),
        kept=int(located.sum()),
        mapped=int(mapped.sum()),
        defaulted=int((~mapped).sum()),
        quarantined=int((~located).sum()),
        no_hour=0,
    )
    assert sorted(r.quarantine["line"]) == sorted(
        (np.flatnonzero(~located.to_numpy()) + 2).tolist()
    )
    # 2-digit year, HHMM without leading zeros, integers x 100,000
    row = r.frame.set_index("id").loc[kept["Num_Acc"].iloc[0]]
    h = kept["hrmn"].iloc[0].zfill(4)
    assert (row["datetime"].year, row["datetime"].month, row["datetime"].day) == (
        2000 + int(kept["an"].iloc[0]),
        int(kept["mois"].iloc[0]),
        int(kept["jour"].iloc[0]),
    )
    assert (row["datetime"].hour, row["datetime"].minute) == (int(h[:2]), int(h[2:]))
    assert row.geometry.y == pytest.approx(int(kept["lat"].iloc[0]) / 1e5)


def test_vancouver_split_time_columns_utm_and_unlocated_violence(tmp_path):
    sc = _scenario("vancouver_2020", tmp_path)
    r = _read(sc)
    v = pd.read_csv(SHARED / "incidents" / "vancouver_vpd_crimes_2020.csv.gz")
    bad = v["X"].isna() | v["Y"].isna() | ((v["X"] == 0) & (v["Y"] == 0))
    kept = v[~bad]
    t = kept["TYPE"]
    mapped = (
        t.isin(
            [
                "Theft from Vehicle",
                "Mischief",
                "Offence Against a Person",
                "Homicide",
                "Theft of Vehicle",
            ]
        )
        | t.str.startswith("Break and Enter")
        | t.str.startswith("Vehicle Collision")
    )
    _check(
        r.counts,
        rows=len(v),
        kept=int((~bad).sum()),
        mapped=int(mapped.sum()),
        defaulted=int((~mapped).sum()),
        quarantined=int(bad.sum()),
        no_hour=0,
    )
    assert set(r.counts["unmapped_labels"]) == {"Other Theft", "Theft of Bicycle"}
    # times: YEAR..MINUTE in Vancouver local time; positions: UTM 10N back to the same metres
    i = int(np.flatnonzero(~bad.to_numpy())[0])
    row = r.frame.set_index("line").loc[i + 2]
    want = pd.Timestamp(
        year=int(v.YEAR[i]),
        month=int(v.MONTH[i]),
        day=int(v.DAY[i]),
        hour=int(v.HOUR[i]),
        minute=int(v.MINUTE[i]),
    ).tz_localize("America/Vancouver")
    assert row["datetime"] == want and str(row["datetime"].tz) == "America/Vancouver"
    back = gpd.GeoSeries([row.geometry], crs="EPSG:4326").to_crs("EPSG:32610").iloc[0]
    assert back.x == pytest.approx(v.X[i], abs=0.01) and back.y == pytest.approx(v.Y[i], abs=0.01)


def test_chicago_assaults_local_time_and_location_categories(tmp_path):
    sc = _scenario("chicago_assaults", tmp_path)
    r = _read(sc)
    c = pd.read_csv(
        SHARED / "incidents" / "chicago_aggravated_assaults_2010-2019.csv.gz", dtype=str
    )
    mapped = c["loc_cat"].isin(["street", "open space", "transportation"])
    _check(
        r.counts,
        rows=len(c),
        kept=len(c),
        mapped=int(mapped.sum()),
        defaulted=int((~mapped).sum()),
        quarantined=0,
        no_hour=0,
    )
    want = pd.to_datetime(c["date"]).dt.tz_localize(
        "America/Chicago", ambiguous=True, nonexistent="shift_forward"
    )
    got = r.frame.sort_values("line")["datetime"].reset_index(drop=True)
    assert (got == want).all()
    assert r.frame["category"].value_counts().to_dict() == {
        "violence_voie_publique": int(c["loc_cat"].isin(["street", "open space"]).sum()),
        "violence_autre": int((~mapped).sum()),
        "violence_transports": int((c["loc_cat"] == "transportation").sum()),
    }


def test_paris_baac_geojson_lambert93_without_date(tmp_path):
    sc = _scenario("paris_baac_2019", tmp_path)
    r = _read(sc)
    with gzip.open(SHARED / "incidents" / "accidents2019_paris_baac.geojson.gz") as f:
        g = gpd.read_file(f)
    grav = g["grav"].astype("Int64").astype(str)
    mapped = grav.isin(["1", "2", "3", "4"])
    _check(
        r.counts,
        rows=len(g),
        kept=len(g),
        mapped=int(mapped.sum()),
        defaulted=int((~mapped).sum()),
        quarantined=0,
        no_hour=0,
        undated=len(g),
    )
    assert r.frame["id"].is_unique  # one row per person: ids built from the line
    assert (
        r.frame.sort_values("line")["category"].to_numpy()
        == grav.map(
            {
                "1": "accident_indemne",
                "2": "accident_mortel",
                "3": "accident_grave",
                "4": "accident_leger",
            }
        ).to_numpy()
    ).all()
    # the undated rows count for the whole-period window, and make a grid sized to Paris
    res = incident_maps.build(sc)
    assert res.counts["incidents_in_window"] == len(g)
    assert 10 <= res.grid.cell_m <= 200 and res.grid.method == "default"
    assert res.indicators.loc[0, "zone"] == "all" and res.indicators.loc[0, "incidents"] == len(g)


def test_incidents_command_writes_counts_and_quarantine(tmp_path):
    from typer.testing import CliRunner

    from siteplanner.cli import app

    sc = _scenario("baac_2013_dep06", tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["incidents", str(sc.path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["inputs"]["incident_rows"]
    q = pd.read_csv(out / "quarantine.csv")
    assert len(q) == rows["quarantined"] == 1759 and list(q.columns) == ["file", "line", "reason"]
    assert rows["kept"] == summary["inputs"]["incidents"] == 31
    assert (out / "hotspots.tif").is_file() and (out / "indicators.csv").is_file()
