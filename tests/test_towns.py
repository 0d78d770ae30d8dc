"""The scenarios of the shared extracts (#13): they load; the small ones pass the audit end to end.

The audit is the shared, independent ``tools/audit_outputs.py`` (it re-reads the OSM extract
itself): demand points on streets, proposed sites outside buildings, patrols on streets and
inside the study area, and the same figures in every output file. Skipped where ``shared/`` is
not beside the repository.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from siteplanner.modes.batch import find_scenarios
from siteplanner.scenario import load_scenario

from .conftest import ROOT, SHARED_ROOT, copy_scenario

TOWNS = ["redon", "helsinki", "monaco-2026", "schaan", "tas-sliema"]
MALTA = ROOT / "scenarios" / "malta"
AUDIT = next(
    (p for p in (SHARED_ROOT / "tools" / "audit_outputs.py",) if p.is_file()),
    None,
)


def _audit(out: Path, extract: Path) -> subprocess.CompletedProcess:
    """Run the shared audit as its users do (a separate process: it leaves files open, which
    this suite's warnings-as-errors would turn into a failure of the test instead of the run)."""
    if AUDIT is None:
        pytest.skip("shared/tools/audit_outputs.py not found beside the repository")
    return subprocess.run(
        [sys.executable, str(AUDIT), str(out), str(extract)],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("name", TOWNS)
def test_town_scenario_loads_with_all_its_files(name):
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")  # checks every input file exists
    assert sc.resolve(sc.area.osm).is_file()
    assert "synthetic" in sc.resolve(sc.incidents[0].path).name


def test_malta_batch_has_one_scenario_per_council():
    files = find_scenarios(MALTA)
    assert len(files) == 67  # the admin_level 8 councils of the 2018 extract
    boundaries = {tomllib.loads(f.read_text(encoding="utf-8"))["area"]["boundary"] for f in files}
    assert len(boundaries) == 67 and 6172199 in boundaries  # Tas-Sliema
    sc = load_scenario(MALTA / "l-isla_7510578.toml")  # a council given an explicit patrol start
    assert sc.patrol.start is not None and sc.candidates.csu == sc.patrol.start
    assert 1 <= sc.plan.k <= 12


@pytest.mark.parametrize(
    "src",
    [ROOT / "scenarios" / "redon.toml", MALTA / "l-isla_7510578.toml"],
    ids=["redon", "malta-l-isla"],
)
def test_small_town_passes_the_audit(src, tmp_path):
    if AUDIT is None:
        pytest.skip("shared/tools/audit_outputs.py not found beside the repository")
    from siteplanner import pipeline

    sc = load_scenario(copy_scenario(src, tmp_path / "scenario"))
    out = tmp_path / "out"
    _res, files = pipeline.run(sc, out_dir=out)
    assert files
    done = _audit(out, sc.resolve(sc.area.osm))
    printed = done.stdout
    assert done.returncode == 0, printed + done.stderr
    assert "all checks hold" in printed
    assert "RESULT proposed_sites=0" not in printed
