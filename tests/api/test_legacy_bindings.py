"""PATCH /actions/triggers/send-phone-message/bindings binds and unbinds, as Auth0's does.

Terraform's ``auth0_trigger_actions`` and the Deploy CLI set this trigger's bindings with one
PATCH listing the Actions to keep bound. Bound here means deployed: unbinding takes the deployed
flag off (the Action, its draft and versions stay), binding again deploys its latest version.
"""

import pytest

from phoneprovider import selectors
from phoneprovider.models import Action, ActionVersion, AuditEntry
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

PATH = "/actions/triggers/send-phone-message/bindings"
SMS = "exports.onExecuteSendPhoneMessage = async (event, api) => {};\n"


@pytest.fixture
def legacy(api):
    def make(name: str, deploy: bool = True) -> dict:
        response = api.post(
            "/actions/actions",
            {
                "name": name,
                "supported_triggers": [{"id": "send-phone-message", "version": "v2"}],
                "code": SMS,
                "deploy": deploy,
            },
        )
        assert response.status_code == 201, response.content
        return response.json()

    return make


def bound_names(api) -> list[str]:
    return [b["display_name"] for b in api.get(PATH).json()["bindings"]]


def ref(type_: str, value: str) -> dict:
    return {"ref": {"type": type_, "value": value}}


def test_an_action_left_out_is_unbound_and_kept(api, legacy):
    sns, old = legacy("aws-sns"), legacy("old-gateway")
    assert bound_names(api) == ["aws-sns", "old-gateway"]

    response = api.patch(PATH, {"bindings": [ref("action_id", sns["id"])]})
    assert response.status_code == 200, response.content
    assert [b["action"]["id"] for b in response.json()["bindings"]] == [sns["id"]]
    assert bound_names(api) == ["aws-sns"]

    kept = api.get(f"/actions/actions/{old['id']}").json()
    assert "deployed_version" not in kept and kept["code"] == SMS
    assert api.get(f"/actions/actions/{old['id']}/versions").json()["total"] == 1
    assert AuditEntry.objects.filter(verb="unbind", object_id=old["id"]).count() == 1
    assert selectors.custom_provider_version().action.public_id == sns["id"]


def test_binding_again_deploys_the_latest_version_without_a_new_one(api, legacy):
    sns = legacy("aws-sns")
    version_id = sns["deployed_version"]["id"]
    assert api.patch(PATH, {"bindings": []}).status_code == 200
    assert bound_names(api) == [] and selectors.custom_provider_version() is None

    response = api.patch(PATH, {"bindings": [ref("action_name", "aws-sns")]})
    assert response.status_code == 200, response.content
    action = api.get(f"/actions/actions/{sns['id']}").json()
    assert action["deployed_version"]["id"] == version_id
    assert action["current_version"]["number"] == 1
    assert ActionVersion.objects.count() == 1
    assert bound_names(api) == ["aws-sns"]


def test_a_never_deployed_action_is_refused_and_nothing_changes(api, legacy):
    legacy("aws-sns")
    legacy("draft", deploy=False)
    response = api.patch(PATH, {"bindings": [ref("action_name", "draft")]})
    assert_error(response, 400, contains="'draft' has never been deployed; deploy it to bind it")
    assert bound_names(api) == ["aws-sns"]  # the unbinding in the same request was undone
    assert not AuditEntry.objects.filter(verb="unbind").exists()


def test_an_unknown_action_is_refused(api, legacy):
    legacy("aws-sns")
    assert_error(
        api.patch(PATH, {"bindings": [ref("action_id", "00000000-0000-0000-0000-000000000000")]}),
        400,
        contains="no send-phone-message Action matches action_id",
    )
    assert bound_names(api) == ["aws-sns"]
    assert Action.objects.count() == 1
