"""The provider page in Chromium: write a handler, add secrets, save, send a test, see it arrive.

The path is the real one end to end: the live server's Save deploys the handler, Send Test
queues a message, a real Celery worker process runs the handler in the sandbox, and the handler
POSTs to a loopback gateway whose log the test reads.
"""

import re

import pytest
from playwright.sync_api import expect

from dashboard.starter import STARTER_HANDLER
from phoneprovider import selectors
from phoneprovider.models import Action, PhoneMessage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+14155550100"
GATEWAY_TOKEN = "gw-token-e2e-5d1c"

TYPED_HANDLER = """\
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const n = event.notification;
  const res = await fetch(event.secrets.GATEWAY_URL, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "Authorization": "Bearer " + event.secrets.GATEWAY_TOKEN,
    },
    body: JSON.stringify({ to: n.recipient, text: n.as_text, method: n.delivery_method }),
  });
  console.log("gateway answered " + res.status);
  if (res.status >= 500) {
    api.notification.retry("gateway " + res.status);
  } else if (res.status >= 400) {
    api.notification.drop("gateway " + res.status);
  }
};
"""

BROKEN_HANDLER = """\
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const to = event.notification.recipient;
  const body = { to: to, text: };
};
"""


def choose_custom(page):
    page.locator("label.provider-card", has_text="Custom").click()
    expect(page.locator("#provider-custom")).to_be_checked()
    # Monaco replaces the plain text area once it has loaded.
    expect(page.locator("#code-editor .monaco-editor")).to_be_visible()
    expect(page.locator("#id_code")).to_be_hidden()


TYPED_COMMENT = "// typed in the browser test"


def type_into_editor(page, code: str) -> str:
    """Paste ``code`` over the editor's content, then type a comment line at the end.

    Pasting keeps the text as is (typed keys would get Monaco's auto-closing brackets and
    auto-indent); the typed comment checks that real keystrokes reach the saved code too.
    Returns what the editor should now hold.
    """
    page.evaluate("text => navigator.clipboard.writeText(text)", code)
    page.locator("#code-editor .view-lines").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Control+V")
    page.wait_for_function("code => window.phoneProviderEditor.get() === code", arg=code)
    page.keyboard.press("Control+End")
    page.keyboard.type(TYPED_COMMENT)
    expected = code + TYPED_COMMENT
    expect(page.locator("#code-editor .view-lines")).to_contain_text("typed in the browser test")
    assert page.evaluate("window.phoneProviderEditor.get()") == expected
    return expected


def add_secret(page, name: str, value: str):
    rows = page.locator(".secret-new-row")
    last = rows.last
    if last.locator('input[name="new_secret_name"]').input_value():
        page.get_by_role("button", name="Add secret").click()
        last = rows.last
    last.get_by_label("Secret name").fill(name)
    last.get_by_label("Value").fill(value)


def send_test(page, method: str = "Text"):
    page.get_by_role("link", name="Send Test Message").click()
    dialog = page.get_by_role("dialog", name="Send Test Message")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Phone number").fill(PHONE)
    dialog.get_by_label(method, exact=True).check()
    dialog.get_by_role("button", name="Send").click()
    return dialog


def test_custom_handler_written_in_the_editor_delivers_a_test_message(
    logged_in, live_server, worker_tasks, gateway, screenshot
):
    page = logged_in
    gateway.expect_request("/sms", method="POST").respond_with_json({"queued": True})
    screenshot("01-provider-page-initial")
    expect(page.get_by_role("button", name="Send Test Message")).to_be_disabled()

    choose_custom(page)
    typed = type_into_editor(page, TYPED_HANDLER)
    add_secret(page, "GATEWAY_URL", gateway.url_for("/sms"))
    add_secret(page, "GATEWAY_TOKEN", GATEWAY_TOKEN)
    screenshot("02-custom-before-save", full_page=True)

    page.get_by_role("button", name="Save").click()
    saved = page.get_by_role("status").filter(has_text="Saved and deployed version 1")
    expect(saved).to_be_visible()

    # What was saved and deployed is exactly what was typed.
    action = selectors.custom_provider_action()
    assert action.code == typed
    assert selectors.deployed_version(action).code == typed
    assert selectors.provider_get().name == "custom"
    secrets = page.get_by_role("list", name="Stored secrets")
    expect(secrets).to_contain_text("GATEWAY_URL")
    expect(secrets).to_contain_text("GATEWAY_TOKEN")
    assert GATEWAY_TOKEN not in page.content()
    screenshot("03-custom-saved", full_page=True)

    dialog = send_test(page)
    outcome = dialog.locator("#test-outcome")
    expect(outcome).to_contain_text("Delivered", timeout=45_000)
    expect(dialog.get_by_label("Handler console output")).to_contain_text("gateway answered 200")
    screenshot("04-test-delivered")
    # Delivered by the real worker process off the broker, not in the web process.
    assert worker_tasks.ran("phoneprovider.deliver_due") == 1

    # The loopback gateway got the handler's request, with the secrets filled in.
    assert len(gateway.log) == 1, gateway.log
    request, _ = gateway.log[0]
    assert request.headers["Authorization"] == f"Bearer {GATEWAY_TOKEN}"
    message = PhoneMessage.objects.get()
    assert message.status == "delivered"
    assert request.get_json() == {"to": PHONE, "text": message.as_text, "method": "text"}
    assert message.code in message.as_text

    dialog.get_by_role("link", name="Done").click()
    expect(dialog).to_be_hidden()
    assert not [m for m in page.console_messages if m.startswith("pageerror")]


