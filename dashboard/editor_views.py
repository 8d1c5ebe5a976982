"""The expanded Actions editor: Save Draft, Deploy, test runs in a worker, version history."""

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard import long_poll
from dashboard.forms import EditorForm, TestRunForm, dependency_rows
from dashboard.forms import secret_changes as parse_secret_changes
from dashboard.samples import sample_event
from dashboard.starter import STARTER_HANDLER
from dashboard.views import _actor, staff_required
from phoneprovider import selectors
from phoneprovider.errors import ApplicationError, NotFound, ValidationError
from phoneprovider.models import Action, DeliveryMethod, Execution, MessageType
from phoneprovider.services.actions import action_version_redeploy
from phoneprovider.services.executions import execution_test_start
from phoneprovider.services.providers import custom_action_store

EDITOR_SLOTS = ("form", "code", "secrets", "dependencies")
# The Node built-ins `require()` offers inside the sandbox (BUILTINS in
# phoneprovider/runtime/deno/worker.js), for the Dependencies panel; npm packages are declared.
BUILTIN_MODULES = (
    ("crypto", "createHash, createHmac, randomBytes, randomUUID, randomInt, timingSafeEqual"),
    ("buffer", "Buffer, atob, btoa"),
    ("querystring", "stringify, parse, escape, unescape"),
    ("url", "URL, URLSearchParams, parse"),
    ("util", "format, inspect, promisify, isDeepStrictEqual"),
    ("http", "request, get, Agent"),
    ("https", "request, get, Agent"),
    ("events", "EventEmitter, once"),
    ("stream", "Readable, Writable, Transform, PassThrough, pipeline"),
    ("string_decoder", "StringDecoder"),
    ("zlib", "gzipSync, gunzipSync, deflateSync, inflateSync"),
    ("timers", "setTimeout, setInterval, setImmediate, promises"),
    ("process", "env (empty), nextTick, hrtime, version"),
)
GLOBALS = (
    "fetch",
    "console",
    "Buffer",
    "URL",
    "URLSearchParams",
    "TextEncoder",
    "TextDecoder",
    "atob",
    "btoa",
    "setTimeout",
    "AbortController",
    "crypto (Web Crypto)",
    "require",
)
# A worker that has not picked a test run up after this long is probably not running.
WORKER_HINT_AFTER_S = 15


def _sample_json(message_type: str = MessageType.OTP_VERIFY, method: str = "text") -> str:
    return json.dumps(sample_event(message_type, method), indent=2)


def _status(action: Action | None) -> tuple[str, str]:
    """The server's half of the status line (the page adds "unsaved changes" while typing)."""
    if action is None:
        return "new", "Not saved yet"
    deployed = selectors.deployed_version(action)
    if deployed is None:
        return "draft", "Draft saved, never deployed"
    if selectors.action_all_changes_deployed(action, deployed):
        return "deployed", "Up to date"
    return "draft", "Draft saved, not deployed"


def _editor_context(*, code: str | None = None, errors: dict | None = None, **extra) -> dict:
    action = selectors.custom_provider_action()
    status, status_label = _status(action)
    return {
        "action": action,
        "trigger_label": Action.Trigger.CUSTOM_PHONE_PROVIDER.label,
        "trigger_id": Action.Trigger.CUSTOM_PHONE_PROVIDER.value,
        "runtime": action.runtime if action else "node22",
        "version": selectors.deployed_version(action),
        "version_count": action.versions.count() if action else 0,
        "code": code if code is not None else (action.code if action else STARTER_HANDLER),
        "saved_code": action.code if action else STARTER_HANDLER,
        "secrets": list(action.secrets.all()) if action else [],
        "values_secrets": {"new_secret_names": [""], "delete_secrets": []},
        "status": status,
        "status_label": status_label,
        "errors": errors or {},
        "message_types": MessageType.choices,
        "methods": DeliveryMethod.choices,
        "sample_event": _sample_json(),
        "builtin_modules": BUILTIN_MODULES,
        "globals": GLOBALS,
        "nav": "provider",
        **extra,
        "dependency_rows": _dependency_rows(action, extra.get("dependencies")),
    }


