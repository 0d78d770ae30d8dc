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


def test_dask_batch_runs_each_commune_and_survives_a_bad_one(tmp_path):
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


def test_dask_workers_print_no_solver_banner(tmp_path):
    """``siteplanner batch --scheduler dask``: the worker processes print no HiGHS banner."""
    import subprocess
    import sys

    scen = tmp_path / "scenarios"
    scen.mkdir()
    for name in ("beausoleil.toml", "cap-d-ail.toml", "la-turbie.toml"):
        _copy(RIVIERA / name, scen)
    cmd = [sys.executable, "-m", "siteplanner.cli", "batch", str(scen), "--scheduler", "dask"]
    cmd += ["--workers", "1", "--out", str(tmp_path / "out")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=RIVIERA.parents[1])
    assert done.returncode == 0, done.stderr
    assert "3 of 3 commune(s) done" in done.stderr + done.stdout
    assert "HiGHS" not in done.stdout + done.stderr
