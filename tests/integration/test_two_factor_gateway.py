"""The django-two-factor-auth gateway, against the real API and a real worker."""

from types import SimpleNamespace

import pytest

from phoneprovider.contrib.two_factor import DeliveryRefused, Gateway
from phoneprovider.models import PhoneMessage
from phoneprovider.services.limits import policy_update
from phoneprovider.services.tokens import token_create
from tests.conftest import wait_for
from tests.factories import TWILIO_SID, TwilioProviderFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(settings, live_server):
    """Settings of a Django site that delivers its 2FA codes through phoneprovider."""
    settings.PHONEPROVIDER_URL = live_server.url
    settings.PHONEPROVIDER_TOKEN = token_create(
        actor="test", name="2fa-site", scopes=["create:phone_messages"]
    ).raw
    TwilioProviderFactory()


def _device(number="+14155550100"):
    # What django-two-factor-auth passes: a PhoneDevice with .number, .pk, .persistent_id.
    return SimpleNamespace(number=number, pk=7, persistent_id="two_factor.phonedevice/7")


def test_send_sms_delivers_the_token_through_the_provider(site, celery_worker, twilio_server):
    twilio_server.clear()
    path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    twilio_server.expect_request(path).respond_with_json({"sid": "SM2FA"}, status=201)

    body = Gateway.send_sms(_device(), "834120")

    assert body["status"] == "queued"
    message = PhoneMessage.objects.get(public_id=body["id"])
    assert message.message_type == "otp_verify" and message.delivery_method == "text"
    wait_for(lambda: PhoneMessage.objects.get(pk=message.pk).status == "sent", timeout=30)
    request, _ = twilio_server.log[0]
    assert request.form["To"] == "+14155550100" and "834120" in request.form["Body"]
    twilio_server.clear()


def test_make_call_asks_for_voice(site, celery_worker, twilio_server):
    twilio_server.clear()
    path = f"/2010-04-01/Accounts/{TWILIO_SID}/Calls.json"
    twilio_server.expect_request(path).respond_with_json({"sid": "CA2FA"}, status=201)
    body = Gateway.make_call(_device(), "4242")
    message = PhoneMessage.objects.get(public_id=body["id"])
    assert message.delivery_method == "voice"
    wait_for(lambda: PhoneMessage.objects.get(pk=message.pk).status == "sent", timeout=30)
    assert "4, 2, 4, 2" in twilio_server.log[0][0].form["Twiml"]
    twilio_server.clear()


def test_a_retried_login_step_does_not_send_twice(site):
    first = Gateway.send_sms(_device(), "111111")
    second = Gateway.send_sms(_device(), "111111")
    assert first["id"] == second["id"] and PhoneMessage.objects.count() == 1


def test_refusals_raise_with_phoneproviders_reason(site):
    with pytest.raises(DeliveryRefused, match=r"E\.164"):
        Gateway.send_sms(_device("4155550100"), "1")
    policy_update(actor="test", text_countries_denied=["US"])
    with pytest.raises(DeliveryRefused, match="country rules"):
        Gateway.send_sms(_device(), "2")
