"""The CLI: one short message and exit 1 on bad input; --debug shows the traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from siteplanner.cli import app

from .conftest import SCENARIO, copy_scenario

runner = CliRunner()


def test_validate_ok(tmp_path):
    r = runner.invoke(app, ["validate", str(copy_scenario(SCENARIO, tmp_path))])
    assert r.exit_code == 0, r.output
    assert "ok" in r.output


def test_bad_scenario_is_one_message_exit_1(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('name = "x"\nfoo = 1\n', encoding="utf-8")
    r = runner.invoke(app, ["validate", str(p)])
    assert r.exit_code == 1
    assert "error:" in r.output and "foo: unknown key" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["--debug", "validate", str(p)])
    assert r.exit_code == 1
    assert r.exception is not None and type(r.exception).__name__ == "ScenarioError"


def test_missing_scenario_file(tmp_path):
    r = runner.invoke(app, ["run", str(tmp_path / "absent.toml")])
    assert r.exit_code == 1
    assert "scenario file not found" in r.output
