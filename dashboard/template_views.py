"""The Phone Templates page: edit a message type's bodies, preview them live, try, reset."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from liquid.exceptions import LiquidError

from dashboard.forms import TemplateForm
from dashboard.samples import SAMPLE_CODE, sample_render
from dashboard.send_test import send_test_respond
from dashboard.views import _actor, _form_error, staff_required
from phoneprovider import selectors
from phoneprovider.errors import ApplicationError
from phoneprovider.models import MessageType
from phoneprovider.providers.templates import (
    DEFAULT_BODIES,
    TemplateRenderError,
    TemplateSyntaxError,
    check_syntax,
)
from phoneprovider.services.templates import template_create, template_reset, template_update

TEMPLATE_SLOTS = ("form", "from", "text", "voice")
# What a template may use, for the hint beside the bodies.
VARIABLES = (
    "code",
    "friendly_name",
    "tenant",
    "locale",
    "support_email",
    "support_url",
    "home_url",
    "logo_url",
    "user.name",
    "user.email",
    "user.phone_number",
    "user.source_ip",
    "user.city",
    "user.country",
    "client.name",
    "organization.name",
    "pause",
)


def _message_type_or_404(message_type: str) -> str:
    if message_type not in MessageType.values:
        raise Http404("No such message type.")
    return message_type


def _customised(message_type: str, template) -> bool:
    """Whether a stored template says anything the default does not (after "Reset to default"
    the row stays, with the default bodies: that is not a customisation)."""
    if template is None:
        return False
    defaults = DEFAULT_BODIES[message_type]
    return bool(
        template.text_body != defaults["text"]
        or template.voice_body != defaults["voice"]
        or template.from_number
    )


def _stored_values(message_type: str, template) -> dict:
    defaults = DEFAULT_BODIES[message_type]
    if template is None:
        return {"enabled": True, "from": "", "text": defaults["text"], "voice": defaults["voice"]}
    return {
        "enabled": not template.disabled,
        "from": template.from_number,
        "text": template.text_body,
        "voice": template.voice_body,
    }


def _preview(text_body: str, voice_body: str) -> dict:
    """Render both bodies with the sample data; a Liquid error says which body and line."""
    for field, body in (("text", text_body), ("voice", voice_body)):
        try:
            check_syntax(body)
        except TemplateSyntaxError as exc:
            return {
                "error": exc.message,
                "error_field": field,
                "error_line": exc.line,
                "error_column": exc.column,
            }
    try:
        rendered = sample_render(text_body, voice_body)
    except TemplateRenderError as exc:
        return {"error": exc.message, "error_field": exc.field, "error_line": None}
    except LiquidError as exc:
        return {"error": str(exc), "error_field": "", "error_line": None}
    return {
        "as_text": rendered.as_text,
        "as_voice": rendered.as_voice,
        "text_length": len(rendered.as_text),
    }


def _page_context(message_type: str, *, values=None, errors=None, **extra) -> dict:
    template = selectors.template_for_type(message_type)
    values = values or _stored_values(message_type, template)
    provider = selectors.provider_get()
    return {
        "message_type": message_type,
        "message_type_label": MessageType(message_type).label,
        "types": [
            (value, label, stored, _customised(value, stored))
            for value, label in MessageType.choices
            for stored in [selectors.template_for_type(value)]
        ],
        "template": template,
        "customised": _customised(message_type, template),
        "values": values,
        "errors": errors or {},
        "preview": _preview(values["text"], values["voice"]),
        "variables": VARIABLES,
        "sample_code": SAMPLE_CODE,
        "can_try": provider is not None and not provider.disabled,
        "nav": "templates",
        **extra,
    }


@require_GET
@staff_required
def templates_index(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard:template", message_type=MessageType.OTP_VERIFY)


@require_http_methods(["GET", "POST"])
@staff_required
def template_page(request: HttpRequest, message_type: str) -> HttpResponse:
    """One message type's template; POST is Save (creates the customisation the first time)."""
    message_type = _message_type_or_404(message_type)
    if request.method == "GET":
        return render(request, "dashboard/templates.html", _page_context(message_type))
    form = TemplateForm(request.POST)
    posted = {
        "enabled": request.POST.get("enabled") == "on",
        "from": request.POST.get("from_number", ""),
        "text": request.POST.get("text_body", ""),
        "voice": request.POST.get("voice_body", ""),
    }
    try:
        if not form.is_valid():
            raise _form_error(form)
        data = form.cleaned_data
        fields = {
            "disabled": not data["enabled"],
            "from_number": data["from_number"],
            "text_body": data["text_body"],
            "voice_body": data["voice_body"],
        }
        template = selectors.template_for_type(message_type)
        if template is None:
            template_create(actor=_actor(request), type=message_type, **fields)
        else:
            template_update(template, actor=_actor(request), **fields)
    except ApplicationError as exc:
        slot = exc.field if exc.field in TEMPLATE_SLOTS else "form"
        context = _page_context(message_type, values=posted, errors={slot: exc})
        return render(request, "dashboard/templates.html", context)
    messages.success(request, f"Saved the {MessageType(message_type).label} template.")
    return redirect("dashboard:template", message_type=message_type)


@require_POST
@staff_required
def template_preview(request: HttpRequest, message_type: str) -> HttpResponse:
    """The live preview: the bodies being typed, rendered with sample data (nothing is saved)."""
    _message_type_or_404(message_type)
    preview = _preview(request.POST.get("text_body", ""), request.POST.get("voice_body", ""))
    return render(request, "dashboard/partials/template_preview.html", {"preview": preview})


@require_POST
@staff_required
def template_reset_view(request: HttpRequest, message_type: str) -> HttpResponse:
    message_type = _message_type_or_404(message_type)
    template = selectors.template_for_type(message_type)
    if template is None:
        messages.info(request, "This template already uses the default text.")
    else:
        template_reset(template, actor=_actor(request))
        messages.success(request, "The template's text and voice bodies are back to the default.")
    return redirect("dashboard:template", message_type=message_type)


@require_http_methods(["GET", "POST"])
@staff_required
def template_try(request: HttpRequest, message_type: str) -> HttpResponse:
    """Try: send the saved template to a phone through the configured provider, as a test."""
    message_type = _message_type_or_404(message_type)
    return send_test_respond(
        request,
        message_type=message_type,
        form_context={
            "test_url": request.path,
            "test_intro": (
                f"Sends a {MessageType(message_type).label} message with a random code, using "
                "the saved template, through the configured provider."
            ),
            "nav": "templates",
        },
        unavailable="Save and enable a phone provider before trying a template.",
        back_url=reverse("dashboard:template", args=[message_type]),
    )
