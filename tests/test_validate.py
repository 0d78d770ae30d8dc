"""``siteplanner validate`` finds each kind of bad input before any heavy work, in one message."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from siteplanner._errors import InputError
from siteplanner.cli import app
from siteplanner.modes.validate import check_scenario
from siteplanner.scenario import load_scenario

from .conftest import CACHE, INCIDENTS, OSM, ROOT

DEM = ROOT / "data" / "dem" / "N43E007.hgt"
REDON = ROOT / "data" / "osm" / "redon-centre-2019.osm.bz2"


def scenario(tmp_path, *, area=None, incidents=None, extra="", osm=None):
    area = area or "boundary = 174562"
    p = tmp_path / "s.toml"
    p.write_text(
        f'name = "t"\ncache_dir = "{CACHE}"\n[area]\nosm = "{osm or OSM}"\n{area}\n'
        f'[[incidents]]\npath = "{incidents or INCIDENTS}"\n{extra}',
        encoding="utf-8",
    )
    return load_scenario(p)


def test_the_default_scenario_passes_and_says_what_it_checked(tmp_path):
    got = check_scenario(scenario(tmp_path, extra="[plan]\nk = 10\n"))
    text = "\n".join(got.facts)
    assert "patrol start: police station node/273248797" in text
    assert got.counts["incidents"] == 4559 and got.counts["candidates"] >= 10


def test_a_bad_incident_row_is_named(tmp_path):
    rows = INCIDENTS.read_text(encoding="utf-8").splitlines()
    rows[3] = rows[3].replace("2021-01-01T16:56:00+01:00", "the first of January")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.csv") as e:
        check_scenario(scenario(tmp_path, incidents=bad))
    assert "the first of January" in str(e.value) or "row" in str(e.value)


def test_a_missing_boundary_is_refused(tmp_path):
    with pytest.raises(InputError, match="no administrative boundary relation 999999"):
        check_scenario(scenario(tmp_path, area="boundary = 999999"))


def test_a_boundary_check_that_passed_is_remembered_one_that_failed_is_not(tmp_path, monkeypatch):
    """On Redon's extract, which holds 1 of the 9 ways of boundary 961138 (a cut boundary
    passes the check: the load closes it)."""
    from siteplanner.modes import validate
    from siteplanner.town import osm

    calls = []
    real = osm.check_boundary

    def counted(path, boundary):
        calls.append(boundary)
        return real(path, boundary)

    monkeypatch.setattr(osm, "check_boundary", counted)
    cache = tmp_path / "cache"

    def check(extract, area: str) -> None:
        sc = scenario(tmp_path, osm=extract, area=area)
        validate.check_boundary(sc.model_copy(update={"cache_dir": cache}))

    for _ in range(2):  # the second time from the cache folder
        check(REDON, "boundary = 961138")
    assert calls == [961138] and len(list(cache.glob("boundary-*.json"))) == 1
    for _ in range(2):  # refused both times: a failed check is made again
        with pytest.raises(InputError, match="no administrative boundary relation 999999"):
            check(REDON, "boundary = 999999")
    assert calls == [961138, 999999, 999999]
    # keyed on the extract's bytes, not its name: a copy of the same extract is not read again
    copy = tmp_path / "copy.osm.bz2"
    copy.write_bytes(REDON.read_bytes())
    check(copy, "boundary = 961138")
    assert calls == [961138, 999999, 999999]


def test_k_beyond_the_candidate_sites_is_refused(tmp_path):
    with pytest.raises(
        InputError, match=r"plan.k = 5000 but the study area has only \d+ candidate site"
    ):
        check_scenario(scenario(tmp_path, extra="[plan]\nk = 5000\n"))


def test_file_formats(tmp_path):
    txt = tmp_path / "town.txt"
    txt.write_text("not an extract", encoding="utf-8")
    with pytest.raises(InputError, match=r"area.osm.*OpenStreetMap extract; accepted: .osm"):
        check_scenario(scenario(tmp_path, osm=txt))
    fake_dem = tmp_path / "dem.hgt"
    fake_dem.write_text("no raster", encoding="utf-8")
    with pytest.raises(InputError, match="area.dem cannot be read as an elevation raster"):
        check_scenario(scenario(tmp_path, area=f'boundary = 174562\ndem = "{fake_dem}"'))
    with pytest.raises(InputError, match="area.qpv cannot be read as a vector file"):
        check_scenario(scenario(tmp_path, area=f'boundary = 174562\nqpv = "{txt}"'))
    assert (
        check_scenario(scenario(tmp_path, area=f'boundary = 174562\ndem = "{DEM}"')).counts[
            "candidates"
        ]
        > 0
    )


def test_a_csu_outside_the_commune_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"candidates.csu = \[7.42, 43.73\] lies \d+ m outside"):
        check_scenario(scenario(tmp_path, extra="[candidates]\ncsu = [7.4200, 43.7300]\n"))


def test_validate_command_prints_one_error(tmp_path):
    sc = scenario(tmp_path, extra="[plan]\nk = 5000\n")
    r = CliRunner().invoke(app, ["validate", str(sc.path)])
    assert r.exit_code == 1
    assert "error:" in r.output and "Traceback" not in r.output
