"""Send Test: the one flow behind the provider page's Send Test Message and a template's Try.

A form, then the queued test message's progress. The progress block asks the server for the
message's next change (dashboard/long_poll.py), so the outcome shows a tenth of a second after
the worker records it.
"""

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from dashboard import long_poll
from dashboard.forms import SendTestForm
from phoneprovider import selectors
from phoneprovider.errors import ApplicationError, NotFound
from phoneprovider.models import (
    Connection,
    DeliveryAttempt,
    DeliveryMethod,
    MessageType,
    PhoneMessage,
)
from phoneprovider.services.messages import message_queue

OUTCOMES = {
    "delivered": ("Delivered", "success"),
    "sent": ("Sent", "success"),
    "failed": ("Failed", "danger"),
    "dropped": ("Dropped", "danger"),
    "undelivered": ("Undelivered", "danger"),
    "blocked": ("Blocked", "danger"),
}
ATTEMPT_WORDS = {
    DeliveryAttempt.Outcome.RETRY: "failed",
    DeliveryAttempt.Outcome.FAILED: "failed",
    DeliveryAttempt.Outcome.DROPPED: "was dropped",
    DeliveryAttempt.Outcome.SENT: "sent",
}


def send_test_respond(
    request: HttpRequest,
    *,
    message_type: str,
    form_context: dict,
    unavailable: str,
    back_url: str,
    connection: Connection | None = None,
) -> HttpResponse:
    """GET: the form. POST: queue a test message with a random code, then show its progress.

    ``form_context`` is what the form says about itself (``test_url``, ``test_intro``, ``nav``);
    without an enabled provider the admin goes back to ``back_url`` with ``unavailable``.
    ``connection``: a routing connection's Test, sent through it only (no provider needed).
    """
    if connection is None:
        provider = selectors.provider_get()
        if provider is None or provider.disabled:
            messages.error(request, unavailable)
            if request.htmx:
                return HttpResponseClientRedirect(back_url)
            return redirect(back_url)
        methods = list(provider.delivery_methods)
    else:
        methods = list(DeliveryMethod.values)  # every connection kind sends text and voice

    def form_page(form: SendTestForm, error: str = "") -> HttpResponse:
        context = {**form_context, "form": form, "test_error": error, "back_url": back_url}
        if request.htmx:
            return render(request, "dashboard/partials/send_test_form.html", context)
        return render(request, "dashboard/send_test.html", context)

    if request.method == "GET":
        return form_page(SendTestForm(methods=methods))
    form = SendTestForm(request.POST, methods=methods)
    if not form.is_valid():
        return form_page(form)
    try:
        message = message_queue(
            to=form.cleaned_data["to"],
            message_type=message_type,
            delivery_method=form.cleaned_data["delivery_method"],
            code=f"{secrets.randbelow(1_000_000):06d}",
            is_test=True,
            connection=connection,
        )
    except ApplicationError as exc:
        if exc.field in form.fields:
            form.add_error(exc.field, exc.message)
            return form_page(form)
        return form_page(form, error=exc.message)
    if request.htmx:
        return render(request, "dashboard/partials/test_status.html", status_context(message))
    return redirect("dashboard:provider_test_status", public_id=message.public_id)


def status_respond(request: HttpRequest, public_id: str) -> HttpResponse:
    """A test message's progress. ``?seen=<state>`` (from the progress block) waits for the next
    change first."""
    message = _test_message(public_id)
    seen = request.GET.get("seen", "")
    if seen and request.htmx:
        message = long_poll.next_change(
            message,
            seen,
            state=message_state,
            reload=lambda m: _test_message(m.public_id),
            final=lambda m: m.is_final,
        )
    context = status_context(message)
    if request.htmx:
        return render(request, "dashboard/partials/test_status.html", context)
    return render(request, "dashboard/test_status.html", context)


def _test_message(public_id: str) -> PhoneMessage:
    try:
        message = selectors.message_get(public_id)
    except NotFound:
        raise Http404("No such test message.") from None
    if not message.is_test:
        raise Http404("No such test message.")
    return message


def message_state(message: PhoneMessage) -> str:
    """Changes whenever the worker claims, retries or finishes the message (each write of the
    row moves ``updated_at``)."""
    return f"{message.status}.{message.attempt_count}.{message.updated_at.timestamp():.6f}"


def _attempt_lines(message: PhoneMessage) -> list[dict]:
    """What each attempt did, in words, while and after retries run ("Attempt 2 of 6 failed:
    Gateway error 503"); the code masked in the errors as everywhere people read them."""
    most = settings.MESSAGE_MAX_ATTEMPTS
    lines = []
    for attempt in message.attempts.order_by("number"):
        if attempt.outcome == DeliveryAttempt.Outcome.PENDING:
            text = f"Attempt {attempt.number} of {most} running…"
        else:
            text = f"Attempt {attempt.number} of {most} {ATTEMPT_WORDS[attempt.outcome]}"
            if attempt.error:
                text += f": {message.masked(attempt.error)}"
        lines.append({"text": text, "outcome": attempt.outcome})
    return lines


def status_context(message: PhoneMessage) -> dict:
    label, tone = OUTCOMES.get(message.status, ("Sending", "pending"))
    retry_in = None
    if message.status == PhoneMessage.Status.QUEUED and message.attempt_count:
        label = "Retrying"
        due = message.next_attempt_at or timezone.now()
        retry_in = max(0, round((due - timezone.now()).total_seconds()))
    attempts = _attempt_lines(message)
    from_templates = message.message_type != MessageType.OTP_VERIFY
    if message.pinned_connection_id:  # a routing connection's Test
        again_url = reverse("dashboard:connection_test", args=[message.pinned_connection.public_id])
        done_url, nav = reverse("dashboard:routing"), "routing"
    elif from_templates:
        again_url = reverse("dashboard:template_try", args=[message.message_type])
        done_url, nav = reverse("dashboard:template", args=[message.message_type]), "templates"
    else:
        again_url = reverse("dashboard:provider_test")
        done_url, nav = reverse("dashboard:provider"), "provider"
    return {
        "message": message,
        "label": label,
        "tone": tone,
        "state": message_state(message),
        "reason": message.masked(message.reason),
        # The attempts are listed once one failed; a first attempt that went through needs none.
        "attempts": attempts if len(attempts) > 1 or retry_in is not None else [],
        "retry_in": retry_in,
        "execution": selectors.message_last_execution(message),
        "again_url": again_url,
        "done_url": done_url,
        "nav": nav,
    }
