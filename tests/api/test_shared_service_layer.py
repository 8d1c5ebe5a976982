"""The dashboard and the API share one service layer: a change through one shows in the other."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from phoneprovider.models import AuditEntry
from tests.api.conftest import HANDLER, twilio_provider_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(
        get_user_model().objects.create_user("ops", password="pw-unused", is_staff=True)
    )
    return client


def test_a_template_saved_through_the_api_shows_in_the_dashboard(api, staff):
    api.post(
        "/branding/phone/templates",
        {"type": "otp_verify", "content": {"body": {"text": "From the API: {{ code }}"}}},
    )
    page = staff.get("/templates/otp_verify/")
    assert page.status_code == 200
    assert "From the API: {{ code }}" in page.content.decode()


def test_a_template_saved_in_the_dashboard_shows_in_the_api(api, staff):
    response = staff.post(
        "/templates/otp_enroll/",
        {
            "enabled": "on",
            "from_number": "",
            "text_body": "From the dashboard: {{ code }}",
            "voice_body": "Your code is {{ code }}",
        },
    )
    assert response.status_code == 302, response.content
    listed = {t["type"]: t for t in api.get("/branding/phone/templates").json()["templates"]}
    enroll = listed["otp_enroll"]
    assert enroll["id"].startswith("tem_")
    assert enroll["content"]["body"]["text"] == "From the dashboard: {{ code }}"
    assert AuditEntry.objects.get(object_type="phone_template").actor == "ops"


def test_the_dashboard_switch_disables_the_provider_the_api_created(api, staff):
    provider = api.post(
        "/branding/phone/providers",
        twilio_provider_body(),
    ).json()
    response = staff.post("/provider/enabled/", {"confirm": "yes"})
    assert response.status_code == 302
    assert api.get(f"/branding/phone/providers/{provider['id']}").json()["disabled"] is True


def test_the_editor_status_follows_api_deploys(api, staff):
    action = api.post(
        "/actions/actions",
        {
            "name": "gateway",
            "supported_triggers": [{"id": "custom-phone-provider", "version": "v1"}],
            "code": HANDLER,
            "deploy": True,
        },
    ).json()
    assert action["all_changes_deployed"] is True
    assert "Up to date" in staff.get("/editor/").content.decode()
    api.patch(f"/actions/actions/{action['id']}", {"code": HANDLER + "// edited\n"})
    html = staff.get("/editor/").content.decode()
    assert "Draft saved, not deployed" in html and "// edited" in html
    assert api.get(f"/actions/actions/{action['id']}").json()["all_changes_deployed"] is False
