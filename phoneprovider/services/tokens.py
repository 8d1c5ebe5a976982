"""Management API tokens: created once and shown once, stored as SHA-256, expired or revoked."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from phoneprovider.config_cache import Snapshot
from phoneprovider.errors import Unauthorized, ValidationError
from phoneprovider.models import ApiToken
from phoneprovider.services.audit import audit_record

# Auth0's scope names for the endpoints we serve, plus our extensions' (sending, configuration
# as code, routing).
SCOPES: tuple[str, ...] = (
    *(
        f"{verb}:{resource}"
        for resource in ("phone_providers", "phone_templates", "actions")
        for verb in ("read", "create", "update", "delete")
    ),
    "create:phone_messages",
    "read:phone_messages",
    "read:phone_config",
    "update:phone_config",
    "delete:phone_messages",
    "read:phone_routes",
    "update:phone_routes",
)

TOKEN_PREFIX = "ppt_"  # noqa: S105 - a marker, not a secret
PREFIX_SHOWN = 12
# Writing last_used_at on every request would turn each read into a write; once a minute is
# enough to tell a token in use from a forgotten one.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenError(Unauthorized):
    """A bearer token that cannot be used. ``message`` is what the API answers (401)."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    raw: str  # shown once; only its hash is stored


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def scopes_clean(scopes) -> list[str]:
    """Split and check a scope list; ``all`` stands for every scope."""
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    scopes = list(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    if scopes == ["all"]:
        return list(SCOPES)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValidationError(
            f"Unknown scope {unknown[0]!r}. Known scopes: {' '.join(SCOPES)} (or 'all').",
            field="scopes",
        )
    if not scopes:
        raise ValidationError("A token needs at least one scope.", field="scopes")
    return scopes


@transaction.atomic
def token_create(
    *, actor: str, name: str, scopes, expires_in_days: float | None = None
) -> NewToken:
    name = (name or "").strip()
    if not name:
        raise ValidationError("The token needs a name.", field="name")
    clean = scopes_clean(scopes)
    expires_at = None
    if expires_in_days is not None:
        if expires_in_days <= 0:
            raise ValidationError("expires-in-days must be positive.", field="expires_in_days")
        expires_at = timezone.now() + timedelta(days=expires_in_days)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name,
        prefix=raw[:PREFIX_SHOWN],
        token_hash=token_hash(raw),
        scopes=clean,
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        verb="create",
        object_type="api_token",
        object_id=str(token.pk),
        changes={"name": name, "scopes": clean, "expires_at": expires_at and str(expires_at)},
    )
    return NewToken(token=token, raw=raw)


def token_authenticate(raw: str, *, config: Snapshot | None = None) -> ApiToken:
    """The live token for ``raw``, or TokenError with the message the API answers with.

    ``config``: the request's configuration snapshot, when the caller reads more through it."""
    if not raw:
        raise TokenError("Missing authentication")
    # The process's copy (config_cache): no query per request; a revoke is seen at once.
    token = (config or Snapshot()).token(token_hash(raw))
    if token is None or token.revoked_at is not None:
        raise TokenError("Invalid token")
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenError("Expired token received for JSON Web Token validation")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@transaction.atomic
def token_revoke(token: ApiToken, *, actor: str) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            verb="revoke",
            object_type="api_token",
            object_id=str(token.pk),
            changes={"name": token.name},
        )
    return token
