"""Django admin in Chromium: the audit view opens a message with its attempts, and an Action with
its secrets' names and versions, read-only."""

import pytest
from playwright.sync_api import expect

from phoneprovider.models import Action, ActionSecret, ActionVersion, DeliveryAttempt
from tests.factories import MessageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_opens_a_message_and_an_action_read_only(logged_in, live_server, screenshot):
    page = logged_in
    message = MessageFactory(status="delivered", provider_name="custom", attempt_count=1)
    DeliveryAttempt.objects.create(
        message=message, number=1, provider_name="custom", outcome="sent", error=""
    )
    action = Action.objects.create(
        name="gateway", trigger_id=Action.Trigger.CUSTOM_PHONE_PROVIDER, code="// draft"
    )
    ActionSecret.objects.create(action=action, name="GATEWAY_TOKEN", value="s3cret-value-2")
    ActionVersion.objects.create(action=action, number=1, code="// v1", runtime="node22")

    page.goto(f"{live_server.url}/admin/phoneprovider/phonemessage/")
    page.get_by_role("link", name=message.public_id).click()
    expect(page.get_by_role("heading", name="View phone message")).to_be_visible()
    attempts = page.locator("#attempts-group")
    expect(attempts).to_contain_text("Sent")
    # Read-only: no save button and no input for the attempt's outcome.
    expect(page.locator('input[name="_save"]')).to_have_count(0)
    expect(page.locator('[name="attempts-0-outcome"]')).to_have_count(0)
    screenshot("40-admin-message")

    page.goto(f"{live_server.url}/admin/phoneprovider/action/")
    page.get_by_role("link", name="gateway").click()
    expect(page.get_by_role("heading", name="View action")).to_be_visible()
    expect(page.locator("#secrets-group")).to_contain_text("GATEWAY_TOKEN")
    expect(page.locator("body")).not_to_contain_text("s3cret-value-2")
