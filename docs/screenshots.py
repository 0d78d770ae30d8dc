"""The README's pictures: map.png and screenshots of report.html and map.html, from a run's folder.

Debian's Chromium is driven headless by Playwright, as ``tests/test_browser.py`` does (its
``executable_path``: never ``playwright install``); nothing is fetched from the network (the
pages are offline files). ``docs/review_page.py`` makes the picture of the review page.

Run: ``python docs/screenshots.py OUTPUT_DIR [--prefix cap-d-ail_]`` after
``siteplanner run``; writes ``docs/<prefix>map.png``, ``docs/<prefix>report.png`` (the top of
the report), ``docs/<prefix>report_sheet.png`` (the first site sheet),
``docs/<prefix>report_patrols.png`` and ``docs/<prefix>map_html.png``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARGS += ["--disable-component-update", "--no-first-run", "--disable-sync"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="a run's output folder (map.png, report.html, map.html)")
    ap.add_argument("--prefix", default="", help="prefix of the pictures' names in docs/")
    args = ap.parse_args()
    if CHROMIUM is None:
        raise SystemExit("no chromium binary (apt-get install chromium)")
    docs = ROOT / "docs"
    shutil.copyfile(args.out / "map.png", docs / f"{args.prefix}map.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((args.out / "report.html").resolve().as_uri())
        h = page.evaluate("document.documentElement.scrollHeight")
        clip = {"x": 0, "y": 0, "width": 1280, "height": min(h, 1800)}
        page.screenshot(path=docs / f"{args.prefix}report.png", full_page=True, clip=clip)
        for anchor, name in (("section.sheet", "report_sheet"), ("#patrols", "report_patrols")):
            page.evaluate(f"document.querySelector('{anchor}').scrollIntoView()")
            page.screenshot(path=docs / f"{args.prefix}{name}.png")
        page.goto((args.out / "map.html").resolve().as_uri())
        page.screenshot(path=docs / f"{args.prefix}map_html.png")
        browser.close()
    print(
        "wrote",
        ", ".join(str(p.relative_to(ROOT)) for p in sorted(docs.glob(f"{args.prefix}*.png"))),
    )


if __name__ == "__main__":
    main()
