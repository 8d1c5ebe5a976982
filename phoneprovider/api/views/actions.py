"""Actions: custom-phone-provider and send-phone-message, versions, bindings, executions."""

from django.conf import settings

from phoneprovider import selectors
from phoneprovider.api import serializers as out
from phoneprovider.api.base import ApiView, operation, respond
from phoneprovider.api.errors import payload_error
from phoneprovider.api.schemas import QUERY_PAGING, TRIGGER_IDS
from phoneprovider.api.views.common import BOOLEAN_QUERY, paged
from phoneprovider.errors import NotFound, ValidationError
from phoneprovider.models import Action
from phoneprovider.services import actions as action_services
from phoneprovider.services import executions as execution_services

ACTIONS = "Actions"


def _trigger_id(supported_triggers: list) -> str:
    trigger = supported_triggers[0]
    expected = action_services.TRIGGER_VERSIONS.get(trigger["id"])
    if expected is None:
        raise ValidationError(
            f"Unsupported trigger {trigger['id']!r}; use custom-phone-provider.",
            field="supported_triggers",
        )
    if trigger.get("version", expected) != expected:
        raise payload_error(
            f"Trigger {trigger['id']} has version {expected}", "supported_triggers[0].version"
        )
    return trigger["id"]


def _secret_changes(secrets: list, existing: set[str]) -> tuple[dict[str, str], list[str]]:
    """Auth0's secrets list is the whole set: listed ones stay (a value replaces), others go."""
    action_services.secret_names_unique(s["name"] for s in secrets)
    upserts: dict[str, str] = {}
    for i, secret in enumerate(secrets):
        if "value" in secret:
            upserts[secret["name"]] = secret["value"]
        elif secret["name"] not in existing:
            raise payload_error("Missing required property: value", f"secrets[{i}]")
    listed = {s["name"] for s in secrets}
    return upserts, sorted(existing - listed)


class ActionsView(ApiView):
    @operation(
        "read:actions",
        "List actions",
        tag=ACTIONS,
        query={
            "triggerId": {"type": "string", "enum": TRIGGER_IDS},
            "actionName": {"type": "string"},
            "deployed": BOOLEAN_QUERY,
            "installed": BOOLEAN_QUERY,
            **QUERY_PAGING,
        },
        response="ActionList",
    )
    def get(self, request, *, body, query):
        actions = selectors.action_list(
            trigger_id=query.get("triggerId"),
            name=query.get("actionName"),
            deployed=query.get("deployed"),
        )
        if query.get("installed"):  # marketplace integrations: we have none
            actions = actions.none()
        return respond(paged(actions, query, "actions", out.action_json))

    @operation(
        "create:actions",
        "Create an action",
        tag=ACTIONS,
        body="CreateActionRequest",
        status=201,
        response="Action",
        description="At most one Action for custom-phone-provider (409). deploy: true deploys "
        "it at once; code that does not validate then creates nothing.",
    )
    def post(self, request, *, body, query):
        upserts, _ = _secret_changes(body.get("secrets", []), set())
        fields = {
            "actor": self.actor,
            "name": body["name"],
            "trigger_id": _trigger_id(body["supported_triggers"]),
            "code": body.get("code", ""),
            "runtime": body.get("runtime") or "node22",
            "dependencies": body.get("dependencies", []),
            "secrets": upserts,
        }
        if body.get("deploy"):
            action = action_services.action_create_deployed(**fields)
        else:
            action = action_services.action_create(**fields)
        return respond(out.action_json(action), 201)


class ActionView(ApiView):
    @operation("read:actions", "Get an action", tag=ACTIONS, response="Action")
    def get(self, request, *, body, query, id):
        return respond(out.action_json(selectors.action_get(id)))

    @operation(
        "update:actions",
        "Update an action's draft",
        tag=ACTIONS,
        body="UpdateActionRequest",
        response="Action",
        description="Changes the draft only; deploy to run it. A secrets list is the whole set: "
        "listed secrets without a value keep theirs, unlisted ones are removed.",
    )
    def patch(self, request, *, body, query, id):
        action = selectors.action_get(id)
        if "supported_triggers" in body and _trigger_id(body["supported_triggers"]) != (
            action.trigger_id
        ):
            raise ValidationError(
                "An Action's trigger cannot be changed; create a new Action instead.",
                field="supported_triggers",
            )
        upserts, deletes = {}, []
        if "secrets" in body:
            existing = set(action.secrets.values_list("name", flat=True))
            upserts, deletes = _secret_changes(body["secrets"], existing)
        action = action_services.action_update(
            action,
            actor=self.actor,
            name=body.get("name"),
            code=body.get("code"),
            runtime=body.get("runtime"),
            dependencies=body.get("dependencies"),
            secret_upserts=upserts,
            secret_deletes=deletes,
        )
        return respond(out.action_json(action))

    @operation(
        "delete:actions",
        "Delete an action",
        tag=ACTIONS,
        query={"force": BOOLEAN_QUERY},
        status=204,
        description="An Action the custom provider uses needs force=true (which also disables "
        "the provider).",
    )
    def delete(self, request, *, body, query, id):
        action = selectors.action_get(id)
        action_services.action_delete(action, actor=self.actor, force=bool(query.get("force")))
        return respond(None, 204)


class ActionDeployView(ApiView):
    @operation(
        "create:actions",
        "Deploy an action's draft as a new version",
        tag=ACTIONS,
        response="ActionVersion",
        description="Auth0 documents 202; its tenants, and we, answer 200 with the new version. "
        "Code that does not validate answers 400 with line and column and deploys nothing.",
    )
    def post(self, request, *, body, query, id):
        version = action_services.action_deploy(selectors.action_get(id), actor=self.actor)
        return respond(out.version_json(version))


