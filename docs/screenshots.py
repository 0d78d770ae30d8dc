"""The README's pictures: map.png and screenshots of report.html and map.html, from a run's folder.

Chromium is driven headless over the DevTools pipe, as ``tests/test_browser.py`` does (same
``Browser`` class); nothing is fetched from the network (the pages are offline files).

Run: ``PYTHONPATH=$PWD python docs/screenshots.py OUTPUT_DIR [--prefix cap-d-ail_]`` after
``siteplanner run``; writes ``docs/<prefix>map.png``, ``docs/<prefix>report.png`` (the top of
the report), ``docs/<prefix>report_sheet.png`` (the first site sheet),
``docs/<prefix>report_patrols.png`` and ``docs/<prefix>map_html.png``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_browser import CHROMIUM, Browser


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="a run's output folder (map.png, report.html, map.html)")
    ap.add_argument("--prefix", default="", help="prefix of the pictures' names in docs/")
    args = ap.parse_args()
    if CHROMIUM is None:
        raise SystemExit("no chromium binary (apt-get install chromium)")
    docs = ROOT / "docs"
    shutil.copyfile(args.out / "map.png", docs / f"{args.prefix}map.png")
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(Path(profile), width=1280, height=900)
        try:
            b.open(args.out / "report.html")
            b.screenshot(docs / f"{args.prefix}report.png", full_page=True)
            for anchor, name in (("section.sheet", "report_sheet"), ("#patrols", "report_patrols")):
                b.eval(f"document.querySelector('{anchor}').scrollIntoView()")
                b.eval("new Promise(r => setTimeout(r, 200))")
                b.screenshot(docs / f"{args.prefix}{name}.png")
            b.open(args.out / "map.html")
            b.screenshot(docs / f"{args.prefix}map_html.png")
        finally:
            b.close()
    print(
        "wrote",
        ", ".join(str(p.relative_to(ROOT)) for p in sorted(docs.glob(f"{args.prefix}*.png"))),
    )


if __name__ == "__main__":
    main()
