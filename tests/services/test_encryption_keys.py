"""Secrets at rest fail closed: a value no configured key opens is an error that names it and the
remedy, never the ciphertext; FIELD_ENCRYPTION_KEY takes several keys (newest first) and
``rotate_encryption_key`` moves every value to the newest one in one transaction."""

import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from phoneprovider.crypto import SecretUnavailable, Undecryptable
from phoneprovider.models import Action, ActionSecret, ActionVersion, Execution, PhoneMessage
from phoneprovider.models import PhoneProvider as Provider
from phoneprovider.services import delivery, executions, queue
from phoneprovider.services.actions import action_create_deployed
from tests.api_client import Api
from tests.factories import MessageFactory, TwilioProviderFactory

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SECRET = "gateway-token-VALUE-9"
HANDLER = """exports.onExecuteCustomPhoneProvider = async (event, api) => {
  await fetch(event.secrets.GATEWAY_URL, {method: "POST", body: event.secrets.TOKEN});
};
"""


@pytest.fixture
def old_key(settings):
    settings.FIELD_ENCRYPTION_KEY = [OLD]
    return settings


@pytest.fixture
def custom_setup(old_key, gateway):
    """A custom provider whose deployed Action posts its TOKEN secret to the gateway, and a
    message with a code, all written with OLD."""
    old_key.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    old_key.CONFIG_CACHE_SECONDS = 0
    gateway.expect_request("/send", method="POST").respond_with_data("ok")
    Provider.objects.create(name="custom", delivery_methods=["text"])
    action_create_deployed(
        actor="test",
        name="Gateway",
        trigger_id="custom-phone-provider",
        code=HANDLER,
        secrets={"TOKEN": SECRET, "GATEWAY_URL": gateway.url_for("/send")},
    )
    return gateway


def _raw(model, field: str) -> list[str]:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(field)} FROM {table}")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def test_a_value_no_key_opens_is_an_error_naming_it_and_the_remedy(custom_setup, settings):
    settings.FIELD_ENCRYPTION_KEY = [NEW]
    secret = ActionSecret.objects.get(name="TOKEN")
    assert isinstance(secret.value, Undecryptable)
    assert "gAAAA" not in str(secret.value) and "gAAAA" not in repr(secret.value)
    with pytest.raises(SecretUnavailable) as caught:
        secret.plain_value  # noqa: B018
    message = caught.value.message
    assert "Secret TOKEN of Gateway" in message
    assert "FIELD_ENCRYPTION_KEY" in message and "rotate_encryption_key" in message
    with pytest.raises(SecretUnavailable, match="The secrets of Gateway version 1"):
        ActionVersion.objects.get().secrets  # noqa: B018


def test_delivery_never_hands_ciphertext_to_the_handler_and_retries(
    custom_setup, settings, monkeypatch
):
    message = MessageFactory(provider_name="custom")
    settings.FIELD_ENCRYPTION_KEY = [NEW]
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)
    delivery.message_deliver(message.pk)
    message.refresh_from_db()
    assert custom_setup.log == []  # the handler never ran with ciphertext for secrets
    assert message.status == "queued"  # retried: putting the old key back heals it
    assert "The secrets of Gateway version 1" in message.reason
    assert "FIELD_ENCRYPTION_KEY" in message.reason


def test_a_test_run_reports_the_field_instead_of_running(custom_setup, settings):
    settings.FIELD_ENCRYPTION_KEY = [NEW]
    action = Action.objects.get()
    execution = Execution.objects.create(
        action=action, kind=Execution.Kind.TEST, code=HANDLER, event={}
    )
    executions.execution_run(execution.pk)
    execution.refresh_from_db()
    assert execution.status == "error"
    assert "can't be decrypted" in execution.reason and "FIELD_ENCRYPTION_KEY" in execution.reason
    assert custom_setup.log == []


