"""Many communes: one scenario per commune on Dask; a failed commune does not stop the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from siteplanner._errors import InputError
from siteplanner.cli import app
from siteplanner.modes.batch import BatchResult, find_scenarios, run_batch, run_one

from .conftest import ROOT, copy_scenario

RIVIERA = ROOT / "scenarios" / "riviera"


def _copy(src: Path, dest_dir: Path, *, k: int = 2) -> Path:
    """A riviera scenario moved to ``dest_dir`` (paths made absolute) with a small k."""
    p = copy_scenario(src, dest_dir)
    text = p.read_text(encoding="utf-8")
    text = (
        "\n".join(f"k = {k}" if line.startswith("k = ") else line for line in text.splitlines())
        + "\n"
    )
    p.write_text(text, encoding="utf-8")
    return p


def test_riviera_folder_ships_three_communes():
    files = find_scenarios(RIVIERA)
    assert [f.name for f in files] == ["beausoleil.toml", "cap-d-ail.toml", "la-turbie.toml"]
    from siteplanner.scenario import load_scenario

    boundaries = {load_scenario(f).area.boundary for f in files}  # every input file exists
    assert boundaries == {174562, 174956, 174958}


def test_dask_batch_runs_each_commune_and_survives_a_bad_one(tmp_path, capfd):
    """Dask's local cluster: every commune runs, a bad one fails alone, and the worker
    processes (which write to this process's terminal) print no HiGHS banner."""
    scen = tmp_path / "scenarios"
    scen.mkdir()
    bad = _copy(RIVIERA / "la-turbie.toml", scen).rename(scen / "atlantis.toml")
    for name in ("cap-d-ail.toml", "la-turbie.toml"):
        _copy(RIVIERA / name, scen)
    bad.write_text(
        bad.read_text(encoding="utf-8")
        .replace("boundary = 174958", 'boundary = "Atlantis"')
        .replace('name = "La Turbie"', 'name = "Atlantis"'),
        encoding="utf-8",
    )
    seen: list[str] = []
    results = run_batch(
        scen,
        scheduler="dask",
        n_workers=2,
        out_root=tmp_path / "out",
        progress=False,
        on_done=lambda r: seen.append(r.name),
    )
    assert [r.scenario.name for r in results] == [
        "atlantis.toml",
        "cap-d-ail.toml",
        "la-turbie.toml",
    ]  # file order
    assert sorted(seen) == ["Atlantis", "Cap-d'Ail", "La Turbie"]
    atlantis, cap, turbie = results
    assert not atlantis.ok and "Atlantis" in atlantis.error and "names present" in atlantis.error
    for r in (cap, turbie):
        assert r.ok, r.error
        assert r.new_sites == 2 and 0 <= r.coverage_before <= r.coverage_after <= 1
        s = json.loads((r.out_dir / "summary.json").read_text(encoding="utf-8"))
        assert s["study_area"] == r.name and len(s["selected_site_ids"]) == 2
        assert r.out_dir == tmp_path / "out" / r.scenario.stem
    assert not (tmp_path / "out" / "atlantis").exists() or not any(
        (tmp_path / "out" / "atlantis").iterdir()
    )
    printed = capfd.readouterr()
    assert "HiGHS" not in printed.out + printed.err


def test_run_one_captures_errors_instead_of_raising(tmp_path):
    p = tmp_path / "typo.toml"
    p.write_text('name = "x"\nnmae = "y"\n', encoding="utf-8")
    r = run_one(p)
    assert isinstance(r, BatchResult) and not r.ok and r.name == "typo"
    assert "nmae: unknown key" in r.error and str(p) in r.error


def test_bad_batch_arguments_are_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="no scenario file"):
        run_batch(tmp_path, scheduler="local")
    with pytest.raises(InputError, match="not a folder"):
        run_batch(tmp_path / "absent", scheduler="local")
    (tmp_path / "a.toml").write_text('name = "a"\n', encoding="utf-8")
    with pytest.raises(InputError, match="accepted: 'dask' or 'local'"):
        run_batch(tmp_path, scheduler="slurm")  # type: ignore[arg-type]


