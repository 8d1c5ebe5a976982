"""/actions: list, create, get, patch, delete, deploy, versions, rollback, triggers, bindings,
executions."""

import uuid

import pytest

from phoneprovider.models import Action, ActionVersion, AuditEntry, Execution, PhoneProvider
from tests.api.conftest import BROKEN_HANDLER, HANDLER, TRIGGER, assert_error

pytestmark = pytest.mark.django_db


def create(api, **overrides):
    body = {"name": "gateway", "supported_triggers": TRIGGER, "code": HANDLER}
    body.update(overrides)
    return api.post("/actions/actions", body)


@pytest.fixture
def action(api):
    response = create(api, secrets=[{"name": "API_KEY", "value": "s3cret-value"}])
    assert response.status_code == 201, response.content
    return response.json()


def test_create_returns_auth0_action_shape(api, action):
    assert uuid.UUID(action["id"])
    assert action["name"] == "gateway"
    assert action["supported_triggers"] == TRIGGER
    assert action["code"] == HANDLER
    assert action["runtime"] == "node22"
    assert action["dependencies"] == []
    assert action["status"] == "built"
    assert action["all_changes_deployed"] is False
    assert "deployed_version" not in action
    assert [s["name"] for s in action["secrets"]] == ["API_KEY"]
    assert set(action["secrets"][0]) == {"name", "updated_at"}
    assert "s3cret-value" not in str(action)
    assert AuditEntry.objects.get(object_type="action").actor == "ci-robot"


def test_create_with_deploy(deployed_action):
    assert deployed_action["all_changes_deployed"] is True
    version = deployed_action["deployed_version"]
    assert version["number"] == 1 and version["deployed"] is True
    assert version["status"] == "built"
    assert version["action_id"] == deployed_action["id"]
    assert version["secrets"][0]["name"] == "API_KEY"
    assert "s3cret-value" not in str(deployed_action)


def test_create_with_deploy_and_broken_code_creates_nothing(api):
    error = assert_error(create(api, code=BROKEN_HANDLER, deploy=True), 400)
    assert "line" in error["message"]
    assert not Action.objects.exists()


def test_second_custom_phone_provider_action_is_409(api, action):
    assert_error(create(api, name="another"), 409)


def test_create_validation(api):
    assert_error(
        api.post("/actions/actions", {"name": "x"}),
        400,
        contains="Missing required property: supported_triggers",
    )
    assert_error(
        create(api, supported_triggers=[{"id": "post-login", "version": "v3"}]),
        400,
        contains="No enum match",
    )
    assert_error(
        create(api, supported_triggers=[{"id": "custom-phone-provider", "version": "v9"}]),
        400,
        contains="v1",
    )
    assert_error(create(api, supported_triggers=[]), 400, contains="too short")
    assert_error(create(api, colour="blue"), 400, contains="Additional properties")
    assert_error(create(api, secrets=[{"name": "NO_VALUE"}]), 400, contains="value")
    assert_error(
        create(api, secrets=[{"name": "bad name", "value": "v"}]), 400, contains="secret name"
    )
    assert_error(create(api, code="x" * (100 * 1024 + 1)), 400, contains="too long")


def test_list_with_filters_and_paging(api, action):
    legacy = create(
        api,
        name="legacy",
        supported_triggers=[{"id": "send-phone-message"}],
        code="exports.onExecuteSendPhoneMessage = async (event, api) => {};",
        deploy=True,
    )
    assert legacy.status_code == 201, legacy.content
    listed = api.get("/actions/actions").json()
    assert listed["total"] == 2 and listed["page"] == 0 and listed["per_page"] == 20
    assert [a["name"] for a in listed["actions"]] == ["gateway", "legacy"]

    def names(**query):
        response = api.get("/actions/actions", query=query)
        assert response.status_code == 200, response.content
        return [a["name"] for a in response.json()["actions"]]

    assert names(triggerId="send-phone-message") == ["legacy"]
    assert names(actionName="gateway") == ["gateway"]
    assert names(deployed="true") == ["legacy"]
    assert names(deployed="false") == ["gateway"]
    assert names(page=1, per_page=1) == ["legacy"]
    assert names(page=5) == []
    assert_error(
        api.get("/actions/actions", query={"triggerId": "post-login"}),
        400,
        error_code="invalid_query_string",
    )
    assert_error(api.get("/actions/actions", query={"per_page": 0}), 400)


