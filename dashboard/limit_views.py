"""The Limits page: the abuse limits and the failover switch, with what they count right now."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.views import _actor, error_slots, staff_required
from phoneprovider import selectors
from phoneprovider.errors import ApplicationError
from phoneprovider.models import DeliveryPolicy
from phoneprovider.services.limits import COUNTRY_FIELDS, NUMBER_FIELDS, policy_update

LIMIT_SLOTS = ("form", "mode", "failover_to_twilio", *NUMBER_FIELDS, *COUNTRY_FIELDS)
RULE_LABELS = {
    "recipient_per_hour": "Per number per hour",
    "prefix_per_minute": "Per prefix per minute",
    "global_per_minute": "All messages per minute",
    "country_text": "Country rules (text)",
    "country_voice": "Country rules (voice)",
}


def _number(post, field: str) -> int | str:
    raw = (post.get(field) or "").strip()
    try:
        return int(raw)
    except ValueError:
        return raw  # not a number: the service says so, with the other problems


def _changes(post) -> dict:
    changes = {
        "mode": post.get("mode", ""),
        "failover_to_twilio": post.get("failover_to_twilio") == "on",
    }
    for field in NUMBER_FIELDS:
        changes[field] = _number(post, field)
    for field in COUNTRY_FIELDS:
        changes[field] = post.get(field, "")
    return changes


def _values(policy: DeliveryPolicy) -> dict:
    values = {
        field: getattr(policy, field) for field in ("mode", "failover_to_twilio", *NUMBER_FIELDS)
    }
    for field in COUNTRY_FIELDS:
        values[field] = ", ".join(getattr(policy, field))
    return values


def _context(values: dict, errors: dict | None = None) -> dict:
    counters = selectors.limit_counters()
    provider = selectors.provider_get()
    return {
        "values": values,
        "errors": errors or {},
        "counters": counters,
        "rule_rows": [
            (
                rule,
                RULE_LABELS.get(rule, rule),
                counters["blocked_by_rule"].get(rule, 0),
                counters["recorded_by_rule"].get(rule, 0),
            )
            for rule in sorted({*counters["blocked_by_rule"], *counters["recorded_by_rule"]})
        ],
        "blocked_total": sum(counters["blocked_by_rule"].values()),
        "twilio_ready": provider is not None
        and bool(provider.twilio_sid)
        and provider.has_auth_token,
        "modes": DeliveryPolicy.Mode.choices,
        "nav": "limits",
    }


@require_http_methods(["GET", "POST"])
@staff_required
def limits_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "dashboard/limits.html", _context(_values(selectors.policy_get())))
    posted = {key: request.POST.get(key, "") for key in (*NUMBER_FIELDS, *COUNTRY_FIELDS, "mode")}
    posted["failover_to_twilio"] = request.POST.get("failover_to_twilio") == "on"
    try:
        policy_update(actor=_actor(request), **_changes(request.POST))
    except ApplicationError as exc:
        errors = error_slots(exc, LIMIT_SLOTS)
        return render(request, "dashboard/limits.html", _context(posted, errors))
    messages.success(request, "Saved the limits.")
    return redirect("dashboard:limits")
