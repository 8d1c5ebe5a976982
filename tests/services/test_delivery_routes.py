"""Routed delivery against loopback fakes of Twilio Messaging, Twilio Verify and a custom gateway:
the rule a message matches picks the connection, a failing connection hands over to the next
one, and every attempt names the connection it used."""

import json

import pytest
from werkzeug import Response

from phoneprovider.models import PhoneMessage
from phoneprovider.services import actions, delivery, queue
from phoneprovider.services import connections as connection_service
from phoneprovider.services import routing as routing_service
from phoneprovider.services.messages import message_queue
from tests.factories import (
    TWILIO_SID,
    VERIFY_SERVICE_SID,
    ConnectionFactory,
    TwilioProviderFactory,
    VerifyConnectionFactory,
)

pytestmark = pytest.mark.django_db

UK_SID = "AC" + "1" * 32
US_SID = "AC" + "2" * 32


def _messages_path(sid: str) -> str:
    return f"/2010-04-01/Accounts/{sid}/Messages.json"


def _accept(prefix: str):
    def handler(request):
        body = {"sid": f"{prefix}{request.form['To'][-4:]}", "status": "queued"}
        return Response(json.dumps(body), status=201, content_type="application/json")

    return handler


@pytest.fixture
def twilio(settings, fake_twilio, monkeypatch):
    """The fake Twilio, with the default provider (sid TWILIO_SID) configured; re-queued
    messages are delivered by the test calling deliver_due again, not by a worker."""
    settings.TWILIO_API_BASE_URL = fake_twilio.url_for("").rstrip("/")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)
    monkeypatch.setattr(queue, "deliveries_wake", lambda: None)
    TwilioProviderFactory()
    for sid, prefix in ((TWILIO_SID, "SMdefault"), (UK_SID, "SMuk"), (US_SID, "SMus")):
        fake_twilio.expect_request(_messages_path(sid), method="POST").respond_with_handler(
            _accept(prefix)
        )
    return fake_twilio


def _rule(name, connections, **match):
    return routing_service.route_create(
        actor="test", name=name, connections=[c.public_id for c in connections], **match
    )


def _deliver(**fields) -> PhoneMessage:
    message = message_queue(code="123456", **fields)
    delivery.deliver_due()
    message.refresh_from_db()
    return message


def _sids_called(fake) -> list[str]:
    return [request.path.split("/")[3] for request, _ in fake.log]


def test_a_uk_and_a_us_number_take_different_connections(twilio):
    uk = ConnectionFactory(name="uk", twilio_sid=UK_SID)
    us = ConnectionFactory(name="us", twilio_sid=US_SID)
    _rule("UK", [uk], countries=["GB"])
    _rule("US", [us], countries=["US"])

    to_uk = _deliver(to="+447400123456")
    to_us = _deliver(to="+14155550100")

    assert (to_uk.status, to_uk.route_name, to_uk.provider_message_id) == ("sent", "UK", "SMuk3456")
    assert (to_us.status, to_us.route_name, to_us.provider_message_id) == ("sent", "US", "SMus0100")
    assert _sids_called(twilio) == [UK_SID, US_SID]
    assert to_uk.attempts.get().connection_name == "uk"


def test_no_matching_rule_sends_through_the_default_provider(twilio):
    _rule("UK", [ConnectionFactory(twilio_sid=UK_SID)], countries=["GB"])
    message = _deliver(to="+33612345678")
    assert (message.status, message.route_id, message.route_name) == ("sent", None, "")
    attempt = message.attempts.get()
    assert (attempt.provider_name, attempt.connection_id) == ("twilio", None)
    assert _sids_called(twilio) == [TWILIO_SID]


def test_an_organization_with_its_own_rule_takes_it(twilio):
    _rule("Acme", [ConnectionFactory(twilio_sid=UK_SID)], organization_ids=["org_acme"])
    acme = _deliver(to="+14155550100", context={"organization": {"id": "org_acme"}})
    other = _deliver(to="+14155550101", context={"organization": {"id": "org_other"}})
    assert (acme.route_name, other.route_name) == ("Acme", "")
    assert _sids_called(twilio) == [UK_SID, TWILIO_SID]


def test_a_disabled_rule_is_skipped(twilio):
    rule = _rule("Everyone", [ConnectionFactory(twilio_sid=UK_SID)])
    routing_service.route_update(rule, actor="test", enabled=False)
    assert _deliver(to="+14155550100").route_name == ""
    assert _sids_called(twilio) == [TWILIO_SID]


