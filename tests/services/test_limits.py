import pytest

from phoneprovider import selectors
from phoneprovider.errors import ValidationError
from phoneprovider.models import PhoneMessage
from phoneprovider.services import limits, messages, queue
from tests.factories import TwilioProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(monkeypatch):
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)
    return TwilioProviderFactory()


def _send(to="+14155550100", method="text"):
    return messages.message_queue(to=to, code="1", delivery_method=method)


def test_recipient_limit_blocks_the_eleventh_message_in_an_hour(provider):
    sent = [_send() for _ in range(10)]
    assert all(m.status == "queued" for m in sent)
    blocked = _send()
    assert blocked.status == "blocked" and blocked.limit_rule == "recipient_per_hour"
    assert blocked.reason == "This number reached its limit of 10 messages in the last hour."
    assert _send(to="+14155550177").status == "queued"  # another number is not affected


def test_prefix_velocity_limit(provider):
    limits.policy_update(actor="a", prefix_per_minute=3, prefix_digits=9)
    for n in range(3):
        assert _send(to=f"+1415555010{n}").status == "queued"
    hit = _send(to="+14155550109")
    assert hit.status == "blocked" and hit.limit_rule == "prefix_per_minute"


def test_global_per_minute_cap(provider):
    limits.policy_update(actor="a", global_per_minute=2)
    _send(to="+14155550100")
    _send(to="+442071838750")
    assert _send(to="+33142685300").limit_rule == "global_per_minute"


def test_country_rules_apply_per_delivery_method(provider):
    limits.policy_update(actor="a", text_countries_allowed=["US"], voice_countries_denied="us, gb")
    assert _send(to="+442071838750").limit_rule == "country_text"
    assert _send(to="+14155550100").status == "queued"
    assert _send(to="+14155550100", method="voice").limit_rule == "country_voice"


def test_record_only_mode_sends_but_notes_the_rule(provider):
    limits.policy_update(actor="a", mode="record_only", text_countries_denied=["US"])
    message = _send()
    assert message.status == "queued" and message.limit_rule == "country_text"


def test_blocked_messages_do_not_count_toward_the_limit(provider):
    limits.policy_update(actor="a", recipient_per_hour=1)
    _send()
    for _ in range(3):
        _send()
    assert PhoneMessage.objects.exclude(status="blocked").count() == 1
    limits.policy_update(actor="a", recipient_per_hour=2)
    assert _send().status == "queued"


@pytest.mark.parametrize(
    "changes",
    [
        {"text_countries_denied": ["XX"]},
        {"recipient_per_hour": -1},
        {"mode": "sometimes"},
        {"prefix_digits": 1},
        {"bogus": 1},
    ],
)
def test_invalid_policy_changes_are_refused(changes):
    with pytest.raises(ValidationError):
        limits.policy_update(actor="a", **changes)
    assert selectors.policy_get().recipient_per_hour == 10