def test_cli_batch_reports_each_failure_and_exits_1(tmp_path):
    (tmp_path / "a.toml").write_text('name = "a"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text("not toml ===\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["batch", str(tmp_path), "--scheduler", "local"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert r.output.count("failed") >= 2 and "0 of 2 commune(s) done" in r.output
    assert "Traceback" not in r.output


# a worker keeps what the communes share: the parsed extract, the validated incident files


def _utm_box(lon: float, lat: float, half_m: float):
    import geopandas as gpd
    import shapely

    p = gpd.GeoSeries([shapely.Point(lon, lat)], crs="EPSG:4326").to_crs("EPSG:32632").iloc[0]
    return shapely.box(p.x - half_m, p.y - half_m, p.x + half_m, p.y + half_m)


def test_a_kept_incident_file_reads_as_the_plain_one(tmp_path, monkeypatch):
    """One island-wide file, two communes: the same frame, counts and quarantine as without
    keeping; validated once for the commune where no row looks swapped, in full where one does."""
    from geopandas.testing import assert_geodataframe_equal
    from pandas.testing import assert_frame_equal

    from siteplanner.incidents import kept, read

    p = tmp_path / "island.csv"
    p.write_text(
        "id,datetime,category,source,lon,lat\n"
        "A1,2023-05-14T22:30:00+02:00,cambriolage,police_nationale,7.4235,43.7425\n"
        "A2,2023-05-15T08:00:00,depot_sauvage,services_techniques,7.4240,43.7430\n"
        "A3,2023-06-01T12:00:00,vol_roulotte,police_municipale,7.4250,43.7410\n"
        "N1,2023-05-14T23:00:00,vol_roulotte,police_nationale,7.2620,43.7030\n"
        "N2,2023-05-16T01:00:00,cambriolage,police_nationale,7.2630,43.7040\n"
        "S1,2023-05-17T10:00:00,vol_roulotte,police_nationale,43.7420,7.4230\n"  # swapped
        "B1,not a date,vol_roulotte,police_nationale,7.2625,43.7035\n",
        encoding="utf-8",
    )
    spec = read.IncidentSpec(p, on_bad_rows="skip", max_bad_share=0.5)
    areas = {"beausoleil": _utm_box(7.4240, 43.7420, 600), "nice": _utm_box(7.2625, 43.7035, 600)}
    plain = {k: read.read_incident_file(spec, area=a, crs="EPSG:32632") for k, a in areas.items()}
    assert "look swapped" in " ".join(plain["beausoleil"].quarantine["reason"])
    assert "look swapped" not in " ".join(plain["nice"].quarantine["reason"])
    validations = []

    def counted(*args, **kwargs):
        validations.append(kwargs.get("area_wgs84"))
        return validate(*args, **kwargs)

    validate = read.validate_incidents
    monkeypatch.setattr(read, "validate_incidents", counted)
    kept.keep_validated_files(2)
    try:
        for name in ("nice", "beausoleil", "nice", "nice"):
            got = kept.read_incident_file(spec, area=areas[name], crs="EPSG:32632")
            assert_geodataframe_equal(got.frame, plain[name].frame)
            assert_frame_equal(got.quarantine, plain[name].quarantine)
            assert got.counts == plain[name].counts
    finally:
        kept.keep_validated_files(0)
    # the whole file once without an area, then Beausoleil (a swapped row) in full
    assert len(validations) == 2 and validations[0] is None and validations[1] is not None
    kept.read_incident_file(spec, area=areas["nice"], crs="EPSG:32632")
    assert len(validations) == 3  # nothing kept any more: validated again


def test_a_kept_extract_is_parsed_once_per_process(tmp_path):
    from siteplanner.town import load as town_load

    from .conftest import TINY_OSM

    osm = tmp_path / "tiny.osm"
    osm.write_text(TINY_OSM, encoding="utf-8")
    first = town_load.read_osm(osm, cache_dir=tmp_path / "cache")
    assert town_load.read_osm(osm, cache_dir=tmp_path / "cache") is not first  # from the pickle
    town_load.keep_parsed_extracts(1)
    try:
        kept = town_load.read_osm(osm, cache_dir=tmp_path / "cache")
        assert town_load.read_osm(osm, cache_dir=tmp_path / "cache") is kept
        osm.write_text(TINY_OSM.replace('lat="43.7400"', 'lat="43.7401"'), encoding="utf-8")
        changed = town_load.read_osm(osm, cache_dir=tmp_path / "cache")  # other bytes: parsed
        assert changed is not kept and changed["graph"].nodes[1]["y"] == 43.7401
    finally:
        town_load.keep_parsed_extracts(0)


def test_dask_tasks_start_with_the_commune_that_took_longest(tmp_path):
    from siteplanner.modes.batch import expected_seconds

    for stem, total in (("a", 3.5), ("b", 12.0)):
        (tmp_path / "out" / stem).mkdir(parents=True)
        (tmp_path / "out" / stem / "summary.json").write_text(
            json.dumps({"timings_s": {"load": 1.0, "total": total}}), encoding="utf-8"
        )
    (tmp_path / "out" / "broken").mkdir()
    (tmp_path / "out" / "broken" / "summary.json").write_text("{", encoding="utf-8")
    out = str(tmp_path / "out")
    got = {s: expected_seconds(tmp_path / f"{s}.toml", out) for s in ("a", "b", "never", "broken")}
    assert got == {"a": 3.5, "b": 12.0, "never": 0.0, "broken": 0.0}


def test_workers_on_an_empty_cache_parse_the_extract_once(tmp_path, monkeypatch):
    """Two readers at once (a batch's workers, here two threads): one parses, one waits and
    reads the cache it writes."""
    import threading
    import time

    from siteplanner.town import load as town_load

    from .conftest import TINY_OSM

    osm = tmp_path / "tiny.osm"
    osm.write_text(TINY_OSM, encoding="utf-8")
    parses, parse = [], town_load._parse_osm

    def slow_parse(path, boundary=None):
        parses.append(path)
        time.sleep(0.5)  # long enough for the other reader to arrive meanwhile
        return parse(path, boundary)

    monkeypatch.setattr(town_load, "_parse_osm", slow_parse)
    got = []
    readers = [
        threading.Thread(target=lambda: got.append(town_load.read_osm(osm, cache_dir=tmp_path)))
        for _ in range(2)
    ]
    for t in readers:
        t.start()
    for t in readers:
        t.join(timeout=60)
    assert len(got) == 2 and len(parses) == 1
    assert sorted(got[0]["graph"].nodes) == sorted(got[1]["graph"].nodes) != []
