"""Templates, Messages, Live logs and Limits in Chromium, on the real path: a template edited with
a live preview, a test sent through the custom handler in a real worker, seen in Messages and in
the live log, then a number blocked by a limit and the reason shown."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from playwright.sync_api import expect

from dashboard.starter import STARTER_HANDLER
from phoneprovider.models import PhoneMessage
from phoneprovider.services.messages import message_queue
from phoneprovider.services.providers import custom_provider_configure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+14155550100"


@pytest.fixture
def custom_provider(gateway, transactional_db):
    gateway.expect_request("/sms", method="POST").respond_with_json({"queued": True})

    def configure():
        try:
            custom_provider_configure(
                actor="setup",
                code=STARTER_HANDLER,
                delivery_methods=["text", "voice"],
                secret_upserts={
                    "GATEWAY_URL": gateway.url_for("/sms"),
                    "GATEWAY_TOKEN": "gw-pages-1",
                },
            )
        finally:
            connection.close()

    # Saving validates the code with mini-racer, which refuses to run inside the event loop that
    # Playwright's sync API keeps in this thread; another thread has none.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(configure).result()


def try_template(page):
    page.get_by_role("link", name="Try").click()
    dialog = page.get_by_role("dialog", name=re.compile("Try the"))
    expect(dialog).to_be_visible()
    dialog.get_by_label("Phone number").fill(PHONE)
    dialog.get_by_role("button", name="Send").click()
    return dialog


def test_template_preview_send_messages_logs_and_limits(
    logged_in, live_server, celery_worker, gateway, custom_provider, screenshot
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
    expect(outcome).to_contain_text("already got 1 messages in the last hour")
    dialog.get_by_role("link", name="Done").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    page.get_by_label("Status").select_option("blocked")
    page.get_by_role("button", name="Filter").click()
    blocked = page.locator("tr.message-row")
    expect(blocked).to_have_count(1)
    expect(blocked.first).to_contain_text("already got 1 messages in the last hour")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Limits").click()
    expect(page.locator("#count-blocked")).to_have_text("1")
    expect(page.get_by_role("table", name="Blocked by rule")).to_contain_text("Per number per hour")
    expect(page.get_by_role("table", name="Recently blocked messages")).to_contain_text(
        "already got 1 messages"
    )
    screenshot("25-limits", full_page=True)
    assert not [m for m in page.console_messages if m.startswith("pageerror")]