def test_the_api_and_the_editor_answer_without_ciphertext(custom_setup, settings, client):
    from phoneprovider.services.tokens import token_create

    api = Api(token_create(actor="tests", name="t", scopes="all").raw)
    settings.FIELD_ENCRYPTION_KEY = [NEW]
    action = Action.objects.get()
    response = api.get(f"/actions/actions/{action.public_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["all_changes_deployed"] is False
    assert [s["name"] for s in body["secrets"]] == ["GATEWAY_URL", "TOKEN"]
    assert "gAAAA" not in response.content.decode()
    versions = api.get(f"/actions/actions/{action.public_id}/versions")
    assert versions.status_code == 200 and "gAAAA" not in versions.content.decode()

    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("ops", password="pw-1-abcdef"))
    for url in ("/editor/", "/", "/editor/versions/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "gAAAA" not in page.content.decode() and SECRET not in page.content.decode()


def test_twilio_never_gets_ciphertext_for_a_token(old_key, fake_twilio, settings, monkeypatch):
    settings.TWILIO_API_BASE_URL = fake_twilio.url_for("").rstrip("/")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.CONFIG_CACHE_SECONDS = 0
    TwilioProviderFactory()
    settings.FIELD_ENCRYPTION_KEY = [NEW]  # the message is written after the key change
    message = MessageFactory(provider_name="twilio")
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)
    delivery.message_deliver(message.pk)
    message.refresh_from_db()
    assert fake_twilio.log == []
    assert message.status == "queued" and "The Twilio auth token" in message.reason


def test_saving_a_row_keeps_a_value_it_could_not_open(custom_setup, settings):
    before = _raw(Provider, "twilio_auth_token")
    provider = Provider.objects.get()
    provider.twilio_auth_token = "tw-token"
    provider.save()
    settings.FIELD_ENCRYPTION_KEY = [NEW]
    provider = Provider.objects.get()
    stored = _raw(Provider, "twilio_auth_token")
    provider.disabled = True
    provider.save()  # all fields: the unopened token is written back as it was
    assert _raw(Provider, "twilio_auth_token") == stored != before
    settings.FIELD_ENCRYPTION_KEY = [NEW, OLD]
    assert Provider.objects.get().twilio_auth_token == "tw-token"


def test_several_keys_read_with_any_and_write_with_the_first(custom_setup, settings):
    settings.FIELD_ENCRYPTION_KEY = f"{NEW}, {OLD}"  # the environment's comma-separated form
    assert ActionSecret.objects.get(name="TOKEN").plain_value == SECRET
    MessageFactory(code="246810")
    raw = _raw(PhoneMessage, "code")[0]
    assert Fernet(NEW).decrypt(raw.encode()) == b"246810"


def test_rotation_moves_every_field_to_the_newest_key(custom_setup, settings):
    MessageFactory(code="135790")
    provider = Provider.objects.get()
    provider.twilio_auth_token = "tw-token"
    provider.save()
    settings.FIELD_ENCRYPTION_KEY = [NEW, OLD]
    call_command("rotate_encryption_key")
    settings.FIELD_ENCRYPTION_KEY = [NEW]  # the old key dropped: everything still opens
    assert {s.name: s.plain_value for s in ActionSecret.objects.all()}["TOKEN"] == SECRET
    assert ActionVersion.objects.get().secrets["TOKEN"] == SECRET
    assert PhoneMessage.objects.get().code == "135790"
    assert Provider.objects.get().twilio_auth_token == "tw-token"
    for model, field in (
        (ActionSecret, "value"),
        (ActionVersion, "secrets_json"),
        (PhoneMessage, "code"),
        (Provider, "twilio_auth_token"),
    ):
        for raw in _raw(model, field):
            Fernet(NEW).decrypt(raw.encode())  # raises unless written with NEW


def test_rotation_changes_nothing_when_a_value_opens_with_no_key(custom_setup, settings):
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    MessageFactory(code="111111")  # written with a key about to be lost
    settings.FIELD_ENCRYPTION_KEY = [NEW, OLD]
    before = {m: _raw(m, f) for m, f in ((ActionSecret, "value"), (PhoneMessage, "code"))}
    with pytest.raises(CommandError, match=r"PhoneMessage\.code of row \d+ opens with none"):
        call_command("rotate_encryption_key")
    assert {m: _raw(m, f) for m, f in ((ActionSecret, "value"), (PhoneMessage, "code"))} == before
    assert json.loads(ActionVersion.objects.get().secrets_json)["TOKEN"] == SECRET
