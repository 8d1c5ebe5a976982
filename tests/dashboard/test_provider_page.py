"""The Phone Message Provider page through Django's test client: login, Save, secrets, tests."""

import pytest
from django.db import connection
from django.urls import reverse

from dashboard.starter import STARTER_HANDLER
from phoneprovider import selectors
from phoneprovider.models import (
    Action,
    ActionVersion,
    PhoneProvider,
)

PAGE = reverse("dashboard:provider")
TEST = reverse("dashboard:provider_test")
HTMX = {"HTTP_HX_REQUEST": "true"}

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "tw-token-7f3a9c1e5b"
BROKEN_HANDLER = """exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const to = event.notification.recipient;
  const body = ;
};
"""


def twilio_post(**overrides) -> dict:
    data = {
        "name": "twilio",
        "delivery_methods": ["text", "voice"],
        "sms_source": "from",
        "default_from": "+14155550123",
        "mssid": "",
        "sid": SID,
        "auth_token": TOKEN,
    }
    data.update(overrides)
    return data


def custom_post(code=STARTER_HANDLER, **overrides) -> dict:
    data = {
        "name": "custom",
        "delivery_methods": ["text"],
        "code": code,
        "new_secret_name": ["GATEWAY_URL", "GATEWAY_TOKEN"],
        "new_secret_value": ["https://gateway.example/sms", "gw-secret-value-1"],
    }
    data.update(overrides)
    return data


