"""rows_update writes each row's own values in one statement, touching nothing else."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from phoneprovider.bulk_update import rows_update
from phoneprovider.models import Connection, PhoneMessage, Route
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_of_every_type_in_one_statement():
    first, second, untouched = MessageFactory(), MessageFactory(), MessageFactory()
    route = Route.objects.create(name="r")
    later = timezone.now() + timedelta(minutes=5)
    first.status, first.reason, first.sent_at = "sent", "it's fine; -- not SQL", later
    first.route, first.failed_over, first.route_step = route, True, 2
    second.status, second.reason, second.sent_at, second.next_attempt_at = "queued", "", None, later
    with CaptureQueriesContext(connection) as queries:
        rows_update(
            [first, second],
            [
                "status",
                "reason",
                "sent_at",
                "next_attempt_at",
                "route",
                "failed_over",
                "route_step",
            ],
        )
    assert len(queries) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    untouched_before = untouched.status
    untouched.refresh_from_db()
    assert (first.status, first.reason, first.sent_at) == ("sent", "it's fine; -- not SQL", later)
    assert (first.route_id, first.failed_over, first.route_step) == (route.pk, True, 2)
    assert (second.status, second.sent_at, second.next_attempt_at) == ("queued", None, later)
    assert (second.route_id, second.failed_over) == (None, False)
    assert untouched.status == untouched_before == "queued"


def test_nothing_to_write_is_no_statement():
    with CaptureQueriesContext(connection) as queries:
        rows_update([], ["status"])
    assert len(queries) == 0


def test_other_models_work_too():
    a = Connection.objects.create(name="a", kind="twilio")
    b = Connection.objects.create(name="b", kind="twilio")
    a.api_host, b.api_host = "api.dublin.ie1.twilio.com", ""
    rows_update([a, b], ["api_host"])
    assert list(Connection.objects.order_by("name").values_list("api_host", flat=True)) == [
        "api.dublin.ie1.twilio.com",
        "",
    ]
    assert PhoneMessage.objects.count() == 0
