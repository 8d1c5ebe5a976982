"""Network failures that escape a handler, through a real worker and its sweeper: a gateway that
refuses connections and then comes up is retried until it answers; the handler's own errors
stay permanent."""

import pytest
from pytest_httpserver import HTTPServer

from phoneprovider.models import DeliveryAttempt, PhoneMessage
from phoneprovider.services import messages
from tests.conftest import wait_for
from tests.integration.conftest import free_port
from tests.integration.test_delivery_worker import deploy_custom

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Auth0's common style: no try/catch, and an exception for any answer but 2xx.
THROWING = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const response = await fetch(event.secrets.GATEWAY_URL, {
    method: "POST",
    headers: {"Idempotency-Key": event.transaction.correlation_id},
    body: event.notification.as_text,
  });
  if (!response.ok) throw new Error(`gateway answered ${response.status}`);
};
"""


def _final(message):
    def final():
        message.refresh_from_db()
        return message.status not in ("queued", "sending")

    return final


def _attempted(message, outcome):
    def attempted():
        return message.attempts.filter(outcome=outcome).exists()

    return attempted


def test_a_refused_connection_escaping_the_handler_is_retried_until_the_gateway_is_up(
    worker_factory,
):
    port = free_port()  # nothing listens here yet: the first tries are refused
    deploy_custom(f"http://127.0.0.1:{port}/sms", code=THROWING)
    worker_factory()
    message = messages.message_queue(to="+14155550140", code="1")

    wait_for(_attempted(message, DeliveryAttempt.Outcome.RETRY), timeout=60)
    message.refresh_from_db()
    assert message.status in ("queued", "sending"), message.reason
    first = message.attempts.order_by("number").first()
    assert "fetch failed" in first.error, first.error

    gateway = HTTPServer(host="127.0.0.1", port=port)
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    gateway.start()
    try:
        wait_for(_final(message), timeout=90)
    finally:
        gateway.stop()
    assert message.status == PhoneMessage.Status.DELIVERED, message.reason
    outcomes = list(message.attempts.order_by("number").values_list("outcome", flat=True))
    assert outcomes[-1] == "sent" and set(outcomes[:-1]) == {"retry"}, outcomes
    # Every try carried the message's correlation id.
    assert {r.headers["Idempotency-Key"] for r, _ in gateway.log} == {message.public_id}


def test_the_handlers_own_error_after_an_answer_stays_permanent(worker_factory, gateway):
    gateway.expect_request("/sms").respond_with_json({"error": "bad"}, status=500)
    deploy_custom(gateway.url_for("/sms"), code=THROWING)
    worker_factory()
    message = messages.message_queue(to="+14155550141", code="1")
    wait_for(_final(message), timeout=60)
    assert message.status == PhoneMessage.Status.FAILED
    assert "gateway answered 500" in message.reason
    assert message.attempts.count() == 1
