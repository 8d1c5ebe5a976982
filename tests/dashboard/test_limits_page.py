"""The Limits page through the test client: the policy form, inline errors, counters."""

import re

import pytest
from django.urls import reverse

from phoneprovider.selectors import policy_get
from tests.factories import MessageFactory

LIMITS = reverse("dashboard:limits")


def form(**overrides) -> dict:
    data = {
        "mode": "enforce",
        "recipient_per_hour": "3",
        "prefix_digits": "8",
        "prefix_per_minute": "30",
        "global_per_minute": "0",
        "text_countries_allowed": "",
        "text_countries_denied": "",
        "voice_countries_allowed": "",
        "voice_countries_denied": "",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_page_shows_the_policy(staff):
    html = staff.get(LIMITS).content.decode()
    for label in (
        "Messages per number per hour",
        "Record only",
        "Fail over to Twilio",
        "Text: allowed countries",
        "messages in the last hour",
    ):
        assert label in html
    assert 'name="recipient_per_hour" value="10"' in html


@pytest.mark.django_db
def test_save_updates_the_policy_as_the_form_said(staff):
    response = staff.post(
        LIMITS,
        form(
            mode="record_only",
            global_per_minute="100",
            text_countries_denied="ru, cn",
            voice_countries_allowed="US",
            failover_to_twilio="on",
        ),
    )
    assert response.status_code == 302
    policy = policy_get()
    assert policy.mode == "record_only"
    assert (policy.recipient_per_hour, policy.global_per_minute) == (3, 100)
    assert policy.text_countries_denied == ["CN", "RU"]
    assert policy.voice_countries_allowed == ["US"]
    assert policy.failover_to_twilio is True
    assert 'value="CN, RU"' in staff.get(LIMITS).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("recipient_per_hour", "-1", "0 or more"),
        ("recipient_per_hour", "lots", "whole number"),
        ("prefix_digits", "40", "between 2 and 15"),
        ("text_countries_allowed", "US, XX", "&#x27;XX&#x27; is not a country code"),
        ("mode", "sometimes", "Enforce or Record only"),
    ],
)
def test_invalid_values_are_shown_inline_and_nothing_changes(staff, field, value, says):
    response = staff.post(LIMITS, form(**{field: value}))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="error-{field}" class="field-error has-error"' in html or (
        field == "mode" and 'id="error-mode" class="field-error has-error"' in html
    )
    assert says in html
    assert policy_get().recipient_per_hour == 10


@pytest.mark.django_db
def test_every_invalid_value_is_shown_at_once_in_words(staff):
    response = staff.post(
        LIMITS,
        form(recipient_per_hour="-1", prefix_per_minute="lots", voice_countries_denied="ZZ"),
    )
    html = response.content.decode()
    for field in ("recipient_per_hour", "prefix_per_minute", "voice_countries_denied"):
        assert f'id="error-{field}" class="field-error has-error"' in html
    assert "Messages per number per hour must be a whole number, 0 or more." in html
    assert "Messages per prefix per minute must be a whole number" in html
    assert "Voice: denied countries: &#x27;ZZ&#x27; is not a country code" in html
    errors = re.findall(r'<span class="error-message">([^<]*)</span>', html)
    assert len(errors) == 3 and not any("_" in error for error in errors)
    assert policy_get().recipient_per_hour == 10


@pytest.mark.django_db
def test_counters_show_recent_and_blocked_by_rule(staff):
    MessageFactory()
    MessageFactory(status="blocked", limit_rule="recipient_per_hour", reason="Too many")
    MessageFactory(status="blocked", limit_rule="country_text", reason="Not allowed")
    MessageFactory(status="delivered", limit_rule="prefix_per_minute")
    response = staff.get(LIMITS)
    counters = response.context["counters"]
    assert counters["last_hour"] == 2
    assert counters["blocked_by_rule"] == {"country_text": 1, "recipient_per_hour": 1}
    assert counters["recorded_by_rule"] == {"prefix_per_minute": 1}
    html = response.content.decode()
    assert "Per number per hour" in html and "Too many" in html
