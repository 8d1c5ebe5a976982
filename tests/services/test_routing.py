"""Routing rules and connections: what is refused, and which rule a number takes."""

import pytest

from phoneprovider import routing, selectors
from phoneprovider.errors import Conflict, ValidationError
from phoneprovider.models import AuditEntry, Connection, Route
from phoneprovider.services import connections as connection_service
from phoneprovider.services import routing as routing_service
from tests.factories import TWILIO_SID

pytestmark = pytest.mark.django_db

VERIFY_SID = "VA" + "0123456789abcdef" * 2


def twilio_connection(name="uk-twilio", **fields) -> Connection:
    return connection_service.connection_create(
        actor="test",
        name=name,
        kind="twilio",
        twilio_sid=TWILIO_SID,
        twilio_auth_token="secret-token",
        twilio_default_from="+447400123456",
        **fields,
    )


def rule(name, connections, **match) -> Route:
    return routing_service.route_create(
        actor="test", name=name, connections=[c.public_id for c in connections], **match
    )


def resolved(subject: routing.Subject) -> str | None:
    chosen = routing.resolve(routing.rules_load(), subject)
    return chosen.name if chosen else None


def test_a_uk_and_a_us_number_take_different_rules():
    uk, us = twilio_connection("uk"), twilio_connection("us")
    rule("UK", [uk], countries=["gb"])
    rule("North America", [us], prefixes=["+1"])
    assert resolved(routing.Subject("+447400123456")) == "UK"
    assert resolved(routing.Subject("+14155550100")) == "North America"
    assert resolved(routing.Subject("+33612345678")) is None  # the default provider


def test_conditions_are_all_required_and_each_matches_any_of_its_values():
    connection = twilio_connection()
    rule(
        "Acme voice",
        [connection],
        organization_ids=["org_acme", "org_b"],
        delivery_methods=["voice"],
    )
    acme_voice = routing.Subject("+14155550100", delivery_method="voice", organization_id="org_b")
    assert resolved(acme_voice) == "Acme voice"
    acme_text = routing.Subject("+14155550100", delivery_method="text", organization_id="org_b")
    assert resolved(acme_text) is None


def test_the_first_matching_rule_wins_and_disabled_rules_are_skipped():
    a, b = twilio_connection("a"), twilio_connection("b")
    first = rule("First", [a], countries=["US"])
    rule("Second", [b], prefixes=["+1415"])
    subject = routing.Subject("+14155550100")
    assert resolved(subject) == "First"
    routing_service.route_update(first, actor="test", enabled=False)
    assert resolved(subject) == "Second"
    explanation = routing.explain(routing.rules_load(), subject)
    assert explanation.skipped[0][1] == "the rule is disabled"
    assert explanation.summary == "Rule 'Second' matches: b."


def test_explain_says_why_each_earlier_rule_did_not_match():
    connection = twilio_connection()
    rule("UK", [connection], countries=["GB"])
    rule("App", [connection], client_ids=["app1"])
    explanation = routing.explain(routing.rules_load(), routing.Subject("+14155550100"))
    assert explanation.rule is None
    assert [why for _, why in explanation.skipped] == [
        "country US is not one of GB",
        "application (none) is not one of app1",
    ]


def test_a_message_context_supplies_application_and_organization():
    from tests.factories import MessageFactory

    message = MessageFactory.build(
        context={"client": {"client_id": "app1"}, "organization": {"id": "org_1"}}
    )
    subject = routing.Subject.of_message(message)
    assert (subject.client_id, subject.organization_id) == ("app1", "org_1")


@pytest.mark.parametrize(
    ("match", "field", "words"),
    [
        ({"countries": ["XX"]}, "countries", "'XX' is not a country code"),
        ({"prefixes": ["44"]}, "prefixes", "'44' is not a prefix"),
        ({"message_types": ["otp"]}, "message_types", "'otp' is not one of"),
        ({"delivery_methods": ["fax"]}, "delivery_methods", "'fax' is not one of"),
        ({"client_ids": [""]}, "client_ids", "non-empty"),
        ({"connections": []}, "connections", "at least one connection"),
        ({"connections": ["pcn_gone"]}, "connections", "No connection 'pcn_gone' exists"),
        ({"name": ""}, "name", "name"),
    ],
)
def test_bad_rules_are_refused_with_the_field_named_and_nothing_stored(match, field, words):
    connection = twilio_connection()
    fields = {"name": "Rule", "connections": [connection.public_id], **match}
    with pytest.raises(ValidationError) as caught:
        routing_service.route_create(actor="test", **fields)
    assert caught.value.field == field and words in caught.value.message
    assert not Route.objects.exists()