def _dependency_rows(action: Action | None, declared: list[dict] | None) -> list[dict]:
    """The Dependencies panel's rows: what the draft declares (or the admin just posted), each
    with the exact version the deployed version installed, when it has it."""
    if declared is None:
        declared = action.dependencies if action else []
    deployed = selectors.deployed_version(action) if action else None
    pinned = {d["name"]: d["version"] for d in (deployed.dependencies if deployed else [])}
    return [{**d, "pinned": pinned.get(d["name"], "")} for d in declared]


def _slots(exc: ApplicationError) -> dict:
    return {exc.field if exc.field in EDITOR_SLOTS else "form": exc}


@require_http_methods(["GET", "POST"])
@staff_required
def editor_page(request: HttpRequest) -> HttpResponse:
    """The expanded editor; POST is Save Draft (``op=save``) or Deploy (``op=deploy``)."""
    if request.method == "GET":
        extra = {}
        run = request.GET.get("run")
        if run:
            extra["execution"] = _test_execution(run)
        return render(request, "dashboard/editor.html", _editor_context(**extra))

    form = EditorForm(request.POST)
    form.is_valid()  # one optional text field: always valid
    code = form.cleaned_data.get("code", "")
    deploy = request.POST.get("op") == "deploy"
    action = selectors.custom_provider_action()
    before = selectors.deployed_version(action)
    deployed_before = before.number if before else None
    actor = _actor(request)
    dependencies = dependency_rows(request.POST)
    try:
        existing = [s.name for s in action.secrets.all()] if action else []
        upserts, deletes = parse_secret_changes(request.POST, existing)
        # Deploy ships what the editor shows: stored as the draft, then deployed.
        custom_action_store(
            actor=actor,
            code=code,
            deploy=deploy,
            secret_upserts=upserts,
            secret_deletes=deletes,
            dependencies=dependencies,
        )
    except ApplicationError as exc:
        errors = _slots(exc)
        if request.htmx:
            return render(
                request,
                "dashboard/partials/editor_saved.html",
                {"slots": [(slot, errors.get(slot)) for slot in EDITOR_SLOTS], "failed": True},
            )
        context = _editor_context(code=code, errors=errors, dependencies=dependencies)
        return render(request, "dashboard/editor.html", context)

    if deploy:
        version = selectors.deployed_version(selectors.custom_provider_action())
        notice = (
            f"Deployed version {version.number}."
            if version.number != deployed_before
            else f"Nothing changed since version {version.number}: no new version was made."
        )
    else:
        notice = "Draft saved. Deploy it to run it for real messages."
    if request.htmx:
        context = _editor_context(notice=notice)
        context["slots"] = [(slot, None) for slot in EDITOR_SLOTS]
        response = render(request, "dashboard/partials/editor_saved.html", context)
        response["HX-Trigger-After-Settle"] = json.dumps({"editor:saved": {"deployed": deploy}})
        return response
    messages.success(request, notice)
    return redirect("dashboard:editor")


@require_GET
@staff_required
def editor_sample(request: HttpRequest) -> HttpResponse:
    """The sample event for a message type and delivery method (the Test panel's pickers)."""
    message_type = request.GET.get("message_type", MessageType.OTP_VERIFY)
    method = request.GET.get("delivery_method", DeliveryMethod.TEXT)
    if message_type not in MessageType.values or method not in DeliveryMethod.values:
        raise Http404("No such message type or delivery method.")
    return render(
        request,
        "dashboard/partials/test_event.html",
        {"sample_event": _sample_json(message_type, method)},
    )


def _test_execution(public_id: str) -> Execution:
    try:
        execution = selectors.execution_get(public_id)
    except NotFound:
        raise Http404("No such test run.") from None
    if execution.kind != Execution.Kind.TEST:
        raise Http404("No such test run.")
    return execution


