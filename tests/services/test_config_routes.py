"""Configuration as code for routing: phone_connections and phone_routes export and apply."""

import io

import pytest
from django.core.management import call_command

from phoneprovider.errors import ValidationError
from phoneprovider.models import Action, AuditEntry, Connection, Route
from phoneprovider.services import config
from phoneprovider.services.actions import action_create_deployed
from phoneprovider.services.connections import connection_create
from phoneprovider.services.routing import route_create, route_update
from tests.factories import TWILIO_SID

pytestmark = pytest.mark.django_db

HANDLER = "exports.onExecuteCustomPhoneProvider = async (event, api) => {};\n"
VERIFY_SID = "VA" + "0123456789abcdef" * 2
UK_TOKEN = "uk-token-never-in-a-file"
VERIFY_TOKEN = "verify-token-never-in-a-file"
ENV = {
    "CONNECTION_UK_TWILIO_AUTH_TOKEN": UK_TOKEN,
    "CONNECTION_US_VERIFY_AUTH_TOKEN": VERIFY_TOKEN,
}


def configure() -> dict[str, Connection]:
    action_create_deployed(
        actor="t", name="gateway", trigger_id="custom-phone-provider", code=HANDLER
    )
    uk = connection_create(
        actor="t",
        name="uk-twilio",
        kind="twilio",
        twilio_sid=TWILIO_SID,
        twilio_auth_token=UK_TOKEN,
        twilio_default_from="+447400123456",
        api_host="api.dublin.ie1.twilio.com",
    )
    verify = connection_create(
        actor="t",
        name="us verify",
        kind="twilio_verify",
        twilio_sid=TWILIO_SID,
        twilio_auth_token=VERIFY_TOKEN,
        verify_service_sid=VERIFY_SID,
    )
    custom = connection_create(
        actor="t", name="gateway", kind="custom", configuration={"region": "eu"}
    )
    route_create(
        actor="t",
        name="Acme",
        organization_ids=["org_acme"],
        connections=[custom.public_id, uk.public_id],
    )
    route_create(actor="t", name="UK", countries=["GB"], connections=[uk.public_id])
    off = route_create(
        actor="t",
        name="US voice",
        prefixes=["+1"],
        delivery_methods=["voice"],
        connections=[verify.public_id, uk.public_id],
    )
    route_update(off, actor="t", enabled=False)
    return {"uk": uk, "verify": verify, "custom": custom}


def export_text() -> str:
    return config.config_dump(config.config_export())


def apply_text(text: str, env=None, **kwargs):
    doc, lines = config.config_load(text)
    return config.config_apply(doc, actor="t", lines=lines, env=env or ENV, **kwargs)


def wipe():
    Route.objects.all().delete()
    Connection.objects.all().delete()
    Action.objects.all().delete()


def rules() -> list[tuple]:
    return [
        (r.name, r.enabled, r.countries, r.prefixes, r.delivery_methods, r.organization_ids,
         [s.connection.name for s in r.steps.order_by("position")])
        for r in Route.objects.order_by("position")
    ]  # fmt: skip


def test_export_names_connections_and_rules_without_a_token():
    configure()
    text = export_text()
    assert UK_TOKEN not in text and VERIFY_TOKEN not in text
    doc, _ = config.config_load(text)
    assert doc["phone_connections"] == {
        "gateway": {"kind": "custom", "configuration": {"region": "eu"}},
        "uk-twilio": {
            "kind": "twilio",
            "sid": TWILIO_SID,
            "default_from": "+447400123456",
            "api_host": "api.dublin.ie1.twilio.com",
            "auth_token": "${CONNECTION_UK_TWILIO_AUTH_TOKEN}",
        },
        "us verify": {
            "kind": "twilio_verify",
            "sid": TWILIO_SID,
            "service_sid": VERIFY_SID,
            "auth_token": "${CONNECTION_US_VERIFY_AUTH_TOKEN}",
        },
    }
    assert doc["phone_routes"] == [
        {
            "name": "Acme",
            "enabled": True,
            "match": {"organization_ids": ["org_acme"]},
            "connections": ["gateway", "uk-twilio"],
        },
        {
            "name": "UK",
            "enabled": True,
            "match": {"countries": ["GB"]},
            "connections": ["uk-twilio"],
        },
        {
            "name": "US voice",
            "enabled": False,
            "match": {"prefixes": ["+1"], "delivery_methods": ["voice"]},
            "connections": ["us verify", "uk-twilio"],
        },
    ]


