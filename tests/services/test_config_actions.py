"""Configuration as code: the bound send-phone-message Actions (``send_phone_message``)."""

import pytest

from phoneprovider import selectors
from phoneprovider.models import Action, ActionVersion, AuditEntry
from phoneprovider.services import config
from phoneprovider.services.actions import action_create, action_create_deployed
from tests.services.test_config import ENV, apply_text, configure, export_text, npm_offline  # noqa: F401

pytestmark = pytest.mark.django_db

SMS = """exports.onExecuteSendPhoneMessage = async (event, api) => {
  console.log("legacy", event.message_options.recipient, event.secrets.SNS_KEY ? "key" : "");
};
"""
LEGACY = "send-phone-message"
LEGACY_ENV = {**ENV, "SNS_KEY": "sns-secret-1"}


def legacy(name="aws-sns", *, deploy=True, code=SMS, secrets=None) -> Action:
    create = action_create_deployed if deploy else action_create
    return create(
        actor="t",
        name=name,
        trigger_id=LEGACY,
        code=code,
        runtime="node18",
        secrets={"SNS_KEY": "sns-secret-1"} if secrets is None else secrets,
    )


def test_bound_send_phone_message_actions_are_exported_by_name_without_secret_values():
    configure()
    legacy()
    legacy("draft-only", deploy=False)
    doc = config.config_export()
    assert doc["send_phone_message"] == {
        "aws-sns": {
            "runtime": "node18",
            "dependencies": [],
            "secrets": {"SNS_KEY": "${SNS_KEY}"},
            "code": SMS,
        }
    }
    assert list(doc) == [
        "version",
        "provider",
        "templates",
        "action",
        "send_phone_message",
        "limits",
        "phone_connections",
        "phone_routes",
    ]
    assert "sns-secret-1" not in export_text()


def test_apply_on_a_fresh_install_deploys_them_and_again_changes_nothing():
    configure()
    legacy()
    exported = export_text()
    Action.objects.all().delete()

    first = apply_text(exported, env=LEGACY_ENV)
    assert "+ send_phone_message.aws-sns.code: " + f'"{SMS[:30]}' in "\n".join(first.changes)
    assert export_text() == exported
    action = Action.objects.get(trigger_id=LEGACY)
    assert action.secrets.get().value == "sns-secret-1"
    version = selectors.deployed_version(action)
    assert (version.number, version.runtime, version.secrets) == (
        1,
        "node18",
        {"SNS_KEY": "sns-secret-1"},
    )

    versions, audits = ActionVersion.objects.count(), AuditEntry.objects.count()
    assert apply_text(exported, env=LEGACY_ENV).changes == []
    assert (ActionVersion.objects.count(), AuditEntry.objects.count()) == (versions, audits)


def test_a_changed_secret_or_an_undeployed_draft_is_deployed():
    configure()
    action = legacy(deploy=False)
    doc = config.config_export()
    doc["send_phone_message"] = {
        "aws-sns": {"runtime": "node18", "secrets": {"SNS_KEY": "${SNS_KEY}"}, "code": SMS}
    }
    result = config.config_apply(doc, actor="t", env=LEGACY_ENV)
    assert "+ send_phone_message.aws-sns.code" in "\n".join(result.changes)
    assert selectors.deployed_version(action).number == 1

    result = config.config_apply(doc, actor="t", env={**LEGACY_ENV, "SNS_KEY": "sns-secret-2"})
    assert result.changes == [
        "~ send_phone_message.aws-sns.secrets.SNS_KEY: (new value from the environment)"
    ]
    assert selectors.deployed_version(action).secrets == {"SNS_KEY": "sns-secret-2"}


def test_a_bound_action_left_out_is_unbound_and_kept():
    configure()
    kept, dropped = legacy("aws-sns"), legacy("old-gateway")
    doc = config.config_export()
    del doc["send_phone_message"]["old-gateway"]

    result = config.config_apply(doc, actor="t", env=LEGACY_ENV)
    assert "- send_phone_message.old-gateway.code" in result.changes
    dropped.refresh_from_db()  # still there, with its draft and its version, but not bound
    assert dropped.code == SMS and dropped.versions.count() == 1
    assert selectors.deployed_version(dropped) is None
    assert selectors.deployed_version(kept) is not None
    assert AuditEntry.objects.filter(verb="unbind", object_id=dropped.public_id).exists()
    assert list(config.config_export()["send_phone_message"]) == ["aws-sns"]


def test_a_document_without_the_section_leaves_them_alone():
    configure()
    legacy()
    doc = config.config_export()
    del doc["send_phone_message"]
    assert config.config_apply(doc, actor="t", env=LEGACY_ENV).changes == []
    assert selectors.deployed_version(Action.objects.get(trigger_id=LEGACY)) is not None


@pytest.mark.parametrize(
    ("section", "words"),
    [
        (
            "send_phone_message:\n  aws-sns:\n    code: |\n"
            "      exports.onExecuteCustomPhoneProvider = async () => {};\n",
            "send_phone_message.aws-sns.code",
        ),
        (
            "send_phone_message:\n  aws-sns:\n    code: x\n    secrets:\n"
            "      SNS_KEY: ${UNSET_SNS_KEY}\n",
            "line 5, send_phone_message.aws-sns.secrets.SNS_KEY: the environment variable "
            "UNSET_SNS_KEY is not set",
        ),
        (
            "send_phone_message:\n  aws-sns:\n    name: other\n",
            "line 3, send_phone_message.aws-sns.name: unknown key",
        ),
        ("send_phone_message: [a]\n", "line 1, send_phone_message: must be a mapping"),
    ],
)
def test_bad_sections_name_the_line_or_field_and_change_nothing(section, words):
    configure()
    existing = legacy()
    before = export_text()
    with pytest.raises(config.ConfigError) as info:
        apply_text(section, env=LEGACY_ENV)
    assert words in info.value.message
    assert export_text() == before
    assert selectors.deployed_version(existing) is not None
