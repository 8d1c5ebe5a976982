"""Tokens: shown once, stored hashed, refused when unknown, expired or revoked."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from phoneprovider.errors import ValidationError
from phoneprovider.models import ApiToken, AuditEntry
from phoneprovider.services.tokens import (
    SCOPES,
    TokenError,
    scopes_clean,
    token_authenticate,
    token_create,
    token_revoke,
)

pytestmark = pytest.mark.django_db


def test_create_stores_only_the_sha256():
    new = token_create(actor="admin", name="ci", scopes="read:actions")
    stored = ApiToken.objects.get()
    assert stored.token_hash == hashlib.sha256(new.raw.encode()).hexdigest()
    assert new.raw not in str(ApiToken.objects.values().get())
    assert stored.prefix == new.raw[:12]
    entry = AuditEntry.objects.get(object_type="api_token")
    assert entry.actor == "admin" and new.raw not in str(entry.changes)


def test_authenticate_returns_the_token_and_marks_use():
    new = token_create(actor="admin", name="ci", scopes=["read:actions"])
    token = token_authenticate(new.raw)
    assert token.pk == new.token.pk
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize("raw", ["", "ppt_unknown"])
def test_authenticate_refuses_missing_or_unknown(raw):
    token_create(actor="admin", name="ci", scopes="all")
    with pytest.raises(TokenError):
        token_authenticate(raw)


def test_authenticate_refuses_expired():
    new = token_create(actor="admin", name="ci", scopes="all", expires_in_days=1)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(TokenError, match="Expired"):
        token_authenticate(new.raw)


def test_revoke_refuses_later_use_and_is_audited():
    new = token_create(actor="admin", name="ci", scopes="all")
    token_revoke(new.token, actor="admin")
    with pytest.raises(TokenError, match="Invalid token"):
        token_authenticate(new.raw)
    assert AuditEntry.objects.filter(verb="revoke").count() == 1
    token_revoke(new.token, actor="admin")  # twice is harmless
    assert AuditEntry.objects.filter(verb="revoke").count() == 1


def test_scopes_clean():
    assert scopes_clean("all") == list(SCOPES)
    assert scopes_clean("read:actions, create:actions read:actions") == [
        "read:actions",
        "create:actions",
    ]
    with pytest.raises(ValidationError, match="Unknown scope"):
        scopes_clean("read:users")
    with pytest.raises(ValidationError):
        scopes_clean("")


def test_create_validates_name_and_expiry():
    with pytest.raises(ValidationError):
        token_create(actor="admin", name=" ", scopes="all")
    with pytest.raises(ValidationError):
        token_create(actor="admin", name="x", scopes="all", expires_in_days=0)
