"""Template writes: Liquid checked before saving, one per type, reset keeps from, audited."""

import pytest

from phoneprovider.errors import Conflict, ValidationError
from phoneprovider.models import AuditEntry, PhoneTemplate
from phoneprovider.providers.templates import DEFAULT_BODIES
from phoneprovider.services.templates import (
    template_create,
    template_delete,
    template_reset,
    template_update,
)

pytestmark = pytest.mark.django_db


def test_create_fills_missing_bodies_with_defaults():
    template = template_create(actor="ann", type="otp_verify", text_body="Code {{ code }}")
    assert template.text_body == "Code {{ code }}"
    assert template.voice_body == DEFAULT_BODIES["otp_verify"]["voice"]
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.verb, entry.object_id) == ("ann", "create", template.public_id)


def test_one_template_per_type():
    template_create(actor="ann", type="otp_verify")
    with pytest.raises(Conflict):
        template_create(actor="ann", type="otp_verify")


def test_unknown_type_is_refused():
    with pytest.raises(ValidationError, match="type"):
        template_create(actor="ann", type="welcome")


def test_invalid_liquid_is_refused_with_its_line_and_nothing_changes():
    template = template_create(actor="ann", type="otp_verify")
    with pytest.raises(ValidationError) as caught:
        template_update(template, actor="ann", voice_body="a\nb\n{% nosuchtag %}")
    assert caught.value.line == 3 and caught.value.field == "voice"
    assert PhoneTemplate.objects.get().voice_body == DEFAULT_BODIES["otp_verify"]["voice"]


def test_empty_or_huge_bodies_are_refused():
    with pytest.raises(ValidationError):
        template_create(actor="ann", type="otp_verify", text_body="  ")
    with pytest.raises(ValidationError):
        template_create(actor="ann", type="otp_verify", text_body="x" * 20001)


def test_from_is_stored_in_e164_when_a_number_else_as_given_for_the_api_as_auth0_does():
    with pytest.raises(ValidationError):
        template_create(actor="ann", type="otp_verify", from_number="1" * 17)
    template = template_create(actor="ann", type="otp_verify", from_number="+1 415 555 0100")
    assert template.from_number == "+14155550100"
    with pytest.raises(ValidationError):
        template_create(actor="ann", type="otp_enroll", from_number="12345")
    template = template_create(actor="ann", type="otp_enroll", from_number="12345", any_from=True)
    assert template.from_number == "12345"


def test_update_changes_only_what_is_given():
    template = template_create(actor="ann", type="otp_verify", from_number="ACME")
    template = template_update(template, actor="bob", disabled=True)
    assert template.disabled and template.from_number == "ACME"
    template = template_update(template, actor="bob", from_number="")
    assert template.from_number == ""
    assert AuditEntry.objects.filter(verb="update", actor="bob").count() == 2


def test_reset_restores_bodies_and_keeps_from():
    template = template_create(
        actor="ann",
        type="otp_enroll",
        from_number="ACME",
        text_body="x {{ code }}",
        voice_body="y {{ code }}",
    )
    template = template_reset(template, actor="ann")
    assert template.text_body == DEFAULT_BODIES["otp_enroll"]["text"]
    assert template.voice_body == DEFAULT_BODIES["otp_enroll"]["voice"]
    assert template.from_number == "ACME"


def test_delete():
    template = template_create(actor="ann", type="otp_verify")
    template_delete(template, actor="ann")
    assert not PhoneTemplate.objects.exists()
    assert AuditEntry.objects.filter(verb="delete", object_type="phone_template").exists()
