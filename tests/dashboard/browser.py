"""Playwright driving Debian's Chromium (never a downloaded browser): headless, no sandbox, nothing from the network.

A missing piece skips the browser tests with a message that names it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = {
    "executable_path": CHROMIUM,
    "headless": True,
    "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
}
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def expect(target):
    """Playwright's auto-waiting assertions (imported late: the package may be missing, and then we skip)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def require_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("BROWSER TESTS SKIPPED: the Python package 'playwright' is not installed in .venv "
                    "(.venv/bin/pip install playwright pytest-playwright; never run `playwright install`).")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"BROWSER TESTS SKIPPED: Debian's Chromium is missing at {CHROMIUM} "
                    "(apt-get install -y chromium; `make test` installs it when run as root).")


@contextmanager
def async_unsafe_allowed():
    """Playwright's sync API runs an event loop in this thread; Django's ORM must still be usable in the test."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@contextmanager
def launched_chromium():
    require_browser()
    from playwright.sync_api import sync_playwright

    with async_unsafe_allowed(), sync_playwright() as playwright:
        browser = playwright.chromium.launch(**LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def block_the_network(page, base_url: str) -> list[str]:
    """Refuse every request that is not to the live server; returns the refused URLs (nothing may load from outside)."""
    refused: list[str] = []

    def route(route):
        if route.request.url.startswith(base_url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return refused


def screenshot(page, name: str) -> Path:
    """docs/screenshots/<name>.png (1280x900), written when missing or with UPDATE_SCREENSHOTS=1 set."""
    path = SCREENSHOTS / f"{name}.png"
    image = page.screenshot()
    if not path.exists() or os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image)
    return path
