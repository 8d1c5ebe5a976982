"""Erasing a number from the Messages page in Chromium: the dialog asks, Cancel keeps everything,
Erase removes the number's messages and the banner says what went."""

import re

import pytest
from playwright.sync_api import expect

from phoneprovider.models import AuditEntry, PhoneMessage
from tests.factories import MessageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_erase_a_number_from_the_messages_page(logged_in, screenshot):
    page = logged_in
    erased = [MessageFactory(), MessageFactory(status="failed")]
    kept = MessageFactory(recipient="+447700900123")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    expect(page.locator(".message-row")).to_have_count(3)
    form = page.get_by_role("region", name="Erase a number")
    form.get_by_label("Phone number").fill("+1 415 555 0100")

    # The dialog asks first; Cancel erases nothing.
    form.get_by_role("button", name="Erase…").click()
    dialog = page.get_by_role("dialog", name="Erase everything kept about this number?")
    expect(dialog).to_be_visible()
    screenshot("60-messages-erase-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert PhoneMessage.objects.count() == 3

    form.get_by_role("button", name="Erase…").click()
    dialog.get_by_role("button", name="Erase", exact=True).click()

    banner = page.get_by_role("status").filter(has_text="Erased +1415555••00")
    expect(banner).to_contain_text(re.compile(r"2 messages, 0 attempts and 0 executions removed"))
    expect(page.locator(".message-row")).to_have_count(1)
    screenshot("61-messages-erased")
    assert not PhoneMessage.objects.filter(pk__in=[m.pk for m in erased]).exists()
    assert PhoneMessage.objects.filter(pk=kept.pk).exists()
    assert AuditEntry.objects.get(verb="erase").object_id == "+1415555••00"
    assert not [m for m in page.console_messages if m.startswith(("error", "pageerror"))]
