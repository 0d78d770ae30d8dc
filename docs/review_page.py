"""The screenshot of the référent sûreté's review page, ``docs/review_page.png``.

Plans the default scenario (``scenarios/beausoleil.toml``, without its review file), writes
its ``map.html``, and does in headless Chromium (Playwright on Debian's ``chromium``) what a
référent does: accepts the first proposed site, rejects the second, drags the third onto the
street 10 m away and the fourth into a building (the page warns), comments and signs; then
zooms on them, switches the patrols off and takes the picture. Nothing is downloaded.

    python docs/review_page.py [--out docs/review_page.png]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package

from siteplanner import pipeline  # noqa: E402
from siteplanner.outputs import webmap  # noqa: E402
from siteplanner.scenario import load_scenario  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARGS += ["--disable-component-update", "--no-first-run", "--disable-sync"]


def _street_point(res, site_id: str, along_m: float = 10.0):
    """A point ``along_m`` along a street leaving the site, clear of buildings, in the commune."""
    s = res.sites.set_index("site_id")
    g, node = res.town.graph, int(s.at[site_id, "node"])
    for _, _, d in sorted(g.edges(node, data=True), key=lambda e: (e[1], str(e[2].get("name")))):
        line = d["geometry"]
        if line.length < 2 * along_m or d.get("tunnel"):
            continue
        q = line.interpolate(along_m)
        b = res.town.buildings
        if not len(b.sindex.query(q.buffer(1.0), predicate="intersects")):
            if res.town.area.contains(q):
                return q
    raise SystemExit(f"no street point clear of buildings near {site_id}")


def _building_point(res, site_id: str):
    p = res.sites.set_index("site_id").geometry[site_id]
    b = res.town.buildings
    return b.geometry.iloc[int(b.distance(p).to_numpy().argmin())].representative_point()


def _drag(page, res, site_id: str, q) -> None:
    """Drag a site's marker to the projected point ``q`` with the mouse, zoomed in on it."""
    page.evaluate("id => window.review.locate(window.review.sites.find(s => s.id === id))", site_id)
    x0, y1 = page.evaluate("window.review.frame")
    to_screen = (
        "([u, v]) => { const p = new DOMPoint(u, v).matrixTransform("
        "document.getElementById('map').getScreenCTM()); return [p.x, p.y]; }"
    )
    pos = page.evaluate("id => window.review.sites.find(s => s.id === id).pos", site_id)
    sx, sy = page.evaluate(to_screen, pos)
    tx, ty = page.evaluate(to_screen, [q.x - x0, y1 - q.y])
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(tx, ty, steps=8)
    page.mouse.up()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "review_page.png")
    args = ap.parse_args()
    os.chdir(ROOT)  # the page names the scenario and its review file as given: relative
    sc = load_scenario("scenarios/beausoleil.toml")
    if sc.review_path.exists():
        raise SystemExit(f"{sc.review_path}: move it away first (the picture starts from none)")
    with tempfile.TemporaryDirectory() as tmp:
        res = pipeline.plan(sc)
        webmap.write_map(res, tmp)
        acc, rej, mov, bad = res.proposed.sort_values("rank")["site_id"].tolist()[:4]
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
            page.goto((Path(tmp) / "map.html").as_uri())
            item = '.rv-site[data-site="{}"]'.format
            page.click(f'{item(acc)} button[data-d="accept"]')
            page.fill(f"{item(acc)} .rv-comment", "bon emplacement, vue sur le carrefour")
            page.click(f'{item(rej)} button[data-d="reject"]')
            page.fill(f"{item(rej)} .rv-comment", "vue sur les entrées de l'immeuble")
            _drag(page, res, mov, _street_point(res, mov))
            page.fill(f"{item(mov)} .rv-comment", "mât sur le trottoir d'en face")
            _drag(page, res, bad, _building_point(res, bad))
            page.fill("#rv-reviewer", "Lt Dupont, commissariat de Beausoleil")
            page.fill("#rv-date", "2026-11-30")
            page.click("#rv-download")  # refused: the page says why, and offers to fix it
            # the patrols' numbered stops off (Layers), not to be read as the sites' ranks
            page.evaluate("document.getElementById('l-patrols').style.display = 'none'")
            page.evaluate("document.querySelector('[data-layer=\"l-patrols\"]').checked = false")
            # the map on the four sites, the popup closed, the list scrolled to them
            pts = gpd.GeoSeries(list(res.sites.set_index("site_id").geometry[[acc, rej, mov, bad]]))
            x0, y1 = page.evaluate("window.review.frame")
            xmin, ymin, xmax, ymax = pts.total_bounds
            pad = 60.0
            page.evaluate(
                "vb => { window.review.view(vb);"
                " document.getElementById('popup').style.display = 'none'; }",
                [xmin - x0 - pad, y1 - ymax - pad, xmax - xmin + 2 * pad, ymax - ymin + 2 * pad],
            )
            page.screenshot(path=str(args.out))
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
