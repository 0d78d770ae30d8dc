"""The CLI: one short message and exit 1 on bad input; --debug shows the traceback."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from siteplanner.cli import app

from .conftest import CACHE, SCENARIO, copy_scenario

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


# messages -------------------------------------------------------------------------------------

BRACKETED = [
    "check [[incidents]] files and [hotspots.window]",
    "set patrol.start = [lon, lat]",
    "[bold]not markup[/bold] and [red]",
]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_error_messages_keep_square_brackets(monkeypatch):
    import siteplanner.scenario as scenario_mod
    from siteplanner._errors import InputError, ScenarioError

    for exc_type in (ScenarioError, InputError, ValueError):
        for msg in BRACKETED:

            def boom(*_a, _m=msg, _t=exc_type, **_k):
                raise _t(_m)

            monkeypatch.setattr(scenario_mod, "load_scenario", boom)
            for cmd in (["validate"], ["run"], ["observatory"], ["review", "init"]):
                r = runner.invoke(app, [*cmd, str(SCENARIO)])
                assert r.exit_code == 1
                assert msg in _flat(r.output), (cmd, r.output)


def test_help_texts_keep_square_brackets():
    import typer.main

    root = typer.main.get_command(app)
    checked = 0

    def walk(cmd, path: list[str]) -> None:
        nonlocal checked
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
            return
        r = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert r.exit_code == 0, r.output
        for p in cmd.params:
            helptext = getattr(p, "help", None) or ""
            if "[" in helptext:
                checked += 1
                assert _flat(helptext) in _flat(r.output), (path, helptext)

    walk(root, [])
    assert checked >= 1  # "(default: [observatory] period)"


def test_success_lines_keep_square_brackets(tmp_path):
    text = SCENARIO.read_text(encoding="utf-8").replace(
        'name = "Beausoleil"', 'name = "Beausoleil [test]"'
    )
    # the tests' cache folder, not the repository's
    text = re.sub(r'(?m)^cache_dir = "[^"]*"', f'cache_dir = "{CACHE.as_posix()}"', text)
    p = SCENARIO.parent / "_brackets_test.toml"
    try:
        p.write_text(text, encoding="utf-8")
        r = runner.invoke(app, ["validate", str(p)])
    finally:
        p.unlink()
    assert r.exit_code == 0, r.output
    assert "Beausoleil [test]" in r.output
    assert "scenarios/_brackets_test.toml" in r.output


def test_misspelt_key_did_you_mean(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(
        'name = "x"\n[area]\nosm = "a.osm"\nboundary = 1\n[hotspots]\nmethd = "kde"\n'
        '[[patrol.shifts]]\nname = "a"\nbudget_min = 30\ndwel_min = 3\n',
        encoding="utf-8",
    )
    r = runner.invoke(app, ["validate", str(p)])
    assert r.exit_code == 1
    out = _flat(r.output)
    assert "hotspots.methd: unknown key; did you mean 'method'?" in out
    assert "dwel_min: unknown key; did you mean 'dwell_min'?" in out
    assert "accepted: method, cell_m" in out


def test_paths_shown_resolved_and_relative(monkeypatch):
    from siteplanner.cli import show_path
    from siteplanner.scenario import load_scenario

    monkeypatch.chdir(SCENARIO.parents[1])
    sc = load_scenario("scenarios/beausoleil.toml", check_files=False)
    assert str(sc.resolve(sc.output.dir)) == "outputs/beausoleil"  # not scenarios/../outputs
    assert show_path(SCENARIO.parents[1] / "scenarios" / ".." / "outputs" / "x") == "outputs/x"
    assert show_path("/") == "/"


def test_highs_banner_silent():
    import subprocess
    import sys

    code = (
        "from siteplanner.optimise.milp import silence_highs_banner; silence_highs_banner(); "
        "import highspy; h = highspy.Highs(); h.setOptionValue('output_flag', False); print('end')"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=SCENARIO.parents[1],
        env={**__import__("os").environ, "PYTHONPATH": str(SCENARIO.parents[1])},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "end\n"
    loud = subprocess.run(
        [sys.executable, "-c", "import highspy; highspy.Highs()"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "HiGHS" in loud.stdout  # the banner the CLI hides


def test_global_flags_before_or_after_the_command():
    from siteplanner.cli import hoist_global_flags

    assert hoist_global_flags(["run", "x.toml", "-q"]) == ["-q", "run", "x.toml"]
    assert hoist_global_flags(["--debug", "run", "-q", "x.toml"]) == [
        "--debug",
        "-q",
        "run",
        "x.toml",
    ]
    assert hoist_global_flags(["run", "--", "-q"]) == ["run", "--", "-q"]  # after --: an argument


def test_quiet_after_the_command_hides_the_info_lines(tmp_path, monkeypatch, capsys):
    """Through ``main``, the entry point that ``siteplanner`` and ``python -m siteplanner.cli``
    call with the command line: ``-q`` after the command is hoisted before it."""
    import sys

    from siteplanner.cli import main

    sc = str(copy_scenario(SCENARIO, tmp_path))

    def stderr(*args: str) -> str:
        monkeypatch.setattr(sys, "argv", ["siteplanner", *args])
        with pytest.raises(SystemExit) as done:
            main()
        got = capsys.readouterr()
        assert done.value.code == 0, got.err
        return got.err + got.out

    loud = stderr("validate", sc)
    assert "INFO" in loud and "ok:" in loud
    quiet = stderr("validate", sc, "-q")
    assert "INFO" not in quiet and "ok:" in quiet
    assert "INFO" not in stderr("-q", "validate", sc)
