"""Browser fixtures: the session app served over HTTP, and Playwright on the system Chromium.

Playwright cannot download its own browsers here, so it drives the system Chromium
(`chromium`, `chromium-browser`, or the path in CHROMIUM_PATH). Without one the browser
tests are skipped, except under CI=true where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium waits for the network on this closed host.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def find_chromium() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so `page` knows whether the test failed."""
    report = yield
    setattr(item, f"_report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The session app on a real HTTP port on loopback; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    executable = find_chromium()
    if executable is None:
        reason = (
            "Chromium is missing: install it (bash scripts/ensure-system.sh chromium) "
            "or set CHROMIUM_PATH"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; a missing browser is a failure under CI", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(request, browser, live_server):
    """A fresh browser context (1280x800, no cookies) and page, with base_url set."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
        report = getattr(request.node, "_report_call", None)
        if report is not None and report.failed:
            _save_failure_screenshot(page, request.node.nodeid)
    finally:
        context.close()


def _save_failure_screenshot(page, nodeid: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    except Exception as exc:  # a screenshot must never hide the real failure
        print(f"could not save a failure screenshot: {exc}")


def wait_for_htmx(page, selector: str | None = None) -> None:
    """Wait until no htmx request, swap or settle is under way and, given a `selector`, htmx
    has wired that element up: an event fired before that would go unheard, and a value typed
    into content about to be swapped out would be lost."""
    page.wait_for_function(
        """(selector) => {
            const element = selector ? document.querySelector(selector) : document.body;
            const busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added";
            return element && (!selector || element["htmx-internal-data"])
                && !document.querySelector(busy);
        }""",
        arg=selector,
    )
