"""plan.gpkg, hotspots.qml and plan.qgz opened with QGIS, and the QGIS Processing provider.

Without QGIS: the GeoPackage's version, R-tree triggers, geometry types and style dates; the
project's XML (layers in order, relative sources, the styles of ``layer_styles``, the layout,
the same bytes twice); how the provider reads siteplanner's output (``runner.py``).

With QGIS (Debian's ``qgis`` and ``python3-qgis``, which ``.ci/run`` installs; skipped with the
reason otherwise): ``tests/qgis_probe.py`` opens the default run's ``plan.qgz`` with
``/usr/bin/python3`` offscreen (every layer valid, feature counts equal the outputs', default
styles applied, the layout rendered to PNG); GDAL's ``validate_gpkg.py`` checks ``plan.gpkg``;
``qgis_process.bin`` runs the provider's algorithms, the plugin enabled from ``qgis_plugin/``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import pyogrio
import pytest
from PIL import Image

from siteplanner.outputs import export, plot, qgis

from .conftest import ROOT, SCENARIO, copy_scenario

#: Debian's Python, where PyQGIS lives (``SITEPLANNER_QGIS_PYTHON`` to use another)
QGIS_PYTHON = os.environ.get("SITEPLANNER_QGIS_PYTHON", "/usr/bin/python3")
QGIS_PROCESS = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"
PLUGINS = ROOT / "qgis_plugin"
VALIDATE_GPKG = (
    Path("/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py"),
    Path("/usr/share/doc/python3-gdal/examples/validate_gpkg.py"),
)
# drawn first (lowest) to last: the order the project must draw them in
DRAWN = [
    "hotspots",
    "viewsheds",
    "patrols",
    "patrol_stops",
    "proposed_sites",
    "sensitive_sites",
    "study_area",
]


@cache
def _runner():
    """The provider's ``runner.py`` (it imports no QGIS), loaded from the plugin folder."""
    spec = importlib.util.spec_from_file_location(
        "siteplanner_provider_runner", PLUGINS / "siteplanner_provider" / "runner.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass looks its module up
    spec.loader.exec_module(mod)
    return mod


def _qgis_env(tmp: Path) -> dict[str, str]:
    """Offscreen QGIS with a profile of its own (the user's QGIS settings are left alone)."""
    runtime = tmp / "xdg"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        QGIS_CUSTOM_CONFIG_PATH=str(tmp / "qgis-profile"),
        XDG_RUNTIME_DIR=str(runtime),
        QGIS_PLUGINPATH=str(PLUGINS),
        # the provider runs this checkout's siteplanner with the tests' Python
        SITEPLANNER_COMMAND=f"{sys.executable} -m siteplanner.cli",
        PYTHONPATH=str(ROOT),
        # QGIS's embedded Python finds its home from the python3 first on PATH: Debian's, not
        # the tests' (pyenv puts its own first)
        PATH=os.pathsep.join([str(Path(QGIS_PYTHON).parent), os.environ.get("PATH", "")]),
    )
    return env


@cache
def _qgis_missing() -> str | None:
    """Why QGIS cannot be used here, or None."""
    if not Path(QGIS_PYTHON).is_file():
        return f"no {QGIS_PYTHON}: apt-get install qgis python3-qgis (.ci/run installs them)"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    probe = subprocess.run(
        [QGIS_PYTHON, "-c", "import qgis.core"], env=env, capture_output=True, text=True
    )
    if probe.returncode:
        return "PyQGIS not importable: apt-get install qgis python3-qgis (.ci/run installs them)"
    return None


def _need_qgis() -> None:
    if (why := _qgis_missing()) is not None:
        pytest.skip(why)


def _layer_styles(gpkg: Path) -> dict[str, str]:
    con = sqlite3.connect(gpkg)
    try:
        return dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles").fetchall())
    finally:
        con.close()


def _qml_root(qml: str) -> ET.Element:
    return ET.fromstring(qml.split("\n", 1)[1])  # drop the DOCTYPE line


def _canon(el: ET.Element | None) -> str:
    el = ET.fromstring(ET.tostring(el))
    for e in el.iter():
        e.text = (e.text or "").strip() or None
        e.tail = None
    return ET.tostring(el, encoding="unicode")


def _project(out: Path) -> ET.Element:
    with zipfile.ZipFile(out / "plan.qgz") as z:
        assert z.namelist() == ["plan.qgs"]
        return ET.fromstring(z.read("plan.qgs").decode("utf-8").split("\n", 1)[1])