def test_starter_handler_works_as_is_for_voice(
    logged_in, live_server, celery_worker, gateway, screenshot
):
    page = logged_in
    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    choose_custom(page)
    assert page.evaluate("window.phoneProviderEditor.get()") == STARTER_HANDLER
    page.get_by_role("checkbox", name=re.compile(r"^Voice")).check()
    add_secret(page, "GATEWAY_URL", gateway.url_for("/sms"))
    add_secret(page, "GATEWAY_TOKEN", GATEWAY_TOKEN)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved and deployed")).to_be_visible()

    dialog = send_test(page, method="Voice")
    expect(dialog.locator("#test-outcome")).to_contain_text("Delivered", timeout=45_000)
    request, _ = gateway.log[0]
    body = request.get_json()
    assert body["to"] == PHONE
    assert body["delivery_method"] == "voice"
    assert body["text"] == PhoneMessage.objects.get().as_voice
    assert request.headers["Authorization"] == f"Bearer {GATEWAY_TOKEN}"


def test_invalid_handler_shows_line_and_column_and_marks_the_line(logged_in, screenshot):
    page = logged_in
    choose_custom(page)
    typed = type_into_editor(page, BROKEN_HANDLER)
    add_secret(page, "GATEWAY_TOKEN", GATEWAY_TOKEN)
    page.get_by_role("button", name="Save").click()

    error = page.locator("#error-code")
    expect(error).to_contain_text(re.compile(r"Line 3, column \d+"))
    # The editor marks the line and keeps what was typed, secret value included.
    expect(page.locator("#code-editor .code-error-line")).to_have_count(1)
    assert page.evaluate("window.phoneProviderEditor.get()") == typed
    expect(page.locator(".secret-new-row").last.get_by_label("Value")).to_have_value(GATEWAY_TOKEN)
    screenshot("05-code-error")

    assert Action.objects.count() == 0
    assert selectors.provider_get() is None


def test_twilio_error_is_inline_and_disable_asks_to_confirm(logged_in, screenshot):
    page = logged_in
    page.get_by_label("From", exact=True).fill("+14155550123")
    page.get_by_label("Twilio Auth Token").fill("twilio-token-xyz")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#error-sid")).to_contain_text("The Twilio SID is required.")
    expect(page.get_by_label("Twilio SID")).to_have_attribute("aria-invalid", "true")
    screenshot("06-twilio-error")
    assert selectors.provider_get() is None

    # A SID Twilio will refuse is stored (as Auth0 stores it), with a warning beside the field.
    page.get_by_label("Twilio SID").fill("AC123")
    page.get_by_label("Twilio Auth Token").fill("twilio-token-xyz")
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("status").filter(has_text="Twilio will refuse this one")
    ).to_be_visible()
    assert selectors.provider_get().twilio_sid == "AC123"

    # Enter in a field saves (the form's default button is Save, not Reset).
    page.get_by_label("Twilio SID").fill("AC" + "0123456789abcdef" * 2)
    # The page before already says "Saved." (with the warning), so wait for the new one.
    with page.expect_navigation():
        page.get_by_label("Twilio SID").press("Enter")
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Twilio will refuse")).to_have_count(0)
    assert selectors.provider_get().twilio_sid == "AC" + "0123456789abcdef" * 2
    expect(page.get_by_label("Twilio Auth Token")).to_have_attribute(
        "placeholder", "•••• set — leave blank to keep"
    )
    assert "twilio-token-xyz" not in page.content()

    switch = page.get_by_role("switch", name="Phone provider enabled")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    dialog = page.get_by_role("dialog", name="Disable the phone provider?")
    expect(dialog).to_be_visible()
    screenshot("07-disable-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    assert selectors.provider_get().disabled is False

    switch.click()
    dialog.get_by_role("button", name="Disable provider").click()
    expect(page.get_by_role("switch", name="Phone provider enabled")).to_have_attribute(
        "aria-checked", "false"
    )
    assert selectors.provider_get().disabled is True
    expect(page.get_by_role("button", name="Send Test Message")).to_be_disabled()
