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


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        # Errors found at the end of an expression: Liquid's own token has no position there.
        ("Your code is {{ code }} and {{ friendly_name | }}", 1, 47),
        ("{{ code }}\nYour {{ friendly_name | upcase | }}\nthree", 2, 33),
        ("one\ntwo {{ user.name }} {{ a.b. }}", 2, 28),
        ("a\nb {% if x %} c", 2, 6),  # never closed: at the tag that opened it
        # Errors Liquid places itself.
        ("line one\nYour code is {{ code", 2, 14),
        ("x\n  {{ code }} {% endif %}", 2, 17),
    ],
)
def test_syntax_error_reports_its_real_line_and_column(body, line, column):
    with pytest.raises(TemplateSyntaxError) as info:
        check_syntax(body)
    assert (info.value.line, info.value.column) == (line, column)
