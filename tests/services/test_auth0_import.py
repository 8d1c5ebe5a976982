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
