"""The dashboard's views: parse input, call one service, render a page or an htmx partial."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from dashboard.forms import SMS_SOURCE_FROM, SMS_SOURCE_MSSID, ProviderForm
from dashboard.forms import secret_changes as parse_secret_changes
from dashboard.send_test import send_test_respond, status_respond
from dashboard.starter import STARTER_HANDLER
from phoneprovider import selectors
from phoneprovider.errors import ApplicationError, ValidationError, ValidationErrors
from phoneprovider.models import DeliveryMethod, MessageType, PhoneProvider
from phoneprovider.services.actions import action_draft_discard
from phoneprovider.services.providers import (
    custom_provider_configure,
    provider_save,
    provider_warnings,
)

# Where each error of the provider form is shown; fields the page has no slot for go to "form".
ERROR_SLOTS = (
    "form",
    "name",
    "delivery_methods",
    "sid",
    "default_from",
    "mssid",
    "auth_token",
    "code",
    "secrets",
)


def staff_required(view):
    """Anonymous users go to the login page; signed-in users who are not staff get a 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            if request.htmx:
                # A partial swapped into the page must not become a login form: reload instead.
                return HttpResponseClientRedirect(
                    f"{reverse('dashboard:login')}?next={reverse('dashboard:provider')}"
                )
            return redirect_to_login(request.get_full_path(), reverse("dashboard:login"))
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("The dashboard is for staff members.")
        return view(request, *args, **kwargs)

    return wrapper


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


def _existing_secrets():
    action = selectors.custom_provider_action()
    return list(action.secrets.all()) if action else []


def _form_values(provider: PhoneProvider | None, action) -> dict:
    """What the provider form shows when nothing was posted: the stored configuration."""
    if provider is None:
        return {
            "name": PhoneProvider.Name.TWILIO,
            "delivery_methods": [DeliveryMethod.TEXT],
            "sms_source": SMS_SOURCE_FROM,
            "default_from": "",
            "mssid": "",
            "sid": "",
            "code": action.code if action and action.code else STARTER_HANDLER,
            "new_secret_names": [""],
        }
    return {
        "name": provider.name,
        "delivery_methods": list(provider.delivery_methods),
        "sms_source": SMS_SOURCE_MSSID if provider.twilio_mssid else SMS_SOURCE_FROM,
        "default_from": provider.twilio_default_from,
        "mssid": provider.twilio_mssid,
        "sid": provider.twilio_sid,
        "code": action.code if action and action.code else STARTER_HANDLER,
        "new_secret_names": [""],
    }


def _posted_values(post) -> dict:
    """Re-render what was typed (never secret values or the auth token: those are write-only)."""
    names = [name for name in post.getlist("new_secret_name") if name.strip()]
    return {
        "name": post.get("name", PhoneProvider.Name.TWILIO),
        "delivery_methods": post.getlist("delivery_methods"),
        "sms_source": post.get("sms_source", SMS_SOURCE_FROM),
        "default_from": post.get("default_from", ""),
        "mssid": post.get("mssid", ""),
        "sid": post.get("sid", ""),
        "code": post.get("code", ""),
        "new_secret_names": names or [""],
        "delete_secrets": post.getlist("delete_secret"),
    }


def _page_context(*, values: dict | None = None, errors: dict | None = None, **extra) -> dict:
    provider = selectors.provider_get()
    action = selectors.custom_provider_action()
    version = selectors.deployed_version(action)
    return {
        "provider": provider,
        "action": action,
        "version": version,
        "draft_differs": version is not None
        and not selectors.action_all_changes_deployed(action, version),
        "secrets": list(action.secrets.all()) if action else [],
        "values": values or _form_values(provider, action),
        "errors": errors or {},
        "warnings": provider_warnings(provider),
        "starter_code": STARTER_HANDLER,
        "can_send_test": provider is not None and not provider.disabled,
        "nav": "provider",
        **extra,
    }


def error_slots(exc: ApplicationError, slots=ERROR_SLOTS) -> dict:
    """Each error beside its field (several when a service found several); an error of a field
    the page has no slot for goes to "form", after any already there."""
    found: dict = {}
    for error in getattr(exc, "errors", None) or [exc]:
        slot = error.field if error.field in slots else "form"
        if slot in found:
            error = ValidationError(f"{found[slot].message} {error.message}", field=slot)
        found[slot] = error
    return found


def _form_error(form) -> ValidationError:
    """Every problem of a form that did not parse, as the error the services would raise."""
    errors = []
    for field, messages_ in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        message = f"{label}: {messages_[0]}" if label else messages_[0]
        errors.append(ValidationError(message, field=field if field != "__all__" else None))
    return errors[0] if len(errors) == 1 else ValidationErrors(errors)


