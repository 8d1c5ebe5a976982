"""The Routing page in Chromium: two connections and two rules built in the page, a test sent
through each connection's Test button by the real worker to the fake Twilio, "Which route?"
naming the rule a +44 and a +1 number take, and the provider page's Send Test Message (a
message like any other, not pinned) taking each rule."""

import json

import pytest
from playwright.sync_api import expect
from werkzeug import Response

from phoneprovider.models import PhoneMessage
from tests.browser.test_pages import UNLABELLED_CONTROLS
from tests.factories import TwilioProviderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SID_UK = "AC" + "1" * 32
SID_US = "AC" + "2" * 32
SID_DEFAULT = "AC" + "3" * 32
UK_NUMBER = "+447400123456"
US_NUMBER = "+14155550100"


def twilio_answers(fake_twilio, sid: str, twilio_id: str) -> None:
    fake_twilio.expect_request(
        f"/2010-04-01/Accounts/{sid}/Messages.json", method="POST"
    ).respond_with_handler(
        lambda request: Response(
            json.dumps({"sid": twilio_id, "status": "queued"}),
            status=201,
            content_type="application/json",
        )
    )


def add_connection(page, name: str, sid: str, sender: str) -> None:
    form = page.locator("#connection-form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Twilio Programmable Messaging").check()
    form.get_by_label("Account SID").fill(sid)
    form.get_by_label("Auth Token").fill(f"token-of-{name}")
    form.get_by_label("From", exact=True).fill(sender)
    # Only the chosen kind's fields show.
    expect(form.get_by_label("Verify Service SID")).to_be_hidden()
    expect(form.get_by_label("Configuration")).to_be_hidden()
    form.get_by_role("button", name="Add connection").click()
    expect(page.locator(".flash-success")).to_have_text(f"Added the connection '{name}'.")


def add_rule(page, name: str, connection: str, *, countries: str = "", prefixes: str = ""):
    form = page.locator("#rule-form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Countries").fill(countries)
    form.get_by_label("Number prefixes").fill(prefixes)
    form.get_by_label("Sends first").select_option(
        label=f"{connection} · Twilio Programmable Messaging"
    )
    form.get_by_role("button", name="Add rule").click()
    expect(page.locator(".flash-success")).to_have_text(f"Added the rule '{name}'.")


def send_test(page, connection: str, number: str, worker_tasks, ran_before: int):
    card = page.get_by_role("article", name=f"Connection {connection}")
    card.get_by_role("link", name="Test").click()
    dialog = page.get_by_role("dialog", name=f"Test {connection}")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"through {connection} only")
    dialog.get_by_label("Phone number").fill(number)
    dialog.get_by_label("Text", exact=True).check()
    dialog.get_by_role("button", name="Send").click()
    expect(dialog.locator("#test-outcome")).to_contain_text("Sent", timeout=30_000)
    assert worker_tasks.ran("phoneprovider.deliver_due") > ran_before
    dialog.get_by_role("link", name="Done").click()
    expect(dialog).to_be_hidden()


def ask_which_route(page, number: str) -> str:
    box = page.locator("#which")
    box.get_by_label("Phone number").fill(number)
    box.get_by_role("button", name="Show the route").click()
    result = page.locator("#which-result")
    expect(result).to_contain_text(number)
    return result.locator(".which-summary").inner_text()


