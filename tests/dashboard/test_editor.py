"""The expanded Actions editor through the test client: drafts, deploys, test runs, versions."""

import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.urls import reverse

from dashboard.editor_views import BUILTIN_MODULES
from dashboard.starter import STARTER_HANDLER
from phoneprovider import runtime, selectors
from phoneprovider.models import Action, ActionVersion, AuditEntry, Execution
from phoneprovider.services.executions import execution_run

EDITOR = reverse("dashboard:editor")
TEST = reverse("dashboard:editor_test")
HTMX = {"HTTP_HX_REQUEST": "true"}
HANDLER = """exports.onExecuteCustomPhoneProvider = async (event, api) => {
  console.log("to " + event.notification.recipient);
  await fetch(event.secrets.URL, {
    method: "POST",
    headers: { Authorization: "Bearer " + event.secrets.TOKEN },
    body: JSON.stringify({ to: event.notification.recipient }),
  });
};
"""
BROKEN = """exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const x = ;
};
"""


def save(client, code=HANDLER, op="save", htmx=False, **extra):
    data = {"code": code, "op": op, **extra}
    return client.post(EDITOR, data, **(HTMX if htmx else {}))


def deploy_v1(client):
    response = save(
        client,
        op="deploy",
        new_secret_name=["URL", "TOKEN"],
        new_secret_value=["http://127.0.0.1:9/sms", "tok-secret-9"],
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    return selectors.custom_provider_action()


@pytest.mark.django_db
def test_editor_is_staff_only(client, django_user_model):
    assert client.get(EDITOR).status_code == 302
    client.force_login(django_user_model.objects.create_user("reader", password="pw-1-abcdef"))
    assert client.get(EDITOR).status_code == 403
    assert client.post(EDITOR, {"code": HANDLER}).status_code == 403
    assert client.post(TEST, {"code": HANDLER, "event": "{}"}).status_code == 403
    assert Action.objects.count() == 0


@pytest.mark.django_db
def test_editor_shows_starter_trigger_runtime_panels_and_back_link(staff):
    html = unescape(staff.get(EDITOR).content.decode())
    assert "exports.onExecuteCustomPhoneProvider" in html
    assert "custom-phone-provider" in html and "node22" in html
    assert "Not saved yet" in html
    assert f'href="{reverse("dashboard:provider")}?provider=custom"' in html
    for label in ("Save Draft", "Deploy", "Version History", "Dry run", "Dependencies"):
        assert label in html
    for module in ("crypto", "buffer", "querystring", "url", "util"):
        assert f'require("{module}")' in html
    # The sample event is realistic and has no secrets in it.
    assert '"message_type": "otp_verify"' in html
    assert '"recipient": "+14155550100"' in html
    assert "123456 is your" in html


@pytest.mark.django_db
def test_back_link_selects_custom_on_the_provider_page(staff):
    html = staff.get(reverse("dashboard:provider") + "?provider=custom").content.decode()
    assert 'value="custom" id="provider-custom" checked' in html


@pytest.mark.django_db
def test_save_draft_creates_the_action_without_deploying(staff):
    response = save(staff, new_secret_name=["TOKEN"], new_secret_value=["abc-123"])
    assert response.status_code == 302
    action = selectors.custom_provider_action()
    assert action.code == HANDLER
    assert action.secrets.get().value == "abc-123"
    assert ActionVersion.objects.count() == 0
    html = staff.get(EDITOR).content.decode()
    assert "Draft saved, never deployed" in html
    assert "abc-123" not in html


@pytest.mark.django_db
def test_deploy_makes_a_version_and_the_status_up_to_date(staff):
    action = deploy_v1(staff)
    version = selectors.deployed_version(action)
    assert (version.number, version.code, version.created_by) == (1, HANDLER, "ops")
    html = staff.get(EDITOR).content.decode()
    assert "Up to date" in html
    assert "Deployed: version 1" in html

    save(staff, code=HANDLER + "// more\n")
    html = staff.get(EDITOR).content.decode()
    assert "Draft saved, not deployed" in html
    assert selectors.deployed_version(action).number == 1


@pytest.mark.django_db
def test_htmx_save_answers_with_status_and_secrets_out_of_band(staff):
    deploy_v1(staff)
    response = save(staff, code=HANDLER + "// x\n", htmx=True)
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger-After-Settle"]) == {"editor:saved": {"deployed": False}}
    html = response.content.decode()
    assert 'id="editor-status"' in html and "Draft saved, not deployed" in html
    assert 'id="secrets-block" hx-swap-oob="true"' in html
    assert "tok-secret-9" not in html


@pytest.mark.django_db
def test_deploy_of_invalid_code_shows_line_and_keeps_the_stored_draft(staff):
    action = deploy_v1(staff)
    response = save(staff, code=BROKEN, op="deploy")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-code" class="field-error has-error"' in html
    assert 'data-line="2"' in html
    action.refresh_from_db()
    assert action.code == HANDLER
    assert ActionVersion.objects.count() == 1

    htmx = save(staff, code=BROKEN, op="deploy", htmx=True)
    assert 'hx-swap-oob="true"' in htmx.content.decode()
    assert 'data-line="2"' in htmx.content.decode()
    assert "HX-Trigger-After-Settle" not in htmx


@pytest.mark.django_db
def test_save_draft_accepts_code_that_does_not_parse_yet(staff):
    deploy_v1(staff)
    assert save(staff, code=BROKEN).status_code == 302
    assert selectors.custom_provider_action().code == BROKEN


@pytest.mark.django_db
def test_secret_errors_are_inline(staff):
    response = save(staff, new_secret_name=["bad name"], new_secret_value=["v"])
    assert response.status_code == 200
    assert 'id="error-secrets" class="field-error has-error"' in response.content.decode()
    assert Action.objects.count() == 0


@pytest.mark.django_db
def test_sample_event_follows_message_type_and_method(staff):
    response = staff.get(
        reverse("dashboard:editor_sample"),
        {"message_type": "change_password", "delivery_method": "voice"},
        **HTMX,
    )
    assert response.status_code == 200
    text = response.content.decode()
    start = text.index(">", text.index("<textarea")) + 1
    event = json.loads(unescape(text[start : text.index("</textarea>")]))
    assert event["notification"]["message_type"] == "change_password"
    assert event["notification"]["delivery_method"] == "voice"
    assert "1, 2, 3, 4, 5, 6" in event["notification"]["as_voice"]
    assert event["request"]["geoip"]["countryCode"] == "US"
    assert "secrets" not in event
    assert staff.get(reverse("dashboard:editor_sample"), {"message_type": "x"}).status_code == 404


@pytest.mark.django_db
def test_run_needs_a_saved_action(staff):
    response = staff.post(TEST, {"code": HANDLER, "event": "{}"}, **HTMX)
    assert "Save the draft once" in response.content.decode()
    assert Execution.objects.count() == 0


@pytest.mark.django_db
def test_run_of_invalid_json_or_code_is_reported_and_nothing_is_queued(staff):
    deploy_v1(staff)
    response = staff.post(TEST, {"code": HANDLER, "event": "{nope"}, **HTMX)
    assert "not valid JSON" in response.content.decode()
    response = staff.post(TEST, {"code": HANDLER, "event": "[1]"}, **HTMX)
    assert "must be a JSON object" in response.content.decode()
    response = staff.post(TEST, {"code": BROKEN, "event": "{}"}, **HTMX)
    html = response.content.decode()
    assert 'data-line="2"' in html and "Not run" in html
    assert Execution.objects.count() == 0


@pytest.mark.django_db
def test_run_starts_a_test_execution_of_the_unsaved_draft(
    staff, django_capture_on_commit_callbacks
):
    action = deploy_v1(staff)
    draft = HANDLER.replace("to ", "draft to ")
    event = {"notification": {"recipient": "+14155550100"}}
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff.post(
            TEST, {"code": draft, "event": json.dumps(event), "dry_run": "on"}, **HTMX
        )
    assert len(callbacks) == 1  # handed to a worker after commit, never run here
    execution = Execution.objects.get()
    assert (execution.kind, execution.dry_run, execution.code) == ("test", True, draft)
    assert execution.event == event
    assert execution.action == action
    action.refresh_from_db()
    assert action.code == HANDLER  # running does not save
    html = response.content.decode()
    assert "Running in a worker" in html
    status_url = reverse("dashboard:editor_test_status", args=[execution.public_id])
    assert f'hx-get="{status_url}?seen=pending"' in html and 'hx-trigger="load, poll-again"' in html

    # What a worker does (in-process here; the browser tests use a real worker process).
    execution_run(execution.pk)
    html = staff.get(status_url, **HTMX).content.decode()
    assert "hx-trigger" not in html  # finished: polling stops
    assert "Recorded requests" in html
    # The URL and the token are secrets: the URL names its secret, the token is masked.
    assert '<span class="method">POST</span> <span class="fetch-url">${URL}</span>' in html
    assert "Bearer [redacted]" in html
    assert "http://127.0.0.1:9/sms" not in html
    assert "tok-secret-9" not in html
    assert "draft to +14155550100" in html
    assert "Stats" in html


@pytest.mark.django_db
def test_run_without_javascript_redirects_to_the_editor_with_the_result(staff):
    deploy_v1(staff)
    response = staff.post(TEST, {"code": HANDLER, "event": "{}"})
    execution = Execution.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{EDITOR}?run={execution.public_id}#test-panel"
    assert (
        "Running in a worker" in staff.get(f"{EDITOR}?run={execution.public_id}").content.decode()
    )


@pytest.mark.django_db
def test_status_of_a_delivery_execution_is_not_shown_as_a_test(staff):
    deploy_v1(staff)
    execution = Execution.objects.create(kind="delivery")
    url = reverse("dashboard:editor_test_status", args=[execution.public_id])
    assert staff.get(url).status_code == 404


@pytest.mark.django_db
def test_a_test_run_error_is_printed_once(staff):
    deploy_v1(staff)
    execution = Execution.objects.create(
        kind="test",
        status="error",
        reason="TypeError: x is not a function",
        error={
            "name": "TypeError",
            "message": "x is not a function",
            "stack": "TypeError: x is not a function\n    at handler.js:3:5",
        },
    )
    url = reverse("dashboard:editor_test_status", args=[execution.public_id])
    html = staff.get(url).content.decode()
    block = html.split('aria-label="Error">', 1)[1].split("</pre>", 1)[0]
    assert block.count("x is not a function") == 1


# --- versions -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_versions_list_view_diff_and_revert(staff):
    action = deploy_v1(staff)
    save(staff, code=HANDLER.replace("to ", "v2 to "), op="deploy")
    save(staff, code=HANDLER.replace("to ", "draft to "))
    v1, v2 = action.versions.order_by("number")

    html = staff.get(reverse("dashboard:versions")).content.decode()
    assert "Version 2" in html and "Version 1" in html and "Deployed" in html
    assert html.count("ops") >= 2

    page = unescape(staff.get(reverse("dashboard:version", args=[v1.public_id])).content.decode())
    assert 'console.log("to "' in page
    diff = staff.get(reverse("dashboard:version", args=[v1.public_id]), {"compare": "draft"})
    assert "Current draft" in diff.content.decode()
    assert "draft to " in diff.content.decode()
    two = staff.get(reverse("dashboard:version", args=[v2.public_id]), {"compare": v1.public_id})
    assert "Version 1" in two.content.decode() and "v2 to " in two.content.decode()
    assert (
        staff.get(
            reverse("dashboard:version", args=[v1.public_id]), {"compare": "nope"}
        ).status_code
        == 404
    )

    response = staff.post(reverse("dashboard:version_revert", args=[v1.public_id]))
    assert response.status_code == 302
    v3 = selectors.deployed_version(action)
    assert (v3.number, v3.code) == (3, v1.code)
    action.refresh_from_db()
    assert "draft to " in action.code  # the draft is untouched
    assert AuditEntry.objects.filter(verb="rollback", object_id=action.public_id).exists()
    assert "a copy of version 1" in staff.get(reverse("dashboard:versions")).content.decode()


@pytest.mark.django_db
def test_versions_without_an_action_are_404(staff):
    assert staff.get(reverse("dashboard:versions")).status_code == 404


@pytest.mark.django_db
def test_starter_handler_is_the_default_code(staff):
    assert STARTER_HANDLER.splitlines()[0] in staff.get(EDITOR).content.decode()


@pytest.mark.django_db
def test_dependencies_panel_lists_the_modules_the_runtime_offers(staff):
    """The panel's list is kept by hand; it must name exactly what `require()` gives handlers."""
    worker = (Path(runtime.__file__).parent / "deno" / "worker.js").read_text()
    block = re.search(r"^const BUILTINS = \{(.*?)\n\};", worker, re.S | re.M).group(1)
    offered = set(re.findall(r"(\w+): node\w+", block)) | {"timers"}  # timers: set below it
    assert "BUILTINS.timers = " in worker
    assert {name for name, _ in BUILTIN_MODULES} == offered
    html = staff.get(EDITOR).content.decode()
    for name in offered:
        assert f'require("{name}")' in unescape(html)


@pytest.mark.django_db
def test_a_request_url_built_from_a_secret_names_it_and_never_shows_its_value(staff):
    """The test panel's requests: ``${GATEWAY_URL}/sms``, not ``[redacted]`` (the URL and a key
    in its query are secrets)."""
    base = "http://127.0.0.1:9"
    code = """exports.onExecuteCustomPhoneProvider = async (event, api) => {
  await fetch(event.secrets.GATEWAY_URL + "/sms?key=" + event.secrets.API_KEY, { method: "POST" });
};
"""
    save(staff, code=code, new_secret_name=["GATEWAY_URL", "API_KEY"],
         new_secret_value=[base, "key-9f8e7d6c"])  # fmt: skip
    event = {"notification": {"recipient": "+14155550100"}}
    staff.post(TEST, {"code": code, "event": json.dumps(event), "dry_run": "on"}, **HTMX)
    execution = Execution.objects.get()
    execution_run(execution.pk)
    url = reverse("dashboard:editor_test_status", args=[execution.public_id])
    html = staff.get(url, **HTMX).content.decode()
    assert '<span class="fetch-url">${GATEWAY_URL}/sms?key=${API_KEY}</span>' in html
    assert base not in html and "key-9f8e7d6c" not in html
