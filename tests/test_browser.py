"""report.html and map.html in headless Chromium: no console error, no network request, every sheet.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe`` (file
descriptors 3 and 4, NUL-separated JSON): no extra Python package. The test is skipped
when no Chromium binary exists (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM = next(
    (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (apt-get install chromium); .ci/run installs it"
)


class Browser:
    """A headless Chromium page driven over the DevTools pipe."""

    def __init__(self, profile: Path, *, width: int = 1280, height: int = 900) -> None:
        r_to_chrome, w_to_chrome = os.pipe()
        r_from_chrome, w_from_chrome = os.pipe()
        os.set_inheritable(r_to_chrome, True)
        os.set_inheritable(w_from_chrome, True)

        def fds() -> None:  # chromium reads commands on fd 3 and writes replies on fd 4
            os.dup2(r_to_chrome, 3)
            os.dup2(w_from_chrome, 4)

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=fds,
            close_fds=False,
        )
        os.close(r_to_chrome)
        os.close(w_from_chrome)
        self.w, self.r = w_to_chrome, r_from_chrome
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _read(self, timeout: float) -> dict | None:
        end = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                return None
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, *, session: bool = False, timeout: float = 60.0, **params) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = self._read(end - time.monotonic())
            if m is None:
                break
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)
        raise TimeoutError(method)

    def wait_event(self, method: str, timeout: float = 60.0) -> dict:
        for e in self.events:
            if e["method"] == method:
                return e
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = self._read(end - time.monotonic())
            if m is None:
                break
            if "method" in m:
                self.events.append(m)
                if m["method"] == method:
                    return m
        raise TimeoutError(method)

    def open(self, path: Path) -> None:
        self.events.clear()
        self.call("Page.navigate", session=True, url=path.resolve().as_uri())
        self.wait_event("Page.loadEventFired")
        self.eval("new Promise(r => setTimeout(r, 300))")  # let late errors and requests arrive

    def eval(self, expr: str):
        r = self.call(
            "Runtime.evaluate", session=True, expression=expr, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = False) -> None:
        params = {"format": "png"}
        if full_page:
            h = self.eval("document.documentElement.scrollHeight")
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": 1280,
                "height": min(int(h), 1800),
                "scale": 1,
            }
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", session=True, **params)["data"]
        path.write_bytes(base64.b64decode(data))

    def problems(self) -> tuple[list[str], list[str]]:
        """Console errors and exceptions; requests for anything but file: and data: URLs."""
        errors, requests = [], []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                errors.append(json.dumps(p.get("exceptionDetails", {}))[:300])
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(json.dumps(p.get("args", []))[:300])
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append(p["entry"].get("text", "")[:300])
            elif e["method"] == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if not url.startswith(("file:", "data:")):
                    requests.append(url)
        return errors, requests

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def test_report_in_chromium(default_run, browser, tmp_path):
    res, out, _ = default_run
    browser.open(out / "report.html")
    errors, requests = browser.problems()
    assert errors == []
    assert requests == []
    sheets = browser.eval(
        "Array.from(document.querySelectorAll('section.sheet')).map(s => s.dataset.siteId)"
    )
    prop = res.sites.loc[res.sites["status"] == "proposed", "site_id"].tolist()
    assert sorted(sheets) == sorted(prop)
    # every image decoded (inline PNGs)
    assert (
        browser.eval("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        is True
    )
    assert browser.eval("document.images.length") >= 4
    # one vector close-up per sheet, drawn
    assert browser.eval(
        "Array.from(document.querySelectorAll('section.sheet svg.closeup')).filter(s => "
        "s.getBoundingClientRect().width > 100).length"
    ) == len(prop)
    shot = tmp_path / "report.png"
    browser.screenshot(shot, full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000


def test_map_in_chromium(default_run, browser, tmp_path):
    res, out, _ = default_run
    browser.open(out / "map.html")
    errors, requests = browser.problems()
    assert errors == []
    assert requests == []
    top = res.sites.loc[res.sites["status"] == "proposed"].sort_values("rank")["site_id"].iloc[0]
    # a click on the site shows its sheet's figures
    browser.eval(
        f"document.getElementById('site-{top}').dispatchEvent(new MouseEvent('click', {{bubbles: "
        f"true}}))"
    )
    text = browser.eval("document.getElementById('popup').innerText")
    assert f"Site {top}" in text and "marginal gain" in text and "privacy (L251-3)" in text
    assert browser.eval("getComputedStyle(document.getElementById('popup')).display") == "block"
    # layer switches work
    browser.eval(
        "const cb=document.querySelector('input[data-layer=\"l-buildings\"]'); cb.click();"
    )
    assert browser.eval("document.getElementById('l-buildings').style.display") == "none"
    errors, requests = browser.problems()
    assert errors == [] and requests == []
    shot = tmp_path / "map.png"
    browser.screenshot(shot)
    assert shot.read_bytes().startswith(b"\x89PNG")
