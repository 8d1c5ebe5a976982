"""Configuration as code: export, apply (idempotent, one transaction), errors naming line/field."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from phoneprovider.models import Action, ActionVersion, AuditEntry, PhoneProvider, PhoneTemplate
from phoneprovider.services import config
from phoneprovider.services.actions import action_create_deployed
from phoneprovider.services.limits import policy_update
from phoneprovider.services.providers import provider_create
from phoneprovider.services.templates import template_create
from tests.factories import TWILIO_SID

pytestmark = pytest.mark.django_db

HANDLER = """exports.onExecuteCustomPhoneProvider = async (event, api) => {
  console.log("to", event.notification.recipient, event.secrets.API_KEY ? "with key" : "");
};
"""
ENV = {"TWILIO_AUTH_TOKEN": "tw-token", "API_KEY": "key-1"}
DEPENDENCIES = [{"name": "lodash", "version": "4.17.21"}]


@pytest.fixture(autouse=True)
def npm_offline(monkeypatch):
    """Deploys install declared npm packages from the registry; these tests stay on loopback,
    so a deploy records the (already exact) versions it is given."""
    from phoneprovider.services import actions

    monkeypatch.setattr(actions, "dependencies_install", lambda deps: list(deps or []))


def configure():
    """A setup touching every section: Twilio provider, a template, a deployed Action, limits."""
    action_create_deployed(
        actor="t",
        name="gateway",
        trigger_id="custom-phone-provider",
        code=HANDLER,
        secrets={"API_KEY": "key-1"},
    )
    # Declared dependencies are installed from npm at deploy; tests stay on loopback, so the
    # deployed version is given its pinned list directly (what a deploy would have recorded).
    Action.objects.update(dependencies=DEPENDENCIES)
    ActionVersion.objects.update(dependencies=DEPENDENCIES)
    provider_create(
        actor="t",
        name="twilio",
        delivery_methods=["text", "voice"],
        twilio_sid=TWILIO_SID,
        twilio_default_from="+14155550100",
        twilio_auth_token="tw-token",
    )
    template_create(
        actor="t",
        type="otp_verify",
        from_number="+1234567890",
        text_body="Code {{ code }}\nDo not share it.",
    )
    policy_update(actor="t", recipient_per_hour=7, text_countries_denied=["FR"])


def export_text() -> str:
    return config.config_dump(config.config_export())


def wipe():
    PhoneProvider.objects.all().delete()
    PhoneTemplate.objects.all().delete()
    Action.objects.all().delete()
    policy_update(actor="t", recipient_per_hour=5, text_countries_denied=[])


def apply_text(text: str, **kwargs):
    doc, lines = config.config_load(text)
    return config.config_apply(doc, actor="t", lines=lines, env=kwargs.pop("env", ENV), **kwargs)


def test_export_holds_every_section_and_no_secret_value():
    configure()
    text = export_text()
    assert "tw-token" not in text and "key-1" not in text
    doc, _ = config.config_load(text)
    assert doc["provider"]["auth_token"] == "${TWILIO_AUTH_TOKEN}"
    assert doc["provider"]["sid"] == TWILIO_SID
    assert doc["action"]["secrets"] == {"API_KEY": "${API_KEY}"}
    assert doc["action"]["dependencies"] == [{"name": "lodash", "version": "4.17.21"}]
    assert doc["action"]["code"] == HANDLER
    assert doc["templates"]["otp_verify"]["text"] == "Code {{ code }}\nDo not share it."
    assert doc["limits"]["recipient_per_hour"] == 7
    assert "code: |" in text  # handler code reads as a block


def test_apply_on_a_fresh_install_reproduces_the_export_and_again_changes_nothing():
    configure()
    exported = export_text()
    wipe()
    assert export_text() != exported

    first = apply_text(exported)
    assert first.changed and any(c.startswith("+ provider.sid") for c in first.changes)
    assert export_text() == exported
    provider = PhoneProvider.objects.get()
    assert provider.twilio_auth_token == "tw-token"
    assert Action.objects.get().secrets.get().value == "key-1"

    versions = ActionVersion.objects.count()
    audits = AuditEntry.objects.count()
    second = apply_text(exported)
    assert second.changes == []
    assert ActionVersion.objects.count() == versions  # no new deploy
    assert AuditEntry.objects.count() == audits  # nothing to record


def test_a_changed_secret_value_is_applied_and_reported_without_its_value():
    configure()
    result = apply_text(export_text(), env={**ENV, "API_KEY": "key-2"})
    assert result.changes == ["~ action.secrets.API_KEY: (new value from the environment)"]
    assert Action.objects.get().secrets.get().value == "key-2"
    assert "key-2" not in str(AuditEntry.objects.filter(verb="apply").get().changes)


def test_dry_run_prints_the_diff_and_keeps_nothing():
    configure()
    text = export_text().replace("recipient_per_hour: 7", "recipient_per_hour: 9")
    result = apply_text(text, dry_run=True)
    assert result.changes == ["~ limits.recipient_per_hour: 7 → 9"]
    assert config.config_export()["limits"]["recipient_per_hour"] == 7


def test_a_template_from_auth0_stores_is_applied_as_given():
    """An Auth0 tenant may hold a From such as 1234567890 (the API stores it too): importing or
    applying it must not fail where the API would have accepted it."""
    configure()
    doc = config.config_export()
    doc["templates"]["otp_verify"]["from"] = "1234567890"
    doc["templates"]["blocked_account"] = {"from": "1111111111", "text": "Blocked."}
    config.config_apply(doc, actor="t", env=ENV)
    froms = dict(PhoneTemplate.objects.values_list("type", "from_number"))
    assert froms == {"otp_verify": "1234567890", "blocked_account": "1111111111"}


def test_templates_not_listed_go_back_to_the_defaults():
    configure()
    doc = config.config_export()
    doc["templates"] = {}
    result = config.config_apply(doc, actor="t", env=ENV)
    assert any(c.startswith("- templates.otp_verify") for c in result.changes)
    assert not PhoneTemplate.objects.exists()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("provider:\n  name: twilio\n   sid: x\n", "line 3"),
        ("provider: [\n", "not readable as YAML"),
        ("version: 1\nprovider:\n  name: twilio\n  colour: blue\n", "line 4, provider.colour"),
        ("templates:\n  welcome:\n    text: hi\n", "line 2, templates.welcome"),
        (
            "provider:\n  name: twilio\n  sid: x\n  default_from: '+1234567890'\n"
            "  delivery_methods: [text]\n  auth_token: ${UNSET_VARIABLE}\n",
            "line 6, provider.auth_token: the environment variable UNSET_VARIABLE is not set",
        ),
        (
            "provider:\n  name: twilio\n  auth_token: plain-secret\n",
            "line 3, provider.auth_token: secret values are not written",
        ),
        ("limits:\n  recipient_per_hour: many\n", "recipient_per_hour"),
        ("- a\n- b\n", "must be a mapping"),
    ],
)
def test_bad_documents_name_the_line_or_field_and_change_nothing(text, words):
    configure()
    before = export_text()
    with pytest.raises(config.ConfigError) as info:
        apply_text(text)
    assert words in info.value.message
    assert export_text() == before


def test_an_error_late_in_the_document_undoes_the_earlier_sections():
    configure()
    doc = config.config_export()
    doc["provider"]["default_from"] = "+14155550111"  # a valid change, applied first…
    doc["templates"]["otp_verify"]["text"] = "{% if %}"  # …then invalid Liquid
    with pytest.raises(config.ConfigError) as info:
        config.config_apply(doc, actor="t", env=ENV)
    assert "templates.otp_verify" in info.value.message
    assert PhoneProvider.objects.get().twilio_default_from == "+14155550100"


def test_invalid_handler_code_is_refused_naming_the_field():
    configure()
    doc = config.config_export()
    doc["action"]["code"] = "exports.onExecuteCustomPhoneProvider = async (event, api) => {\n"
    with pytest.raises(config.ConfigError) as info:
        config.config_apply(doc, actor="t", env=ENV)
    assert "action.code" in info.value.message
    assert ActionVersion.objects.count() == 1


# --- the commands -------------------------------------------------------------------------------


def test_export_and_apply_commands_round_trip(tmp_path, monkeypatch):
    configure()
    out = io.StringIO()
    call_command("export_config", stdout=out)
    path = tmp_path / "phone.yaml"
    path.write_text(out.getvalue())
    wipe()
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)

    dry = io.StringIO()
    call_command("apply_config", str(path), "--dry-run", stdout=dry)
    assert "Dry run:" in dry.getvalue() and not PhoneProvider.objects.exists()

    applied = io.StringIO()
    call_command("apply_config", str(path), stdout=applied)
    assert "Applied" in applied.getvalue()
    again = io.StringIO()
    call_command("apply_config", str(path), stdout=again)
    assert again.getvalue().strip() == "No changes."
    after = io.StringIO()
    call_command("export_config", stdout=after)
    assert after.getvalue() == out.getvalue()


def test_apply_command_error_says_nothing_was_changed(tmp_path):
    path = tmp_path / "phone.yaml"
    path.write_text("limits:\n  sneaky: 1\n")
    with pytest.raises(CommandError) as info:
        call_command("apply_config", str(path))
    assert "line 2, limits.sneaky" in str(info.value) and "nothing was changed" in str(info.value)
    with pytest.raises(CommandError, match="cannot read"):
        call_command("apply_config", str(tmp_path / "missing.yaml"))
