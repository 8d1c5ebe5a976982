"""Smoke tests in Debian's Firefox ESR: every dashboard page renders, raises no script error, and
the parts that depend most on the browser (Monaco, the htmx live preview) work.

Firefox is driven through Marionette, its own remote protocol, with Mozilla's pure-Python
``marionette-driver`` from PyPI: no geckodriver binary and nothing fetched at run time.
(Playwright's patched Firefox cannot be downloaded here, and the geckodriver builds on PyPI are
either Windows-only or old, unofficial copies.)
"""

import os
import warnings
from pathlib import Path

import pytest

from tests.browser.conftest import SCREENSHOTS, STAFF_PASSWORD

try:
    with warnings.catch_warnings():
        # mozinfo and mozrunner, which marionette-driver imports, use deprecated modules.
        warnings.simplefilter("ignore", DeprecationWarning)
        from marionette_driver import By, errors
        from marionette_driver.marionette import Marionette
        from marionette_driver.wait import Wait
except ImportError:
    if os.environ.get("CI"):
        raise  # a dev dependency: CI installs it, so its absence is a failure there
    pytest.skip("marionette-driver is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIREFOX = "/usr/bin/firefox-esr"
ARTIFACTS = SCREENSHOTS.parent
NAV = ["Phone Provider", "Routing", "Templates", "Messages", "Logs", "Limits", "Admin"]

# Script errors that reached Firefox's console service since ``arguments[0]`` (ms since the
# epoch), whatever process they were raised in: uncaught exceptions and unhandled promise
# rejections alike, including those raised while a page loaded, before an injected
# window.onerror could have been in place. The browser's own chrome is left out.
SCRIPT_ERRORS = """
  const notError = Ci.nsIScriptError.warningFlag | Ci.nsIScriptError.infoFlag;
  return Services.console.getMessageArray()
    .filter(m => m instanceof Ci.nsIScriptError && !(m.flags & notError)
      && m.timeStamp >= arguments[0] && !/^(chrome|resource|moz-extension):/.test(m.sourceName))
    .map(m => `${m.category}: ${m.errorMessage} (${m.sourceName}:${m.lineNumber})`);
"""

# Scroll the page until the top of the code editor is under the sticky footer, then name what is
# on top where the editor's scrollbar and the footer overlap: it should be the footer.
FOOTER_OVER_EDITOR = """
  const editor = document.getElementById("code-editor");
  const footer = document.querySelector(".form-footer");
  window.scrollBy(0, editor.getBoundingClientRect().top - footer.getBoundingClientRect().top + 60);
  const bar = editor.querySelector(".scrollbar.vertical").getBoundingClientRect();
  const hit = document.elementFromPoint(
    bar.left + bar.width / 2, footer.getBoundingClientRect().top + 20);
  return hit.closest(".form-footer") ? "form-footer" : hit.className || hit.tagName;
"""


class Firefox(Marionette):
    """Marionette client that remembers when the current test began (see the ``ff`` fixture)."""

    test_began_ms: float = 0


@pytest.fixture(scope="module")
def firefox():
    """A headless firefox-esr with a fresh profile, shared by this module's tests."""
    if not Path(FIREFOX).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{FIREFOX} is not installed; .ci/run installs it")
        pytest.skip(f"{FIREFOX} is not installed")
    ARTIFACTS.mkdir(exist_ok=True)
    # Port 0: Marionette picks a free port, so runs on a shared machine do not collide. The
    # profile it makes sets Mozilla's test preferences, which turn off updates, telemetry and
    # every other background connection.
    client = Firefox(
        bin=FIREFOX,
        headless=True,
        host="127.0.0.1",
        port=0,
        startup_timeout=60,
        gecko_log=str(ARTIFACTS / "firefox.log"),  # Firefox's own output, for a failed run
    )
    try:
        client.start_session()
        client.set_window_rect(width=1280, height=900)
        yield client
    finally:
        client.cleanup()


@pytest.fixture
def ff(firefox):
    """The shared Firefox on a blank page, without cookies, its error log starting now.

    Leaving a page on which Monaco is still loading a web worker makes Firefox (not Chromium)
    report the aborted load as an uncaught error of the page being left. The blank page is loaded
    before the clock starts, so a previous test's page cannot count against this one.
    """
    firefox.navigate("about:blank")
    with firefox.using_context("chrome"):
        firefox.test_began_ms = firefox.execute_script(
            "Services.cookies.removeAll(); return Date.now();"
        )
    return firefox


def wait_until(client, condition, message: str):
    """Poll ``condition`` until it is true; elements it looks for may not exist yet, or be swapped
    out (htmx) between finding and reading them."""
    wait = Wait(
        client,
        timeout=15,
        ignored_exceptions=(errors.NoSuchElementException, errors.StaleElementException),
    )
    return wait.until(condition, message=f"waited for {message}")


def wait_for_heading(client, text: str) -> None:
    wait_until(
        client,
        lambda c: c.find_element(By.CSS_SELECTOR, "main h1").text == text,
        f"the heading {text!r}",
    )


def open_signed_in(client, url: str, user, heading: str) -> None:
    """Open ``url``, signing in as ``user`` through the login form it redirects to."""
    client.navigate(url)
    client.find_element(By.ID, "id_username").send_keys(user.get_username())
    client.find_element(By.ID, "id_password").send_keys(STAFF_PASSWORD)
    client.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_heading(client, heading)
    assert client.get_url() == url
    nav = client.find_elements(By.CSS_SELECTOR, "nav.mainnav a")
    assert [link.text for link in nav] == NAV


def script_errors(client: Firefox) -> list[str]:
    with client.using_context("chrome"):
        return client.execute_script(SCRIPT_ERRORS, script_args=[client.test_began_ms])


def screenshot(client, name: str, full: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"firefox-{name}.png"
    path.write_bytes(client.screenshot(format="binary", full=full))
    return path


def wait_for_monaco(client) -> None:
    """Monaco has replaced the textarea and drawn the handler's code."""
    wait_until(
        client,
        lambda c: c.find_element(By.CSS_SELECTOR, "#code-editor .monaco-editor").is_displayed(),
        "the Monaco editor",
    )
    wait_until(
        client,
        lambda c: (
            "onExecuteCustomPhoneProvider"
            in c.find_element(By.CSS_SELECTOR, "#code-editor .view-lines").text
        ),
        "the handler's code in the Monaco editor",
    )
    assert client.find_element(By.CSS_SELECTOR, "#code-editor").rect["height"] > 200
    assert not client.find_element(By.ID, "id_code").is_displayed()


def test_provider_page_shows_the_code_editor_after_choosing_custom_in_firefox(
    ff, live_server, staff_user
):
    open_signed_in(ff, f"{live_server.url}/", staff_user, "Phone Message Provider")
    custom = next(
        card
        for card in ff.find_elements(By.CSS_SELECTOR, "label.provider-card")
        if "Custom" in card.text
    )
    custom.click()
    assert ff.find_element(By.ID, "provider-custom").is_selected()
    wait_for_monaco(ff)
    # The footer is sticky: a full-page shot would show it mid-page.
    ff.execute_script("document.getElementById('code-editor').scrollIntoView({block: 'center'})")
    screenshot(ff, "provider", full=False)
    assert ff.execute_script(FOOTER_OVER_EDITOR) == "form-footer"
    assert script_errors(ff) == []


def test_expanded_editor_shows_the_code_editor_in_firefox(
    ff, live_server, staff_user, custom_provider
):
    open_signed_in(ff, f"{live_server.url}/editor/", staff_user, "Custom Phone Provider")
    wait_for_monaco(ff)
    screenshot(ff, "editor")
    assert script_errors(ff) == []


def test_template_preview_follows_the_text_body_in_firefox(ff, live_server, staff_user):
    open_signed_in(ff, f"{live_server.url}/templates/otp_verify/", staff_user, "Phone Templates")
    preview = ff.find_element(By.ID, "template-preview")
    assert "123456 is your My Company verification code" in preview.text
    text_body = ff.find_element(By.ID, "id_text_body")
    text_body.clear()
    text_body.send_keys("Firefox: {{ code }} for {{ friendly_name }}.")
    wait_until(
        ff,
        lambda c: c.find_element(By.ID, "preview-text").text == "Firefox: 123456 for My Company.",
        "the preview of the edited text body",
    )
    screenshot(ff, "templates", full=False)  # its footer is sticky too
    assert script_errors(ff) == []


@pytest.mark.parametrize(
    ("path", "heading", "name"),
    [
        ("/messages/", "Messages", "messages"),
        ("/logs/", "Live logs", "logs"),
        ("/limits/", "Limits", "limits"),
    ],
)
def test_page_renders_without_script_errors_in_firefox(
    ff, live_server, staff_user, path, heading, name
):
    open_signed_in(ff, f"{live_server.url}{path}", staff_user, heading)
    screenshot(ff, name)
    assert script_errors(ff) == []