def save_custom(client, **overrides):
    response = client.post(PAGE, custom_post(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


# --- access -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard:login"))


@pytest.mark.django_db
def test_anonymous_htmx_request_reloads_to_login(client):
    response = client.post(TEST, {"to": "+14155550100"}, **HTMX)
    assert response["HX-Redirect"].startswith(reverse("dashboard:login"))


@pytest.mark.django_db
def test_non_staff_user_is_forbidden(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-123-abc"))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, twilio_post()).status_code == 403
    assert PhoneProvider.objects.count() == 0


@pytest.mark.django_db
def test_login_page_signs_staff_in_and_lands_on_the_provider_page(client, django_user_model):
    django_user_model.objects.create_user("ops", password="pw-staff-123", is_staff=True)
    page = client.get(reverse("dashboard:login"))
    assert page.status_code == 200
    assert b'<label for="id_username">' in page.content
    response = client.post(
        reverse("dashboard:login"), {"username": "ops", "password": "pw-staff-123"}
    )
    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert client.get(PAGE).status_code == 200


@pytest.mark.django_db
def test_logout_is_a_post(staff):
    response = staff.post(reverse("dashboard:logout"))
    assert response.status_code == 302
    assert staff.get(PAGE).status_code == 302


@pytest.mark.django_db
def test_page_has_navigation_and_starter_handler(staff):
    html = staff.get(PAGE).content.decode()
    assert "Phone Message Provider" in html
    for item in ("Templates", "Messages", "Logs", "Limits", 'href="/admin/"'):
        assert item in html
    assert "exports.onExecuteCustomPhoneProvider" in html
    assert 'name="code"' in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "cdn" not in html.lower()


# --- Twilio -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_twilio_save_stores_encrypted_token_and_never_renders_it(staff):
    response = staff.post(PAGE, twilio_post())
    assert response.status_code == 302

    provider = selectors.provider_get()
    assert provider.name == "twilio"
    assert provider.twilio_auth_token == TOKEN
    assert provider.delivery_methods == ["text", "voice"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT twilio_auth_token FROM phoneprovider_phoneprovider")
        (raw,) = cursor.fetchone()
    assert TOKEN not in raw

    html = staff.get(PAGE).content.decode()
    assert "Saved." in html
    assert TOKEN not in html
    assert "set — leave blank to keep" in html


@pytest.mark.django_db
def test_twilio_save_with_blank_token_keeps_the_stored_one(staff):
    staff.post(PAGE, twilio_post())
    staff.post(PAGE, twilio_post(auth_token="", default_from="+14155550199"))
    provider = selectors.provider_get()
    assert provider.twilio_default_from == "+14155550199"
    assert provider.twilio_auth_token == TOKEN


@pytest.mark.django_db
def test_switching_to_custom_and_back_keeps_the_twilio_settings(staff):
    staff.post(PAGE, twilio_post())
    save_custom(staff)
    html = staff.get(PAGE).content.decode()
    assert f'value="{SID}"' in html
    assert "set — leave blank to keep" in html
    assert TOKEN not in html

    assert staff.post(PAGE, twilio_post(auth_token="")).status_code == 302
    provider = selectors.provider_get()
    assert (provider.name, provider.twilio_auth_token) == ("twilio", TOKEN)


@pytest.mark.django_db
def test_twilio_messaging_service_source_clears_from(staff):
    mssid = "MG" + "a" * 32
    staff.post(PAGE, twilio_post(sms_source="mssid", mssid=mssid))
    provider = selectors.provider_get()
    assert provider.twilio_mssid == mssid
    assert provider.twilio_default_from == ""


@pytest.mark.django_db
def test_missing_twilio_sid_shows_inline_error_and_changes_nothing(staff):
    staff.post(PAGE, twilio_post())
    before = selectors.provider_get()

    response = staff.post(
        PAGE, twilio_post(sid="", default_from="+1555", auth_token="other-token-0000")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-sid" class="field-error has-error"' in html
    assert "The Twilio SID is required" in html
    assert 'value="+1555"' in html  # what was typed is shown again…
    assert "other-token-0000" not in html  # …but never the token

    after = selectors.provider_get()
    assert (after.twilio_sid, after.twilio_auth_token) == (before.twilio_sid, TOKEN)
    assert after.updated_at == before.updated_at


@pytest.mark.django_db
def test_a_sid_twilio_will_refuse_is_saved_with_a_warning_beside_it(staff):
    """Auth0 stores any SID; the page keeps it and says Twilio will refuse it."""
    staff.post(PAGE, twilio_post(sid="XX123"))
    assert selectors.provider_get().twilio_sid == "XX123"
    html = staff.get(PAGE).content.decode()
    assert 'id="warning-sid"' in html and "Twilio will refuse" in html
    assert 'id="warning-default_from"' not in html


@pytest.mark.django_db
def test_an_empty_twilio_form_shows_every_error_at_once_beside_its_field(staff):
    empty = twilio_post(delivery_methods=[], default_from="", sid="", auth_token="")
    html = staff.post(PAGE, empty).content.decode()
    for slot in ("delivery_methods", "sid", "default_from", "auth_token"):
        assert f'id="error-{slot}" class="field-error has-error"' in html, slot
    assert 'id="error-form" class="field-error has-error"' not in html
    assert PhoneProvider.objects.count() == 0


@pytest.mark.django_db
def test_a_refused_htmx_save_clears_the_old_saved_notice(staff):
    staff.post(PAGE, twilio_post())
    staff.get(PAGE)  # the "Saved" notice is shown once…
    response = staff.post(PAGE, twilio_post(sid="", default_from=""), **HTMX)
    html = response.content.decode()
    # …and a refused Save swaps the notice area empty beside both errors.
    assert '<div id="flash-list" hx-swap-oob="true"></div>' in html
    assert 'id="error-sid" class="field-error has-error"' in html
    assert 'id="error-default_from" class="field-error has-error"' in html


@pytest.mark.django_db
def test_htmx_save_error_swaps_only_the_error_slots(staff):
    response = staff.post(PAGE, twilio_post(delivery_methods=[]), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-delivery_methods" class="field-error has-error" hx-swap-oob="true"' in html
    assert 'id="error-sid" class="field-error" hx-swap-oob="true"' in html  # cleared
    assert "<form" not in html
    assert PhoneProvider.objects.count() == 0


@pytest.mark.django_db
def test_htmx_save_success_redirects_the_client(staff):
    response = staff.post(PAGE, twilio_post(), **HTMX)
    assert response["HX-Redirect"] == PAGE
    assert PhoneProvider.objects.get().name == "twilio"


# --- Custom -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_custom_save_with_syntax_error_shows_line_and_column_and_stores_nothing(staff):
    response = staff.post(PAGE, custom_post(code=BROKEN_HANDLER))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-code" class="field-error has-error"' in html
    assert 'data-line="3"' in html
    assert "Line 3, column" in html
    assert "const body = ;" in html  # the editor keeps the broken code to fix it
    assert "gw-secret-value-1" not in html
    assert Action.objects.count() == 0
    assert ActionVersion.objects.count() == 0
    assert PhoneProvider.objects.count() == 0


@pytest.mark.django_db
def test_custom_save_of_code_that_throws_at_load_shows_the_error_and_deploys_nothing(staff):
    save_custom(staff)
    throws = 'const ready = false;\nif (!ready) throw new Error("boom at load");\n'
    response = staff.post(
        PAGE,
        custom_post(code=throws + STARTER_HANDLER, new_secret_name=[""], new_secret_value=[""]),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-code" class="field-error has-error"' in html
    assert "The code throws while it loads: boom at load" in html
    assert 'data-line="2"' in html
    assert ActionVersion.objects.count() == 1
    assert selectors.custom_provider_action().code == STARTER_HANDLER


@pytest.mark.django_db
def test_custom_save_with_valid_code_deploys_version_1(staff):
    response = save_custom(staff)
    assert response["Location"] == PAGE

    provider = selectors.provider_get()
    assert provider.name == "custom"
    version = selectors.deployed_version(selectors.custom_provider_action())
    assert version.number == 1
    assert version.code == STARTER_HANDLER
    assert "deployed version 1" in staff.get(PAGE).content.decode()


@pytest.mark.django_db
def test_custom_save_again_deploys_a_new_version(staff):
    save_custom(staff)
    save_custom(
        staff,
        code=STARTER_HANDLER.replace("Gateway accepted", "Accepted"),
        new_secret_name=[""],
        new_secret_value=[""],
    )
    version = selectors.deployed_version(selectors.custom_provider_action())
    assert version.number == 2
    assert "Accepted the message" in version.code


@pytest.mark.django_db
def test_secrets_add_replace_and_delete(staff):
    save_custom(staff)
    action = selectors.custom_provider_action()
    assert {s.name: s.value for s in action.secrets.all()} == {
        "GATEWAY_URL": "https://gateway.example/sms",
        "GATEWAY_TOKEN": "gw-secret-value-1",
    }
    html = staff.get(PAGE).content.decode()
    assert "GATEWAY_TOKEN" in html
    assert "gw-secret-value-1" not in html
    assert "https://gateway.example/sms" not in html
    assert "updated" in html

    save_custom(
        staff,
        new_secret_name=["REGION"],
        new_secret_value=["eu"],
        secret_value__GATEWAY_TOKEN="gw-secret-value-2",
        secret_value__GATEWAY_URL="",  # left blank: unchanged
        delete_secret=[],
    )
    assert {s.name: s.value for s in action.secrets.all()} == {
        "GATEWAY_URL": "https://gateway.example/sms",
        "GATEWAY_TOKEN": "gw-secret-value-2",
        "REGION": "eu",
    }

    save_custom(staff, new_secret_name=[""], new_secret_value=[""], delete_secret=["REGION"])
    assert sorted(s.name for s in action.secrets.all()) == ["GATEWAY_TOKEN", "GATEWAY_URL"]
    version = selectors.deployed_version(action)
    assert version.number == 3
    assert "REGION" not in version.secrets_json


@pytest.mark.django_db
def test_secret_without_value_is_an_inline_error(staff):
    response = staff.post(PAGE, custom_post(new_secret_name=["TOKEN"], new_secret_value=[""]))
    assert response.status_code == 200
    assert 'id="error-secrets" class="field-error has-error"' in response.content.decode()
    assert Action.objects.count() == 0


@pytest.mark.django_db
def test_invalid_secret_name_is_an_inline_error(staff):
    response = staff.post(PAGE, custom_post(new_secret_name=["bad name"], new_secret_value=["x"]))
    html = response.content.decode()
    assert 'id="error-secrets" class="field-error has-error"' in html
    assert Action.objects.count() == 0


@pytest.mark.django_db
def test_reset_without_javascript_shows_the_starter_and_saves_nothing(staff):
    response = staff.post(PAGE, custom_post(code="// mine", reset_code="1"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "// mine" not in html
    assert "exports.onExecuteCustomPhoneProvider" in html
    assert Action.objects.count() == 0


# --- enable switch ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_disabling_asks_to_confirm_first(staff):
    save_custom(staff)
    url = reverse("dashboard:provider_enabled")
    response = staff.post(url, {"enabled": "off"})
    assert response.status_code == 200
    assert "Disable the phone provider?" in response.content.decode()
    assert selectors.provider_get().disabled is False

    staff.post(url, {"enabled": "off", "confirm": "yes"})
    assert selectors.provider_get().disabled is True
    html = staff.get(PAGE).content.decode()
    assert 'aria-checked="false"' in html
    assert "Enable the provider to send a test message." in html
    assert html.count("no SMS or voice messages are sent") == 1  # one banner, not two

    staff.post(url, {"enabled": "on"})
    assert selectors.provider_get().disabled is False


@pytest.mark.django_db
def test_saving_keeps_the_provider_disabled(staff):
    save_custom(staff)
    staff.post(reverse("dashboard:provider_enabled"), {"enabled": "off", "confirm": "yes"})
    save_custom(staff, new_secret_name=[""], new_secret_value=[""])
    assert selectors.provider_get().disabled is True


# --- draft vs deployed --------------------------------------------------------------------------

V2 = STARTER_HANDLER.replace("Gateway accepted", "Version two accepted")


def _revert_to_version_1(staff):
    """v1 (starter), v2 (changed), then a rollback: v3 is a copy of v1 and the draft stays v2."""
    save_custom(staff)
    save_custom(staff, code=V2, new_secret_name=[""], new_secret_value=[""])
    v1 = ActionVersion.objects.get(number=1)
    staff.post(reverse("dashboard:version_revert", args=[v1.public_id]))
    v3 = selectors.deployed_version(selectors.custom_provider_action())
    assert (v3.number, v3.code, v3.copied_from) == (3, STARTER_HANDLER, 1)
    return v3


@pytest.mark.django_db
def test_after_a_revert_the_page_says_the_draft_differs_with_diff_and_discard(staff):
    v3 = _revert_to_version_1(staff)
    html = staff.get(PAGE).content.decode()
    assert "The code below is a draft that differs from the deployed version 3." in html
    assert f'href="/editor/versions/{v3.public_id}/?compare=draft"' in html
    assert 'id="discard-draft"' in html
    versions = staff.get(reverse("dashboard:versions")).content.decode()
    assert "rollback: a copy of version 1" in versions


@pytest.mark.django_db
def test_save_of_a_differing_draft_needs_the_admin_to_confirm_it(staff):
    _revert_to_version_1(staff)
    post = custom_post(code=V2, new_secret_name=[""], new_secret_value=[""])
    post["draft_differs_from"] = "3"
    response = staff.post(PAGE, post)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-code" class="field-error has-error"' in html
    assert "differs from the deployed version 3" in html
    assert selectors.deployed_version(selectors.custom_provider_action()).number == 3

    save_custom(staff, **{**post, "confirm_draft": "3"})
    version = selectors.deployed_version(selectors.custom_provider_action())
    assert (version.number, version.code) == (4, V2)


@pytest.mark.django_db
def test_discard_draft_puts_the_deployed_code_back_in_the_editor(staff):
    _revert_to_version_1(staff)
    response = staff.post(reverse("dashboard:provider_draft_discard"))
    assert response.status_code == 302
    action = selectors.custom_provider_action()
    assert action.code == STARTER_HANDLER
    assert ActionVersion.objects.count() == 3  # nothing deployed
    html = staff.get(PAGE).content.decode()
    assert "Deployed: version 3. The code below is what runs." in html
    assert 'id="discard-draft"' not in html


@pytest.mark.django_db
def test_save_with_no_change_makes_no_new_version(staff):
    save_custom(staff)
    save_custom(staff, new_secret_name=[""], new_secret_value=[""])
    assert ActionVersion.objects.count() == 1
    assert "Nothing changed since version 1" in staff.get(PAGE).content.decode()
