"""Headless Chromium fixtures for the end-to-end browser tests: a logged-in page that fails the test on console errors."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, REPO_ROOT

CHROMIUM = os.environ.get("ARBITER_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


@pytest.fixture
def browser(monkeypatch):
    """One Chromium per test: Playwright's sync API runs an asyncio loop in the test thread while it lives,
    so it is stopped after each test and the ORM's async guard is relaxed only meanwhile."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}; install the Debian package: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


class ConsoleLog:
    """Console errors and uncaught page errors seen while a test ran."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def allow(self, fragment: str) -> None:
        """Expect an error containing `fragment` (e.g. a request the test made fail on purpose)."""
        self.allowed.append(fragment)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(fragment in e for fragment in self.allowed)]


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def new_page(browser, console: ConsoleLog) -> Iterator[Callable]:
    """new_page(viewport=...) -> a page in a fresh browser context (own cookies); console errors fail the test."""
    contexts = []

    def make(viewport: dict | None = None):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and console.errors.append(f"{page.url}: {msg.text}"))
        page.on("pageerror", lambda exc: console.errors.append(f"{page.url}: uncaught {exc}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert console.unexpected() == [], "console errors in the browser"


@pytest.fixture
def screenshot() -> Callable:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save


def log_in_with_keyboard(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log in the way a keyboard user does: type, Tab, type, Enter."""
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture
def logged_in(new_page, live_server) -> Callable:
    """logged_in(user) -> a page whose session belongs to `user`, landed on the post-login page."""

    def make(user, viewport: dict | None = None):
        page = new_page(viewport)
        log_in_with_keyboard(page, live_server.url, user.username)
        return page

    return make
