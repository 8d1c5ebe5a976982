"""The Messages page's chart panel through the test client: the window and route switches, the
JSON the charts are drawn from, the totals and hourly table that work without JavaScript, and the
htmx partial a switch swaps in."""

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from phoneprovider.models import PhoneMessage, Route
from tests.factories import MessageFactory

LIST = reverse("dashboard:messages")


def _chart_data(html: str) -> dict:
    found = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "no #chart-data on the page"
    return json.loads(found.group(1))


@pytest.fixture
def traffic():
    """Two routes; messages an hour ago and three days ago, sent with known times."""
    eu = Route(name="EU <cheap>", position=1)
    eu.save()
    us = Route(name="US", position=2)
    us.save()
    now = timezone.now()
    rows = [
        (1, "delivered", eu, 120),
        (1, "delivered", eu, 180),
        (1, "failed", eu, None),
        (1, "sent", None, 400),
        (1, "blocked", None, None),
        (72, "undelivered", us, 900),
    ]
    for hours_ago, status, route, latency in rows:
        message = MessageFactory(status=status, route=route, route_name=route.name if route else "")
        created = now - timedelta(hours=hours_ago)
        PhoneMessage.objects.filter(pk=message.pk).update(
            created_at=created,
            sent_at=created + timedelta(milliseconds=latency) if latency else None,
        )
    return {"eu": eu, "us": us}


@pytest.mark.django_db
def test_the_page_shows_the_last_24_hours_of_all_messages_by_default(staff, traffic):
    html = staff.get(LIST).content.decode()
    assert 'id="chart-panel"' in html and "Last 24 hours · All messages" in html
    assert 'id="chart-counts"' in html and 'id="chart-latency"' in html
    assert "vendor/uplot-1.6.32/uPlot.iife.min.js" in html and "dashboard/charts.js" in html
    data = _chart_data(html)
    assert data["window"] == "24h" and data["route"] == "All messages"
    assert len(data["t"]) == 24 and data["t"][-1] - data["t"][0] == 23 * 3600
    for series in ("sent", "delivered", "failed", "blocked", "p50", "p99"):
        assert len(data[series]) == 24
    # The four within the last 24 h sit in one hour; the one three days ago is outside.
    assert sum(data["sent"]) == 3 and sum(data["delivered"]) == 2
    assert sum(data["failed"]) == 1 and sum(data["blocked"]) == 1
    hour = data["sent"].index(3)
    assert data["p50"][hour] == 180.0 and data["p99"][hour] == pytest.approx(395.6, abs=0.1)
    assert [v for v in data["p50"] if v is not None] == [180.0]  # empty hours: no latency
    # The figures without JavaScript: totals and the hourly table.
    assert re.search(r"<dt>Sent</dt><dd[^>]*>3</dd>", html)
    assert re.search(r"<dt>Blocked</dt><dd[^>]*>1</dd>", html)
    assert "p50 180 ms, p99 396 ms" in html
    assert html.count('aria-label="Messages per hour"') == 1


@pytest.mark.django_db
def test_seven_days_and_one_route(staff, traffic):
    week = _chart_data(staff.get(LIST, {"window": "7d"}).content.decode())
    assert len(week["t"]) == 168 and sum(week["sent"]) == 4

    eu = traffic["eu"]
    html = staff.get(LIST, {"window": "7d", "route": eu.public_id}).content.decode()
    data = _chart_data(html)
    assert data["route"] == "EU <cheap>" and sum(data["sent"]) == 2 and sum(data["failed"]) == 1
    assert "Last 7 days · EU &lt;cheap&gt;" in html  # escaped where the page shows it
    assert f'<option value="{eu.public_id}" selected>' in html

    default = _chart_data(staff.get(LIST, {"window": "7d", "route": "default"}).content.decode())
    assert default["route"] == "Default provider"
    assert sum(default["sent"]) == 1 and sum(default["blocked"]) == 0  # blocked: no route


@pytest.mark.django_db
def test_unknown_window_or_route_falls_back_to_24_hours_of_all(staff, traffic):
    data = _chart_data(staff.get(LIST, {"window": "1y", "route": "prt_gone"}).content.decode())
    assert data["window"] == "24h" and data["route"] == "All messages" and len(data["t"]) == 24


@pytest.mark.django_db
def test_a_switch_swaps_in_just_the_panel_and_the_list_keeps_its_filters(staff, traffic):
    response = staff.get(
        LIST,
        {"window": "7d", "status": "failed"},
        headers={"HX-Request": "true", "HX-Target": "chart-panel"},
    )
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<section class="card chart-panel" id="chart-panel"')
    assert _chart_data(html)["window"] == "7d"
    # The switches' form carries the list's filters; the list's form carries the chart's.
    assert '<input type="hidden" name="status" value="failed">' in html
    page = staff.get(LIST, {"window": "7d", "route": "default", "status": "failed"})
    body = page.content.decode()
    assert '<input type="hidden" name="window" value="7d">' in body
    assert '<input type="hidden" name="route" value="default">' in body


@pytest.mark.django_db
def test_no_messages_draws_empty_charts_and_says_so(staff):
    html = staff.get(LIST).content.decode()
    data = _chart_data(html)
    assert data["sent"] == [0] * 24 and data["p99"] == [None] * 24
    assert "no messages in this window" in html and "nothing sent" in html
