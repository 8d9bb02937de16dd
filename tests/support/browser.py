"""One headless Chromium for the browser tests, kept in one module (tests/api/test_app.py) that
shares it: Debian's /usr/bin/chromium driven by Playwright, never a browser Playwright downloads
(`make test` installs the package).

Module-scoped, not session-scoped: while Playwright's synchronous API is open, an event loop
runs in the test process's main thread, and any later test calling asyncio.run() would fail.

A page opened here can reach only this machine's loopback addresses: every other request is
refused and recorded, as on a hospital network with no internet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclass
class OfflinePage:
    page: Page
    blocked: list[str] = field(default_factory=list)  # what the page tried to fetch elsewhere


@pytest.fixture
def offline_page(browser: Browser) -> Iterator[OfflinePage]:
    context = browser.new_context()
    page = context.new_page()
    offline = OfflinePage(page)

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK_HOSTS:
            route.continue_()
        else:
            offline.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    yield offline
    context.close()