def test_a_failing_first_connection_fails_over_to_the_second(twilio):
    broken = ConnectionFactory(name="broken", twilio_sid="AC" + "3" * 32)
    twilio.expect_request(_messages_path(broken.twilio_sid), method="POST").respond_with_json(
        {"code": 21606, "message": "Not SMS capable"}, status=400
    )
    backup = ConnectionFactory(name="backup", twilio_sid=US_SID)
    _rule("With backup", [broken, backup])

    message = _deliver(to="+14155550100")
    # The first connection failed for good: the message is due again at once, on the next one.
    assert (message.status, message.route_step, message.failed_over) == ("queued", 1, True)
    assert "broken: Twilio answered 400 (error 21606)" in message.reason
    assert "Failing over to backup" in message.reason

    delivery.deliver_due()
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "SMus0100")
    attempts = list(message.attempts.order_by("number"))
    assert [(a.number, a.connection_name, a.outcome) for a in attempts] == [
        (1, "broken", "failed"),
        (2, "backup", "sent"),
    ]
    assert _sids_called(twilio) == [broken.twilio_sid, US_SID]


def test_the_last_connection_failing_fails_the_message(twilio):
    broken = ConnectionFactory(name="broken", twilio_sid="AC" + "3" * 32)
    twilio.expect_request(_messages_path(broken.twilio_sid), method="POST").respond_with_json(
        {"code": 21211, "message": "Invalid To"}, status=400
    )
    _rule("Only", [broken])
    message = _deliver(to="+14155550100")
    assert message.status == "failed" and "recipient number is not valid" in message.reason
    assert not message.failed_over


def test_each_connection_gets_its_own_retries(twilio, settings):
    settings.MESSAGE_MAX_ATTEMPTS = 2
    flaky = ConnectionFactory(name="flaky", twilio_sid="AC" + "4" * 32)
    twilio.expect_request(_messages_path(flaky.twilio_sid), method="POST").respond_with_json(
        {"code": 20500, "message": "Internal"}, status=503
    )
    backup = ConnectionFactory(name="backup", twilio_sid=US_SID)
    _rule("Flaky first", [flaky, backup])
    message = message_queue(to="+14155550100", code="123456")
    for _ in range(3):
        PhoneMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
        delivery.deliver_due()
    message.refresh_from_db()
    assert message.status == "sent"
    assert [(a.connection_name, a.outcome) for a in message.attempts.order_by("number")] == [
        ("flaky", "retry"),
        ("flaky", "retry"),
        ("backup", "sent"),
    ]


def test_verify_receives_the_code_as_its_custom_code(twilio):
    verify = VerifyConnectionFactory(name="verify")
    path = f"/v2/Services/{VERIFY_SERVICE_SID}/Verifications"
    twilio.expect_request(path, method="POST").respond_with_json(
        {"sid": "VE" + "5" * 32, "status": "pending"}, status=201
    )
    _rule("Codes by Verify", [verify], message_types=["otp_verify"])

    message = _deliver(to="+14155550100", delivery_method="voice")

    assert (message.status, message.provider_message_id) == ("sent", "VE" + "5" * 32)
    request = twilio.log[-1][0]
    assert request.path == path
    assert request.form["CustomCode"] == "123456"
    assert (request.form["To"], request.form["Channel"]) == ("+14155550100", "call")
    assert message.attempts.get().provider_name == "twilio_verify"


HANDLER = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  await fetch(event.secrets.URL, {
    method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify({to: event.notification.recipient, configuration: event.configuration}),
  });
};
"""


def test_a_custom_connections_handler_sees_the_route_that_chose_it(twilio, gateway, settings):
    action = actions.action_create(
        actor="test",
        name="gateway",
        trigger_id="custom-phone-provider",
        code=HANDLER,
        secrets={"URL": gateway.url_for("/sms")},
    )
    actions.action_deploy(action, actor="test")
    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    custom = connection_service.connection_create(
        actor="test", name="gateway-eu", kind="custom", configuration={"region": "eu"}
    )
    rule = _rule("Europe", [custom], countries=["FR"])

    message = _deliver(to="+33612345678")

    assert message.status == "delivered", message.reason
    sent = json.loads(gateway.log[-1][0].data)
    assert sent["to"] == "+33612345678"
    assert sent["configuration"] == {
        "region": "eu",
        "route_id": rule.public_id,
        "route_name": "Europe",
        "connection_id": custom.public_id,
        "connection_name": "gateway-eu",
    }


def test_a_connection_test_goes_through_that_connection_whatever_the_rules(twilio):
    uk = ConnectionFactory(name="uk", twilio_sid=UK_SID)
    _rule("Everyone to US", [ConnectionFactory(name="us", twilio_sid=US_SID)])
    message = message_queue(to="+14155550100", code="123456", is_test=True, connection=uk)
    delivery.deliver_due()
    message.refresh_from_db()
    assert (message.status, message.route_id) == ("sent", None)
    assert message.attempts.get().connection_name == "uk"
    assert _sids_called(twilio) == [UK_SID]