def test_get_and_unknown(api, action):
    assert api.get(f"/actions/actions/{action['id']}").json() == action
    assert_error(api.get(f"/actions/actions/{uuid.uuid4()}"), 404)


def test_patch_changes_the_draft_only(api, deployed_action):
    path = f"/actions/actions/{deployed_action['id']}"
    new_code = HANDLER + "// v2\n"
    response = api.patch(path, {"code": new_code, "name": "renamed"})
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == new_code and body["name"] == "renamed"
    assert body["all_changes_deployed"] is False
    assert body["deployed_version"]["code"] == HANDLER


def test_patch_secrets_list_is_the_whole_set(api, action):
    path = f"/actions/actions/{action['id']}"
    response = api.patch(path, {"secrets": [{"name": "API_KEY"}, {"name": "OTHER", "value": "x"}]})
    assert [s["name"] for s in response.json()["secrets"]] == ["API_KEY", "OTHER"]
    assert Action.objects.get().secrets.get(name="API_KEY").value == "s3cret-value"
    response = api.patch(path, {"secrets": [{"name": "OTHER"}]})
    assert [s["name"] for s in response.json()["secrets"]] == ["OTHER"]
    changes = AuditEntry.objects.filter(verb="update").first().changes
    assert "s3cret-value" not in str(changes)


def test_patch_errors(api, action):
    path = f"/actions/actions/{action['id']}"
    assert_error(api.patch(path, {"deploy": True}), 400, contains="Additional properties")
    assert_error(
        api.patch(path, {"supported_triggers": [{"id": "send-phone-message"}]}),
        400,
        contains="trigger cannot be changed",
    )
    assert_error(api.patch(path, {"name": ""}), 400, contains="too short")
    assert_error(api.patch(f"/actions/actions/{uuid.uuid4()}", {"name": "x"}), 404)


def test_deploy_creates_a_new_version(api, action):
    response = api.post(f"/actions/actions/{action['id']}/deploy")
    assert response.status_code == 200, response.content
    version = response.json()
    assert version["number"] == 1 and version["deployed"] is True
    assert version["action"]["id"] == action["id"]
    assert version["action"]["all_changes_deployed"] is True
    again = api.post(f"/actions/actions/{action['id']}/deploy").json()
    assert again["number"] == 2
    assert AuditEntry.objects.filter(verb="deploy", actor="ci-robot").count() == 2


def test_deploy_invalid_code_is_400_with_position_and_deploys_nothing(api, action):
    api.patch(f"/actions/actions/{action['id']}", {"code": BROKEN_HANDLER})
    error = assert_error(api.post(f"/actions/actions/{action['id']}/deploy"), 400)
    assert "line" in error["message"] and "column" in error["message"]
    assert not ActionVersion.objects.exists()


THROWS_AT_LOAD = 'const ready = false;\nif (!ready) throw new Error("boom at load");\n' + HANDLER


def test_deploy_of_code_that_throws_at_load_is_400_with_its_line_and_deploys_nothing(api, action):
    api.patch(f"/actions/actions/{action['id']}", {"code": THROWS_AT_LOAD})
    error = assert_error(api.post(f"/actions/actions/{action['id']}/deploy"), 400)
    assert "boom at load" in error["message"] and "line 2" in error["message"]
    assert not ActionVersion.objects.exists()


def test_create_with_deploy_of_code_that_throws_at_load_creates_nothing(api):
    error = assert_error(create(api, code=THROWS_AT_LOAD, deploy=True), 400)
    assert "boom at load" in error["message"]
    assert not Action.objects.exists()


