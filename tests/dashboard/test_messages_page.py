"""The message log through the test client: filters, search, keyset pages, detail, Resend, and a
bounded query plan with 100,000 messages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from phoneprovider.models import DeliveryAttempt, Execution, PhoneMessage
from phoneprovider.selectors import policy_get
from tests.factories import MessageFactory, TwilioProviderFactory

LIST = reverse("dashboard:messages")


@pytest.mark.django_db
def test_empty_state(staff):
    assert "No messages yet" in staff.get(LIST).content.decode()


@pytest.mark.django_db
def test_list_masks_recipients_and_filters_and_searches(staff):
    failed = MessageFactory(status="failed", reason="Gateway refused", provider_name="custom")
    sent = MessageFactory(
        status="delivered", recipient="+447700900123", delivery_method="voice", attempt_count=1
    )
    html = staff.get(LIST).content.decode()
    assert "+1415•••0100" in html and "+14155550100" not in html
    assert failed.public_id in html and sent.public_id in html
    assert "Gateway refused" in html

    only_failed = staff.get(LIST, {"status": "failed"}).content.decode()
    assert failed.public_id in only_failed and sent.public_id not in only_failed
    voice = staff.get(LIST, {"delivery_method": "voice"}).content.decode()
    assert sent.public_id in voice and failed.public_id not in voice
    by_number = staff.get(LIST, {"q": "+4477"}).content.decode()
    assert sent.public_id in by_number and failed.public_id not in by_number
    by_id = staff.get(LIST, {"q": failed.public_id}).content.decode()
    assert failed.public_id in by_id and sent.public_id not in by_id
    # A number typed without "+" finds it too.
    without_plus = staff.get(LIST, {"q": "4155550100"}).content.decode()
    assert failed.public_id in without_plus and sent.public_id not in without_plus
    none = staff.get(LIST, {"message_type": "password_breach"}).content.decode()
    assert "No messages match" in none


@pytest.mark.django_db
def test_date_filter(staff):
    old = MessageFactory()
    PhoneMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    new = MessageFactory()
    today = timezone.now().date().isoformat()
    html = staff.get(LIST, {"since": today}).content.decode()
    assert new.public_id in html and old.public_id not in html
    html = staff.get(LIST, {"until": (timezone.now() - timedelta(days=2)).date().isoformat()})
    assert old.public_id in html.content.decode()


@pytest.mark.django_db
def test_keyset_pages_walk_back_in_time_without_overlap(staff):
    created = [MessageFactory() for _ in range(120)]
    seen = []
    query = {}
    for _ in range(3):
        response = staff.get(LIST, query)
        rows = response.context["rows"]
        seen += [m.public_id for m in rows]
        if not response.context["older_query"]:
            break
        query = dict(pair.split("=") for pair in response.context["older_query"].split("&"))
    assert seen == [m.public_id for m in reversed(created)]


@pytest.mark.django_db
def test_detail_shows_attempts_logs_provider_id_and_receipt(staff):
    message = MessageFactory(
        status="delivered",
        provider_name="custom",
        provider_message_id="gw-123",
        attempt_count=2,
        finished_at=timezone.now(),
    )
    execution = Execution.objects.create(
        kind="delivery",
        status="retry",
        reason="gateway 503",
        logs=[{"level": "log", "message": "token [redacted]", "t_ms": 3}],
        fetches=[{"method": "POST", "url": "https://gw/sms", "status": 503, "duration_ms": 9}],
    )
    DeliveryAttempt.objects.create(
        message=message,
        number=1,
        provider_name="custom",
        outcome="retry",
        error="gateway 503",
        execution=execution,
    )
    DeliveryAttempt.objects.create(
        message=message,
        number=2,
        provider_name="custom",
        outcome="sent",
        provider_message_id="gw-123",
    )
    html = staff.get(reverse("dashboard:message", args=[message.public_id])).content.decode()
    for text in (
        "Attempt 1",
        "Attempt 2",
        "gateway 503",
        "token [redacted]",
        "gw-123",
        "https://gw/sms",
        "Delivery receipt",
        "+14155550100",
    ):
        assert text in html
    assert "Resend" not in html
    assert staff.get(reverse("dashboard:message", args=["msg_nope"])).status_code == 404


@pytest.mark.django_db
def test_resend_of_a_failed_message_queues_a_copy(staff, django_capture_on_commit_callbacks):
    TwilioProviderFactory()
    policy_get()  # made on first use, which would add a commit hook of its own below
    failed = MessageFactory(
        status="failed", provider_name="twilio", context={"user": {"name": "J"}}
    )
    assert (
        "Resend"
        in staff.get(reverse("dashboard:message", args=[failed.public_id])).content.decode()
    )
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff.post(reverse("dashboard:message_resend", args=[failed.public_id]))
    new = PhoneMessage.objects.exclude(pk=failed.pk).get()
    assert response["Location"] == reverse("dashboard:message", args=[new.public_id])
    assert (new.recipient, new.message_type, new.delivery_method, new.code, new.context) == (
        failed.recipient,
        failed.message_type,
        failed.delivery_method,
        failed.code,
        failed.context,
    )
    assert new.status == "queued" and len(callbacks) == 1


@pytest.mark.django_db
def test_resend_of_a_delivered_message_is_refused(staff):
    TwilioProviderFactory()
    delivered = MessageFactory(status="delivered")
    response = staff.post(
        reverse("dashboard:message_resend", args=[delivered.public_id]), follow=True
    )
    assert "Only failed" in response.content.decode()
    assert PhoneMessage.objects.count() == 1


@pytest.mark.django_db
def test_list_stays_bounded_with_100k_messages(staff):
    """100,000 rows: the page runs a fixed number of queries, each reading one page off an index
    (no sort of the whole table), filtered or not."""
    now = timezone.now()
    statuses = ["delivered", "failed", "queued", "blocked", "sent"]
    PhoneMessage.objects.bulk_create(
        [
            PhoneMessage(
                public_id=f"msg_bulk{n:018d}",
                recipient=f"+1415555{n % 10000:04d}",
                message_type="otp_verify",
                delivery_method="text",
                status=statuses[n % 5],
                provider_name="custom",
                created_at=now,
            )
            for n in range(100_000)
        ],
        batch_size=5000,
    )
    assert PhoneMessage.objects.count() == 100_000
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE phoneprovider_phonemessage")

    for params in ({}, {"status": "failed"}, {"q": "+14155551234"}):
        with CaptureQueriesContext(connection) as queries:
            response = staff.get(LIST, params)
        assert response.status_code == 200
        assert len(response.context["rows"]) == 50 or params.get("q")
        # session + user + the list's one query + the last purge + the chart's two (the rules,
        # then its one aggregate over the 24 h window); no other COUNT over the table.
        assert len(queries) <= 6, [q["sql"] for q in queries]
        counting = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
        assert len(counting) == 1, counting
        assert "PERCENTILE_CONT" in counting[0] or "GROUP_CONCAT" in counting[0], counting
        older = response.context["older_query"]
        if older:
            with CaptureQueriesContext(connection) as queries:
                assert staff.get(f"{LIST}?{older}").status_code == 200
            assert len(queries) <= 7  # plus the cursor's one-row lookup by unique id

    plan = PhoneMessage.objects.order_by("-pk")[:51].explain()
    plan_filtered = PhoneMessage.objects.filter(status="failed").order_by("-pk")[:51].explain()
    for text in (plan, plan_filtered):
        upper = text.upper()
        if connection.vendor == "sqlite":
            assert "TEMP B-TREE" not in upper, text  # no sort of the matching rows
        else:
            assert "SORT" not in upper or "INDEX" in upper, text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "attempts", "note"),
    [
        ("queued", 0, "Waiting for a worker"),
        ("queued", 2, "Waiting to retry"),
        ("sending", 1, "Sending"),
    ],
)
def test_detail_of_an_unfinished_message_refreshes_itself(staff, status, attempts, note):
    message = MessageFactory(status=status, attempt_count=attempts)
    path = reverse("dashboard:message", args=[message.public_id])
    html = staff.get(path).content.decode()
    assert f'hx-get="{path}" hx-trigger="every 2s" hx-select="#message-live"' in html
    assert f"{note} · this page updates by itself" in html


@pytest.mark.django_db
@pytest.mark.parametrize("status", PhoneMessage.FINAL_STATUSES)
def test_detail_of_a_final_message_does_not_poll(staff, status):
    message = MessageFactory(status=status)
    html = staff.get(reverse("dashboard:message", args=[message.public_id])).content.decode()
    assert 'id="message-live"' in html
    assert "hx-trigger" not in html
    assert "this page updates by itself" not in html


@pytest.mark.django_db
def test_message_detail_from_shows_the_number_used(staff):
    TwilioProviderFactory()  # From setting +14155550199
    default = MessageFactory(provider_name="twilio", status="sent")
    own = MessageFactory(provider_name="twilio", status="sent", sender="+14155550111")
    html = staff.get(reverse("dashboard:message", args=[default.public_id])).content.decode()
    assert "+14155550199 (the Twilio From setting)" in html and "provider default" not in html
    html = staff.get(reverse("dashboard:message", args=[own.public_id])).content.decode()
    assert "+14155550111" in html
