"""Templates, Messages, Live logs and Limits in Chromium, on the real path: a template edited with
a live preview, a test sent through the custom handler in a real worker, seen in Messages and in
the live log, then a number blocked by a limit and the reason shown."""

import json
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from phoneprovider.models import Execution, PhoneMessage
from phoneprovider.services.messages import message_queue
from tests.factories import MessageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+14155550100"


def try_template(page):
    page.get_by_role("link", name="Try").click()
    dialog = page.get_by_role("dialog", name=re.compile("Try the"))
    expect(dialog).to_be_visible()
    dialog.get_by_label("Phone number").fill(PHONE)
    dialog.get_by_role("button", name="Send").click()
    return dialog


def test_template_preview_send_messages_logs_and_limits(
    logged_in, live_server, worker_tasks, gateway, custom_provider, screenshot
):
    page = logged_in

    # --- Templates: live preview as you type, Liquid errors with their line, save -------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Templates").click()
    expect(page.get_by_role("heading", name="Phone Templates")).to_be_visible()
    preview = page.locator("#template-preview")
    expect(preview).to_contain_text("123456 is your My Company verification code")
    text_body = page.get_by_label("Text message (SMS)")
    text_body.fill("Hi {{ user.name }}, your {{ friendly_name }} code is {{ code }}.\n{{ code")
    expect(preview).to_contain_text("Text body, line 2")
    text_body.fill("Hi {{ user.name }}, your {{ friendly_name }} code is {{ code }}.")
    expect(page.locator("#preview-text")).to_have_text(
        "Hi Jane Doe, your My Company code is 123456."
    )
    screenshot("20-templates-preview")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(
        page.get_by_role("status").filter(has_text="Saved the OTP verify template")
    ).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("OTP verify"))).to_contain_text("Custom")

    # --- Try: the saved template goes through the worker and the handler to the gateway -------
    dialog = try_template(page)
    expect(dialog.locator("#test-outcome")).to_contain_text("Delivered", timeout=45_000)
    assert worker_tasks.ran("phoneprovider.deliver_due") == 1  # the worker process sent it
    message = PhoneMessage.objects.get()
    assert message.as_text.startswith("Hi , your My Company code is ")  # no user on a test send
    assert gateway.log and gateway.log[-1][0].get_json()["text"] == message.as_text
    screenshot("21-template-try-delivered")
    dialog.get_by_role("link", name="Done").click()

    # --- Messages: the test message, its attempt and the handler's logs -----------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    row = page.locator("tr.message-row").first
    expect(row).to_contain_text("Delivered")
    expect(row).to_contain_text("+1415•••0100")
    expect(row).to_contain_text("custom")
    screenshot("22-messages")
    row.get_by_role("link", name=message.public_id).click()
    expect(page.get_by_role("heading", name=message.public_id)).to_be_visible()
    expect(page.get_by_label("Handler logs of attempt 1")).to_contain_text(
        "Gateway accepted the message"
    )
    # The one-time code is masked where people read the message (MASK_CODES is on by default).
    expect(page.locator(".sms-bubble")).to_contain_text(f"••••{message.code[-2:]}")
    assert message.code not in page.locator("main").inner_text()
    # The request went to the URL in the GATEWAY_URL secret: named, its value not shown.
    expect(page.locator("main")).to_contain_text("POST ${GATEWAY_URL}")
    assert gateway.url_for("/sms") not in page.locator("main").inner_text()
    screenshot("23-message-detail", full_page=True)

    # --- Live logs: the run is there; a new one appears without reloading ---------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Logs").click()
    rows = page.locator("tr.log-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(message.public_id)
    second = message_queue(to="+14155550111", code="654321", is_test=True)
    expect(page.locator(f"tr.log-row:has-text('{second.public_id}')")).to_be_visible(timeout=45_000)
    expect(rows).to_have_count(2)
    page.get_by_text("UTC", exact=True).click()
    expect(rows.first.locator("time")).to_contain_text("UTC")
    page.get_by_role("searchbox", name="Search").fill("+14155550111")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    rows.first.locator("summary").click()
    screenshot("24-live-logs")

    # --- Limits: one message per number per hour, then Try again is blocked, and why ----------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Limits").click()
    page.get_by_label("Messages per number per hour").fill("-3")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#error-recipient_per_hour")).to_contain_text("0 or more")
    page.get_by_label("Messages per number per hour").fill("1")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved the limits")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Templates").click()
    dialog = try_template(page)
    outcome = dialog.locator("#test-outcome")
    expect(outcome).to_contain_text("Blocked")
    expect(outcome).to_contain_text("reached its limit of 1 message in the last hour")
    dialog.get_by_role("link", name="Done").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    page.get_by_label("Status").select_option("blocked")
    page.get_by_role("button", name="Filter").click()
    blocked = page.locator("tr.message-row")
    expect(blocked).to_have_count(1)
    expect(blocked.first).to_contain_text("reached its limit of 1 message in the last hour")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Limits").click()
    expect(page.locator("#count-blocked")).to_have_text("1")
    expect(page.get_by_role("table", name="Blocked by rule")).to_contain_text("Per number per hour")
    expect(page.get_by_role("table", name="Recently blocked messages")).to_contain_text(
        "reached its limit of 1 message in the last hour"
    )
    screenshot("25-limits", full_page=True)
    assert not [m for m in page.console_messages if m.startswith("pageerror")]


