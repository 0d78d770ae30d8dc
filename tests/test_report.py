"""report.html (self-contained, one sheet per proposed site), report.pdf, dashboard, map.html."""

from __future__ import annotations

import html as _html
import json
import re

import pytest

from siteplanner.outputs import report, tables, webmap
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def html(default_run):
    _, out, _ = default_run
    return (out / "report.html").read_text(encoding="utf-8")


def test_report_has_a_sheet_per_proposed_site(default_run, html):
    res, _, _ = default_run
    prop = res.sites.loc[res.sites["status"] == "proposed", "site_id"].tolist()
    sheets = re.findall(r"<section class='sheet' id='site-([^']+)'", html)
    assert sorted(sheets) == sorted(prop)
    # in rank order
    ranks = res.sites.set_index("site_id").loc[sheets, "rank"].tolist()
    assert ranks == sorted(ranks)


def test_sheets_have_vector_closeups(default_run, html):
    res, _, _ = default_run
    sheets = re.findall(r"<section class='sheet' id='site-([^']+)'.*?</section>", html, flags=re.S)
    assert len(sheets) == int((res.sites["status"] == "proposed").sum())
    for block in re.findall(r"<section class='sheet'.*?</section>", html, flags=re.S):
        svg = re.search(r'<svg class="closeup".*?</svg>', block, flags=re.S)
        assert svg is not None
        svg = svg.group(0)
        assert 'fill="#d62728"' in svg  # the field of view
        assert (
            "O 46 m" in svg and "SYNTHETIC" in svg and ">N<" in svg
        )  # DORI ring, watermark, north
    assert len(set(re.findall(r'pattern id="([^"]+)"', html))) == len(
        re.findall(r'pattern id="', html)
    )


def test_report_is_self_contained(html):
    # nothing fetched: no external src/href, no @import, images inline
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "<link" not in html
    srcs = re.findall(r"""src=["']([^"']+)""", html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)


def test_report_content(default_run, html):
    res, _, _ = default_run
    assert res.synthetic and "SYNTHETIC" in html
    assert "© OpenStreetMap contributors" in html
    for section in ["summary", "maps", "review", "sites", "patrols", "dashboard", "sources"]:
        assert f"id='{section}'" in html
    for words in [
        "Indicateurs de contexte",
        "Indicateurs d'activité",
        "Indicateurs de résultats",
        "DORI ranges",
        "privacy (L251-3)",
        "funded share",
        "marginal gain",
        "review decision",
        "Itinerary",
    ]:
        assert words in html
    assert res.scenario.hotspots.window.name in html


def test_report_pdf_only_when_asked(default_run):
    res, out, _ = default_run
    assert res.scenario.output.pdf is False
    assert not (out / "report.pdf").exists()  # [output] pdf = false by default
    written = report.write_report(res, out / "with_pdf", pdf=True)
    assert [p.name for p in written] == ["report.html", "report.pdf"]
    pdf = (out / "with_pdf" / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    n_pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    n_sites = int((res.sites["status"] == "proposed").sum())
    # summary, overview, curve, coverage, sheets, patrol map, a page per circuit, dashboard, review
    assert n_pages == 4 + n_sites + 1 + len(res.circuits) + 2


def test_dashboard_aggregates(default_run):
    res, _, _ = default_run
    d = res.figures.dashboard
    cat = d["contexte_categories"]
    total = int(str(cat.loc["total", "total"]).replace(" ", ""))
    assert total == len(res.window_incidents)
    mc = res.scenario.hotspots.min_count_shared
    for v in cat.to_numpy().ravel():  # small counts are hidden
        s = str(v)
        assert s.startswith("<") or int(s.replace(" ", "")) == 0 or int(s.replace(" ", "")) >= mc
    act = dict(zip(d["activite"]["indicator"], d["activite"]["value"]))
    assert act["existing cameras"] == int(res.sites["existing"].sum())
    assert act["proposed sites (all phases)"] == int((res.sites["status"] == "proposed").sum())
    resu = dict(zip(d["resultats"]["indicator"], d["resultats"]["value"]))
    assert resu["demand weight covered, existing cameras"] == f"{res.coverage_before:.1%}"


def test_review_effects_without_review(default_run):
    res, _, _ = default_run
    if res.review is None:
        assert res.figures.review_effects.empty


def test_review_hint_works_from_where_the_run_started(monkeypatch):
    """The hint names the scenario as the run was given it: from the repository's root,
    `siteplanner review init scenarios/beausoleil.toml` (`beausoleil.toml` fails there)."""
    from siteplanner.scenario import load_scenario

    monkeypatch.chdir(ROOT)
    hint = report.review_hint(load_scenario("scenarios/beausoleil.toml"))
    assert "`siteplanner review init scenarios/beausoleil.toml`" in hint
    assert "(scenarios/beausoleil.review.csv)" in hint and "map.html" in hint
    assert (ROOT / re.search(r"review init (\S+)`", hint)[1]).is_file()


def test_map_html_offline_with_every_site(default_run):
    res, out, _ = default_run
    doc = (out / "map.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", doc)
    assert "<script src" not in doc and "<link" not in doc
    shown = res.sites.loc[res.sites["status"].isin(["existing", "proposed"]), "site_id"]
    for sid in shown:
        assert f'id="site-{sid}"' in doc
    pop = webmap.site_popups(res)
    assert set(pop) == set(shown)
    assert all("privacy (L251-3)" in v for v in pop.values())
    for layer in [
        "l-buildings",
        "l-streets",
        "l-hotspots",
        "l-fov",
        "l-masks",
        "l-patrols",
        "l-cameras",
    ]:
        assert f'id="{layer}"' in doc
    assert "© OpenStreetMap contributors" in doc and "SYNTHETIC" in doc
    for pp in res.phase_plans:  # the panel says which phases are shown, each with its coverage
        assert f"{pp.phase.name}: " in doc and f"coverage {pp.coverage_share:.1%}" in doc


def test_patrol_stops_named_everywhere(default_run, html):
    import gpxpy

    res, out, _ = default_run
    stops = [st for c in res.circuits for st in c.stops]
    assert stops and all(st.name for st in stops)
    assert sum(st.name != "unnamed street" for st in stops) >= 0.8 * len(stops)
    for c in res.circuits:
        slug = tables.slug(c.name)
        gpx = gpxpy.parse((out / f"patrol_{slug}.gpx").read_text(encoding="utf-8"))
        assert [w.name for w in gpx.waypoints] == [f"{st.order}. {st.name}" for st in c.stops]
        itin = (out / f"patrol_{slug}_itinerary.txt").read_text(encoding="utf-8")
        for st in c.stops:
            assert f"STOP {st.order}: {st.name}" in itin
            assert _html.escape(st.name) in html
    geo = json.loads((out / "patrols.geojson").read_text(encoding="utf-8"))
    names = [
        f["properties"]["name"] for f in geo["features"] if f["properties"]["feature"] == "stop"
    ]
    assert names == [st.name for st in stops]


def test_report_says_when_variants_are_missing(default_run, html):
    res, _, _ = default_run
    for shift, v in res.counts["patrol_variants"].items():
        found = [c for c in res.circuits if c.name.startswith(f"{shift} variante")]
        assert len(found) == v["found"]
        base = next(c for c in res.circuits if c.name == shift)
        for c in found:  # a variant is a different circuit, never the base run backwards
            assert 2 * len(set(c.stop_nodes) - set(base.stop_nodes)) >= len(c.stop_nodes)
        if v["found"] < v["asked"]:
            assert f"Shift {shift}: {v['asked']} variant(s) asked, {v['found']} found" in html
