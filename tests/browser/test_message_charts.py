"""The Messages page's charts in Chromium: both drawn (uPlot canvases of real size) from the page's
JSON, then switched to 7 days and to one route, each switch swapping the panel in place."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from phoneprovider.models import PhoneMessage, Route
from tests.factories import MessageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _traffic():
    eu = Route(name="EU", position=1)
    eu.save()
    now = timezone.now()
    for hours_ago, status, route, latency in (
        (2, "delivered", eu, 150),
        (2, "delivered", None, 300),
        (2, "failed", eu, None),
        (5, "sent", None, 90),
        (50, "delivered", eu, 1200),
        (50, "blocked", None, None),
    ):
        message = MessageFactory(status=status, route=route, route_name=route.name if route else "")
        created = now - timedelta(hours=hours_ago)
        PhoneMessage.objects.filter(pk=message.pk).update(
            created_at=created,
            sent_at=created + timedelta(milliseconds=latency) if latency else None,
        )
    return eu


def _assert_drawn(page):
    for chart in ("#chart-counts", "#chart-latency"):
        canvas = page.locator(f"{chart} canvas")
        expect(canvas).to_have_count(1)
        box = canvas.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, (chart, box)


def test_charts_draw_and_switch_window_and_route(logged_in, live_server, screenshot):
    page = logged_in
    _traffic()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    panel = page.locator("#chart-panel")
    expect(panel).to_have_attribute("data-drawn", "24h All messages")
    _assert_drawn(page)
    expect(panel.locator(".chart-total-sent")).to_have_text("3")
    screenshot("62-message-charts-24h")

    # 7 days: the switch swaps the panel (no page load) and the address says so.
    page.evaluate("window.__samePage = true")
    panel.get_by_text("7 days", exact=True).click()
    expect(panel).to_have_attribute("data-drawn", "7d All messages")
    expect(page.locator("#chart-panel").get_by_role("heading")).to_contain_text("Last 7 days")
    _assert_drawn(page)
    expect(page.locator(".chart-total-sent")).to_have_text("4")
    assert re.search(r"[?&]window=7d", page.url)
    assert page.evaluate("window.__samePage") is True

    # One route: only its messages.
    page.get_by_label("Route", exact=True).select_option(label="EU")
    expect(page.locator("#chart-panel")).to_have_attribute("data-drawn", "7d EU")
    _assert_drawn(page)
    expect(page.locator(".chart-total-sent")).to_have_text("2")
    expect(page.locator("#chart-panel").get_by_role("heading")).to_contain_text("EU")
    assert page.evaluate("window.__samePage") is True

    # Times in UTC: the charts are drawn again, on UTC hours.
    expect(page.locator("#chart-panel")).to_have_attribute("data-drawn-in", "local")
    page.get_by_text("UTC", exact=True).click()
    expect(page.locator("#chart-panel")).to_have_attribute("data-drawn-in", "utc")
    expect(page.locator("#chart-panel")).to_have_attribute("data-drawn", "7d EU")
    _assert_drawn(page)

    # The same address opened afresh draws the same chart.
    page.goto(page.url)
    expect(page.locator("#chart-panel")).to_have_attribute("data-drawn", "7d EU")
    _assert_drawn(page)
    screenshot("63-message-charts-7d-route", full_page=True)
    assert not [m for m in page.console_messages if m.startswith(("pageerror", "error"))]
