"""Phone number rules shared by every interface."""

import re

import phonenumbers

from phoneprovider.errors import ValidationError

_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_DIGITS_AND_SEPARATORS = re.compile(r"^\+[0-9 ().-]+$")  # no letters (vanity spellings)


def normalize_e164(value: str, *, field: str = "to", require_valid: bool = True) -> str:
    """Return ``value`` as an E.164 number, or raise a ValidationError that says why.

    ``require_valid=False`` takes any number of E.164's shape, valid in today's numbering plans
    or not (erasing a number must work after its plan changed)."""
    raw = (value or "").strip()
    if not raw.startswith("+"):
        raise ValidationError(
            "Phone numbers must be in E.164 format, starting with + and the country code "
            "(for example +14155550100).",
            field=field,
        )
    if not require_valid:
        digits = re.sub(r"[ ().-]", "", raw)
        if not (_DIGITS_AND_SEPARATORS.match(raw) and _E164.match(digits)):
            raise ValidationError(f"{raw} is not a phone number in E.164 form.", field=field)
        return digits
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise ValidationError(f"{raw!r} is not a phone number.", field=field) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"{raw} is not a valid phone number.", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_sender(value: str, *, field: str = "from") -> str:
    """A sender is an E.164 number or an alphanumeric sender id (up to 11 characters)."""
    raw = (value or "").strip()
    if _ALPHANUMERIC_SENDER.match(raw):
        return raw
    return normalize_e164(raw, field=field)


def mask(number: str) -> str:
    """+14155550100 → +1415•••0100, for lists where the full number is not needed."""
    if len(number) <= 8:
        return number
    return number[:5] + "•" * (len(number) - 9) + number[-4:]


def mask_erased(number: str) -> str:
    """+14155550100 → +1415555••00: how a record that outlives a number's erasure names it.

    Two digits hidden are enough that the record no longer identifies the number, while an
    operator answering the person can still tell which request it was.
    """
    if len(number) <= 6:
        return "•" * len(number)
    return number[:-4] + "••" + number[-2:]


def region_of(number: str) -> str:
    """The ISO 3166 region of an E.164 number ("" when its country code names none)."""
    return phonenumbers.region_code_for_number(phonenumbers.parse(number)) or ""


def countries_clean(values, *, field: str, label: str) -> list[str]:
    """ISO 3166 alpha-2 codes (a list, or one string of codes split by commas or spaces),
    upper-cased, sorted and deduplicated; an unknown code is a ValidationError naming it."""
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    if not isinstance(values, list | tuple):
        raise ValidationError(f"{label} must be a list of country codes.", field=field)
    codes = [str(v).strip().upper() for v in values]
    unknown = [c for c in codes if c not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValidationError(
            f"{label}: {unknown[0]!r} is not a country code; use ISO 3166 codes such "
            "as US, GB, FR.",
            field=field,
        )
    return sorted(set(codes))
