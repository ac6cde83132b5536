"""Debian's headless Chromium for Playwright: the browser the tests and benchmarks drive, never a downloaded one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Browser, Playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class ChromiumMissing(RuntimeError):
    pass


def chromium_path() -> str:
    """$CHROMIUM, else `chromium` on PATH, else /usr/bin/chromium; ChromiumMissing when none is there."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        raise ChromiumMissing(
            f"headless Chromium is needed at {path}: install it with `apt-get install -y chromium` "
            "(make test and .ci/run do so when they can), or set CHROMIUM to its path."
        )
    return path


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