# (path, the navigation link marked current, the page's heading, its screenshot's name)
PAGES = (
    ("/", "Phone Provider", "Phone Message Provider", "provider"),
    ("/editor/", "Phone Provider", "Custom Phone Provider", "editor"),
    ("/templates/otp_verify/", "Templates", "Phone Templates", "templates"),
    ("/messages/", "Messages", "Messages", "messages"),
    ("/logs/", "Logs", "Live logs", "logs"),
    ("/limits/", "Limits", "Limits", "limits"),
)
NAV = ["Phone Provider", "Routing", "Templates", "Messages", "Logs", "Limits", "Admin"]
# Every visible form control without an accessible name: no <label>, aria-label(ledby) or title
# (and, for a button, no text). Monaco's own widgets are its business.
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter(el => el.type !== "hidden" && !el.closest(".monaco-editor, template, dialog:not([open])")
    && el.getClientRects().length)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
    && !el.getAttribute("aria-labelledby") && !el.title
    && !(el.tagName === "BUTTON" && el.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 160))"""


def test_every_page_has_the_navigation_labelled_controls_and_a_clear_empty_state(
    logged_in, live_server, screenshot
):
    page = logged_in
    for path, current, heading, name in PAGES:
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link")).to_have_text(NAV)
        expect(nav.locator('[aria-current="page"]')).to_have_text(current)
        assert page.evaluate(UNLABELLED_CONTROLS) == [], path
        # The provider page's footer is sticky: a full-page shot would show it mid-page.
        screenshot(f"30-empty-{name}", full_page=name != "provider")
        if path == "/messages/":
            expect(page.locator(".empty-state")).to_contain_text("No messages yet")
        if path == "/logs/":
            expect(page.locator("#logs-empty")).to_contain_text("No executions yet")
    assert not [m for m in page.console_messages if m.startswith("pageerror")]


def test_messages_can_be_searched_by_keyboard(logged_in, live_server):
    page = logged_in
    wanted = MessageFactory(recipient="+14155550177", status="failed", reason="gateway 503")
    MessageFactory(recipient="+14155550188", status="delivered")
    page.goto(f"{live_server.url}/messages/")
    expect(page.locator("tr.message-row")).to_have_count(2)

    # The first Tab reaches the skip link, which jumps over the navigation.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    search = page.get_by_role("searchbox", name="Search")
    # Past the time switch and the chart panel's controls (window, route, Show, hourly table).
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_q":
            break
    expect(search).to_be_focused()
    page.keyboard.type(wanted.public_id)
    page.keyboard.press("Enter")
    rows = page.locator("tr.message-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("+1415•••0177")
    expect(rows.first).to_contain_text("gateway 503")


def _execution(message: str, **fields) -> Execution:
    return Execution.objects.create(
        kind=Execution.Kind.TEST,
        status=Execution.Status.DELIVERED,
        logs=[{"t_ms": 3, "level": "log", "message": message}],
        stats={"total_ms": 12.5},
        finished_at=timezone.now(),
        **fields,
    )


def test_live_logs_download_clear_and_show_all(logged_in, live_server, screenshot):
    page = logged_in
    first = _execution("first run")
    second = _execution("second run", dry_run=True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Logs").click()
    rows = page.locator("tr.log-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("second run")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download JSON").click()
    data = json.loads(Path(download.value.path()).read_text())
    assert [e["id"] for e in data["executions"]] == [second.public_id, first.public_id]
    assert data["executions"][0]["logs"][0]["message"] == "second run"
    assert data["executions"][0]["dry_run"] is True

    # Clear empties the view (nothing is deleted); a new run still streams in.
    page.get_by_role("button", name="Clear", exact=True).click()
    expect(rows).to_have_count(0)
    expect(page.locator("#logs-empty")).to_contain_text("Cleared")
    third = _execution("third run")
    expect(page.locator(f"#exec-{third.public_id}")).to_be_visible()
    expect(page.locator("#logs-empty")).to_be_hidden()
    expect(rows).to_have_count(1)
    screenshot("26-live-logs-after-clear")

    page.get_by_role("button", name="Show all").click()
    expect(rows).to_have_count(3)
    assert Execution.objects.count() == 3


def test_failed_message_resent_from_its_page_is_delivered_by_the_worker(
    logged_in, live_server, worker_tasks, gateway, custom_provider, screenshot
):
    page = logged_in
    failed = MessageFactory(
        status="failed",
        reason="gateway 503 after 6 attempts",
        provider_name="custom",
        attempt_count=6,
        is_test=True,
    )
    page.goto(f"{live_server.url}/messages/?status=failed")
    page.get_by_role("link", name=failed.public_id).click()
    expect(page.locator("#message-status")).to_have_text("Failed")
    expect(page.locator("#message-reason")).to_have_text("gateway 503 after 6 attempts")

    page.get_by_role("button", name="Resend").click()
    expect(
        page.get_by_role("status").filter(has_text=f"a resend of {failed.public_id}")
    ).to_be_visible()
    resent = PhoneMessage.objects.exclude(pk=failed.pk).get()
    expect(page.get_by_role("heading", name=resent.public_id)).to_be_visible()
    # The page follows the message by itself until it is final.
    expect(page.locator("#message-status")).to_have_text("Delivered", timeout=45_000)
    expect(page.get_by_label("Handler logs of attempt 1")).to_contain_text(
        "Gateway accepted the message"
    )
    expect(page.get_by_role("button", name="Resend")).to_have_count(0)
    assert worker_tasks.ran("phoneprovider.deliver_due") == 1
    assert gateway.log[-1][0].get_json()["to"] == failed.recipient
    screenshot("27-message-resent", full_page=True)
    assert not [m for m in page.console_messages if m.startswith("pageerror")]


def test_a_liquid_error_at_the_end_of_a_line_is_shown_at_its_line_and_column(
    logged_in, live_server
):
    page = logged_in
    page.goto(f"{live_server.url}/templates/otp_verify/")
    body = "Your code is {{ code }}.\nFrom {{ friendly_name | upcase | }}"
    page.get_by_label("Text message (SMS)").fill(body)
    expect(page.locator("#template-preview")).to_contain_text("Text body, line 2, column 33:")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator("#error-text")
    expect(error).to_contain_text("Line 2, column 33:")
    expect(error).to_contain_text("not valid Liquid")
    assert page.get_by_label("Text message (SMS)").input_value() == body
