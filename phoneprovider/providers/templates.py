"""Phone templates: the built-in default bodies and Liquid rendering into as_text / as_voice."""

from dataclasses import dataclass
from functools import lru_cache

from liquid import Environment
from liquid.exceptions import LiquidError

_liquid = Environment()

# Spoken as a short silence by text-to-speech engines; in text bodies it is dropped.
VOICE_PAUSE = " . . . "

_SPELLED = "{{ code | split: '' | join: ', ' }}"

DEFAULT_BODIES: dict[str, dict[str, str]] = {
    "otp_verify": {
        "text": "{{ code }} is your {{ friendly_name }} verification code. "
        "It expires soon; do not share it with anyone.",
        "voice": f"Hello. Your {{{{ friendly_name }}}} verification code is {_SPELLED}."
        f"{{{{ pause }}}}Once more, your code is {_SPELLED}.",
    },
    "otp_enroll": {
        "text": "{{ code }} is your code to add this phone to your {{ friendly_name }} account. "
        "Do not share it with anyone.",
        "voice": f"Hello. Your code to add this phone to your {{{{ friendly_name }}}} account is "
        f"{_SPELLED}.{{{{ pause }}}}Once more, your code is {_SPELLED}.",
    },
    "change_password": {
        "text": "{{ code }} is your {{ friendly_name }} code to change your password. "
        "If you did not ask for it, ignore this message.",
        "voice": f"Hello. Your {{{{ friendly_name }}}} code to change your password is "
        f"{_SPELLED}.{{{{ pause }}}}Once more, your code is {_SPELLED}.",
    },
    "blocked_account": {
        "text": "Your {{ friendly_name }} account was blocked after too many failed sign-in "
        "attempts. Reply with the code {{ code }} to your support team to unblock it.",
        "voice": "Hello. Your {{ friendly_name }} account was blocked after too many failed "
        "sign-in attempts.{{ pause }}Please contact support to unblock it.",
    },
    "password_breach": {
        "text": "{{ friendly_name }}: your password was found in a data breach on another site. "
        "Please change it now.",
        "voice": "Hello. Your {{ friendly_name }} password was found in a data breach on another "
        "site.{{ pause }}Please change it now.",
    },
}


class TemplateSyntaxError(ValueError):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Rendered:
    as_text: str
    as_voice: str


@lru_cache(maxsize=256)
def _compiled(body: str):
    # Parsing is most of the cost of rendering; bodies change rarely, so keep them parsed.
    return _liquid.from_string(body)


def check_syntax(body: str) -> None:
    """Raise TemplateSyntaxError (with the line) if ``body`` is not valid Liquid."""
    try:
        _compiled(body)
    except LiquidError as exc:
        line = None
        token = getattr(exc, "token", None)
        if token is not None and getattr(token, "source", None) is not None:
            line = token.source.count("\n", 0, token.start_index) + 1
        raise TemplateSyntaxError(str(getattr(exc, "message", exc)), line) from exc


def render(text_body: str, voice_body: str, variables: dict) -> Rendered:
    """Render both bodies with the Auth0 template variables; ``pause`` speaks only in voice."""
    return Rendered(
        as_text=_compiled(text_body).render(**variables, pause=" ").strip(),
        as_voice=_compiled(voice_body).render(**variables, pause=VOICE_PAUSE).strip(),
    )