def test_deploy_unknown_action_is_404(api):
    assert_error(api.post(f"/actions/actions/{uuid.uuid4()}/deploy"), 404)


def test_versions_list_get_and_rollback(api, deployed_action):
    action_id = deployed_action["id"]
    first = deployed_action["deployed_version"]
    api.patch(f"/actions/actions/{action_id}", {"code": HANDLER + "// v2\n"})
    api.post(f"/actions/actions/{action_id}/deploy")

    listed = api.get(f"/actions/actions/{action_id}/versions").json()
    assert listed["total"] == 2 and listed["page"] == 0
    assert [v["number"] for v in listed["versions"]] == [2, 1]
    assert [v["deployed"] for v in listed["versions"]] == [True, False]

    got = api.get(f"/actions/actions/{action_id}/versions/{first['id']}")
    assert got.status_code == 200 and got.json()["code"] == HANDLER
    assert_error(api.get(f"/actions/actions/{action_id}/versions/{uuid.uuid4()}"), 404)

    rollback = api.post(f"/actions/actions/{action_id}/versions/{first['id']}/deploy")
    assert rollback.status_code == 200, rollback.content
    assert rollback.json()["number"] == 3 and rollback.json()["code"] == HANDLER
    action = api.get(f"/actions/actions/{action_id}").json()
    assert action["deployed_version"]["number"] == 3
    assert action["code"].endswith("// v2\n")  # the draft stays as it was
    assert AuditEntry.objects.filter(verb="rollback").exists()


def test_rollback_with_update_draft(api, deployed_action):
    action_id = deployed_action["id"]
    first = deployed_action["deployed_version"]["id"]
    api.patch(f"/actions/actions/{action_id}", {"code": HANDLER + "// v2\n", "secrets": []})
    api.post(f"/actions/actions/{action_id}/deploy")
    response = api.post(
        f"/actions/actions/{action_id}/versions/{first}/deploy", {"update_draft": True}
    )
    assert response.status_code == 200
    action = api.get(f"/actions/actions/{action_id}").json()
    assert action["code"] == HANDLER
    assert [s["name"] for s in action["secrets"]] == ["API_KEY"]
    assert action["all_changes_deployed"] is True


def test_versions_of_unknown_action_is_404(api):
    assert_error(api.get(f"/actions/actions/{uuid.uuid4()}/versions"), 404)


def test_delete_and_force(api, custom_provider, deployed_action):
    path = f"/actions/actions/{deployed_action['id']}"
    assert_error(api.delete(path), 400, contains="force=true")
    assert api.delete(path, query={"force": "true"}).status_code == 204
    assert_error(api.get(path), 404)
    assert PhoneProvider.objects.get().disabled is True
    assert_error(api.delete(path), 404)


def test_delete_unbound_action(api, action):
    assert api.delete(f"/actions/actions/{action['id']}").status_code == 204


def test_triggers(api):
    response = api.get("/actions/triggers")
    assert response.status_code == 200
    triggers = {t["id"]: t for t in response.json()["triggers"]}
    assert triggers["custom-phone-provider"]["version"] == "v1"
    assert triggers["send-phone-message"]["version"] == "v2"
    assert "node22" in triggers["custom-phone-provider"]["runtimes"]


def test_bindings_follow_deployment(api, action):
    path = "/actions/triggers/custom-phone-provider/bindings"
    assert api.get(path).json() == {"total": 0, "page": 0, "per_page": 20, "bindings": []}
    api.post(f"/actions/actions/{action['id']}/deploy")
    bindings = api.get(path).json()["bindings"]
    assert len(bindings) == 1
    assert bindings[0]["action"]["id"] == action["id"]
    assert bindings[0]["trigger_id"] == "custom-phone-provider"
    assert bindings[0]["display_name"] == "gateway"


