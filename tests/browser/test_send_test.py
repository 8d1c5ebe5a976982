"""Send Test Message in Chromium: the outcome arrives as soon as the worker records it (the
progress block long-polls), and while retries run the dialog says what each attempt did."""

import threading
import time

import pytest
from playwright.sync_api import expect
from werkzeug import Response

from phoneprovider.models import PhoneMessage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+14155550100"


def _ms(delta) -> str:
    return f"{delta.total_seconds() * 1000:.0f} ms"


def open_send_test(page, live_server):
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Send Test Message").click()
    dialog = page.get_by_role("dialog", name="Send Test Message")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Phone number").fill(PHONE)
    dialog.get_by_label("Text", exact=True).check()
    return dialog


def test_send_test_outcome_shows_right_after_the_gateway_answers(
    custom_provider, logged_in, live_server, worker_tasks
):
    page = logged_in
    dialog = open_send_test(page, live_server)
    outcome = dialog.locator("#test-outcome")

    # The first send also starts the worker's handler runtime; the second is the steady state.
    for send in ("first", "second"):
        started = time.monotonic()
        dialog.get_by_role("button", name="Send").click()
        expect(outcome).to_contain_text("Delivered")
        elapsed = time.monotonic() - started
        message = PhoneMessage.objects.latest("created_at")
        attempt = message.attempts.get()
        # Measured, not asserted: the machine's load decides it (issue 12 asks for ≤ 1 s).
        print(
            f"\nSend Test click → outcome shown ({send} send): {elapsed * 1000:.0f} ms; "
            f"queued → attempt started {_ms(attempt.started_at - message.created_at)}, "
            f"attempt {_ms(attempt.ended_at - attempt.started_at)}"
        )
        if send == "first":
            dialog.get_by_role("link", name="Send another").click()
            dialog.get_by_label("Phone number").fill(PHONE)

    assert worker_tasks.ran("phoneprovider.deliver_due") == 2
    assert PhoneMessage.objects.filter(status="delivered").count() == 2
    # The code is masked in what the dialog shows of the sent text.
    code = message.code
    expect(dialog.locator(".test-body")).to_contain_text(f"••••{code[-2:]}")
    assert code not in dialog.inner_text()
    assert not [m for m in page.console_messages if m.startswith("pageerror")]


def test_send_test_shows_each_attempt_while_retries_run(
    custom_provider, logged_in, live_server, worker_tasks, gateway, screenshot
):
    gateway.clear()
    recovered = threading.Event()

    def answer(request):
        # The gateway is down (503, which the starter handler retries) until the test has seen
        # the retries; then it takes the message.
        if recovered.is_set():
            return Response('{"queued": true}', status=200, content_type="application/json")
        return Response("down", status=503)

    gateway.expect_request("/sms", method="POST").respond_with_handler(answer)
    page = logged_in
    dialog = open_send_test(page, live_server)
    dialog.get_by_role("button", name="Send").click()

    attempts = dialog.get_by_role("list", name="Attempts")
    expect(attempts).to_contain_text("Attempt 1 of 6 failed: Gateway error 503")
    expect(attempts).to_contain_text("Attempt 2 of 6 failed: Gateway error 503", timeout=20_000)
    expect(dialog.locator("#test-outcome")).not_to_contain_text("Delivered")
    screenshot("send-test-dialog-during-retries")

    recovered.set()
    expect(dialog.locator("#test-outcome")).to_contain_text("Delivered", timeout=30_000)
    # The failed attempts stay listed above the outcome.
    expect(attempts).to_contain_text("Attempt 1 of 6 failed")
    message = PhoneMessage.objects.get()
    assert message.status == "delivered" and message.attempt_count >= 3
    assert worker_tasks.ran("phoneprovider.deliver_due") >= 3
    screenshot("send-test-dialog-after-retries")
