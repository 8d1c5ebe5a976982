"""import_plan: Auth0's objects → the configuration document, secrets as references."""

from phoneprovider.services.auth0_import import import_plan

ACTION = {
    "name": "gateway",
    "code": "draft code",
    "runtime": "node22",
    "secrets": [{"name": "API_KEY"}],
    "deployed_version": {
        "code": "deployed code",
        "runtime": "node18",
        "dependencies": [{"name": "axios", "version": "1.7.9", "registry_url": "x"}],
        "secrets": [{"name": "API_KEY"}, {"name": "REGION"}],
    },
}
TENANT = {
    "providers": [
        {
            "name": "custom",
            "disabled": False,
            "configuration": {"delivery_methods": ["text"]},
        }
    ],
    "templates": [
        {"type": "otp_verify", "content": {"body": {"text": "default", "voice": "default"}}},
        {
            "id": "tem_1",
            "type": "otp_enroll",
            "disabled": True,
            "content": {"from": "+1234567890", "body": {"text": "t", "voice": "v"}},
        },
    ],
    "actions": [
        ("send-phone-message", {"name": "old sms"}),
        ("custom-phone-provider", ACTION),
    ],
}


def test_the_deployed_version_is_imported_with_dependencies_and_secret_references():
    plan = import_plan(TENANT, {"API_KEY": "k", "REGION": "eu"})
    assert plan.doc["action"] == {
        "name": "gateway",
        "runtime": "node18",
        "dependencies": [{"name": "axios", "version": "1.7.9"}],
        "secrets": {"API_KEY": "${API_KEY}", "REGION": "${REGION}"},
        "code": "deployed code",
    }
    assert plan.values == {"API_KEY": "k", "REGION": "eu"} and plan.missing == []
    assert plan.doc["templates"] == {
        "otp_enroll": {"disabled": True, "from": "+1234567890", "text": "t", "voice": "v"}
    }
    assert plan.doc["provider"] == {
        "name": "custom",
        "disabled": False,
        "delivery_methods": ["text"],
    }
    assert any("send-phone-message" in note for note in plan.notes)


def test_missing_values_are_listed_left_out_and_the_provider_disabled():
    plan = import_plan(TENANT, {"API_KEY": "key-value-1"})
    assert plan.missing == ["REGION"]
    assert plan.doc["action"]["secrets"] == {"API_KEY": "${API_KEY}"}
    assert plan.doc["provider"]["disabled"] is True
    assert "key-value-1" not in str(plan.doc)


SMS = "exports.onExecuteSendPhoneMessage = async (event) => {};"
BOUND = {
    "id": "act-bound",
    "name": "aws-sns",
    "code": "draft",
    "secrets": [{"name": "API_KEY"}],
    "deployed_version": {
        "code": SMS,
        "runtime": "node18",
        "dependencies": [{"name": "aws-sdk", "version": "2.1692.0"}],
        "secrets": [{"name": "API_KEY"}, {"name": "AWS_REGION"}],
    },
}
UNBOUND = {"id": "act-unbound", "name": "sns-draft", "code": SMS}


def test_bound_send_phone_message_actions_are_imported_by_name_and_unbound_ones_noted():
    tenant = {
        **TENANT,
        "actions": [
            ("custom-phone-provider", ACTION),
            ("send-phone-message", UNBOUND),
            ("send-phone-message", BOUND),
        ],
        "legacy_bound": ["act-bound"],
    }
    plan = import_plan(tenant, {"API_KEY": "k", "AWS_REGION": "eu-west-1"})
    assert plan.doc["send_phone_message"] == {
        "aws-sns": {
            "runtime": "node18",
            "dependencies": [{"name": "aws-sdk", "version": "2.1692.0"}],
            "secrets": {"API_KEY": "${API_KEY}", "AWS_REGION": "${AWS_REGION}"},
            "code": SMS,
        }
    }
    assert plan.values == {"API_KEY": "k", "AWS_REGION": "eu-west-1"}
    assert plan.missing == ["REGION"]  # the custom-phone-provider Action's
    assert any("'sns-draft' (send-phone-message) is not bound" in n for n in plan.notes)
    assert any("run only while no custom-phone-provider" in n for n in plan.notes)


def test_a_secret_two_actions_read_is_listed_missing_once():
    tenant = {
        **TENANT,
        "actions": [("custom-phone-provider", ACTION), ("send-phone-message", BOUND)],
        "legacy_bound": ["act-bound"],
    }
    plan = import_plan(tenant, {})
    assert plan.missing == ["API_KEY", "REGION", "AWS_REGION"]
    assert plan.doc["send_phone_message"]["aws-sns"]["secrets"] == {}
    assert plan.doc["provider"]["disabled"] is True


def test_without_bindings_nothing_of_send_phone_message_is_imported():
    plan = import_plan(TENANT, {"API_KEY": "k", "REGION": "eu"})
    assert plan.doc["send_phone_message"] == {}
