"""Fuzz every documented operation against our own OpenAPI document: never a 5xx, and no
request generated from the schema (with a valid token) refused with 400/422.

Requests go through Django's test client (not a live WSGI server) so that they share the test's
database transaction. Not counted as refusing valid input:
- 404 and 409, and a custom provider without a deployed Action: they answer for what is stored
  (random ids name nothing; one provider, one template per type, one Action per trigger), not
  for the request's shape;
- form-encoded bodies: the encoding cannot carry empty objects or arrays, null or types, and
  schemathesis flattens nested objects, so a schema-valid body may not survive it;
- requests that break a rule the document states in words because JSON Schema cannot: a secret
  or dependency name listed twice, deploy: true with code that does not export the handler or
  with dependencies (installing them needs the npm registry), a PATCH whose shape follows what
  is stored (a provider's name, the Action's secrets and trigger), bindings that name an absent
  Action or leave out the deployed one, and PUT /phone/config, whose sections are the
  export_config format (README), documented as free-form objects;
- routing: a rule naming connection ids that name none (or a PATCH of a connection whose shape
  follows its stored kind), and a rule order that must list every stored rule once;
- numbers outside the format "e164" that schemathesis' coverage phase makes from the pattern
  alone (it ignores custom formats).
Each positive example names objects that exist (a provider, a template, an Action with a
deployed version, the trigger), so that updates, deletes and tries are checked past their 404;
each example runs in a savepoint rolled back after it, so every one starts from the same state.
Set FUZZ_REPORT=path to append one JSON line of counts per operation.
"""

import json
import os
from urllib.parse import urlencode, urlsplit

import pytest

schemathesis = pytest.importorskip("schemathesis")

import phonenumbers  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from phoneprovider.api.docs import openapi_document  # noqa: E402
from phoneprovider.errors import ValidationError  # noqa: E402
from phoneprovider.models import (  # noqa: E402
    Action,
    Connection,
    PhoneProvider,
    PhoneTemplate,
    Route,
)
from phoneprovider.services import actions as action_services  # noqa: E402
from phoneprovider.services import routing as routing_services  # noqa: E402
from phoneprovider.services.templates import template_create  # noqa: E402
from tests.api.conftest import HANDLER  # noqa: E402
from tests.factories import ConnectionFactory, TwilioProviderFactory  # noqa: E402

# The document's format "e164": a number valid in its country's plan. One example per region.
VALID_NUMBERS = sorted(
    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    for region in phonenumbers.SUPPORTED_REGIONS
    if (number := phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE))
)
schemathesis.openapi.format("e164", st.sampled_from(VALID_NUMBERS))

schema = schemathesis.openapi.from_dict(openapi_document())
BASE = "http://testserver/api/v2"
REFUSALS = (400, 422)
STATE_ERROR_CODES = {"custom_email_provider_deployed_action_not_found"}


@pytest.fixture
def bearer(make_token) -> dict:
    return {"Authorization": f"Bearer {make_token()}"}


@pytest.fixture(scope="module")
def counts():
    totals: dict[str, dict[str, int]] = {}
    yield totals
    report = os.environ.get("FUZZ_REPORT")
    if report:
        with open(report, "a") as out:
            for operation, numbers in totals.items():
                out.write(json.dumps({"operation": operation, **numbers}) + "\n")


def send(case, headers: dict):
    kwargs = case.as_transport_kwargs(base_url=BASE, headers=headers)
    url = urlsplit(kwargs["url"])
    path = url.path + (f"?{url.query}" if url.query else "")
    params = kwargs.get("params") or {}
    if params:
        path += ("&" if "?" in path else "?") + urlencode(params, doseq=True)
    request_headers = {
        k: v
        for k, v in (kwargs.get("headers") or {}).items()
        if k.lower() not in ("content-length", "host")
    }
    content_type = request_headers.pop("Content-Type", request_headers.pop("content-type", ""))
    if "json" in kwargs:
        body, content_type = json.dumps(kwargs["json"]), content_type or "application/json"
    else:
        body = kwargs.get("data") or kwargs.get("content") or ""
        if isinstance(body, dict):
            body = urlencode(body, doseq=True)
    return Client().generic(
        kwargs["method"],
        path,
        body,
        content_type=content_type or "application/json",
        headers=request_headers,
    )


def _listed_twice(items) -> bool:
    names = [item.get("name") for item in items or [] if isinstance(item, dict)]
    return len(names) != len(set(names))


def _not_e164(value) -> bool:
    """Outside the format "e164" (schemathesis' coverage phase ignores custom formats)."""
    try:
        return not phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except (phonenumbers.NumberParseException, TypeError):
        return True


def _numbers_outside_the_format(body: dict) -> bool:
    for message in body.get("messages") or [body]:
        if not isinstance(message, dict):
            continue
        sender = message.get("from", "")
        if _not_e164(message.get("to")) or (str(sender).startswith("+") and _not_e164(sender)):
            return True
    return False


