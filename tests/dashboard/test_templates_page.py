"""The Phone Templates page through the test client: save, Liquid errors with the line, preview,
reset, try."""

from html import unescape

import pytest
from django.urls import reverse

from phoneprovider import selectors
from phoneprovider.models import PhoneMessage, PhoneTemplate
from phoneprovider.providers.templates import DEFAULT_BODIES
from tests.factories import TwilioProviderFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
PAGE = reverse("dashboard:template", args=["otp_verify"])


def post(client, **overrides):
    data = {
        "enabled": "on",
        "from_number": "",
        "text_body": "Code {{ code }} for {{ friendly_name }}",
        "voice_body": "Your code is {{ code }}",
    }
    data.update(overrides)
    return client.post(PAGE, data)


@pytest.mark.django_db
def test_templates_are_staff_only(client, django_user_model):
    assert client.get(PAGE).status_code == 302
    client.force_login(django_user_model.objects.create_user("r", password="pw-1-abcdef"))
    assert client.get(PAGE).status_code == 403
    assert post(client).status_code == 403
    assert PhoneTemplate.objects.count() == 0


@pytest.mark.django_db
def test_index_goes_to_otp_verify_and_unknown_types_are_404(staff):
    assert staff.get(reverse("dashboard:templates"))["Location"] == PAGE
    assert staff.get(reverse("dashboard:template", args=["nope"])).status_code == 404


@pytest.mark.django_db
def test_page_shows_defaults_and_a_rendered_preview(staff):
    html = unescape(staff.get(PAGE).content.decode())
    assert DEFAULT_BODIES["otp_verify"]["text"] in html
    assert "using the default text" in html
    assert "123456 is your My Company verification code" in html  # the preview
    for label in ("OTP verify", "OTP enroll", "Change password", "Blocked account"):
        assert label in html


@pytest.mark.django_db
def test_save_creates_then_updates_the_template(staff):
    assert post(staff).status_code == 302
    template = selectors.template_for_type("otp_verify")
    assert (template.text_body, template.voice_body, template.disabled) == (
        "Code {{ code }} for {{ friendly_name }}",
        "Your code is {{ code }}",
        False,
    )
    assert post(staff, enabled="", from_number="+14155550123").status_code == 302
    template.refresh_from_db()
    assert template.disabled is True
    assert template.from_number == "+14155550123"
    assert PhoneTemplate.objects.count() == 1


@pytest.mark.django_db
def test_invalid_liquid_is_shown_inline_with_its_line_and_nothing_is_saved(staff):
    response = post(staff, voice_body="Hello\n{{ code never closed")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-voice" class="field-error has-error"' in html
    assert "not valid Liquid" in html
    assert 'data-line="2"' in html
    assert "never closed" in html  # what was typed stays
    assert PhoneTemplate.objects.count() == 0


@pytest.mark.django_db
def test_a_liquid_error_near_the_end_of_a_line_names_its_real_line_and_column(staff):
    body = "Your code is {{ code }}.\nFrom {{ friendly_name | upcase | }}"
    html = post(staff, text_body=body).content.decode()
    assert 'data-line="2" data-column="33"' in html
    assert "Line 2, column 33:" in html
    assert "Line 1, column 1" not in html

    url = reverse("dashboard:template_preview", args=["otp_verify"])
    preview = staff.post(url, {"text_body": body, "voice_body": "Hi"}).content.decode()
    assert "Text body, line 2, column 33:" in preview


@pytest.mark.django_db
def test_invalid_sender_is_inline(staff):
    response = post(staff, from_number="not a number!")
    assert 'id="error-from" class="field-error has-error"' in response.content.decode()


@pytest.mark.django_db
def test_preview_renders_what_is_typed_and_reports_errors(staff):
    url = reverse("dashboard:template_preview", args=["otp_verify"])
    response = staff.post(
        url, {"text_body": "Hi {{ user.name }}: {{ code }}", "voice_body": "a{{ pause }}b"}, **HTMX
    )
    html = unescape(response.content.decode())
    assert "Hi Jane Doe: 123456" in html
    assert "a . . . b" in html
    response = staff.post(url, {"text_body": "{{ code", "voice_body": "x"}, **HTMX)
    assert "Text body" in response.content.decode()
    assert PhoneTemplate.objects.count() == 0


@pytest.mark.django_db
def test_reset_brings_back_the_default_bodies_and_keeps_from(staff):
    post(staff, from_number="+14155550123")
    response = staff.post(reverse("dashboard:template_reset", args=["otp_verify"]))
    assert response.status_code == 302
    template = selectors.template_for_type("otp_verify")
    assert template.text_body == DEFAULT_BODIES["otp_verify"]["text"]
    assert template.from_number == "+14155550123"


@pytest.mark.django_db
def test_after_reset_to_default_the_list_says_default(staff):
    post(staff)  # customised bodies, no From
    page = reverse("dashboard:template", args=["otp_verify"])
    assert '<span class="pill pill-pending">Custom</span>' in staff.get(page).content.decode()
    staff.post(reverse("dashboard:template_reset", args=["otp_verify"]))
    html = staff.get(page).content.decode()
    assert '<span class="pill pill-pending">Custom</span>' not in html
    assert "using the default text" in html


@pytest.mark.django_db
def test_try_needs_a_provider(staff):
    url = reverse("dashboard:template_try", args=["change_password"])
    assert staff.get(url)["Location"].endswith(
        reverse("dashboard:template", args=["change_password"])
    )


@pytest.mark.django_db
def test_try_queues_a_test_message_of_that_type(staff, django_capture_on_commit_callbacks):
    TwilioProviderFactory()
    url = reverse("dashboard:template_try", args=["change_password"])
    assert (
        "Try" in staff.get(reverse("dashboard:template", args=["change_password"])).content.decode()
    )
    form = staff.get(url, **HTMX).content.decode()
    assert f'hx-post="{url}"' in form
    with django_capture_on_commit_callbacks():
        response = staff.post(url, {"to": "+14155550100", "delivery_method": "voice"}, **HTMX)
    message = PhoneMessage.objects.get()
    assert (message.message_type, message.delivery_method, message.is_test) == (
        "change_password",
        "voice",
        True,
    )
    assert message.public_id in response.content.decode()
    bad = staff.post(url, {"to": "12", "delivery_method": "text"}, **HTMX)
    assert "E.164" in bad.content.decode()
