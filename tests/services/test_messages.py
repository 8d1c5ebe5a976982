import json
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from phoneprovider.errors import ValidationError
from phoneprovider.models import DeliveryAttempt, PhoneMessage, PhoneProvider, PhoneTemplate
from phoneprovider.services import delivery, messages, queue
from tests.factories import TWILIO_SID, MessageFactory, TwilioProviderFactory

pytestmark = pytest.mark.django_db

MESSAGES_PATH = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"


@pytest.fixture
def twilio(settings, fake_twilio):
    """A Twilio provider whose API is the fake Twilio server on loopback (returned)."""
    settings.TWILIO_API_BASE_URL = fake_twilio.url_for("").rstrip("/")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    TwilioProviderFactory()
    return fake_twilio


@pytest.fixture
def no_enqueue(monkeypatch):
    """Keep the broker out of service tests: record what would be enqueued."""
    queued = []
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: queued.append(pk))
    return queued


def test_queue_renders_the_default_template_and_stores_the_row(
    twilio, no_enqueue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = messages.message_queue(to="+1 415 555 0100", code="987654")
    assert message.recipient == "+14155550100"
    assert message.as_text.startswith("987654 is your")
    assert "9, 8, 7, 6, 5, 4" in message.as_voice
    assert message.status == "queued" and message.provider_name == "twilio"
    assert no_enqueue == [message.pk]


def test_queue_uses_a_customised_template_and_its_from(twilio, no_enqueue):
    PhoneTemplate.objects.create(
        type="otp_verify",
        from_number="+14155550111",
        text_body="Code: {{ code }}",
        voice_body="{{ code }}",
    )
    message = messages.message_queue(to="+14155550100", code="1111")
    assert message.as_text == "Code: 1111" and message.sender == "+14155550111"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"to": "4155550100"}, "to"),
        ({"to": "+1415"}, "to"),
        ({"to": "+14155550100", "message_type": "hello"}, "message_type"),
        ({"to": "+14155550100", "delivery_method": "fax"}, "delivery_method"),
    ],
)
def test_queue_refuses_bad_input_and_stores_nothing(twilio, no_enqueue, kwargs, field):
    with pytest.raises(ValidationError) as info:
        messages.message_queue(**kwargs)
    assert info.value.field == field
    assert not PhoneMessage.objects.exists() and no_enqueue == []


def test_queue_refuses_a_method_the_provider_does_not_offer(twilio, no_enqueue):
    PhoneProvider.objects.update(delivery_methods=["text"])
    with pytest.raises(ValidationError):
        messages.message_queue(to="+14155550100", delivery_method="voice")


def test_same_idempotency_key_returns_the_same_message(twilio, no_enqueue):
    first = messages.message_queue(to="+14155550100", code="1", idempotency_key="k1")
    second = messages.message_queue(to="+14155550100", code="2", idempotency_key="k1")
    assert first.pk == second.pk and PhoneMessage.objects.count() == 1


def test_deliver_through_twilio_records_a_sent_attempt(twilio, no_enqueue):
    message = MessageFactory(provider_name="twilio")
    server = twilio
    server.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        {"sid": "SM0001", "status": "queued"}, status=201
    )
    delivery.message_deliver(message.pk)
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_message_id == "SM0001"
    attempt = DeliveryAttempt.objects.get()
    assert attempt.outcome == "sent" and attempt.ended_at is not None
    request, _ = server.log[0]
    assert request.form["To"] == "+14155550100" and request.form["Body"] == message.as_text
    assert request.form["From"] == "+14155550199"
    assert request.authorization.username == TWILIO_SID
    assert request.authorization.password == "twilio-secret-token-value"


def test_transient_failure_requeues_with_backoff(twilio, no_enqueue):
    server = twilio
    server.expect_request(MESSAGES_PATH).respond_with_json(
        {"code": 20500, "message": "oops"}, status=503
    )
    message = MessageFactory(provider_name="twilio")
    delivery.message_deliver(message.pk)
    message.refresh_from_db()
    assert message.status == "queued" and message.attempt_count == 1
    assert message.next_attempt_at > timezone.now() - timedelta(seconds=1)
    assert "503" in message.reason


def test_permanent_failure_fails_at_once_with_a_clear_reason(twilio, no_enqueue):
    server = twilio
    server.expect_request(MESSAGES_PATH).respond_with_response(
        Response(
            json.dumps({"code": 21211, "message": "Invalid 'To' Phone Number"}),
            status=400,
            content_type="application/json",
        )
    )
    message = MessageFactory(provider_name="twilio")
    delivery.message_deliver(message.pk)
    message.refresh_from_db()
    assert message.status == "failed"
    assert "not valid" in message.reason and no_enqueue == []


def test_retries_stop_after_the_last_attempt(twilio, no_enqueue, settings):
    server = twilio
    server.expect_request(MESSAGES_PATH).respond_with_json({}, status=500)
    message = MessageFactory(
        provider_name="twilio", attempt_count=settings.MESSAGE_MAX_ATTEMPTS - 1
    )
    delivery.message_deliver(message.pk)
    message.refresh_from_db()
    assert message.status == "failed" and "Retries exhausted" in message.reason


def test_a_retry_that_would_deliver_a_stale_code_is_not_sent(twilio, no_enqueue, settings):
    settings.MESSAGE_CODE_TTL_SECONDS = 0
    server = twilio
    server.expect_request(MESSAGES_PATH).respond_with_json({}, status=500)
    message = MessageFactory(provider_name="twilio")
    delivery.message_deliver(message.pk)
    message.refresh_from_db()
    assert message.status == "failed" and "stale" in message.reason


def test_a_claimed_message_is_not_delivered_twice(twilio, no_enqueue):
    message = MessageFactory(provider_name="twilio", status="sending")
    assert delivery.message_deliver(message.pk) is None
    assert not DeliveryAttempt.objects.exists()


def test_a_message_that_keeps_killing_its_worker_ends_failed(twilio, no_enqueue, settings):
    message = MessageFactory(provider_name="twilio", attempt_count=settings.MESSAGE_MAX_ATTEMPTS)
    delivery.message_deliver(message.pk)
    message.refresh_from_db()
    assert message.status == "failed" and "Gave up" in message.reason


def test_sweeper_requeues_expired_claims_and_lost_enqueues(twilio, monkeypatch):
    woken = []
    monkeypatch.setattr(queue, "deliveries_wake", lambda: woken.append(1))
    past = timezone.now() - timedelta(minutes=5)
    stuck = MessageFactory(status="sending", claim_expires_at=past, attempt_count=1)
    DeliveryAttempt.objects.create(message=stuck, number=1, provider_name="twilio")
    lost = MessageFactory()
    PhoneMessage.objects.filter(pk=lost.pk).update(updated_at=past)
    fresh = MessageFactory()
    result = delivery.message_sweep()
    assert result == {"expired_claims": 1, "requeued": 2, "limit_windows_pruned": 0}
    assert woken == [1]  # one wake-up for both: the worker claims whatever is due
    fresh.refresh_from_db()
    assert fresh.status == "queued" and fresh.reason == ""
    stuck.refresh_from_db()
    assert stuck.status == "queued"
    assert DeliveryAttempt.objects.get().outcome == "retry"
