"""Every change through the API leaves an audit entry (who: the token's name; what; when; secrets
masked) that Django admin shows; tokens are listed and revoked in Django admin."""

import pytest
from django.utils import timezone

from phoneprovider.models import ApiToken, AuditEntry
from tests.api.conftest import HANDLER, TRIGGER, Api, assert_error, twilio_provider_body

pytestmark = pytest.mark.django_db

TWILIO_TOKEN = "tw-auth-token-VALUE"
SECRET = "action-secret-VALUE"


def _entries_since(pk: int):
    return list(AuditEntry.objects.filter(pk__gt=pk).order_by("pk"))


def _last_pk() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_every_api_change_leaves_an_audit_entry_with_secrets_masked(api):
    """Walk every endpoint that changes configuration; each leaves exactly the entries named."""
    steps = []

    def step(call, *expected):
        before = _last_pk()
        started = timezone.now()
        response = call()
        assert response.status_code < 300, response.content
        entries = _entries_since(before)
        assert [(e.verb, e.object_type) for e in entries] == list(expected)
        for entry in entries:
            assert entry.actor == "ci-robot"
            assert started <= entry.created_at <= timezone.now()
            assert TWILIO_TOKEN not in str(entry.changes) and SECRET not in str(entry.changes)
        steps.append(entries)
        return response.json() if response.content else None

    action = step(
        lambda: api.post(
            "/actions/actions",
            {
                "name": "gateway",
                "supported_triggers": TRIGGER,
                "code": HANDLER,
                "secrets": [{"name": "KEY", "value": SECRET}],
            },
        ),
        ("create", "action"),
    )
    path = f"/actions/actions/{action['id']}"
    step(
        lambda: api.patch(path, {"secrets": [{"name": "KEY", "value": SECRET + "2"}]}),
        ("update", "action"),
    )
    assert steps[-1][0].changes["secrets"] == {"KEY": "[redacted]"}
    first = step(lambda: api.post(f"{path}/deploy"), ("deploy", "action"))
    step(lambda: api.post(f"{path}/deploy"), ("deploy", "action"))
    step(
        lambda: api.post(f"{path}/versions/{first['id']}/deploy"),
        ("rollback", "action"),
    )
    step(
        lambda: api.post(f"{path}/versions/{first['id']}/deploy", {"update_draft": True}),
        ("rollback", "action"),
        ("update", "action"),
    )
    provider = step(
        lambda: api.post(
            "/branding/phone/providers",
            twilio_provider_body(TWILIO_TOKEN),
        ),
        ("create", "phone_provider"),
    )
    assert steps[-1][0].changes["credentials"] == {"auth_token": "[redacted]"}
    provider_path = f"/branding/phone/providers/{provider['id']}"
    step(
        lambda: api.patch(provider_path, {"credentials": {"auth_token": TWILIO_TOKEN + "2"}}),
        ("update", "phone_provider"),
    )
    step(
        lambda: api.patch(
            provider_path, {"name": "custom", "configuration": {"delivery_methods": ["text"]}}
        ),
        ("update", "phone_provider"),
    )
    template = step(
        lambda: api.post("/branding/phone/templates", {"type": "otp_verify"}),
        ("create", "phone_template"),
    )
    template_path = f"/branding/phone/templates/{template['id']}"
    step(lambda: api.patch(template_path, {"disabled": True}), ("update", "phone_template"))
    step(lambda: api.patch(f"{template_path}/reset", {}), ("reset", "phone_template"))
    step(lambda: api.delete(template_path), ("delete", "phone_template"))
    step(lambda: api.delete(path, query={"force": "true"}), ("delete", "action"))
    step(lambda: api.delete(provider_path), ("delete", "phone_provider"))


def test_reads_and_refused_changes_leave_no_audit_entry(api, api_as):
    reader = api_as("read:actions")
    before = _last_pk()
    api.get("/actions/actions")
    api.get("/branding/phone/providers")
    assert_error(api.post("/actions/actions", {"name": "x"}), 400)
    assert_error(reader.post("/actions/actions", {"name": "x"}), 403)
    assert _entries_since(before) == []


def test_audit_entries_are_visible_read_only_in_django_admin(api, admin_client):
    api.post(
        "/actions/actions",
        {
            "name": "gateway",
            "supported_triggers": TRIGGER,
            "code": HANDLER,
            "secrets": [{"name": "KEY", "value": SECRET}],
        },
    )
    entry = AuditEntry.objects.get(object_type="action")
    listing = admin_client.get("/admin/phoneprovider/auditentry/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "ci-robot" in html and entry.object_id in html
    detail = admin_client.get(f"/admin/phoneprovider/auditentry/{entry.pk}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "[redacted]" in html and SECRET not in html
    # Read-only: the admin cannot rewrite history.
    assert (
        admin_client.post(f"/admin/phoneprovider/auditentry/{entry.pk}/delete/").status_code == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_tokens_are_listed_in_django_admin_without_their_secret(make_token, admin_client):
    raw = make_token("read:actions", name="deploy-bot")
    stored = ApiToken.objects.get()
    html = admin_client.get("/admin/phoneprovider/apitoken/").content.decode()
    assert "deploy-bot" in html and stored.prefix in html
    assert raw not in html and stored.token_hash not in html
    detail = admin_client.get(f"/admin/phoneprovider/apitoken/{stored.pk}/change/")
    assert detail.status_code == 200
    assert raw not in detail.content.decode()
    assert stored.token_hash not in detail.content.decode()


def test_revoking_in_django_admin_refuses_the_token_and_is_audited(make_token, admin_client):
    raw = make_token("read:actions", name="deploy-bot")
    stored = ApiToken.objects.get()
    assert Api(raw).get("/actions/actions").status_code == 200
    response = admin_client.post(
        "/admin/phoneprovider/apitoken/",
        {"action": "revoke", "_selected_action": [stored.pk]},
    )
    assert response.status_code == 302
    stored.refresh_from_db()
    assert stored.revoked_at is not None
    assert_error(Api(raw).get("/actions/actions"), 401, message="Invalid token")
    entry = AuditEntry.objects.get(verb="revoke")
    assert entry.actor == "admin:admin" and entry.object_id == str(stored.pk)
