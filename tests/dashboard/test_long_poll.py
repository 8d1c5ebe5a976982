"""The long poll behind Send Test's progress and the editor's test runs."""

import threading
import time

import pytest
from django.urls import reverse

from dashboard import long_poll
from phoneprovider.models import Execution


class Row:
    def __init__(self, state):
        self.state = state


def test_next_change_answers_as_soon_as_the_state_changes(monkeypatch):
    monkeypatch.setattr(long_poll, "WAIT_SECONDS", 5)
    row = Row("pending")
    threading.Timer(0.3, lambda: setattr(row, "state", "done")).start()
    started = time.monotonic()
    changed = long_poll.next_change(
        row, "pending", state=lambda r: r.state, reload=lambda r: r, final=lambda r: False
    )
    took = time.monotonic() - started
    assert changed.state == "done"
    assert 0.3 <= took < 2.5  # at the change, not at the 5 s deadline


def test_next_change_gives_up_after_the_wait_with_what_it_has(monkeypatch):
    monkeypatch.setattr(long_poll, "WAIT_SECONDS", 0.3)
    started = time.monotonic()
    row = long_poll.next_change(
        Row("pending"),
        "pending",
        state=lambda r: r.state,
        reload=lambda r: r,
        final=lambda r: False,
    )
    assert row.state == "pending"
    assert time.monotonic() - started >= 0.3


def test_next_change_does_not_wait_on_a_final_row(monkeypatch):
    monkeypatch.setattr(long_poll, "WAIT_SECONDS", 5)
    started = time.monotonic()
    long_poll.next_change(
        Row("x"), "x", state=lambda r: r.state, reload=lambda r: r, final=lambda r: True
    )
    assert time.monotonic() - started < 2.5


@pytest.mark.django_db
def test_the_editor_test_run_waits_for_the_worker_then_shows_the_result(staff, monkeypatch):
    monkeypatch.setattr(long_poll, "WAIT_SECONDS", 0.4)
    execution = Execution.objects.create(kind=Execution.Kind.TEST)
    url = reverse("dashboard:editor_test_status", args=[execution.public_id])
    started = time.monotonic()
    html = staff.get(url, {"seen": "pending"}).content.decode()
    assert time.monotonic() - started >= 0.4
    assert "Running in a worker" in html and "?seen=pending" in html

    Execution.objects.filter(pk=execution.pk).update(status="delivered")
    monkeypatch.setattr(long_poll, "WAIT_SECONDS", 5)
    started = time.monotonic()
    html = staff.get(url, {"seen": "pending"}).content.decode()
    assert time.monotonic() - started < 2.5  # finished: answered at once, not at the deadline
    assert '<strong class="outcome-label">Delivered</strong>' in html
    assert "hx-trigger" not in html