def test_two_rules_built_in_the_page_each_send_a_test_and_which_route_names_them(
    logged_in, live_server, fake_twilio, worker_tasks, screenshot
):
    twilio_answers(fake_twilio, SID_UK, "SMuk0001")
    twilio_answers(fake_twilio, SID_US, "SMus0001")
    page = logged_in
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Routing").click()
    expect(page.get_by_role("heading", name="Routing", level=1)).to_be_visible()

    add_connection(page, "twilio-uk", SID_UK, "+14155550101")
    add_connection(page, "twilio-us", SID_US, "+14155550102")
    add_rule(page, "UK", "twilio-uk", countries="GB")
    add_rule(page, "North America", "twilio-us", prefixes="+1")
    rows = page.get_by_role("table", name="Routing rules").locator(".rule-name")
    expect(rows).to_have_text(["UK", "North America", "Default provider"])
    expect(page.locator("#rules")).to_contain_text("When the number is in GB")
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    screenshot("routing-page", full_page=True)

    send_test(page, "twilio-uk", UK_NUMBER, worker_tasks, 0)
    send_test(
        page, "twilio-us", US_NUMBER, worker_tasks, worker_tasks.ran("phoneprovider.deliver_due")
    )

    # Each test went to its own connection's Twilio account, from its own number.
    sent = {
        request.path.split("/")[3]: request.form
        for request, _ in fake_twilio.log
        if request.path.endswith("/Messages.json")
    }
    assert sent[SID_UK]["To"] == UK_NUMBER and sent[SID_UK]["From"] == "+14155550101"
    assert sent[SID_US]["To"] == US_NUMBER and sent[SID_US]["From"] == "+14155550102"
    by_number = {m.recipient: m for m in PhoneMessage.objects.all()}
    assert by_number[UK_NUMBER].attempts.get().connection_name == "twilio-uk"
    assert by_number[US_NUMBER].attempts.get().connection_name == "twilio-us"
    assert {m.status for m in by_number.values()} == {"sent"}

    assert ask_which_route(page, UK_NUMBER) == "Rule 'UK' matches: twilio-uk."
    assert ask_which_route(page, US_NUMBER) == "Rule 'North America' matches: twilio-us."
    expect(page.locator("#which-result")).to_contain_text("UK: country US is not one of GB")
    screenshot("routing-which-route")

    # Reordering with the arrows swaps the rows in place.
    page.get_by_role("button", name="Move North America up").click()
    expect(rows).to_have_text(["North America", "UK", "Default provider"])

    # The test's message page names the connection its attempt used.
    page.goto(f"{live_server.url}/messages/{by_number[UK_NUMBER].public_id}/")
    expect(page.locator(".attempt-via")).to_have_text("twilio-uk (twilio)")
    expect(page.locator("#message-route")).to_contain_text("a connection's Test")
    assert not [m for m in page.console_messages if m.startswith("pageerror")]


def test_a_send_test_from_the_provider_page_takes_each_rule_built_in_the_page(
    logged_in, live_server, fake_twilio, worker_tasks
):
    """Not a connection's Test: the provider page's Send Test Message queues an ordinary
    message, and the rules decide where it goes (the default provider only when none match)."""
    for sid, twilio_id in ((SID_UK, "SMuk0002"), (SID_US, "SMus0002"), (SID_DEFAULT, "SMdf")):
        twilio_answers(fake_twilio, sid, twilio_id)
    TwilioProviderFactory(twilio_sid=SID_DEFAULT)
    page = logged_in
    page.goto(f"{live_server.url}/routing/")
    add_connection(page, "twilio-uk", SID_UK, "+14155550101")
    add_connection(page, "twilio-us", SID_US, "+14155550102")
    add_rule(page, "UK", "twilio-uk", countries="GB")
    add_rule(page, "North America", "twilio-us", prefixes="+1")

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Send Test Message").click()
    dialog = page.get_by_role("dialog", name="Send Test Message")
    for number, french in ((UK_NUMBER, False), (US_NUMBER, False), ("+33612345678", True)):
        dialog.get_by_label("Phone number").fill(number)
        dialog.get_by_label("Text", exact=True).check()
        dialog.get_by_role("button", name="Send").click()
        expect(dialog.locator("#test-outcome")).to_contain_text("Sent", timeout=30_000)
        if not french:
            dialog.get_by_role("link", name="Send another").click()

    by_number = {m.recipient: m for m in PhoneMessage.objects.all()}
    assert by_number[UK_NUMBER].route_name == "UK"
    assert by_number[US_NUMBER].route_name == "North America"
    assert by_number["+33612345678"].route_name == ""  # no rule: the default provider
    accounts = [request.path.split("/")[3] for request, _ in fake_twilio.log]
    assert accounts == [SID_UK, SID_US, SID_DEFAULT]
    assert worker_tasks.ran("phoneprovider.deliver_due") >= 3