def _run_context(execution: Execution | None, error: ApplicationError | None = None) -> dict:
    waited = 0.0
    if execution is not None and execution.status == Execution.Status.PENDING:
        waited = (timezone.now() - execution.created_at).total_seconds()
    return {
        "execution": execution,
        "run_error": error,
        "worker_hint": waited > WORKER_HINT_AFTER_S,
    }


@require_POST
@staff_required
def editor_test(request: HttpRequest) -> HttpResponse:
    """Run the editor's code (saved or not) against the event, in a worker; never here."""
    form = TestRunForm(request.POST)
    action = selectors.custom_provider_action()
    try:
        if action is None:
            raise ValidationError("Save the draft once before running tests.")
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise ValidationError(errors[0], field=field)
        execution = execution_test_start(
            action=action,
            event=form.cleaned_data["event"],
            code=form.cleaned_data["code"],
            dry_run=form.cleaned_data["dry_run"],
        )
    except ApplicationError as exc:
        if request.htmx:
            return render(request, "dashboard/partials/test_run.html", _run_context(None, exc))
        context = _editor_context(code=request.POST.get("code"), run_error=exc)
        return render(request, "dashboard/editor.html", context)
    if request.htmx:
        return render(request, "dashboard/partials/test_run.html", _run_context(execution))
    return redirect(f"{reverse('dashboard:editor')}?run={execution.public_id}#test-panel")


@require_GET
@staff_required
def editor_test_status(request: HttpRequest, public_id: str) -> HttpResponse:
    """A test run's result; ``?seen=pending`` (from the result block) waits for it to finish."""
    execution = _test_execution(public_id)
    seen = request.GET.get("seen", "")
    if seen:
        execution = long_poll.next_change(
            execution,
            seen,
            state=lambda e: e.status,
            reload=lambda e: _test_execution(e.public_id),
            final=lambda e: e.status != Execution.Status.PENDING,
        )
    return render(request, "dashboard/partials/test_run.html", _run_context(execution))


# --- Version history ----------------------------------------------------------------------------


def _action_or_404() -> Action:
    action = selectors.custom_provider_action()
    if action is None:
        raise Http404("There is no custom phone provider Action yet.")
    return action


@require_GET
@staff_required
def versions_page(request: HttpRequest) -> HttpResponse:
    action = _action_or_404()
    return render(
        request,
        "dashboard/versions.html",
        {"action": action, "versions": list(selectors.action_versions(action)), "nav": "provider"},
    )


def _version_or_404(action: Action, public_id: str):
    try:
        return selectors.action_version_get(action, public_id)
    except NotFound:
        raise Http404("No such version.") from None


@require_GET
@staff_required
def version_page(request: HttpRequest, public_id: str) -> HttpResponse:
    """One version's code; with ``?compare=draft|<version id>``, a diff against it."""
    action = _action_or_404()
    version = _version_or_404(action, public_id)
    compare = request.GET.get("compare", "")
    diff = None
    if compare == "draft":
        diff = {
            "left_label": f"Version {version.number}",
            "left": version.code,
            "right_label": "Current draft",
            "right": action.code,
        }
    elif compare:
        other = _version_or_404(action, compare)
        old, new = sorted([version, other], key=lambda v: v.number)
        diff = {
            "left_label": f"Version {old.number}",
            "left": old.code,
            "right_label": f"Version {new.number}",
            "right": new.code,
        }
    others = [v for v in selectors.action_versions(action) if v.pk != version.pk]
    return render(
        request,
        "dashboard/version.html",
        {
            "action": action,
            "version": version,
            "others": others,
            "compare": compare,
            "diff": diff,
            "nav": "provider",
        },
    )


@require_POST
@staff_required
def version_revert(request: HttpRequest, public_id: str) -> HttpResponse:
    """Deploy a copy of this version as a new version (the draft is left as it is)."""
    action = _action_or_404()
    version = _version_or_404(action, public_id)
    try:
        new = action_version_redeploy(version, actor=_actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:version", public_id=version.public_id)
    messages.success(
        request,
        f"Deployed version {new.number}, a copy of version {version.number}. "
        "The draft in the editor is unchanged.",
    )
    return redirect("dashboard:versions")
