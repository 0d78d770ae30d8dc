"""report.html and map.html in headless Chromium, and the référent sûreté's review in map.html.

Driven by Playwright on Debian's ``chromium`` (``executable_path``: nothing is downloaded,
never ``playwright install``). Skipped when Playwright or Chromium is missing (``.ci/run``
installs both: ``pip install -e ".[test]"`` and ``apt-get install chromium``).

The review test does what a référent sûreté does in the page: accepts a site, rejects one,
drags one into a building (the page warns, and will not download), then drags it onto a
street, comments, signs, downloads ``review.csv``; the next plan reads that file and every
decision takes effect.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from tests.conftest import SCENARIO, copy_scenario, point_in_building, point_on_street

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="pip install playwright (the test extras); .ci/run does"
)

CHROMIUM = next(
    (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (apt-get install chromium); .ci/run installs it"
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


class Page:
    """A Playwright page that records console errors, exceptions and network requests."""

    def __init__(self, browser, *, width: int = 1280, height: int = 900) -> None:
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text[:300]) if m.type in ("error", "assert") else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)[:300]))
        self.page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(("file:", "data:", "blob:"))
                else self.requests.append(r.url)
            ),
        )

    def open(self, path: Path) -> None:
        self.errors.clear()
        self.requests.clear()
        self.page.goto(path.resolve().as_uri(), wait_until="load")

    def eval(self, expr: str, arg=None):
        return self.page.evaluate(expr, arg)

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    pg = Page(browser)
    yield pg
    pg.close()


def test_report_in_chromium(default_run, page, tmp_path):
    res, out, _ = default_run
    page.open(out / "report.html")
    assert page.errors == []
    assert page.requests == []
    sheets = page.eval(
        "Array.from(document.querySelectorAll('section.sheet')).map(s => s.dataset.siteId)"
    )
    prop = res.sites.loc[res.sites["status"] == "proposed", "site_id"].tolist()
    assert sorted(sheets) == sorted(prop)
    # every image decoded (inline PNGs)
    assert page.eval("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert page.eval("document.images.length") >= 4
    # one vector close-up per sheet, drawn
    assert page.eval(
        "Array.from(document.querySelectorAll('section.sheet svg.closeup')).filter(s => "
        "s.getBoundingClientRect().width > 100).length"
    ) == len(prop)
    shot = tmp_path / "report.png"
    h = page.eval("document.documentElement.scrollHeight")
    page.page.screenshot(
        path=shot, full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": min(h, 1800)}
    )
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000


def test_map_in_chromium(default_run, page, tmp_path):
    res, out, _ = default_run
    page.open(out / "map.html")
    assert page.errors == []
    assert page.requests == []
    top = res.sites.loc[res.sites["status"] == "proposed"].sort_values("rank")["site_id"].iloc[0]
    # a click on the site shows its sheet's figures
    page.page.dispatch_event(f"#site-{top}", "click")
    text = page.page.inner_text("#popup")
    assert f"Site {top}" in text and "marginal gain" in text and "privacy (L251-3)" in text
    assert page.page.is_visible("#popup")
    # layer switches work
    page.page.click("#layers summary")
    page.page.click('input[data-layer="l-buildings"]')
    assert page.eval("document.getElementById('l-buildings').style.display") == "none"
    assert page.errors == [] and page.requests == []
    shot = tmp_path / "map.png"
    page.page.screenshot(path=shot)
    assert shot.read_bytes().startswith(b"\x89PNG")


# ------------------------------------------------------------------------------ the review


def _map_units(res, page: Page, lon: float, lat: float) -> tuple[float, float]:
    """A WGS84 point in the page's map units (metres from the frame's top left corner)."""
    q = gpd.GeoSeries.from_xy([lon], [lat], crs="EPSG:4326").to_crs(res.town.crs).iloc[0]
    x0, y1 = page.eval("window.review.frame")
    return q.x - x0, y1 - q.y


def _screen(page: Page, u: float, v: float) -> tuple[float, float]:
    return tuple(
        page.eval(
            "([u, v]) => { const p = new DOMPoint(u, v).matrixTransform("
            "document.getElementById('map').getScreenCTM()); return [p.x, p.y]; }",
            [u, v],
        )
    )


def _drag(res, page: Page, site_id: str, lon: float, lat: float) -> None:
    """Zoom to a proposed site and drag its marker to (lon, lat) with the mouse."""
    page.eval("id => window.review.locate(window.review.sites.find(s => s.id === id))", site_id)
    sx, sy = _screen(
        page, *page.eval("id => window.review.sites.find(s => s.id === id).pos", site_id)
    )
    # the marker is what the mouse takes hold of
    assert (
        page.eval("([x, y]) => document.elementFromPoint(x, y).closest('.site').id", [sx, sy])
        == f"site-{site_id}"
    )
    tx, ty = _screen(page, *_map_units(res, page, lon, lat))
    page.page.mouse.move(sx, sy)
    page.page.mouse.down()
    page.page.mouse.move(tx, ty, steps=8)
    page.page.mouse.up()


def _run_check(res, q) -> list[str]:
    """What the next run says of a moved point ``q`` (projected): placement.check_position."""
    from siteplanner.town import placement

    town, edges = res.town, res.streets
    return placement.check_position(
        (q.x, q.y),
        area=town.area,
        buildings=town.buildings,
        edges=edges,
        below=placement.underground_streets(edges),
        area_name=town.name,
    )


def _item(site_id: str) -> str:
    return f'.rv-site[data-site="{site_id}"]'


def test_page_checks_a_moved_point_as_the_run_does(default_run, page):
    """The page's verdict on a point is the run's (placement.check_position), word for word."""
    from siteplanner.outputs.webmap import MOVE_RULES
    from siteplanner.town import placement

    res, out, _ = default_run
    page.open(out / "map.html")
    assert MOVE_RULES["on_way_m"] == placement.ON_WAY_M
    assert MOVE_RULES["surface_m"] == placement.SURFACE_M
    town, edges = res.town, res.streets
    below = placement.underground_streets(edges)
    s = res.proposed.sort_values("rank")["site_id"].tolist()
    pts = list(res.sites.set_index("site_id").geometry[s[:4]])
    lls = [point_in_building(res, i) for i in s[:4]] + [point_on_street(res, i) for i in s[:4]]
    pts += list(gpd.GeoSeries.from_xy(*zip(*lls), crs=4326).to_crs(town.crs))
    # the middle of every underground or indoor way (underground only, in a building, outside)
    pts += [edges.geometry.iloc[j].interpolate(0.5, normalized=True) for j in np.flatnonzero(below)]
    x0, y1 = page.eval("window.review.frame")
    pts.append(gpd.points_from_xy([x0 + 3], [y1 - 3])[0])  # a corner of the map: outside
    expected = [
        placement.check_position(
            (p.x, p.y),
            area=town.area,
            buildings=town.buildings,
            edges=edges,
            below=below,
            area_name=town.name,
        )
        for p in pts
    ]
    got = page.eval(
        "pts => pts.map(([u, v]) => window.review.check(u, v).refused)",
        [[p.x - x0, y1 - p.y] for p in pts],
    )
    assert got == expected
    # the distance to the nearest surface street (the page warns past MOVE_RULES["off_street_m"])
    got_m = page.eval(
        "pts => pts.map(([u, v]) => window.review.check(u, v).street_m)",
        [[p.x - x0, y1 - p.y] for p in pts],
    )
    surface = edges.geometry[~below]
    want_m = [float(surface.distance(p).min()) for p in pts]
    assert np.abs(np.array(got_m) - want_m).max() < 0.2  # the page's lines are drawn to 0.1 m
    assert max(want_m) > MOVE_RULES["off_street_m"]  # the corner of the map is off the street
    kinds = " ".join(r for e in expected for r in e)
    assert "inside a building" in kinds and "underground" in kinds and "outside" in kinds
    # the page's longitude and latitude of every proposed site are its WGS84 position
    ll = res.proposed.to_crs(4326)
    got = page.eval(
        "ids => ids.map(id => { const s = window.review.sites.find(t => t.id === id);"
        " return window.review.toLonLat(s.x, s.y); })",
        ll["site_id"].tolist(),
    )
    # markers are drawn to 0.1 m: 1e-6 degrees is 0.1 m
    assert np.abs(np.array(got) - np.column_stack([ll.geometry.x, ll.geometry.y])).max() < 1.5e-6
    assert page.errors == [] and page.requests == []


def test_review_in_the_page_then_the_next_plan(default_run, town, page, tmp_path):
    from siteplanner import pipeline, review
    from siteplanner.outputs import webmap
    from siteplanner.scenario import load_scenario

    res0, out0, _ = default_run
    sc = load_scenario(copy_scenario(SCENARIO, tmp_path / "scenario"))
    acc, rej, mov, bad = res0.proposed.sort_values("rank")["site_id"].tolist()[:4]
    page.open(out0 / "map.html")
    p = page.page

    # a site dragged into a building: the page says so, in the run's words
    lon_b, lat_b = point_in_building(res0, bad)
    _drag(res0, page, bad, lon_b, lat_b)
    warning = p.inner_text(f"{_item(bad)} .rv-move")
    assert "inside a building (way/" in warning and "the next run refuses it" in warning
    assert p.get_attribute(_item(bad), "data-refused") == "1"
    # ... and will not download a file the next run refuses
    p.fill("#rv-reviewer", "Lt Dupont, commissariat de Beausoleil")
    p.click("#rv-download")
    assert "The next run will refuse this file" in p.inner_text("#rv-warn")
    assert f"site {bad}" in p.inner_text("#rv-warn")
    assert p.is_visible("#rv-anyway")
    assert page.eval("document.body.dataset.downloads || '0'") == "0"
    # "Put it on the street": the point goes onto the nearest surface street's line, and the
    # page's verdict there is the run's
    p.click(f"{_item(bad)} .rv-snap")
    lon_s, lat_s = map(
        float,
        page.eval(
            "id => { const s = window.review.sites.find(t => t.id === id); "
            "return [s.lon, s.lat]; }",
            bad,
        ),
    )
    q = gpd.GeoSeries.from_xy([lon_s], [lat_s], crs=4326).to_crs(res0.town.crs).iloc[0]
    surface = res0.streets.geometry[~res0.streets["underground"].to_numpy(bool)]
    assert surface.distance(q).min() < 0.1
    assert p.get_attribute(_item(bad), "data-refused") == ("1" if _run_check(res0, q) else "")
    p.click(f"{_item(bad)} .rv-undo")
    assert p.get_attribute(_item(bad), "data-decision") == "pending"

    # accept one, reject one, move one onto a street; comments; the reviewer and the date
    p.click(f'{_item(acc)} button[data-d="accept"]')
    p.click(f'{_item(rej)} button[data-d="reject"]')
    lon_m, lat_m = point_on_street(res0, mov)
    _drag(res0, page, mov, lon_m, lat_m)
    assert "✓ On the street" in p.inner_text(f"{_item(mov)} .rv-move")
    comments = {
        acc: "bon emplacement",
        rej: 'vue sur des entrées, "hall B"',
        mov: "de l'autre côté; mât sur le trottoir",
    }
    for sid, text in comments.items():
        p.fill(f"{_item(sid)} .rv-comment", text)
    p.fill("#rv-date", "2026-11-30")
    assert p.inner_text("#rv-count").startswith("1 accepted, 1 rejected, 1 moved, ")
    with p.expect_download() as dl:
        p.click("#rv-download")
    assert dl.value.suggested_filename == sc.review_path.name
    dl.value.save_as(sc.review_path)
    assert page.errors == [] and page.requests == []

    # exactly the file the next run reads: review_text's format, UTF-8 without BOM, \n
    data = sc.review_path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    rv = review.read_review(sc.review_path)
    assert data.decode("utf-8") == review.review_text(rv.rows)
    assert [r.site_id for r in rv.rows] == review.proposed_site_ids(res0)
    rows = {r.site_id: r for r in rv.rows}
    for sid, decision in ((acc, "accept"), (rej, "reject"), (mov, "move")):
        r = rows[sid]
        assert (r.decision, r.comment) == (decision, comments[sid])
        assert (r.reviewer, r.date) == ("Lt Dupont, commissariat de Beausoleil", "2026-11-30")
    assert all(
        (r.decision, r.comment, r.reviewer, r.date) == ("pending", "", "", "")
        for sid, r in rows.items()
        if sid not in comments
    )
    moved = gpd.GeoSeries.from_xy(
        [rows[mov].moved_lon, lon_m], [rows[mov].moved_lat, lat_m], crs=4326
    ).to_crs(res0.town.crs)
    assert moved.iloc[0].distance(moved.iloc[1]) < 0.5  # where the mouse put it

    # the next plan: every decision took effect
    res1 = pipeline.plan(sc, town=town)
    s1 = res1.sites.set_index("site_id")
    prop = set(res1.proposed["site_id"])
    assert rej not in prop and mov not in prop
    near = res1.proposed.distance(res0.sites.set_index("site_id").geometry[rej])
    assert near.min() > res1.decisions.radius_m  # nothing took the rejected place back
    i_acc = int(np.flatnonzero(res1.sites["site_id"] == acc)[0])
    assert acc in prop and i_acc in set(res1.decisions.fixed)
    assert s1.at[acc, "status"] == "proposed" and np.isnan(s1.at[acc, "marginal_gain"])
    assert f"{mov}-M" in prop
    assert s1.geometry[f"{mov}-M"].distance(moved.iloc[0]) < 0.01
    i_mov = int(np.flatnonzero(res1.sites["site_id"] == f"{mov}-M")[0])
    i_old = int(np.flatnonzero(res0.sites["site_id"] == mov)[0])
    fov_new, fov_old = res1.fov.polygons[i_mov], res0.fov.polygons[i_old]
    assert not fov_new.is_empty and fov_new.symmetric_difference(fov_old).area > 1.0
    assert res1.decisions.counts["review_decisions"] == {
        "accept": 1,
        "reject": 1,
        "move": 1,
        "pending": len(rows) - 3,
    }
    per = res1.decisions.per_site.set_index(res1.sites["site_id"])
    assert per.at[f"{mov}-M", "comment"] == comments[mov]

    # the next run's page starts from that file: the decided rows kept, the moved site decided
    # by its original's row, and a download without a change gives the same rows
    webmap.write_map(res1, tmp_path / "out1")
    page.open(tmp_path / "out1" / "map.html")
    assert p.get_attribute(_item(acc), "data-decision") == "accept"
    assert p.get_attribute(_item(f"{mov}-M"), "data-decision") == "move"
    assert p.input_value(f"{_item(f'{mov}-M')} .rv-comment") == comments[mov]
    assert p.query_selector(_item(rej)) is None  # no longer proposed: its row is kept as is
    with p.expect_download() as dl:
        p.click("#rv-download")
    again = tmp_path / "again.csv"
    dl.value.save_as(again)
    lines = again.read_text(encoding="utf-8").splitlines()
    decided = [x for x in data.decode("utf-8").splitlines() if ",pending," not in x]
    assert sorted(x for x in lines if ",pending," not in x) == sorted(decided)
    assert lines[-1].startswith(f"{rej},reject,")  # after the proposed sites' rows
    assert page.errors == [] and page.requests == []
