import pytest

from phoneprovider.errors import Conflict, ValidationError
from phoneprovider.models import AuditEntry, PhoneProvider
from phoneprovider.services.providers import (
    DEPLOYED_ACTION_MISSING,
    provider_create,
    provider_save,
    provider_update,
    provider_warnings,
)
from tests.factories import TWILIO_MSSID, TWILIO_SID

pytestmark = pytest.mark.django_db

TWILIO = dict(
    name="twilio",
    delivery_methods=["text"],
    twilio_sid=TWILIO_SID,
    twilio_default_from="+14155550199",
    twilio_auth_token="tok-123",
)


def test_twilio_provider_is_stored_with_encrypted_token():
    provider = provider_create(actor="alice", **TWILIO)
    assert provider.public_id.startswith("pro_") and len(provider.public_id) == 26
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT twilio_auth_token FROM phoneprovider_phoneprovider")
        (stored,) = cursor.fetchone()
    assert "tok-123" not in stored
    assert PhoneProvider.objects.get().twilio_auth_token == "tok-123"


def test_second_provider_is_a_conflict():
    provider_create(actor="alice", **TWILIO)
    with pytest.raises(Conflict):
        provider_create(actor="alice", **TWILIO)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"delivery_methods": []}, "delivery_methods"),
        ({"delivery_methods": ["fax"]}, "delivery_methods"),
        ({"twilio_sid": ""}, "sid"),
        ({"twilio_sid": "  "}, "sid"),
        ({"twilio_default_from": ""}, "default_from"),  # neither From nor MSSID
        ({"twilio_auth_token": ""}, "auth_token"),
    ],
)
def test_invalid_twilio_settings_are_refused_and_nothing_is_stored(changes, field):
    with pytest.raises(ValidationError) as info:
        provider_create(actor="alice", **{**TWILIO, **changes})
    assert info.value.field == field
    assert not PhoneProvider.objects.exists()
    assert not AuditEntry.objects.exists()


def test_messaging_service_instead_of_from():
    provider = provider_create(
        actor="a", **{**TWILIO, "twilio_default_from": "", "twilio_mssid": TWILIO_MSSID}
    )
    assert provider.configuration == {
        "delivery_methods": ["text"],
        "sid": TWILIO_SID,
        "mssid": TWILIO_MSSID,
    }


def test_blank_token_on_update_keeps_the_stored_one():
    provider = provider_create(actor="a", **TWILIO)
    provider_update(provider, actor="a", twilio_auth_token="", delivery_methods=["voice", "text"])
    provider.refresh_from_db()
    assert provider.twilio_auth_token == "tok-123"
    assert provider.delivery_methods == ["text", "voice"]


def test_invalid_update_leaves_the_stored_provider_unchanged():
    provider = provider_create(actor="a", **TWILIO)
    with pytest.raises(ValidationError):
        provider_update(provider, actor="a", twilio_sid="", delivery_methods=["voice"])
    provider.refresh_from_db()
    assert provider.twilio_sid == TWILIO_SID and provider.delivery_methods == ["text"]


def test_custom_without_deployed_action_uses_auth0_error_code():
    with pytest.raises(ValidationError) as info:
        provider_save(actor="a", name="custom", delivery_methods=["text"])
    assert info.value.error_code == DEPLOYED_ACTION_MISSING


def test_audit_masks_the_token():
    provider_create(actor="alice", **TWILIO)
    entry = AuditEntry.objects.get()
    assert entry.actor == "alice" and entry.verb == "create"
    assert "tok-123" not in str(entry.changes)
    assert entry.changes["credentials"] == {"auth_token": "[redacted]"}


STARTER = "exports.onExecuteCustomPhoneProvider = async (event, api) => {};\n"
THROWS_AT_LOAD = "const table = {};\ntable.missing.lookup();\n" + STARTER


def test_custom_save_of_code_that_throws_at_load_deploys_nothing():
    from phoneprovider.models import ActionVersion
    from phoneprovider.services.providers import custom_provider_configure

    custom_provider_configure(actor="a", code=STARTER, delivery_methods=["text"])
    with pytest.raises(ValidationError) as info:
        custom_provider_configure(actor="a", code=THROWS_AT_LOAD, delivery_methods=["text"])
    assert info.value.field == "code" and info.value.line == 2
    assert "TypeError" in info.value.message
    assert list(ActionVersion.objects.values_list("number", "code")) == [(1, STARTER)]
    assert ActionVersion.objects.get().action.code == STARTER  # the draft is unchanged too


@pytest.mark.parametrize(
    ("changes", "warned"),
    [
        ({"twilio_sid": "nope"}, {"sid"}),
        ({"twilio_mssid": TWILIO_MSSID}, {"mssid"}),  # both From and MSSID
        ({"twilio_default_from": "+1415"}, {"default_from"}),
        ({"twilio_default_from": "", "twilio_mssid": "MG1"}, {"mssid"}),
        ({}, set()),
    ],
)
def test_values_twilio_will_refuse_are_stored_with_a_warning(changes, warned):
    """Auth0 stores these; so do we, and the dashboard says beside the field why they fail."""
    provider = provider_create(actor="alice", **{**TWILIO, **changes})
    assert set(provider_warnings(provider)) == warned
