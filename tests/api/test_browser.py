"""End to end in headless Chromium (Playwright driving Debian's ``chromium``).

The operator's side of the flow is the price publisher's (publishing prices is that role's,
not the operator's): log in, publish a reference price; then a member representative logs
in, files a declaration, sees the levy and every step, and fails to open another member's
page. Screenshots go to ``out/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from critmin.api.app import create_app

from .conftest import Registry

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian chromium (make browser)"
)
SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(registry: Registry) -> Iterator[tuple[str, Registry]]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(registry.engine), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", registry
    server.should_exit = True
    thread.join(timeout=10)


def test_publish_declare_see_levy_and_isolation(live: tuple[str, Registry]) -> None:
    from playwright.sync_api import sync_playwright

    base, reg = live
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # the operator: log in, publish the April reference price
        page.goto(base + "/")
        assert page.url.endswith("/login")
        page.fill("#token", reg.tokens["operator"])
        page.click("button[type=submit]")
        page.fill("#publish-form input[name=month]", "2026-04")
        page.fill("#publish-form input[name=price_usd_per_t]", "62000")
        page.click("#publish-form button[type=submit]")
        page.wait_for_selector("#prices td:has-text('62,000')")
        page.wait_for_selector("#prices-chart .main-svg")
        page.screenshot(path=str(SHOTS / "overview-operator.png"), full_page=True)
        page.click("text=Log out")
        # Japan's representative: file a declaration, see the levy and its steps
        page.fill("#token", reg.tokens["jpn_initiator"])
        page.click("button[type=submit]")
        page.click("nav >> text=Declarations")
        form = "#declare-form"
        page.fill(f"{form} input[name=quantity_t]", "10")
        page.fill(f"{form} input[name=customs_value_usd]", "500000")
        page.fill(f"{form} input[name=declared_on]", "2026-04-15")
        page.fill(f"{form} input[name=origin_iso3]", "CHN")
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("#steps")
        assert page.inner_text("#levy").strip() == "120,000.00 USD"
        steps = page.inner_text("#steps")
        for step in ("reference_price", "landed_price", "bound", "levy_rate", "origin"):
            assert step in steps
        assert "62,000.00 usd_per_t" in steps
        page.screenshot(path=str(SHOTS / "declaration-member.png"), full_page=True)
        # another member's page is not visible
        resp = page.goto(base + "/members/USA")
        assert resp is not None
        assert resp.status == 404
        # its own lot, origin chart and chain of events
        page.goto(base + "/lots/urn:epc:class:lgtin:0614141.magnet.JPN1")
        page.wait_for_selector("#origin-chart .main-svg")
        assert "MYS" in page.inner_text("#origin")
        page.screenshot(path=str(SHOTS / "lot-member.png"), full_page=True)
        browser.close()