class ActionTestView(ApiView):
    @operation(
        "create:actions",
        "Test an action's draft with an event",
        tag=ACTIONS,
        body="TestActionRequest",
        response="TestActionResponse",
        description="Body {payload: {event: {...}}} (a bare event as payload is accepted too). "
        "The code runs in a worker; the request waits for the result.",
    )
    def post(self, request, *, body, query, id):
        action = selectors.action_get(id)
        payload = body["payload"]
        event = payload["event"] if isinstance(payload.get("event"), dict) else payload
        execution = execution_services.execution_test_start(action=action, event=event)
        execution = execution_services.execution_wait(
            execution, timeout=settings.ACTIONS_EXECUTION_TIMEOUT + 10
        )
        return respond(out.test_result_json(execution))


class ActionVersionsView(ApiView):
    @operation(
        "read:actions",
        "List an action's versions",
        tag=ACTIONS,
        query=QUERY_PAGING,
        response="ActionVersionList",
    )
    def get(self, request, *, body, query, actionId):
        action = selectors.action_get(actionId)
        return respond(
            paged(
                action.versions.order_by("-number"),
                query,
                "versions",
                lambda v: out.version_json(v, action=action),
            )
        )


class ActionVersionView(ApiView):
    @operation("read:actions", "Get an action version", tag=ACTIONS, response="ActionVersion")
    def get(self, request, *, body, query, actionId, id):
        action = selectors.action_get(actionId)
        return respond(out.version_json(selectors.action_version_get(action, id), action=action))


class ActionVersionDeployView(ApiView):
    @operation(
        "create:actions",
        "Roll back: deploy an older version again",
        tag=ACTIONS,
        body="DeployVersionRequest",
        response="ActionVersion",
        description="Deploys a copy of the version as a new version (history stays linear). "
        "update_draft: true also puts its code, dependencies and secrets in the draft. Auth0 "
        "documents 202; like its deploy, we answer 200 with the new version.",
    )
    def post(self, request, *, body, query, actionId, id):
        version = selectors.action_version_get(selectors.action_get(actionId), id)
        if body.get("update_draft"):
            new = action_services.action_version_restore(version, actor=self.actor)
        else:
            new = action_services.action_version_redeploy(version, actor=self.actor)
        return respond(out.version_json(new))


class TriggersView(ApiView):
    @operation("read:actions", "List triggers", tag=ACTIONS, response="TriggerList")
    def get(self, request, *, body, query):
        return respond(
            {
                "triggers": [
                    out.trigger_full_json(t, v) for t, v in action_services.TRIGGER_VERSIONS.items()
                ]
            }
        )


def _bound_actions(trigger_id: str) -> list[Action]:
    """An Action is bound to its trigger while it has a deployed version (one at most runs)."""
    if trigger_id not in action_services.TRIGGER_VERSIONS:
        raise NotFound(f"The trigger {trigger_id!r} does not exist.")
    return [a for a in selectors.action_list(trigger_id=trigger_id, deployed=True)]


class BindingsView(ApiView):
    @operation(
        "read:actions",
        "List a trigger's bindings",
        tag=ACTIONS,
        query=QUERY_PAGING,
        response="ActionBindingList",
    )
    def get(self, request, *, body, query, triggerId):
        return respond(paged(_bound_actions(triggerId), query, "bindings", out.binding_json))

    @operation(
        "update:actions",
        "Update a trigger's bindings",
        tag=ACTIONS,
        body="UpdateBindingsRequest",
        response="UpdateBindingsResponse",
        description="An Action is bound while it has a deployed version, so deploying binds it. "
        "send-phone-message: the listed Actions are bound (an unbound one's latest version is "
        "deployed again) and the others unbound, their drafts and versions kept. "
        "custom-phone-provider is bound through the phone provider: a request naming the bound "
        "Action is accepted as is; anything else answers 400 saying what to do instead.",
    )
    def patch(self, request, *, body, query, triggerId):
        bound = _bound_actions(triggerId)
        legacy = triggerId == Action.Trigger.SEND_PHONE_MESSAGE
        candidates = list(selectors.action_list(trigger_id=triggerId)) if legacy else bound
        wanted: list[Action] = []
        for i, binding in enumerate(body.get("bindings", [])):
            ref_ = binding["ref"]
            if ref_["type"] == "action_name":
                match = [a for a in candidates if a.name == ref_["value"]]
            else:  # action_id, binding_id: a binding is named by its Action's id
                match = [a for a in candidates if a.public_id == ref_["value"]]
            if not match:
                raise ValidationError(
                    f"bindings[{i}]: no {'' if legacy else 'deployed '}{triggerId} Action matches "
                    f"{ref_['type']} {ref_['value']!r}. Deploy the Action to bind it.",
                    field="bindings",
                )
            if match[0] not in wanted:
                wanted.append(match[0])
        if legacy:
            action_services.trigger_bindings_set(triggerId, wanted, actor=self.actor)
            return respond({"bindings": [out.binding_json(a) for a in wanted]})
        if {a.pk for a in wanted} != {a.pk for a in bound}:
            raise ValidationError(
                "The custom-phone-provider Action stays bound while it is deployed; delete it "
                "(with force=true if the provider uses it) to unbind it.",
                field="bindings",
            )
        return respond({"bindings": [out.binding_json(a) for a in bound]})


class ExecutionView(ApiView):
    @operation("read:actions", "Get an execution", tag=ACTIONS, response="Execution")
    def get(self, request, *, body, query, id):
        return respond(out.execution_json(selectors.execution_get(id)))