def _count(path: Path, **where: str) -> int:
    df = pyogrio.read_dataframe(path, read_geometry=False)
    for k, v in where.items():
        df = df[df[k] == v]
    return len(df)


# ---------------------------------------------------------------------------------------------
# without QGIS
# ---------------------------------------------------------------------------------------------


def test_gpkg_version_triggers_types_and_dates(default_run):
    _, out, _ = default_run
    con = sqlite3.connect(out / "plan.gpkg")
    try:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # "GPKG"
        assert con.execute("PRAGMA user_version").fetchone()[0] == 10300  # 1.3
        types = dict(
            con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns")
        )
        triggers = {
            r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
        times = [r[0] for r in con.execute("SELECT update_time FROM layer_styles")]
    finally:
        con.close()
    # existing_cameras is empty on Beausoleil (its extract maps no camera) and keeps POINT
    assert types["existing_cameras"] == "POINT"
    assert "GEOMETRY" not in types.values()
    for table in types:
        for n in (1, 2, 3, 4):
            assert f"rtree_{table}_geom_update{n}" in triggers, (table, n)
    assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t) for t in times)


def test_gpkg_empty_layer_declared_with_its_type(tmp_path):
    import geopandas as gpd
    import shapely

    crs = "EPSG:2154"
    layers = {
        "existing_cameras": gpd.GeoDataFrame(
            {"site_id": pd.Series([], dtype=str)}, geometry=gpd.GeoSeries([], crs=crs), crs=crs
        ),
        "patrols": gpd.GeoDataFrame({"circuit": []}, geometry=gpd.GeoSeries([], crs=crs), crs=crs),
        "study_area": gpd.GeoDataFrame(
            {"name": ["x"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=crs
        ),
    }
    export.write_gpkg(layers, tmp_path / "t.gpkg")
    con = sqlite3.connect(tmp_path / "t.gpkg")
    try:
        types = dict(
            con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns")
        )
    finally:
        con.close()
    assert types == {"existing_cameras": "POINT", "patrols": "LINESTRING", "study_area": "POLYGON"}


def test_project_layers_order_sources_and_styles(default_run):
    res, out, files = default_run
    assert out / "plan.qgz" in files and out / "hotspots.qml" in files
    root = _project(out)
    tree = [e.get("id") for e in root.find("layer-tree-group").iter("layer-tree-layer")]
    gpkg_layers = [n for n, _ in pyogrio.list_layers(out / "plan.gpkg") if n != "layer_styles"]
    expected = [n for n, _ in qgis.PROJECT_LAYERS if n == "hotspots" or n in gpkg_layers]
    assert tree == [qgis.layer_id(n) for n in expected]
    assert set(gpkg_layers) <= set(expected)  # every layer of plan.gpkg is in the project
    # drawn in the order asked: the layer panel lists the last drawn first
    pos = [tree.index(qgis.layer_id(n)) for n in DRAWN]
    assert pos == sorted(pos, reverse=True)
    order = [e.get("id") for e in root.find("layerorder")]
    assert order == tree
    styles = _layer_styles(out / "plan.gpkg")
    layers = {ml.findtext("id"): ml for ml in root.find("projectlayers")}
    for name in expected:
        ml = layers[qgis.layer_id(name)]
        source = ml.findtext("datasource")
        if name == "hotspots":
            assert source == "./hotspots.tif" and ml.findtext("provider") == "gdal"
            qml = _qml_root((out / "hotspots.qml").read_text(encoding="utf-8"))
            assert _canon(ml.find("pipe")) == _canon(qml.find("pipe"))
            continue
        assert source == f"./plan.gpkg|layername={name}", name  # relative: the folder can move
        style = _qml_root(styles[name])
        for part in ("renderer-v2", "labeling"):
            if style.find(part) is not None:
                assert _canon(ml.find(part)) == _canon(style.find(part)), (name, part)
    for srs in root.iter("spatialrefsys"):
        assert srs.findtext("authid") == res.town.crs


def test_project_layout_holds_map_legend_scale_bar_and_sources(default_run):
    res, out, _ = default_run
    layout = _project(out).find("Layouts/Layout")
    assert layout.get("name") == "Plan"
    types = [int(e.get("type")) for e in layout.iter("LayoutItem")]
    for kind in ("page", "map", "legend", "scalebar", "label", "picture"):
        assert qgis._ITEM[kind] in types, kind
    texts = [e.get("labelText") for e in layout.iter("LayoutItem") if e.get("labelText")]
    sources = next(t for t in texts if t.startswith("Sources:"))
    assert "OpenStreetMap" in sources and res.town.source in sources
    assert "SYNTHETIC" in sources and any(res.town.name in t for t in texts)
    legend = next(
        e for e in layout.iter("LayoutItem") if e.get("type") == str(qgis._ITEM["legend"])
    )
    shown = [e.get("id") for e in legend.iter("layer-tree-layer")]
    assert qgis.layer_id("hotspot_segments") not in shown  # not drawn when the project opens
    assert qgis.layer_id("proposed_sites") in shown and qgis.layer_id("hotspots") in shown


def test_hotspot_qml_classes_are_the_maps(default_run):
    res, out, _ = default_run
    qml = _qml_root((out / "hotspots.qml").read_text(encoding="utf-8"))
    items = qml.findall(".//colorrampshader/item")
    hc = plot.hotspot_classes(
        res.grid, res.demand_.grid_inside, scheme=res.scenario.output.map_classes
    )
    assert len(items) == len(hc.bins) + 1
    assert items[0].get("alpha") == "0" and float(items[0].get("value")) < hc.bins[0]  # no density
    uppers = [float(i.get("value")) for i in items[1:]]
    assert np.allclose(uppers[:-1], hc.bins[:-1]) and uppers[-1] == np.inf
    assert [i.get("label") for i in items[1:]] == hc.labels()
    assert all(i.get("alpha") == "255" for i in items[1:])
    assert qml.find(".//colorrampshader").get("colorRampType") == "DISCRETE"
    assert qml.findtext("blendMode") == "6"  # QgsPainting::BlendMultiply


def test_qgis_files_same_bytes_twice(default_run, tmp_path):
    res, out, _ = default_run
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        qgis.write_qgis(res, d)
    for name in ("plan.qgz", "hotspots.qml"):
        assert (a / name).read_bytes() == (b / name).read_bytes() == (out / name).read_bytes()


def test_provider_reads_siteplanner_output(monkeypatch):
    runner = _runner()
    assert runner.progress("INFO     step load done in 0.8 s") == pytest.approx(100 / 9)
    assert runner.progress("step outputs done in 6.5 s") == 100
    assert runner.progress("step outputs done in 6.5 s", runner.STEPS[:-1]) is None
    assert runner.progress("kde_grid returned a 304 x 273 grid") is None
    assert runner.clean("INFO     step load done in 0.8 s      ") == "step load done in 0.8 s"
    assert runner.clean("WARNING  shift 'soirée': 1 of 2") == "WARNING: shift 'soirée': 1 of 2"
    lines = ["siteplanner validate x.toml", "error: x.toml: invalid scenario", "  - area: give one"]
    assert runner.error_message(lines, 1) == "x.toml: invalid scenario; area: give one"
    assert runner.error_message(["boom"], 2) == "siteplanner stopped with exit code 2: boom"
    wrote = ["step review done", "wrote b.review.csv: 24 proposed site(s); fill in decision"]
    assert runner.written_review(wrote, "/s") == "/s/b.review.csv"
    assert runner.written_review(["nothing"], "/s") is None
    monkeypatch.setenv("SITEPLANNER_COMMAND", "/v/bin/python -m siteplanner.cli")
    assert runner.command() == ["/v/bin/python", "-m", "siteplanner.cli"]
    monkeypatch.delenv("SITEPLANNER_COMMAND")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(runner.CommandNotFound, match="SITEPLANNER_COMMAND"):
        runner.command()


def test_provider_runs_the_command_line(monkeypatch, tmp_path):
    runner = _runner()
    monkeypatch.setenv("SITEPLANNER_COMMAND", f"{sys.executable} -m siteplanner.cli")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    seen = []
    out = runner.run(["validate", str(tmp_path / "missing.toml")], on_line=seen.append)
    assert out.returncode == 1 and not out.ok and seen == out.lines
    msg = runner.error_message(out.lines, out.returncode)
    assert "missing.toml" in msg and "\n" not in msg


# ---------------------------------------------------------------------------------------------
# with QGIS
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def probe(default_run, tmp_path_factory):
    """What QGIS sees of the default run (``tests/qgis_probe.py``), and the layout's PNG."""
    _need_qgis()
    _, out, _ = default_run
    tmp = tmp_path_factory.mktemp("qgis")
    png = tmp / "layout.png"
    done = subprocess.run(
        [QGIS_PYTHON, str(ROOT / "tests" / "qgis_probe.py"), str(out), str(png)],
        env=_qgis_env(tmp),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), png


def test_qgis_opens_every_layer_with_the_outputs_counts(default_run, probe):
    res, out, _ = default_run
    report, _ = probe
    assert report["read"] and report["crs"] == res.town.crs
    layers = {layer["id"]: layer for layer in report["layers"]}
    assert [layer["id"] for layer in report["layers"]] == report["tree"]
    for layer in report["layers"]:
        assert layer["valid"] and layer["crs"] == res.town.crs, layer["name"]
    n = {lid.removeprefix("siteplanner_"): layer.get("features") for lid, layer in layers.items()}
    sites = out / "sites.geojson"
    assert n["proposed_sites"] == _count(sites, status="proposed") > 0
    assert n["existing_cameras"] == _count(sites, status="existing")  # 0 on Beausoleil
    assert layers[qgis.layer_id("existing_cameras")]["geometry"] == "Point"  # not a table
    assert n["viewsheds"] == _count(out / "viewsheds.geojson") > 0
    assert n["patrols"] == _count(out / "patrols.geojson", feature="circuit") == len(res.circuits)
    assert n["patrol_stops"] == _count(out / "patrols.geojson", feature="stop") > 0
    pref = pd.read_csv(out / "prefecture.csv", keep_default_na=False)
    assert n["privacy_masks"] == int((pref["privacy_mask"] == "oui").sum()) > 0
    assert n["study_area"] == 1
    for name in ("hotspot_segments", "sensitive_sites"):  # in no other output: read by GDAL
        gdal_rows = pyogrio.read_dataframe(out / "plan.gpkg", layer=name, read_geometry=False)
        assert n[name] == len(gdal_rows) > 0, name
    hot = layers[qgis.layer_id("hotspots")]
    assert (hot["height"], hot["width"]) == res.grid.values.shape


def test_qgis_applies_the_default_styles(default_run, probe):
    _, out, _ = default_run
    report, _ = probe
    styles = _layer_styles(out / "plan.gpkg")
    alone = report["alone"]
    for layer in report["layers"]:
        name = layer["id"].removeprefix("siteplanner_")
        if name == "hotspots":
            continue
        style = _qml_root(styles[name])
        renderer = style.find("renderer-v2")
        colour = next(
            o.get("value")
            for o in renderer.iter("Option")
            if o.get("name") in ("color", "line_color")
        )
        r, g, b, a = (int(v) for v in colour.split(","))
        argb = f"#{a:02x}{r:02x}{g:02x}{b:02x}"
        for seen in (layer, alone[name]):  # in the project, and the layer added on its own
            assert seen["renderer"] == renderer.get("type"), name
            assert seen["colours"][0] == argb, name
            assert seen["labels"] == (style.find("labeling") is not None), name
    qml = _qml_root((out / "hotspots.qml").read_text(encoding="utf-8"))
    items = qml.findall(".//colorrampshader/item")
    for seen in (next(x for x in report["layers"] if x["type"] == "raster"), alone["hotspots.tif"]):
        assert seen["renderer"] == "singlebandpseudocolor"
        assert seen["blend"] == 13  # QPainter::CompositionMode_Multiply
        assert seen["opacity"] == pytest.approx(0.7)
        assert [c for _, c, _ in seen["ramp"]] == [
            f"#{int(i.get('alpha')):02x}{i.get('color')[1:]}" for i in items
        ]
        assert [lab for _, _, lab in seen["ramp"]] == [i.get("label") for i in items]
    assert report["gpkg_warnings"] == []  # GDAL (QGIS's) reads plan.gpkg without a warning


def test_qgis_renders_the_layout(probe):
    report, png = probe
    lay = report["layout"]
    assert lay["found"] and lay["maps"] == 1 and lay["legends"] == 1 and lay["pages"] == 1
    assert lay["scalebars"] == [0]  # QgsUnitTypes.DistanceMeters
    assert any("OpenStreetMap" in t for t in lay["labels"])
    assert "Hotspot segments (incidents per 100 m of street)" not in lay["legend_layers"]
    assert lay["export"] == 0  # QgsLayoutExporter.Success
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[1] > img.shape[0] > 600  # A4 landscape
    inked = (img < 235).any(axis=2).mean()
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    assert inked > 0.2 and colours > 50, (inked, colours)
    # the map frame shows the hotspot classes' colours (not a blank or black rectangle)
    frame = img[
        int(0.2 * img.shape[0]) : int(0.8 * img.shape[0]),
        int(0.1 * img.shape[1]) : int(0.6 * img.shape[1]),
    ]
    assert (frame.mean(axis=2) < 40).mean() < 0.05
    warm = (frame[..., 0].astype(int) - frame[..., 2].astype(int)) > 60
    assert warm.mean() > 0.2


def test_gpkg_passes_gdal_validate_gpkg(default_run, tmp_path):
    script = next((p for p in VALIDATE_GPKG if p.is_file()), None)
    if script is None:
        pytest.skip("GDAL's validate_gpkg.py not found: apt-get install python3-gdal")
    _, out, _ = default_run
    python = QGIS_PYTHON if Path(QGIS_PYTHON).is_file() else sys.executable  # with osgeo
    done = subprocess.run(
        [python, str(script), "-k", "--extra", "--warning-as-error", str(out / "plan.gpkg")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------
# the Processing provider under qgis_process
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def qgis_process(tmp_path_factory):
    """``qgis_process.bin`` with the provider's plugin enabled from ``qgis_plugin/``."""
    _need_qgis()
    if not Path(QGIS_PROCESS).is_file():
        pytest.skip(f"no {QGIS_PROCESS}: apt-get install qgis (.ci/run installs it)")
    tmp = tmp_path_factory.mktemp("qgis_process")
    env = _qgis_env(tmp)

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [QGIS_PROCESS, *args], env=env, capture_output=True, text=True, timeout=timeout
        )

    enabled = run("plugins", "enable", "siteplanner_provider")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    return run


def test_provider_plan_under_qgis_process(qgis_process, tmp_path):
    scenario = copy_scenario(SCENARIO, tmp_path / "scenario")
    done = qgis_process(
        "run",
        "siteplanner:plan",
        "--",
        f"SCENARIO={scenario}",
        f"OUTPUT={tmp_path / 'out'}",
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "step coverage done" in done.stdout  # its log
    # its progress: qgis_process prints 0...10...20 ahead of the log lines as it rises
    bar = "".join(re.match(r"[\d.]*", line).group(0) for line in done.stdout.splitlines())
    assert bar.startswith("0...10...20...30...40...50") and bar.endswith("90...100"), bar
    results = dict(re.findall(r"^(\w+):\t(.+)$", done.stdout.split("Results")[-1], re.M))
    assert results["PROJECT"] == str(tmp_path / "out" / "plan.qgz")
    assert Path(results["PROJECT"]).is_file() and Path(results["GEOPACKAGE"]).is_file()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["study_area"] == "Beausoleil"


def test_provider_validate_gives_the_one_line_error(qgis_process, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[area]\nosm = "nope.osm.pbf"\n', encoding="utf-8")
    done = qgis_process("run", "siteplanner:validate", "--", f"SCENARIO={bad}")
    assert done.returncode == 1
    errors = [x for x in done.stderr.splitlines() if x.startswith("ERROR:")]
    assert errors and "bad.toml: invalid scenario; area:" in errors[-1]
    assert "Traceback" not in done.stdout + done.stderr


def test_provider_validate_and_review_init(qgis_process, tmp_path):
    from siteplanner.scenario import load_scenario

    scenario = copy_scenario(SCENARIO, tmp_path / "scenario")
    done = qgis_process("--json", "run", "siteplanner:validate", "--", f"SCENARIO={scenario}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["results"]["MESSAGE"].startswith("ok: beausoleil.toml")
    # a review file is never overwritten: the algorithm stops with siteplanner's message
    review = load_scenario(scenario).review_path
    review.write_text("site_id,decision\n", encoding="utf-8")
    done = qgis_process("run", "siteplanner:review_init", "--", f"SCENARIO={scenario}")
    assert done.returncode == 1
    errors = [x for x in done.stderr.splitlines() if x.startswith("ERROR:")]
    assert errors and "already exists" in errors[-1] and "--force" in errors[-1]
    assert review.read_text(encoding="utf-8") == "site_id,decision\n"
