"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server."""

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from dashboard.starter import STARTER_HANDLER
from phoneprovider.services.providers import custom_provider_configure

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests make
# between browser steps are still synchronous, so Django's async-safety guard must stand aside.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
STAFF_PASSWORD = "pw-browser-staff-1"


# Package scope, not session: Playwright's sync API keeps an event loop running in the main thread
# while it is open, which would break later tests that call asyncio.run().
@pytest.fixture(scope="package")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is not installed; .ci/run installs it")
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # The tests paste code into the editor through the clipboard.
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.console_messages = []
    page.on("console", lambda msg: page.console_messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: page.console_messages.append(f"pageerror: {exc}"))
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot under test-artifacts/screenshots/ (kept out of git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, **kwargs) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), **kwargs)
        return path

    return take


@pytest.fixture
def staff_user(transactional_db, django_user_model):
    return django_user_model.objects.create_user(
        "ops", password=STAFF_PASSWORD, is_staff=True, is_superuser=True
    )


@pytest.fixture
def logged_in(page, live_server, staff_user):
    """A page signed in through the login form, showing the provider page."""
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(staff_user.get_username())
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Phone Message Provider").wait_for()
    return page


def run_outside_event_loop(function, *args, **kwargs):
    """Call ``function`` in a thread of its own and return what it returns (or raise what it
    raised).

    Playwright's sync API keeps an asyncio event loop running in the test's thread, and Django
    refuses database access inside a running event loop — so a test that calls a service
    (saving or deploying an Action) must make the call here. The live server is not affected:
    it serves requests in threads of its own.
    """

    def call():
        try:
            return function(*args, **kwargs)
        finally:
            # The thread's own database connection, which Django opened for it.
            connection.close()

    with ThreadPoolExecutor(1, thread_name_prefix="outside-event-loop") as pool:
        return pool.submit(call).result()


@pytest.fixture
def outside_event_loop():
    """``run_outside_event_loop`` as a fixture, for tests that set data up through services."""
    return run_outside_event_loop


@pytest.fixture
def custom_provider(gateway, transactional_db):
    """The custom provider with the starter handler deployed (version 1), its secrets pointing at
    the loopback gateway, which answers 200."""
    gateway.expect_request("/sms", method="POST").respond_with_json({"queued": True})
    return run_outside_event_loop(
        custom_provider_configure,
        actor="setup",
        code=STARTER_HANDLER,
        delivery_methods=["text", "voice"],
        secret_upserts={
            "GATEWAY_URL": gateway.url_for("/sms"),
            "GATEWAY_TOKEN": "gw-browser-setup-1",
        },
    )


# The worker's main process logs this line when it takes a task off the broker, before a child
# runs it, so it is in the log by the time the page shows the task's outcome.
TASK_RECEIVED = r"Task {name}\[[0-9a-f-]+\] received"


class WorkerTasks:
    """What the real Celery worker process says it ran, read from its log file.

    A browser test asserts that a count went up to show that a send or a test run went through
    the worker process on the broker — not through an eager or in-process shortcut, which would
    leave the worker's log as it was.
    """

    NAMES = ("phoneprovider.deliver_due", "phoneprovider.run_execution")

    def __init__(self, worker):
        self.worker = worker
        self.start = {name: self.count(name) for name in self.NAMES}

    def count(self, name: str) -> int:
        return len(re.findall(TASK_RECEIVED.format(name=re.escape(name)), self.worker.log()))

    def ran(self, name: str) -> int:
        """How many ``name`` tasks the worker took off the broker since this object was made."""
        assert self.worker.process.poll() is None, "the worker process is not running"
        return self.count(name) - self.start[name]


@pytest.fixture
def worker_tasks(celery_worker):
    """Counts of the tasks the worker process took during the test (see WorkerTasks)."""
    return WorkerTasks(celery_worker)
