"""Encrypted model fields that fail closed, and the keys they use.

``FIELD_ENCRYPTION_KEY`` holds one or more Fernet keys, newest first (comma-separated in the
environment): values are written with the first and read with any of them (MultiFernet), so a
new key goes in front and ``python manage.py rotate_encryption_key`` re-encrypts every value with
it before the old one is dropped.

django-encrypted-model-fields hands back the stored ciphertext when no key opens it. These
fields hand back an :class:`Undecryptable` instead: not a string, so it can't reach a handler,
a request or a page as if it were the value, and :func:`reveal` turns it into an error that names
the field and the remedy.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from encrypted_model_fields import fields as library

from phoneprovider.errors import ServiceUnavailable

REMEDY = (
    "Put the key it was encrypted with back into FIELD_ENCRYPTION_KEY after the current one "
    "(comma-separated, newest first), restart, and run `python manage.py rotate_encryption_key`; "
    "or set the value again."
)


def configured_keys() -> list[str]:
    """The keys of FIELD_ENCRYPTION_KEY, newest first (a list, or one comma-separated string)."""
    value = settings.FIELD_ENCRYPTION_KEY
    if isinstance(value, str):
        value = value.split(",")
    keys = [str(k).strip() for k in value if str(k).strip()]
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY holds no key.")
    return keys


@lru_cache(maxsize=8)
def _crypter(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def crypter() -> MultiFernet:
    return _crypter(tuple(configured_keys()))


class SecretUnavailable(ServiceUnavailable):
    """A stored encrypted value that none of the configured keys opens."""


class Undecryptable:
    """A stored value no configured key opens. Saving the row writes the ciphertext back as it
    was; anything that needs the value gets :class:`SecretUnavailable` from :func:`reveal`."""

    __slots__ = ("label", "token")

    def __init__(self, label: str, token: str):
        self.label = label
        self.token = token

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return "[undecryptable]"

    def __repr__(self) -> str:
        return f"<Undecryptable {self.label}>"

    def error(self, what: str | None = None) -> SecretUnavailable:
        what = what or self.label
        return SecretUnavailable(
            f"{what} can't be decrypted with the keys in FIELD_ENCRYPTION_KEY "
            f"(it was encrypted with another key). {REMEDY}",
            error_code="undecryptable_secret",
        )


def reveal(value, what: str | None = None):
    """The plain value, or SecretUnavailable naming ``what`` (default: the field) and the remedy."""
    if isinstance(value, Undecryptable):
        raise value.error(what)
    return value


def is_undecryptable(value) -> bool:
    return isinstance(value, Undecryptable)


class FailClosedMixin:
    """Decrypts only when read from the database and never passes ciphertext on as the value."""

    def to_python(self, value):
        # Values from forms and full_clean() are plain text: never decrypted (the library would
        # quietly decrypt anything that looks like a token of ours).
        if value is None or isinstance(value, Undecryptable):
            return value
        return super(library.EncryptedMixin, self).to_python(value)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        if isinstance(value, bytes):
            value = value.decode()
        try:
            plain = crypter().decrypt(value.encode()).decode()
        except InvalidToken:
            return Undecryptable(f"{self.model.__name__}.{self.name}", value)
        return super(library.EncryptedMixin, self).to_python(plain)

    def get_db_prep_save(self, value, connection):
        if isinstance(value, Undecryptable):
            return value.token  # kept as stored until a key opens it or it is set again
        value = super(library.EncryptedMixin, self).get_db_prep_save(value, connection)
        if value is None:
            return value
        return crypter().encrypt(str(value).encode()).decode()


class EncryptedCharField(FailClosedMixin, library.EncryptedCharField):
    pass


class EncryptedTextField(FailClosedMixin, library.EncryptedTextField):
    pass


def encrypted_fields():
    """Every (model, field) stored encrypted, for key rotation."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, library.EncryptedMixin):
                yield model, field