def _draft_deploy_confirmed(post, deployed, code: str) -> None:
    """Save deploys what the admin saw and confirmed: when the page showed a draft that differs
    from the deployed version, Save needs the "Deploy this draft" box ticked."""
    shown = post.get("draft_differs_from")
    if not shown or deployed is None or code == deployed.code:
        return
    if post.get("confirm_draft") != shown:
        raise ValidationError(
            f"This code is a draft that differs from the deployed version {deployed.number}. "
            "Check it (Open diff), then tick “Deploy this draft” and Save, or Discard draft.",
            field="code",
        )


@require_POST
@staff_required
def provider_draft_discard(request: HttpRequest) -> HttpResponse:
    """Discard draft: the draft goes back to what the deployed version runs."""
    action = selectors.custom_provider_action()
    if action is None:
        raise Http404("No handler yet.")
    try:
        action_draft_discard(action, actor=_actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        version = selectors.deployed_version(action)
        messages.success(request, f"Discarded the draft: the code is version {version.number}.")
    if request.POST.get("next") == "editor":
        return redirect("dashboard:editor")
    return redirect(f"{reverse('dashboard:provider')}?provider=custom")


@require_http_methods(["GET", "POST"])
@staff_required
def provider_page(request: HttpRequest) -> HttpResponse:
    """The Phone Message Provider page; POST is its Save."""
    if request.method == "GET":
        context = _page_context()
        # "Back to Phone Provider" from the expanded editor comes back with Custom selected.
        if request.GET.get("provider") in PhoneProvider.Name.values:
            context["values"]["name"] = request.GET["provider"]
        return render(request, "dashboard/provider.html", context)
    if "reset_code" in request.POST:
        # Reset without JavaScript: show the starter handler in the editor, save nothing.
        values = _posted_values(request.POST)
        values["code"] = STARTER_HANDLER
        return render(request, "dashboard/provider.html", _page_context(values=values))

    form = ProviderForm(request.POST)
    current = selectors.provider_get()
    disabled = current.disabled if current else False
    try:
        if not form.is_valid():
            raise _form_error(form)
        data = form.cleaned_data
        if data["name"] == PhoneProvider.Name.TWILIO:
            provider_save(actor=_actor(request), disabled=disabled, **form.twilio_arguments())
            notice = "Saved. Messages are delivered through Twilio."
        else:
            before = selectors.deployed_version(selectors.custom_provider_action())
            _draft_deploy_confirmed(request.POST, before, data["code"])
            existing = [secret.name for secret in _existing_secrets()]
            upserts, deletes = parse_secret_changes(request.POST, existing)
            custom_provider_configure(
                actor=_actor(request),
                code=data["code"],
                delivery_methods=data["delivery_methods"],
                disabled=disabled,
                secret_upserts=upserts,
                secret_deletes=deletes,
            )
            version = selectors.deployed_version(selectors.custom_provider_action())
            notice = f"Saved and deployed version {version.number} of the handler."
            if before is not None and before.number == version.number:
                notice = f"Saved. Nothing changed since version {version.number}: no new version."
    except ApplicationError as exc:
        errors = error_slots(exc)
        if request.htmx:
            # Swap only the error slots: what was typed (secret values included) stays put.
            return render(
                request,
                "dashboard/partials/provider_errors.html",
                {"slots": [(slot, errors.get(slot)) for slot in ERROR_SLOTS]},
            )
        context = _page_context(values=_posted_values(request.POST), errors=errors)
        return render(request, "dashboard/provider.html", context)

    messages.success(request, notice)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("dashboard:provider"))
    return redirect("dashboard:provider")


@require_POST
@staff_required
def provider_enabled(request: HttpRequest) -> HttpResponse:
    """The enable switch. Turning the provider off needs ``confirm=yes`` (the dialog sends it;
    without JavaScript the page asks first)."""
    enable = request.POST.get("enabled") == "on"
    if selectors.provider_get() is None:
        messages.error(request, "Save a provider first; then it can be enabled or disabled.")
        return redirect("dashboard:provider")
    if not enable and request.POST.get("confirm") != "yes":
        return render(request, "dashboard/provider.html", _page_context(confirm_disable=True))
    try:
        provider_save(actor=_actor(request), disabled=not enable)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if enable:
            messages.success(request, "The phone provider is enabled.")
        # Disabled: the page's own banner says so while it lasts; a notice would repeat it.
    return redirect("dashboard:provider")


@require_http_methods(["GET", "POST"])
@staff_required
def provider_test(request: HttpRequest) -> HttpResponse:
    """Send Test Message: a form, then the queued message's progress."""
    return send_test_respond(
        request,
        message_type=MessageType.OTP_VERIFY,
        form_context={"nav": "provider"},
        unavailable="Save and enable a provider before sending a test message.",
        back_url=reverse("dashboard:provider"),
    )


@require_GET
@staff_required
def provider_test_status(request: HttpRequest, public_id: str) -> HttpResponse:
    return status_respond(request, public_id)
