"""``current_version`` on Actions, as Auth0's tenants answer it.

Auth0's Management API schema for an Action does not list ``current_version`` (its ``Action``
object is closed with ``additionalProperties: false``), yet tenants return it on every Action
that has a deployed version, and Terraform's ``auth0`` provider reads it. Recorded tenant
traffic (the provider's ``TestAccAction`` recording) shows its whole shape: ``{id, code,
runtime, status, number, build_time, created_at, updated_at}``, ``status`` upper case
(``"BUILT"``), no dependencies or secrets, and it follows the deployed version, not the draft.
"""

import pytest

from tests.api.conftest import HANDLER, TIMESTAMP, TRIGGER, Api

pytestmark = pytest.mark.django_db

CURRENT_VERSION_FIELDS = [
    "id",
    "code",
    "runtime",
    "status",
    "number",
    "build_time",
    "created_at",
    "updated_at",
]
HANDLER_V2 = "exports.onExecuteCustomPhoneProvider = async (event, api) => { /* v2 */ };\n"


def assert_current_version(action: dict) -> dict:
    """Auth0's shape, and the same version as ``deployed_version``."""
    current = action["current_version"]
    assert list(current) == CURRENT_VERSION_FIELDS  # the set, in the order tenants write it
    deployed = action["deployed_version"]
    assert current["id"] == deployed["id"]
    assert current["number"] == deployed["number"] and isinstance(current["number"], int)
    assert current["code"] == deployed["code"]
    assert current["runtime"] == deployed["runtime"]
    assert current["status"] == "BUILT" and deployed["status"] == "built"
    for key in ("build_time", "created_at", "updated_at"):
        assert TIMESTAMP.match(current[key]), (key, current[key])
    return current


def test_current_version_follows_the_deployed_version_not_the_draft(api):
    created = api.post(
        "/actions/actions",
        {"name": "gateway", "supported_triggers": TRIGGER, "code": HANDLER, "runtime": "node18"},
    ).json()
    path = f"/actions/actions/{created['id']}"
    assert "current_version" not in created and "current_version" not in api.get(path).json()

    first = api.post(f"{path}/deploy").json()
    current = assert_current_version(api.get(path).json())
    assert (current["id"], current["number"], current["runtime"]) == (first["id"], 1, "node18")
    assert current["code"] == HANDLER

    # An edited draft is not what runs: current_version still shows version 1.
    draft = api.patch(path, {"code": HANDLER_V2, "runtime": "node22"}).json()
    assert draft["code"] == HANDLER_V2 and draft["all_changes_deployed"] is False
    current = assert_current_version(draft)
    assert (current["id"], current["code"], current["runtime"]) == (first["id"], HANDLER, "node18")

    second = api.post(f"{path}/deploy").json()
    current = assert_current_version(api.get(path).json())
    assert (current["id"], current["number"]) == (second["id"], 2)
    assert (current["code"], current["runtime"]) == (HANDLER_V2, "node22")

    # A rollback deploys a copy of version 1 as version 3; that copy is the current one.
    rollback = api.post(f"{path}/versions/{first['id']}/deploy").json()
    current = assert_current_version(api.get(path).json())
    assert (current["id"], current["number"], current["code"]) == (rollback["id"], 3, HANDLER)


def test_listed_and_bound_actions_carry_current_version_too(api):
    created = api.post(
        "/actions/actions",
        {"name": "gateway", "supported_triggers": TRIGGER, "code": HANDLER, "deploy": True},
    ).json()
    assert_current_version(created)
    listed = api.get("/actions/actions", query={"deployed": "true"}).json()["actions"]
    assert [a["id"] for a in listed] == [created["id"]]
    assert listed[0]["current_version"] == created["current_version"]
    binding = api.get("/actions/triggers/custom-phone-provider/bindings").json()["bindings"][0]
    assert binding["action"]["current_version"] == created["current_version"]


def test_the_openapi_document_declares_the_same_fields():
    document = Api(None).get("/openapi.json").json()
    schema = document["components"]["schemas"]["Action"]["properties"]["current_version"]
    assert list(schema["properties"]) == CURRENT_VERSION_FIELDS
    assert schema["additionalProperties"] is False
