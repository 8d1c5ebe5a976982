import pytest

from phoneprovider.models import MessageType
from phoneprovider.providers.templates import (
    DEFAULT_BODIES,
    VOICE_PAUSE,
    TemplateSyntaxError,
    check_syntax,
    render,
)


@pytest.mark.parametrize("message_type", MessageType.values)
def test_every_message_type_has_valid_default_bodies(message_type):
    bodies = DEFAULT_BODIES[message_type]
    check_syntax(bodies["text"])
    check_syntax(bodies["voice"])


def test_otp_text_carries_the_code_and_voice_spells_it_digit_by_digit():
    bodies = DEFAULT_BODIES["otp_verify"]
    rendered = render(bodies["text"], bodies["voice"], {"code": "4821", "friendly_name": "Acme"})
    assert rendered.as_text.startswith("4821 is your Acme verification code")
    assert rendered.as_voice.count("4, 8, 2, 1") == 2
    assert VOICE_PAUSE.strip() in rendered.as_voice


def test_pause_is_silent_in_text():
    rendered = render("a{{ pause }}b", "a{{ pause }}b", {})
    assert rendered.as_text == "a b"
    assert rendered.as_voice == f"a{VOICE_PAUSE}b"


def test_syntax_error_reports_its_line():
    with pytest.raises(TemplateSyntaxError) as info:
        check_syntax("Hello\n{{ code }}\n{% if %}")
    assert info.value.line == 3
