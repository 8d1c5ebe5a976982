"""Live logs through the test client: rows, polling for newer ones, search, download, clear."""

import json

import pytest
from django.urls import reverse

from phoneprovider.models import DeliveryAttempt, Execution
from tests.factories import MessageFactory

LOGS = reverse("dashboard:logs")
ROWS = reverse("dashboard:logs_rows")
HTMX = {"HTTP_HX_REQUEST": "true"}


def delivery(message=None, text="gateway answered 200", status="delivered"):
    execution = Execution.objects.create(
        kind="delivery",
        status=status,
        logs=[{"level": "log", "message": text, "t_ms": 4}],
        stats={"total_ms": 12.5},
    )
    if message is not None:
        DeliveryAttempt.objects.create(
            message=message, number=1, provider_name="custom", execution=execution
        )
    return execution


@pytest.mark.django_db
def test_page_lists_executions_and_polls_for_newer_ones(staff):
    assert "No executions yet" in staff.get(LOGS).content.decode()
    message = MessageFactory()
    first = delivery(message)
    html = staff.get(LOGS).content.decode()
    assert first.public_id in html and "gateway answered 200" in html
    assert message.public_id in html and "+1415•••0100" in html
    assert f'hx-get="{ROWS}?after={first.pk}"' in html and 'hx-trigger="every 2s"' in html

    assert first.public_id not in staff.get(ROWS, {"after": first.pk}, **HTMX).content.decode()
    second = delivery(text="second run")
    poll = staff.get(ROWS, {"after": first.pk}, **HTMX).content.decode()
    assert second.public_id in poll and first.public_id not in poll
    assert f"after={second.pk}" in poll and 'hx-swap-oob="true"' in poll


@pytest.mark.django_db
def test_pending_test_run_row_refreshes_itself(staff):
    execution = Execution.objects.create(kind="test", dry_run=True)
    html = staff.get(LOGS).content.decode()
    row_url = reverse("dashboard:logs_row", args=[execution.public_id])
    assert f'hx-get="{row_url}"' in html
    Execution.objects.filter(pk=execution.pk).update(status="error", reason="boom")
    row = staff.get(row_url, **HTMX).content.decode()
    assert "boom" in row and "hx-get" not in row


@pytest.mark.django_db
def test_search_finds_log_text_and_message_ids(staff):
    message = MessageFactory()
    hit = delivery(message, text="needle in the logs")
    other = delivery(text="nothing here")
    html = staff.get(LOGS, {"q": "needle"}).content.decode()
    assert hit.public_id in html and other.public_id not in html
    html = staff.get(LOGS, {"q": message.public_id}).content.decode()
    assert hit.public_id in html and other.public_id not in html


@pytest.mark.django_db
def test_download_is_json_of_what_the_view_shows(staff):
    hit = delivery(MessageFactory(), text="needle")
    delivery(text="other")
    response = staff.get(reverse("dashboard:logs_download"), {"q": "needle"})
    assert response["Content-Disposition"].startswith("attachment")
    body = json.loads(response.content)
    assert [e["id"] for e in body["executions"]] == [hit.public_id]
    assert body["executions"][0]["logs"][0]["message"] == "needle"
    assert body["executions"][0]["message_id"]


@pytest.mark.django_db
def test_clear_hides_but_deletes_nothing_and_show_all_brings_back(staff):
    old = delivery(text="before clear")
    staff.post(reverse("dashboard:logs_clear"))
    html = staff.get(LOGS).content.decode()
    assert old.public_id not in html and "Cleared" in html
    assert Execution.objects.filter(pk=old.pk).exists()
    new = delivery(text="after clear")
    html = staff.get(LOGS).content.decode()
    assert new.public_id in html and "cleared: only runs since then are shown" in html
    assert old.public_id not in staff.get(ROWS, {"after": 0}, **HTMX).content.decode()
    download = json.loads(staff.get(reverse("dashboard:logs_download")).content)
    assert [e["id"] for e in download["executions"]] == [new.public_id]
    staff.post(reverse("dashboard:logs_clear"), {"show_all": "1"})
    html = staff.get(LOGS).content.decode()
    assert old.public_id in html and "cleared: only runs" not in html
