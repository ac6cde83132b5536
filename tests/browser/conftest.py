"""Browser fixtures: Debian's headless Chromium driven by Playwright, never a downloaded browser.

A missing browser fails the test with the command that installs it: these tests never skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from access_sync_dev.chromium import ChromiumMissing, launch
from tests.review_support import Org, simulated_org


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            launched = launch(playwright)
        except ChromiumMissing as missing:
            problem = str(missing)
        else:
            yield launched
            launched.close()
            return
    pytest.fail(f"the browser tests cannot run: {problem}", pytrace=False)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    yield from simulated_org(tmp_path, monkeypatch)