def test_a_connection_a_rule_uses_cannot_be_deleted_and_the_rule_is_named():
    connection = twilio_connection()
    rule("UK", [connection], countries=["GB"])
    with pytest.raises(Conflict, match="used by the rule 'UK'"):
        connection_service.connection_delete(connection, actor="test")
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_a_connection_no_rule_uses_is_deleted():
    connection = twilio_connection()
    connection_service.connection_delete(connection, actor="test")
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "twilio", "twilio_sid": "nope"}, "sid"),
        ({"kind": "twilio", "twilio_auth_token": ""}, "auth_token"),
        ({"kind": "twilio", "api_host": "evil.example.com"}, "api_host"),
        ({"kind": "twilio_verify", "verify_service_sid": "VAshort"}, "service_sid"),
        ({"kind": "sms-gateway"}, "kind"),
        ({"kind": "custom"}, "kind"),  # no deployed custom-phone-provider Action
    ],
)
def test_bad_connections_are_refused(fields, field):
    base = {
        "name": "c",
        "twilio_sid": TWILIO_SID,
        "twilio_auth_token": "t",
        "twilio_default_from": "+447400123456",
        "verify_service_sid": VERIFY_SID,
    }
    with pytest.raises(ValidationError) as caught:
        connection_service.connection_create(actor="test", **{**base, **fields})
    fields_named = [e.field for e in getattr(caught.value, "errors", [caught.value])]
    assert field in fields_named
    assert not Connection.objects.exists()


def test_connection_names_are_unique():
    twilio_connection("same")
    with pytest.raises(Conflict, match="named 'same' already exists"):
        twilio_connection("same")


def test_the_auth_token_is_write_only_and_masked_in_the_audit():
    connection = twilio_connection()
    connection_service.connection_update(connection, actor="test", twilio_auth_token="")
    connection.refresh_from_db()
    assert connection.twilio_auth_token == "secret-token"  # an empty value keeps it
    for entry in AuditEntry.objects.filter(object_type="phone_connection"):
        assert "secret-token" not in str(entry.changes)


def test_a_verify_connection_with_a_region_host_is_stored():
    connection = connection_service.connection_create(
        actor="test",
        name="verify-ie",
        kind="twilio_verify",
        twilio_sid=TWILIO_SID,
        twilio_auth_token="t",
        verify_service_sid=VERIFY_SID,
        api_host="API.Dublin.IE1.twilio.com",
    )
    assert connection.api_host == "api.dublin.ie1.twilio.com"


def test_rules_are_kept_in_order_when_placed_reordered_and_deleted():
    connection = twilio_connection()
    a, b = rule("a", [connection]), rule("b", [connection])
    c = routing_service.route_create(
        actor="test", name="c", connections=[connection.public_id], position=0
    )
    assert [r.name for r in selectors.routes_list()] == ["c", "a", "b"]
    routing_service.routes_reorder(actor="test", order=[b.public_id, a.public_id, c.public_id])
    assert [r.name for r in selectors.routes_list()] == ["b", "a", "c"]
    routing_service.route_delete(a, actor="test")
    assert [(r.name, r.position) for r in selectors.routes_list()] == [("b", 0), ("c", 1)]
    with pytest.raises(ValidationError, match="every rule"):
        routing_service.routes_reorder(actor="test", order=[b.public_id])


def test_a_rules_connections_keep_their_failover_order():
    first, second = twilio_connection("first"), twilio_connection("second")
    rule("Both", [second, first])
    (loaded,) = routing.rules_load()
    assert [c.name for c in loaded.connections] == ["second", "first"]
    assert loaded.has_step_after(0) and not loaded.has_step_after(1)
