"""One-time codes are shown masked (••••56) on the message page, in the admin and in the logs of
the delivery run; MASK_CODES=false shows them (a test instance)."""

import pytest
from django.contrib.auth import get_user_model

from phoneprovider.masking import mask_text
from phoneprovider.models import Execution, PhoneMessage
from phoneprovider.models import PhoneProvider as Provider
from phoneprovider.services import delivery, queue
from phoneprovider.services.actions import action_create_deployed
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_the_code_is_masked_as_written_and_as_spelled_for_voice(settings):
    assert mask_text("123456 is your code", "123456") == "••••56 is your code"
    assert mask_text("Your code is 1, 2, 3, 4, 5, 6.", "123456") == "Your code is ••••56."
    assert mask_text("Order 91234567 and 123456", "123456") == "Order 91234567 and ••••56"
    settings.MASK_CODES = False
    assert mask_text("123456 is your code", "123456") == "123456 is your code"


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("ops", password="pw-1-abcdef")
    client.force_login(user)
    return client


def test_the_message_page_and_the_admin_show_the_code_masked(staff, settings):
    message = MessageFactory(status="sent")
    for url in (
        f"/messages/{message.public_id}/",
        f"/admin/phoneprovider/phonemessage/{message.pk}/change/",
    ):
        page = staff.get(url)
        assert page.status_code == 200, url
        text = page.content.decode()
        assert "123456" not in text and "1, 2, 3, 4, 5, 6" not in text, url
        assert "••••56" in text, url
    settings.MASK_CODES = False
    assert "123456 is your code" in staff.get(f"/messages/{message.public_id}/").content.decode()


def test_the_delivery_logs_show_the_code_masked(settings, gateway, monkeypatch):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.CONFIG_CACHE_SECONDS = 0
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)
    gateway.expect_request("/sms", method="POST").respond_with_data("ok")
    Provider.objects.create(name="custom", delivery_methods=["text"])
    action_create_deployed(
        actor="test",
        name="Gateway",
        trigger_id="custom-phone-provider",
        code="""exports.onExecuteCustomPhoneProvider = async (event, api) => {
  console.log('code', event.notification.code, 'text', event.notification.as_text);
  await fetch(event.secrets.URL, {method: 'POST', body: event.notification.as_text});
};
""",
        secrets={"URL": gateway.url_for("/sms")},
    )
    message = MessageFactory(provider_name="custom")
    delivery.message_deliver(message.pk)
    assert PhoneMessage.objects.get().status == "delivered"
    assert gateway.log[0][0].get_data(as_text=True) == "123456 is your code"  # sent as is
    execution = Execution.objects.get(kind="delivery")
    logged = repr((execution.logs, execution.fetches))
    assert "123456" not in logged
    assert execution.logs[0]["message"] == "code ••••56 text ••••56 is your code"


def test_the_rendered_bodies_are_encrypted_at_rest():
    from cryptography.fernet import MultiFernet  # noqa: F401 - the type crypter() returns
    from django.db import connection

    from phoneprovider.crypto import crypter

    message = MessageFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT as_text, as_voice, code FROM phoneprovider_phonemessage WHERE id = %s",
            [message.pk],
        )
        stored = cursor.fetchone()
    assert not any("123456" in value or "1, 2, 3" in value for value in stored)
    assert crypter().decrypt(stored[0].encode()).decode() == "123456 is your code"
    assert PhoneMessage.objects.get().as_voice == "Your code is 1, 2, 3, 4, 5, 6"
