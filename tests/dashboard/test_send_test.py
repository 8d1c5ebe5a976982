"""Send Test Message and a template's Try through Django's test client: the form, the queued
test message, and its progress (asked for as a long poll, with each attempt while retries run)."""

import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard import long_poll, send_test
from phoneprovider.models import DeliveryAttempt, Execution, PhoneMessage
from tests.dashboard.test_provider_page import HTMX, PAGE, TEST, save_custom


@pytest.mark.django_db
def test_send_test_is_disabled_before_a_provider_is_saved(staff):
    html = staff.get(PAGE).content.decode()
    assert 'id="send-test-button"' not in html
    assert 'id="send-test-disabled" disabled' in html
    assert "Save the configuration to send a test message." in html

    response = staff.post(TEST, {"to": "+14155550100", "delivery_method": "text"})
    assert response.status_code == 302
    assert PhoneMessage.objects.count() == 0


@pytest.mark.django_db
def test_send_test_is_enabled_after_save(staff):
    save_custom(staff)
    html = staff.get(PAGE).content.decode()
    assert 'id="send-test-button"' in html
    dialog = staff.get(TEST, **HTMX).content.decode()
    assert 'name="to"' in dialog
    assert 'value="text"' in dialog
    assert 'value="voice"' not in dialog  # only the methods the provider has


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["4155550100", "+1415555", "+1 (415) not-a-number"])
def test_send_test_validates_the_number(staff, number):
    save_custom(staff)
    response = staff.post(TEST, {"to": number, "delivery_method": "text"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="to-error"' in html
    assert 'aria-invalid="true"' in html
    assert PhoneMessage.objects.count() == 0


@pytest.mark.django_db
def test_send_test_rejects_a_method_the_provider_lacks(staff):
    save_custom(staff)  # text only
    response = staff.post(TEST, {"to": "+14155550100", "delivery_method": "voice"}, **HTMX)
    assert "Select a valid choice" in response.content.decode()
    assert PhoneMessage.objects.count() == 0


@pytest.mark.django_db
def test_send_test_queues_a_test_message_and_asks_for_changes_until_final(staff):
    save_custom(staff)
    response = staff.post(TEST, {"to": "+1 415 555 0100", "delivery_method": "text"}, **HTMX)
    assert response.status_code == 200
    message = PhoneMessage.objects.get()
    assert message.is_test
    assert message.recipient == "+14155550100"
    assert message.message_type == "otp_verify"
    assert message.code.isdigit() and len(message.code) == 6

    status_url = reverse("dashboard:provider_test_status", args=[message.public_id])
    html = response.content.decode()
    # The block asks for the message's next change as soon as it is on the page.
    assert f'hx-get="{status_url}?seen=queued.0.' in html
    assert 'hx-trigger="load, poll-again"' in html

    PhoneMessage.objects.filter(pk=message.pk).update(status="dropped", reason="Number opted out")
    final = staff.get(status_url, **HTMX).content.decode()
    assert "hx-trigger" not in final
    assert "Dropped" in final
    assert "Number opted out" in final


@pytest.mark.django_db
def test_send_test_without_javascript_redirects_to_a_status_page(staff):
    save_custom(staff)
    response = staff.post(TEST, {"to": "+14155550100", "delivery_method": "text"})
    message = PhoneMessage.objects.get()
    status_url = reverse("dashboard:provider_test_status", args=[message.public_id])
    assert response["Location"] == status_url
    page = staff.get(status_url).content.decode()
    assert '<meta http-equiv="refresh" content="1">' in page
    assert "Sending" in page


@pytest.mark.django_db
def test_status_page_only_shows_test_messages(staff):
    save_custom(staff)
    staff.post(TEST, {"to": "+14155550100", "delivery_method": "text"})
    message = PhoneMessage.objects.get()
    PhoneMessage.objects.filter(pk=message.pk).update(is_test=False)
    url = reverse("dashboard:provider_test_status", args=[message.public_id])
    assert staff.get(url).status_code == 404
    missing = reverse("dashboard:provider_test_status", args=["msg_nope"])
    assert staff.get(missing).status_code == 404


@pytest.mark.django_db
def test_final_status_shows_the_handler_console_output(staff):
    save_custom(staff)
    staff.post(TEST, {"to": "+14155550100", "delivery_method": "text"})
    message = PhoneMessage.objects.get()
    execution = Execution.objects.create(
        kind=Execution.Kind.DELIVERY,
        status=Execution.Status.DELIVERED,
        logs=[{"level": "log", "message": "Gateway accepted <b>it</b>", "t_ms": 12}],
    )
    DeliveryAttempt.objects.create(
        message=message, number=1, provider_name="custom", outcome="sent", execution=execution
    )
    PhoneMessage.objects.filter(pk=message.pk).update(status="delivered")
    url = reverse("dashboard:provider_test_status", args=[message.public_id])
    html = staff.get(url, **HTMX).content.decode()
    assert '<strong class="outcome-label">Delivered</strong>' in html
    assert "Gateway accepted &lt;b&gt;it&lt;/b&gt;" in html
    assert "12 ms" in html


@pytest.mark.django_db
def test_final_status_names_the_providers_id_and_links_the_message(staff):
    save_custom(staff)
    staff.post(TEST, {"to": "+14155550100", "delivery_method": "text"})
    message = PhoneMessage.objects.get()
    url = reverse("dashboard:provider_test_status", args=[message.public_id])
    assert "Provider's id" not in staff.get(url, **HTMX).content.decode()

    PhoneMessage.objects.filter(pk=message.pk).update(
        status="sent", provider_message_id="SM" + "a" * 32
    )
    html = staff.get(url, **HTMX).content.decode()
    assert f"<code>SM{'a' * 32}</code>" in html
    assert f'href="{reverse("dashboard:message", args=[message.public_id])}"' in html


def _queued_test_message(staff) -> PhoneMessage:
    save_custom(staff)
    staff.post(TEST, {"to": "+14155550100", "delivery_method": "text"})
    return PhoneMessage.objects.get()


@pytest.mark.django_db
def test_the_long_poll_answers_at_once_when_the_message_changed(staff):
    message = _queued_test_message(staff)
    url = reverse("dashboard:provider_test_status", args=[message.public_id])
    seen = send_test.message_state(message)
    PhoneMessage.objects.filter(pk=message.pk).update(
        status="sent", updated_at=timezone.now() + timedelta(seconds=1)
    )
    started = time.monotonic()
    html = staff.get(url, {"seen": seen}, **HTMX).content.decode()
    assert time.monotonic() - started < long_poll.WAIT_SECONDS / 2  # not held to the deadline
    assert '<strong class="outcome-label">Sent</strong>' in html
    assert "hx-trigger" not in html  # final: nothing more to ask


@pytest.mark.django_db
def test_the_long_poll_waits_for_a_change_then_answers_with_what_it_has(staff, monkeypatch):
    monkeypatch.setattr(long_poll, "WAIT_SECONDS", 0.5)
    message = _queued_test_message(staff)
    url = reverse("dashboard:provider_test_status", args=[message.public_id])
    seen = send_test.message_state(message)
    started = time.monotonic()
    html = staff.get(url, {"seen": seen}, **HTMX).content.decode()
    assert time.monotonic() - started >= 0.5
    assert '<strong class="outcome-label">Sending</strong>' in html
    assert f"seen={seen}" in html  # and it asks again


def _attempt(message, number, outcome, error=""):
    return DeliveryAttempt.objects.create(
        message=message, number=number, provider_name="custom", outcome=outcome, error=error
    )


@pytest.mark.django_db
@pytest.mark.parametrize("mask_codes", [True, False])
def test_progress_shows_each_attempt_and_when_the_next_one_runs(staff, settings, mask_codes):
    settings.MESSAGE_MAX_ATTEMPTS = 6
    settings.MASK_CODES = mask_codes
    message = _queued_test_message(staff)
    code = message.code
    _attempt(message, 1, "retry", "connect timeout")
    _attempt(message, 2, "retry", f"Gateway error 503 for code {code}")
    PhoneMessage.objects.filter(pk=message.pk).update(
        status="queued",
        attempt_count=2,
        reason=f"Gateway error 503 for code {code}",
        next_attempt_at=timezone.now() + timedelta(seconds=4),
    )
    url = reverse("dashboard:provider_test_status", args=[message.public_id])
    html = staff.get(url, **HTMX).content.decode()
    assert '<strong class="outcome-label">Retrying</strong>' in html
    assert "Attempt 1 of 6 failed: connect timeout" in html
    shown = f"••••{code[-2:]}" if mask_codes else code
    assert f"Attempt 2 of 6 failed: Gateway error 503 for code {shown} — retrying in" in html
    # Seconds until the next attempt, as of the render (a loaded machine takes a moment to get
    # there from the update above).
    countdown = int(re.search(r'data-countdown="(\d+)"', html).group(1))
    assert 1 <= countdown <= 4
    assert (code in html) is not mask_codes

    _attempt(message, 3, "pending")
    PhoneMessage.objects.filter(pk=message.pk).update(status="sending", attempt_count=3)
    html = staff.get(url, **HTMX).content.decode()
    assert "Attempt 3 of 6 running…" in html
    assert "retrying in" not in html


@pytest.mark.django_db
def test_the_outcome_shows_the_sent_text_with_the_code_masked(staff):
    message = _queued_test_message(staff)
    code = message.code
    PhoneMessage.objects.filter(pk=message.pk).update(status="sent")
    url = reverse("dashboard:provider_test_status", args=[message.public_id])
    html = staff.get(url, **HTMX).content.decode()
    assert f"••••{code[-2:]}" in html
    assert code not in html


@pytest.mark.django_db
def test_a_template_try_is_the_same_flow_and_comes_back_to_the_template(staff):
    save_custom(staff)
    url = reverse("dashboard:template_try", args=["otp_enroll"])
    assert 'name="to"' in staff.get(url, **HTMX).content.decode()
    html = staff.post(url, {"to": "+14155550100", "delivery_method": "text"}, **HTMX)
    message = PhoneMessage.objects.get()
    assert message.message_type == "otp_enroll" and message.is_test
    PhoneMessage.objects.filter(pk=message.pk).update(status="sent")
    status_url = reverse("dashboard:provider_test_status", args=[message.public_id])
    html = staff.get(status_url, **HTMX).content.decode()
    assert f'hx-get="{url}"' in html  # Send another tries the template again
    assert f'href="{reverse("dashboard:template", args=["otp_enroll"])}"' in html
