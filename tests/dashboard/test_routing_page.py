"""The Routing page through Django's test client: rules and connections added, edited, reordered
and deleted through its forms (the database checked each time), the service's errors shown
beside their fields with nothing stored, a connection's Test, and "Which route?" answering as
delivery's matcher does."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from phoneprovider import routing
from phoneprovider.models import Connection, DeliveryAttempt, PhoneMessage, Route
from phoneprovider.services.routing import route_create, route_delete
from tests.dashboard.test_provider_page import save_custom
from tests.factories import (
    TWILIO_SID,
    ConnectionFactory,
    MessageFactory,
    VerifyConnectionFactory,
)

PAGE = reverse("dashboard:routing")
ADD_RULE = reverse("dashboard:routing_rule_create")
ADD_CONNECTION = reverse("dashboard:connection_create")
WHICH = reverse("dashboard:routing_which")
HTMX = {"HTTP_HX_REQUEST": "true"}
VERIFY_SID = "VA" + "b" * 32


def rule_form(**overrides) -> dict:
    form = {
        "name": "UK",
        "countries": "gb",
        "prefixes": "",
        "client_ids": "",
        "organization_ids": "",
        "connections": [],
    }
    form.update(overrides)
    return form


def error_of(html: str, prefix: str, slot: str) -> str:
    """The text of the inline error beside ``slot`` of the ``prefix`` form ("" when none)."""
    match = re.search(
        rf'id="{prefix}-error-{slot}" class="field-error has-error" role="alert">.*?'
        r'<span class="error-message">(.*?)</span>',
        html,
        re.S,
    )
    return match.group(1) if match else ""


def rule(name: str, connections: list[Connection], **fields) -> Route:
    return route_create(
        actor="test", name=name, connections=[c.public_id for c in connections], **fields
    )


@pytest.fixture
def two_connections(db):
    return ConnectionFactory(name="twilio-eu"), ConnectionFactory(name="twilio-us")


# ---- the page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_routing_page_lists_rules_in_order_with_conditions_in_words(staff, two_connections):
    eu, us = two_connections
    rule("UK", [eu, us], countries=["GB"], message_types=["otp_verify"])
    rule("North America", [us], prefixes=["+1"], delivery_methods=["voice"])
    rule("Acme", [eu], organization_ids=["org_acme"], client_ids=["app1"])

    response = staff.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page">Routing</a>' in html
    names = re.findall(r'<strong class="rule-name">(.*?)</strong>', html)
    assert names == ["UK", "North America", "Acme", "Default provider"]
    assert "When the number is in GB and the message is OTP verify" in html
    assert "When the number starts with +1 and it is sent as voice" in html
    assert "When the application is app1 and the organization is org_acme" in html
    # Connections in failover order.
    uk_steps = re.search(r"Connections of UK, in order\">(.*?)</ol>", html).group(1)
    assert uk_steps == "<li>twilio-eu</li><li>twilio-us</li>"
    # Each connection card says which rules use it, and never shows the token.
    assert "UK, Acme" in html
    assert "twilio-secret-token-value" not in html


@pytest.mark.django_db
def test_routing_page_needs_staff(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# ---- rules: create, edit, delete, switch, move ---------------------------------------------


@pytest.mark.django_db
def test_add_rule_stores_it_with_its_connections_in_order(staff, two_connections):
    eu, us = two_connections
    response = staff.post(
        ADD_RULE,
        rule_form(
            name="Europe",
            countries="gb, ie FR",
            prefixes="+4478",
            message_types=["otp_verify", "otp_enroll"],
            delivery_methods=["text"],
            client_ids="app1, app2",
            organization_ids="org_1",
            connections=[us.public_id, eu.public_id, ""],
        ),
    )
    assert response.status_code == 302
    route = Route.objects.get()
    assert route.name == "Europe"
    assert route.countries == ["FR", "GB", "IE"]
    assert route.prefixes == ["+4478"]
    assert route.message_types == ["otp_verify", "otp_enroll"]
    assert route.delivery_methods == ["text"]
    assert route.client_ids == ["app1", "app2"]
    assert route.organization_ids == ["org_1"]
    assert [s.connection.name for s in route.steps.all()] == ["twilio-us", "twilio-eu"]
    page = staff.get(response["Location"]).content.decode()
    assert "Added the rule &#x27;Europe&#x27;." in page


@pytest.mark.django_db
def test_add_rule_with_an_unknown_country_shows_the_error_inline_and_stores_nothing(
    staff, two_connections
):
    eu, _ = two_connections
    response = staff.post(
        ADD_RULE, rule_form(name="Bad", countries="GB, XX", connections=[eu.public_id])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "&#x27;XX&#x27; is not a country code" in error_of(html, "rule", "countries")
    assert Route.objects.count() == 0
    # What was typed is shown again, to fix rather than retype.
    assert 'value="GB, XX"' in html
    assert 'value="Bad"' in html


@pytest.mark.django_db
def test_add_rule_without_connections_is_refused_beside_the_connections(staff, two_connections):
    response = staff.post(ADD_RULE, rule_form(connections=["", ""]))
    html = response.content.decode()
    assert "Name at least one connection" in error_of(html, "rule", "connections")
    assert Route.objects.count() == 0


@pytest.mark.django_db
def test_add_rule_reports_every_problem_at_once(staff, two_connections):
    response = staff.post(ADD_RULE, rule_form(name="", countries="ZZ", prefixes="44"))
    html = response.content.decode()
    assert error_of(html, "rule", "name") == "Give it a name."
    assert "is not a country code" in error_of(html, "rule", "countries")
    assert "is not a prefix" in error_of(html, "rule", "prefixes")
    assert "Name at least one connection" in error_of(html, "rule", "connections")
    assert Route.objects.count() == 0


@pytest.mark.django_db
def test_a_rule_naming_a_connection_deleted_meanwhile_is_refused(staff, two_connections):
    eu, us = two_connections
    gone = us.public_id
    us.delete()  # deleted in another tab after this form was shown
    response = staff.post(ADD_RULE, rule_form(connections=[eu.public_id, gone]))
    html = response.content.decode()
    assert f"No connection &#x27;{gone}&#x27; exists (deleted, or never created)." in error_of(
        html, "rule", "connections"
    )
    assert Route.objects.count() == 0


@pytest.mark.django_db
def test_edit_rule_shows_it_and_saves_changes(staff, two_connections):
    eu, us = two_connections
    route = rule("UK", [eu], countries=["GB"])
    url = reverse("dashboard:routing_rule", args=[route.public_id])
    html = staff.get(url).content.decode()
    assert 'value="UK"' in html
    assert 'value="GB"' in html
    assert f'<option value="{eu.public_id}" selected>' in html

    response = staff.post(
        url,
        rule_form(
            name="UK and Ireland", countries="GB IE", connections=[us.public_id, eu.public_id]
        ),
    )
    assert response.status_code == 302
    route.refresh_from_db()
    assert route.name == "UK and Ireland"
    assert route.countries == ["GB", "IE"]
    assert [s.connection.name for s in route.steps.all()] == ["twilio-us", "twilio-eu"]


@pytest.mark.django_db
def test_edit_rule_refused_keeps_the_stored_rule(staff, two_connections):
    eu, _ = two_connections
    route = rule("UK", [eu], countries=["GB"])
    url = reverse("dashboard:routing_rule", args=[route.public_id])
    response = staff.post(url, rule_form(name="UK", countries="GB, QQ", connections=[]))
    html = response.content.decode()
    assert "is not a country code" in error_of(html, "rule", "countries")
    assert "Name at least one connection" in error_of(html, "rule", "connections")
    route.refresh_from_db()
    assert route.countries == ["GB"]
    assert route.steps.count() == 1


@pytest.mark.django_db
def test_delete_rule(staff, two_connections):
    eu, _ = two_connections
    first, second = rule("A", [eu]), rule("B", [eu])
    response = staff.post(reverse("dashboard:routing_rule_delete", args=[first.public_id]))
    assert response.status_code == 302
    assert list(Route.objects.values_list("name", "position")) == [("B", 0)]
    assert second.public_id in staff.get(PAGE).content.decode()


@pytest.mark.django_db
def test_switch_disables_and_enables_a_rule_with_htmx_or_a_plain_post(staff, two_connections):
    eu, _ = two_connections
    route = rule("UK", [eu], countries=["GB"])
    url = reverse("dashboard:routing_rule_enabled", args=[route.public_id])

    response = staff.post(url, {"enabled": "off"}, **HTMX)
    route.refresh_from_db()
    assert route.enabled is False
    html = response.content.decode()
    assert html.lstrip().startswith("{#") or 'id="rules"' in html
    assert "rule-row rule-disabled" in html
    assert 'aria-checked="false" aria-label="Rule UK enabled"' in html

    response = staff.post(url, {"enabled": "on"})
    assert response.status_code == 302
    route.refresh_from_db()
    assert route.enabled is True


@pytest.mark.django_db
def test_move_up_and_down_reorders_the_rules(staff, two_connections):
    eu, _ = two_connections
    a, b, c = rule("A", [eu]), rule("B", [eu]), rule("C", [eu])

    def order():
        return list(Route.objects.order_by("position").values_list("name", flat=True))

    staff.post(reverse("dashboard:routing_rule_move", args=[c.public_id]), {"direction": "up"})
    assert order() == ["A", "C", "B"]
    response = staff.post(
        reverse("dashboard:routing_rule_move", args=[a.public_id]), {"direction": "down"}, **HTMX
    )
    assert order() == ["C", "A", "B"]
    names = re.findall(r'<strong class="rule-name">(.*?)</strong>', response.content.decode())
    assert names == ["C", "A", "B", "Default provider"]
    # The first can't go higher, the last no lower.
    staff.post(reverse("dashboard:routing_rule_move", args=[c.public_id]), {"direction": "up"})
    staff.post(reverse("dashboard:routing_rule_move", args=[b.public_id]), {"direction": "down"})
    assert order() == ["C", "A", "B"]
    # The matcher sees the new order.
    assert [r.name for r in routing.rules_load()] == ["C", "A", "B"]


# ---- connections ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_add_twilio_connection_stores_only_twilio_fields(staff):
    response = staff.post(
        ADD_CONNECTION,
        {
            "name": "twilio-eu",
            "kind": "twilio",
            "sid": TWILIO_SID,
            "auth_token": "tok-en-1",
            "default_from": "+14155550199",
            "mssid": "",
            "api_host": "api.dublin.ie1.twilio.com",
            "service_sid": VERIFY_SID,  # another kind's field, shown without JavaScript
            "configuration": "a=b",
        },
    )
    assert response.status_code == 302
    connection = Connection.objects.get()
    assert connection.kind == "twilio"
    assert connection.twilio_sid == TWILIO_SID
    assert connection.twilio_auth_token == "tok-en-1"
    assert connection.twilio_default_from == "+14155550199"
    assert connection.api_host == "api.dublin.ie1.twilio.com"
    assert connection.verify_service_sid == ""
    assert connection.configuration == {}
    page = staff.get(PAGE).content.decode()
    assert "tok-en-1" not in page
    assert "api.dublin.ie1.twilio.com" in page


@pytest.mark.django_db
def test_add_verify_connection(staff):
    staff.post(
        ADD_CONNECTION,
        {
            "name": "verify",
            "kind": "twilio_verify",
            "sid": TWILIO_SID,
            "auth_token": "tok-en-2",
            "service_sid": VERIFY_SID,
            "default_from": "+14155550199",
        },
    )
    connection = Connection.objects.get()
    assert connection.kind == "twilio_verify"
    assert connection.verify_service_sid == VERIFY_SID
    assert connection.twilio_default_from == ""


@pytest.mark.django_db
def test_add_connection_errors_are_inline_and_nothing_is_stored(staff):
    response = staff.post(
        ADD_CONNECTION,
        {"name": "", "kind": "twilio", "sid": "nope", "api_host": "evil.example.com"},
    )
    html = response.content.decode()
    assert error_of(html, "conn", "name") == "Give it a name."
    assert "AC followed by 32" in error_of(html, "conn", "sid")
    assert "auth token is required" in error_of(html, "conn", "auth_token")
    assert "is not a twilio.com host" in error_of(html, "conn", "api_host")
    assert "From number or a Messaging Service SID" in error_of(html, "conn", "default_from")
    assert Connection.objects.count() == 0
    assert 'value="evil.example.com"' in html


@pytest.mark.django_db
def test_custom_connection_configuration_lines(staff):
    response = staff.post(
        ADD_CONNECTION, {"name": "gw", "kind": "custom", "configuration": "region=eu\nno equals"}
    )
    html = response.content.decode()
    assert error_of(html, "conn", "configuration") == "Configuration line 2 is not key=value."
    assert Connection.objects.count() == 0


@pytest.mark.django_db
def test_custom_connection_stores_its_configuration_once_a_handler_is_deployed(staff):
    form = {"name": "gw", "kind": "custom", "configuration": "region=eu\n# a note\nkey = v"}
    html = staff.post(ADD_CONNECTION, form).content.decode()
    assert "deploy one first" in error_of(html, "conn", "kind")

    save_custom(staff)  # deploys the custom-phone-provider Action
    form["sid"] = TWILIO_SID  # a Twilio field, shown without JavaScript: not stored
    assert staff.post(ADD_CONNECTION, form).status_code == 302
    connection = Connection.objects.get()
    assert connection.configuration == {"region": "eu", "key": "v"}
    assert connection.twilio_sid == ""
    edit = staff.get(reverse("dashboard:connection", args=[connection.public_id])).content
    lines = re.search(r'name="configuration".*?>(.*?)</textarea>', edit.decode(), re.S).group(1)
    assert sorted(lines.splitlines()) == ["key=v", "region=eu"]


@pytest.mark.django_db
def test_edit_connection_keeps_the_token_when_left_empty(staff):
    connection = ConnectionFactory(name="twilio-eu")
    url = reverse("dashboard:connection", args=[connection.public_id])
    html = staff.get(url).content.decode()
    assert 'name="auth_token" value=""' in html
    assert "leave empty to keep it" in html
    assert "twilio-secret-token-value" not in html

    response = staff.post(
        url,
        {
            "name": "twilio-ie",
            "kind": "twilio",
            "sid": TWILIO_SID,
            "auth_token": "",
            "default_from": "+14155550111",
            "api_host": "",
        },
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.name == "twilio-ie"
    assert connection.twilio_default_from == "+14155550111"
    assert connection.twilio_auth_token == "twilio-secret-token-value"

    staff.post(
        url,
        {
            "name": "twilio-ie",
            "sid": TWILIO_SID,
            "auth_token": "new-token",
            "default_from": "+14155550111",
        },
    )
    connection.refresh_from_db()
    assert connection.twilio_auth_token == "new-token"


@pytest.mark.django_db
def test_delete_connection(staff):
    connection = VerifyConnectionFactory()
    response = staff.post(reverse("dashboard:connection_delete", args=[connection.public_id]))
    assert response.status_code == 302
    assert Connection.objects.count() == 0


@pytest.mark.django_db
def test_deleting_a_connection_a_rule_uses_is_refused_naming_the_rule(staff, two_connections):
    eu, _ = two_connections
    rule("UK", [eu], countries=["GB"])
    response = staff.post(reverse("dashboard:connection_delete", args=[eu.public_id]), follow=True)
    html = response.content.decode()
    assert (
        "The connection &#x27;twilio-eu&#x27; is used by the rule &#x27;UK&#x27;; remove it from "
        "there first." in html
    )
    assert Connection.objects.filter(pk=eu.pk).exists()


# ---- a connection's Test --------------------------------------------------------------------


@pytest.mark.django_db
def test_connection_test_queues_a_message_pinned_to_it_without_a_provider(staff, two_connections):
    eu, _ = two_connections
    url = reverse("dashboard:connection_test", args=[eu.public_id])
    form = staff.get(url, **HTMX).content.decode()
    assert "through twilio-eu only" in form
    assert 'value="voice"' in form  # a connection sends either way

    response = staff.post(url, {"to": "+447400123456", "delivery_method": "text"}, **HTMX)
    html = response.content.decode()
    message = PhoneMessage.objects.get()
    assert message.is_test and message.pinned_connection == eu
    assert message.recipient == "+447400123456"
    # The Send Test progress block, polling the same status URL, with ways back to this page.
    assert reverse("dashboard:provider_test_status", args=[message.public_id]) in html
    status = staff.get(reverse("dashboard:provider_test_status", args=[message.public_id]))
    assert status.context["again_url"] == url
    assert status.context["done_url"] == PAGE
    assert status.context["nav"] == "routing"


@pytest.mark.django_db
def test_connection_test_works_without_javascript(staff, two_connections):
    eu, _ = two_connections
    url = reverse("dashboard:connection_test", args=[eu.public_id])
    page = staff.get(url).content.decode()
    assert "<h1" in page and f'action="{url}"' in page
    assert f'href="{PAGE}" data-close-dialog>Cancel</a>' in page

    response = staff.post(url, {"to": "+14155550100", "delivery_method": "voice"})
    message = PhoneMessage.objects.get()
    assert message.pinned_connection == eu and message.delivery_method == "voice"
    status_url = reverse("dashboard:provider_test_status", args=[message.public_id])
    assert response["Location"] == status_url
    assert staff.get(status_url).status_code == 200


@pytest.mark.django_db
def test_connection_test_validates_the_number(staff, two_connections):
    eu, _ = two_connections
    url = reverse("dashboard:connection_test", args=[eu.public_id])
    response = staff.post(url, {"to": "12", "delivery_method": "text"}, **HTMX)
    assert 'id="to-error"' in response.content.decode()
    assert PhoneMessage.objects.count() == 0


# ---- Which route? ----------------------------------------------------------------------------


@pytest.fixture
def three_rules(two_connections):
    eu, us = two_connections
    acme = ConnectionFactory(name="acme-gw")
    rule("Acme", [acme, eu], organization_ids=["org_acme"])
    rule("UK", [eu, us], countries=["GB"])
    rule("North America", [us], prefixes=["+1"])
    return eu, us, acme


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"number": "+447400123456"}, "UK"),
        ({"number": "+14155550100"}, "North America"),
        ({"number": "+14155550100", "organization_id": "org_acme"}, "Acme"),
        ({"number": "+33612345678"}, None),
    ],
)
def test_which_route_agrees_with_the_matcher(staff, three_rules, query, expected):
    subject = routing.Subject(
        recipient=query["number"], organization_id=query.get("organization_id", "")
    )
    resolved = routing.resolve(routing.rules_load(), subject)
    assert (resolved.name if resolved else None) == expected

    html = staff.get(WHICH, query, **HTMX).content.decode()
    assert 'id="which"' in html and "<html" not in html
    summary = re.search(r'<p class="which-summary"><strong>(.*?)</strong>', html).group(1)
    if expected is None:
        assert summary == "No rule matches: the default provider sends."
    else:
        assert summary.startswith(f"Rule &#x27;{expected}&#x27; matches:")


@pytest.mark.django_db
def test_which_route_explains_the_rules_before_the_match(staff, three_rules):
    html = staff.get(WHICH, {"number": "+14155550100"}, **HTMX).content.decode()
    assert "Rule &#x27;North America&#x27; matches: twilio-us." in html
    assert "<strong>Acme</strong>: organization (none) is not one of org_acme" in html
    assert "<strong>UK</strong>: country US is not one of GB" in html

    html = staff.get(WHICH, {"number": "+447400123456"}, **HTMX).content.decode()
    steps = re.search(r"Connections of UK, in order\">(.*?)</ol>", html, re.S).group(1)
    assert steps.index("twilio-eu") < steps.index("twilio-us")


@pytest.mark.django_db
def test_which_route_skips_a_disabled_rule(staff, three_rules):
    Route.objects.filter(name="UK").update(enabled=False)
    html = staff.get(WHICH, {"number": "+447400123456"}, **HTMX).content.decode()
    assert "No rule matches: the default provider sends." in html
    assert "<strong>UK</strong>: the rule is disabled" in html


@pytest.mark.django_db
def test_which_route_works_without_javascript(staff, three_rules):
    # A plain GET (and POST) renders the whole page with the answer in the box.
    for response in (
        staff.get(WHICH, {"number": "+447400123456"}),
        staff.post(WHICH, {"number": "+447400123456"}),
    ):
        html = response.content.decode()
        assert "<h1>Routing</h1>" in html
        assert "Rule &#x27;UK&#x27; matches: twilio-eu → twilio-us." in html
        assert 'value="+447400123456"' in html


@pytest.mark.django_db
def test_which_route_says_what_is_wrong_with_a_number(staff, three_rules):
    html = staff.get(WHICH, {"number": "hello"}, **HTMX).content.decode()
    assert 'id="which-error"' in html
    assert "which-summary" not in html


# ---- counts of the last 24 hours ---------------------------------------------------------------


def counts_of(html: str, row_id: str) -> tuple[int, int, int]:
    row = re.search(rf'id="{row_id}".*?</tr>', html, re.S).group(0)
    return tuple(
        int(re.search(rf'class="num count-{name}">(\d+)<', row).group(1))
        for name in ("sent", "failed", "failed-over")
    )


@pytest.mark.django_db
def test_each_rule_and_the_default_provider_show_their_last_24_hours(staff, two_connections):
    eu, us = two_connections
    uk, na = rule("UK", [eu, us], countries=["GB"]), rule("North America", [us], prefixes=["+1"])
    on_uk = {"route": uk, "route_name": "UK"}
    MessageFactory(status="sent", **on_uk)
    MessageFactory(status="delivered", **on_uk)
    MessageFactory(status="delivered", failed_over=True, route_step=1, **on_uk)
    MessageFactory(status="failed", failed_over=True, route_step=1, **on_uk)
    old = MessageFactory(status="sent", **on_uk)
    PhoneMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    MessageFactory(status="failed", route=na, route_name="North America")
    MessageFactory(status="sent")  # no rule: the default provider
    MessageFactory(status="failed")
    MessageFactory(status="blocked")  # refused before any route: nobody's

    html = staff.get(PAGE).content.decode()
    assert counts_of(html, f"rule-{uk.public_id}") == (3, 1, 2)
    assert counts_of(html, f"rule-{na.public_id}") == (0, 1, 0)
    assert counts_of(html, "rule-default") == (1, 1, 0)


# ---- the message detail names the rule and each attempt's connection ---------------------------


@pytest.mark.django_db
def test_message_detail_names_the_rule_and_each_attempts_connection(staff, two_connections):
    eu, us = two_connections
    uk = rule("UK", [eu, us], countries=["GB"])
    message = MessageFactory(
        recipient="+447400123456", status="sent", route=uk, route_name="UK", failed_over=True
    )
    DeliveryAttempt.objects.create(
        message=message,
        number=1,
        provider_name="twilio",
        connection=eu,
        connection_name="twilio-eu",
        outcome="failed",
        error="Twilio error 21610",
    )
    DeliveryAttempt.objects.create(
        message=message,
        number=2,
        provider_name="twilio",
        connection=us,
        connection_name="twilio-us",
        outcome="sent",
    )
    html = staff.get(reverse("dashboard:message", args=[message.public_id])).content.decode()
    assert 'id="message-route">Rule: <strong>UK</strong>' in html
    vias = re.findall(r'<span class="muted attempt-via">(.*?)</span>', html)
    assert vias == ["twilio-eu (twilio)", "twilio-us (twilio)"]

    # The rule deleted since keeps its name here; a message no rule took names the default.
    route_delete(uk, actor="test")
    html = staff.get(reverse("dashboard:message", args=[message.public_id])).content.decode()
    assert "Rule: <strong>UK (since deleted)</strong>" in html
    plain = MessageFactory(status="sent")
    DeliveryAttempt.objects.create(message=plain, number=1, provider_name="custom", outcome="sent")
    html = staff.get(reverse("dashboard:message", args=[plain.public_id])).content.decode()
    assert "Rule: <strong>Default provider</strong>" in html
    assert re.findall(r'<span class="muted attempt-via">(.*?)</span>', html) == ["custom"]
