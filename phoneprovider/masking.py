"""One-time codes masked wherever people read a sent message: the message page, the admin and
the logs of the delivery run show at most the code's last two digits.

``MASK_CODES=false`` turns masking off (a test instance where people read codes on purpose).
"""

import re

from django.conf import settings

MASK_CHAR = "•"
VISIBLE = 2


def masked_code(code: str) -> str:
    """123456 → ••••56."""
    if len(code) <= VISIBLE:
        return MASK_CHAR * len(code)
    return MASK_CHAR * (len(code) - VISIBLE) + code[-VISIBLE:]


def _pattern(code: str) -> re.Pattern | None:
    code = (code or "").strip()
    if len(code) < 3:  # too short to find without hiding unrelated text
        return None
    # The code as written, or spelled out for voice ("1, 2, 3" or "1 2 3"); never inside a
    # longer run of digits.
    separator = r"[\s,.;:-]*"
    body = separator.join(re.escape(ch) for ch in code)
    return re.compile(rf"(?<![0-9A-Za-z]){body}(?![0-9A-Za-z])")


def mask_text(text: str, code: str) -> str:
    if not settings.MASK_CODES or not isinstance(text, str):
        return text
    pattern = _pattern(code)
    if pattern is None:
        return text
    return pattern.sub(masked_code(code.strip()), text)


def mask_deep(value, code: str):
    if not settings.MASK_CODES:
        return value
    if isinstance(value, str):
        return mask_text(value, code)
    if isinstance(value, list):
        return [mask_deep(v, code) for v in value]
    if isinstance(value, dict):
        return {k: mask_deep(v, code) for k, v in value.items()}
    return value