def test_apply_on_an_empty_database_recreates_connections_and_rules_in_order():
    configure()
    exported, before = export_text(), rules()
    wipe()
    assert rules() == []

    first = apply_text(exported)
    assert "+ phone_connections.uk-twilio.sid: " + f'"{TWILIO_SID}"' in first.changes
    assert "+ phone_routes.UK.position: 1" in first.changes
    assert rules() == before
    assert export_text() == exported
    uk = Connection.objects.get(name="uk-twilio")
    assert uk.twilio_auth_token == UK_TOKEN
    assert Connection.objects.get(name="us verify").twilio_auth_token == VERIFY_TOKEN
    assert Connection.objects.get(name="gateway").configuration == {"region": "eu"}
    applied = AuditEntry.objects.get(verb="apply")
    assert UK_TOKEN not in str(applied.changes) and VERIFY_TOKEN not in str(applied.changes)

    audits = AuditEntry.objects.count()
    again = apply_text(exported)
    assert again.changes == []
    assert AuditEntry.objects.count() == audits


def test_a_new_order_a_rule_left_out_and_a_connection_left_out_are_applied():
    connections = configure()
    doc = config.config_export()
    doc["phone_routes"] = [doc["phone_routes"][1], doc["phone_routes"][0]]  # UK, then Acme
    del doc["phone_connections"]["us verify"]  # only US voice used it
    result = config.config_apply(doc, actor="t", env=ENV)
    assert [r[0] for r in rules()] == ["UK", "Acme"]
    assert not Connection.objects.filter(pk=connections["verify"].pk).exists()
    assert "~ phone_routes.UK.position: 1 → 0" in result.changes
    assert "- phone_routes.US voice.enabled" in result.changes
    assert "- phone_connections.us verify.kind" in result.changes


def test_a_changed_token_is_applied_and_reported_without_its_value():
    configure()
    env = {**ENV, "CONNECTION_UK_TWILIO_AUTH_TOKEN": "rotated"}
    result = apply_text(export_text(), env=env)
    assert result.changes == [
        "~ phone_connections.uk-twilio.auth_token: (new value from the environment)"
    ]
    assert Connection.objects.get(name="uk-twilio").twilio_auth_token == "rotated"


def test_a_connection_a_kept_rule_uses_is_not_deleted_and_the_rule_is_named():
    configure()
    text = export_text()
    doc = config.config_export()
    del doc["phone_connections"]["uk-twilio"]
    with pytest.raises(ValidationError, match="used by the rules 'Acme', 'UK', 'US voice'"):
        config.config_apply(doc, actor="t", env=ENV)
    assert export_text() == text  # all or nothing


@pytest.mark.parametrize(
    ("replace", "by", "words"),
    [
        ("- uk-twilio\n", "- nowhere\n", "no connection named 'nowhere'"),
        ("countries:\n    - GB", "countries:\n    - XX", "phone_routes[1].match.countries"),
        ("kind: twilio\n", "kind: sms\n", "phone_connections.uk-twilio.kind: kind must be one"),
        ("sid: AC", "colour: red\n    sid: AC", "unknown key 'colour'"),
        (
            "${CONNECTION_UK_TWILIO_AUTH_TOKEN}",
            "plain-token",
            "secret values are not written in the file",
        ),
        ("enabled: false", "enabled: maybe", "phone_routes[2].enabled"),
    ],
)
def test_bad_routing_sections_name_the_line_and_change_nothing(replace, by, words):
    configure()
    text = export_text()
    assert replace in text
    with pytest.raises(ValidationError, match=r"line [0-9]+") as error:
        apply_text(text.replace(replace, by, 1))
    assert words in error.value.message
    assert export_text() == text


def test_a_rule_naming_a_connection_of_the_file_and_an_unset_token():
    configure()
    text = export_text()
    with pytest.raises(ValidationError, match="CONNECTION_US_VERIFY_AUTH_TOKEN is not set"):
        apply_text(text, env={"CONNECTION_UK_TWILIO_AUTH_TOKEN": UK_TOKEN})


def test_export_and_apply_commands_carry_routing(tmp_path, monkeypatch):
    configure()
    out = io.StringIO()
    call_command("export_config", stdout=out)
    assert UK_TOKEN not in out.getvalue() and "phone_routes:" in out.getvalue()
    path = tmp_path / "phone.yaml"
    path.write_text(out.getvalue())
    wipe()
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    applied = io.StringIO()
    call_command("apply_config", str(path), stdout=applied)
    assert "Applied" in applied.getvalue()
    assert [r[0] for r in rules()] == ["Acme", "UK", "US voice"]
    again = io.StringIO()
    call_command("apply_config", str(path), stdout=again)
    assert again.getvalue().strip() == "No changes."