def test_patch_bindings_accepts_the_current_state(api, deployed_action):
    path = "/actions/triggers/custom-phone-provider/bindings"
    for ref in (
        {"type": "action_name", "value": "gateway"},
        {"type": "action_id", "value": deployed_action["id"]},
    ):
        response = api.patch(path, {"bindings": [{"ref": ref, "display_name": "gateway"}]})
        assert response.status_code == 200, response.content
        assert response.json()["bindings"][0]["action"]["id"] == deployed_action["id"]
    assert_error(api.patch(path, {"bindings": []}), 400, contains="delete it")
    assert_error(
        api.patch(path, {"bindings": [{"ref": {"type": "action_name", "value": "nope"}}]}),
        400,
        contains="Deploy the Action",
    )
    assert_error(api.patch(path, {"bindings": [{}]}), 400, contains="ref")


def test_bindings_of_unknown_trigger_is_404(api):
    assert_error(api.get("/actions/triggers/post-login/bindings"), 404)


def test_execution_by_id(api, action):
    execution = Execution.objects.create(
        action=Action.objects.get(),
        kind=Execution.Kind.TEST,
        status="error",
        error={"name": "TypeError", "message": "x is not a function"},
    )
    response = api.get(f"/actions/executions/{execution.public_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == execution.public_id
    assert body["trigger_id"] == "custom-phone-provider"
    assert body["status"] == "final"
    assert body["results"][0]["action_name"] == "gateway"
    assert body["results"][0]["error"] == {"id": "TypeError", "msg": "x is not a function"}
    assert_error(api.get("/actions/executions/exe_missing"), 404)


def test_test_endpoint_validates_before_queueing(api, action):
    path = f"/actions/actions/{action['id']}/test"
    assert_error(api.post(path, {}), 400, contains="payload")
    assert_error(api.post(path, {"payload": "x"}), 400, contains="Expected type object")
    api.patch(f"/actions/actions/{action['id']}", {"code": BROKEN_HANDLER})
    assert_error(api.post(path, {"payload": {"event": {}}}), 400, contains="line")
    assert not Execution.objects.exists()


def test_test_without_a_worker_is_503(api, action, settings):
    settings.ACTIONS_EXECUTION_TIMEOUT = -9.8  # wait 0.2 s
    response = api.post(f"/actions/actions/{action['id']}/test", {"payload": {"event": {}}})
    assert_error(response, 503, contains="worker")


def test_scopes(api_as, action):
    reader = api_as("read:actions")
    assert reader.get("/actions/actions").status_code == 200
    assert_error(
        reader.post(f"/actions/actions/{action['id']}/deploy"),
        403,
        message="Insufficient scope, expected any of: create:actions",
    )
    assert_error(
        reader.patch(f"/actions/actions/{action['id']}", {"name": "x"}),
        403,
        message="Insufficient scope, expected any of: update:actions",
    )
    assert_error(
        reader.delete(f"/actions/actions/{action['id']}"),
        403,
        message="Insufficient scope, expected any of: delete:actions",
    )


def test_secret_limits_as_auth0(api):
    too_many = [{"name": f"S{i}", "value": "v"} for i in range(31)]
    assert_error(create(api, secrets=too_many), 400, contains="too long")
    assert_error(create(api, secrets=[{"name": "S" * 129, "value": "v"}]), 400, contains="too long")
    assert_error(
        create(api, secrets=[{"name": "BIG", "value": "v" * 4097}]), 400, contains="too long"
    )
    assert not Action.objects.exists()
    response = create(api, secrets=[{"name": f"S{i}", "value": "v"} for i in range(30)])
    assert response.status_code == 201, response.content
    assert len(response.json()["secrets"]) == 30


def test_at_most_50_versions_are_kept(api, action):
    for _ in range(52):
        assert api.post(f"/actions/actions/{action['id']}/deploy").status_code == 200
    listed = api.get(f"/actions/actions/{action['id']}/versions", query={"per_page": 100}).json()
    assert listed["total"] == 50
    assert [v["number"] for v in listed["versions"]][:1] == [52]
    assert listed["versions"][-1]["number"] == 3