def _unstated_rule_broken(case, existing: dict) -> str:
    """Why the positive-data check does not apply to this request ("" when it does)."""
    if case.media_type not in (None, "application/json") and case.body is not None:
        return "form-encoded"
    if case.path == "/phone/config" and case.method == "PUT":
        return "config sections"
    body = case.body if isinstance(case.body, dict) else {}
    numbered = ("/phone/messages", "/phone/routes/resolve", "/phone/connections/{id}/try")
    if case.path.startswith(numbered) and _numbers_outside_the_format(body):
        return "number outside the format e164"
    if case.path == "/phone/connections/{id}" and {"configuration", "credentials", "kind"} & (
        body.keys()
    ):
        return "shape follows the stored connection's kind"
    if case.path == "/phone/routes/order":
        return "the order lists every stored rule"
    named = {c for c in body.get("connections") or [] if isinstance(c, str)}
    if case.path.startswith("/phone/routes") and len(named) > (
        Connection.objects.filter(public_id__in=named).count()
    ):
        return "connections that name none"
    by_stored_name = {"configuration", "credentials"} & body.keys() and "name" not in body
    if case.path == "/branding/phone/providers/{id}" and by_stored_name:
        return "shape follows the stored provider's name"
    if case.method == "PATCH" and any(
        isinstance(secret, dict) and "value" not in secret for secret in body.get("secrets") or []
    ):
        return "a secret the Action lacks, without a value"
    if case.path == "/actions/triggers/{triggerId}/bindings" and case.method == "PATCH":
        refs = [b.get("ref") or {} for b in body.get("bindings") or [] if isinstance(b, dict)]
        if not refs or any(ref.get("value") not in (existing.get("id"), "fuzz") for ref in refs):
            return "bindings naming an absent Action or leaving out the deployed one"
    triggers = body.get("supported_triggers") or [{}]
    if case.method == "PATCH" and triggers[0].get("id", "custom-phone-provider") != (
        "custom-phone-provider"
    ):
        return "another trigger than the stored Action's"
    if _listed_twice(body.get("secrets")) or _listed_twice(body.get("dependencies")):
        return "listed twice"
    if body.get("deploy") is True:
        if body.get("dependencies"):
            return "deploy installs dependencies"
        trigger = (body.get("supported_triggers") or [{}])[0].get("id", "")
        try:
            action_services.code_validate(body.get("code", ""), trigger)
        except ValidationError:
            return "deploy of code without the handler"
    return ""


def _existing_ids(path: str) -> dict[str, str]:
    """Path parameters naming objects that exist, made once per operation when its path has
    ids. (A path without ids creates: an object made here would only answer 409.)"""
    if path.startswith("/phone/connections") and not Action.objects.exists():
        # A custom connection runs the deployed handler.
        action_services.action_create_deployed(
            actor="fuzz", name="fuzz", trigger_id="custom-phone-provider", code=HANDLER
        )
    if path.startswith("/phone/connections/"):
        connection = Connection.objects.first() or ConnectionFactory()
        return {"id": connection.public_id}
    if path.startswith("/phone/routes/") and "{" in path:
        route = Route.objects.first()
        if route is None:
            connection = Connection.objects.first() or ConnectionFactory()
            route = routing_services.route_create(
                actor="fuzz", name="fuzz", connections=[connection.public_id]
            )
        return {"id": route.public_id}
    if "{" not in path:
        if path.startswith("/phone/messages") and not PhoneProvider.objects.exists():
            TwilioProviderFactory()  # a send needs a provider, else 400
        return {}
    provider = PhoneProvider.objects.first() or TwilioProviderFactory()
    if path.startswith("/branding/phone/providers/"):
        return {"id": provider.public_id}
    if path.startswith("/branding/phone/templates/"):
        template = PhoneTemplate.objects.first()
        template = template or template_create(actor="fuzz", type="otp_verify")
        return {"id": template.public_id}
    if path.startswith(("/actions/actions/", "/actions/triggers/")):
        action = Action.objects.first() or action_services.action_create_deployed(
            actor="fuzz", name="fuzz", trigger_id="custom-phone-provider", code=HANDLER
        )
        version = action.versions.order_by("-number").first()
        if "{actionId}" in path:
            return {"actionId": action.public_id, "id": version.public_id}
        return {"id": action.public_id, "triggerId": "custom-phone-provider"}
    return {}


def _state_refusal(response) -> bool:
    if response.status_code in (404, 409):
        return True
    try:
        return response.json().get("errorCode") in STATE_ERROR_CODES
    except ValueError:
        return False


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_no_schema_valid_request_refused(case, bearer, settings, counts):
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    # /test waits for a worker that this in-process run does not start: wait 0.1 s, then 503.
    settings.ACTIONS_EXECUTION_TIMEOUT = -9.9
    existing = _existing_ids(case.path)
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and case.path_parameters:
        case.path_parameters = {
            name: existing.get(name, value) for name, value in case.path_parameters.items()
        }
    with transaction.atomic():
        response = send(case, bearer)
        transaction.set_rollback(True)
    numbers = counts.setdefault(
        case.operation.label,
        {"requests": 0, "positive": 0, "checked": 0, "5xx": 0, "refused_valid": 0},
    )
    numbers["requests"] += 1
    if case.path.endswith("/test") and response.status_code == 503:
        return
    numbers["5xx"] += response.status_code >= 500
    assert response.status_code < 500, (case.method, case.formatted_path, response.content)
    if response.status_code >= 400:
        body = response.json()
        assert body["statusCode"] == response.status_code and body["message"]
    if not positive:
        return
    numbers["positive"] += 1
    if _unstated_rule_broken(case, existing) or _state_refusal(response):
        return
    numbers["checked"] += 1
    numbers["refused_valid"] += response.status_code in REFUSALS
    assert response.status_code not in REFUSALS, (
        "a schema-valid request was refused",
        case.method,
        case.formatted_path,
        case.body,
        response.content,
    )
