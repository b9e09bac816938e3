"""Browser journeys: Debian's chromium driven by Playwright against pytest-django's live server.

One browser for the whole package, a fresh context per user and test. Every page a journey
opens records console errors and uncaught exceptions; `Journey.finish` saves a screenshot to
artifacts/browser/<test name>.png and fails the test listing them.

Playwright's sync API keeps an asyncio loop running in the main thread, and Django refuses ORM
calls from a thread with a running loop; the journeys build their data and check the database
from that thread (the live server answers from its own threads), so DJANGO_ALLOW_ASYNC_UNSAFE
is set while the browser is up. The browser is package-scoped rather than session-scoped for
the same reason: it is closed, and the variable restored, before the rest of the suite runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from playwright.sync_api import Page, sync_playwright

from tests.scenarios import BROWSER_PASSWORD, BrowserWorld, browser_world_build

BASE_DIR = Path(django_settings.BASE_DIR)
ARTIFACTS = BASE_DIR / "artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture(autouse=True)
def _media_root(media):
    """Uploaded and exported files go to the test's own folder (the root conftest's media)."""


@pytest.fixture
def world(browser, live_server) -> BrowserWorld:
    """The browser county of tests/scenarios.py, committed (the live server reads it)."""
    return browser_world_build()


class Journey:
    """The pages one test opens, with their console errors, and how to log in."""

    def __init__(self, browser, base_url: str, name: str):
        self.browser = browser
        self.base_url = base_url
        self.name = name
        self.contexts = []
        self.errors: list[str] = []
        self.last_page: Page | None = None
        self.finished = False

    def page(self, **context_options) -> Page:
        """A new page in a fresh context (no cookies), watched for console errors."""
        context = self.browser.new_context(
            base_url=self.base_url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            accept_downloads=True,
            **context_options,
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: uncaught {exc}"))
        # Submit, finalise and confirm buttons ask confirm(): the user says yes.
        page.on("dialog", lambda dialog: dialog.accept())
        self.last_page = page
        return page

    def _console(self, page: Page, msg) -> None:
        if msg.type == "error":
            self.errors.append(f"{page.url}: console.error {msg.text}")

    def login(self, username: str, password: str = BROWSER_PASSWORD, **context_options) -> Page:
        """Log in through the login form in a fresh context; land on the home page."""
        page = self.page(**context_options)
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.locator(".login-card button[type=submit]").click()
        page.wait_for_url(self.base_url + "/")
        assert page.locator("#id_password").count() == 0, f"login as {username} failed"
        return page

    def screenshot(self, page: Page | None = None) -> Path:
        page = page or self.last_page
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    def finish(self, page: Page | None = None) -> None:
        """Save the screenshot, then fail listing any console error seen on any page."""
        self.finished = True
        self.screenshot(page)
        assert not self.errors, "console errors:\n" + "\n".join(self.errors)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def journey(browser, live_server, request):
    j = Journey(browser, live_server.url, request.node.name)
    try:
        yield j
    finally:
        if not j.finished:
            if j.errors:
                print("console errors before the journey broke off:\n" + "\n".join(j.errors))
            if j.last_page is not None:
                try:  # what the page looked like when the journey broke off
                    j.screenshot()
                except Exception as exc:  # the page may be gone; the failure matters more
                    print(f"no screenshot: {exc}")
        j.close()


# --- Celery -------------------------------------------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


@pytest.fixture
def jobs_run(live_server, settings, tmp_path):
    """Make queued jobs run: in-process when Celery is eager (no broker configured), else in a
    real worker subprocess on the test database, sharing the test's MEDIA_ROOT.

    Yields a function that returns the worker's log so far (empty when eager).
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        yield lambda: ""
        return
    if connection.vendor != "postgresql":
        pytest.skip("a real Celery worker needs a database it can share (PostgreSQL)")
    from config.celery import app

    app.control.purge()  # tasks other tests left in the queue refer to rows that are gone
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log_path = tmp_path / "celery-worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=warning",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def worker_log() -> str:
        text = log_path.read_text(errors="replace")
        if worker.poll() is not None:
            text += f"\n[worker exited with {worker.returncode}]"
        return text

    try:
        yield worker_log
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)


def wait_until(condition, *, timeout: float = 15, interval: float = 0.2, message: str = ""):
    """Poll `condition` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"still false after {timeout}s: {condition}")
        time.sleep(interval)
