"""Liquid rendering is bounded (loops, output, value sizes, nesting, time): a body that would do
unbounded work is refused on save, refused at send, and never hangs the template page."""

import pytest
from django.urls import reverse

from phoneprovider.errors import ValidationError
from phoneprovider.models import PhoneMessage, PhoneTemplate
from phoneprovider.providers.templates import TemplateRenderError, render
from phoneprovider.services.messages import message_queue
from phoneprovider.services.templates import template_create, template_update
from tests.api.conftest import assert_error
from tests.factories import TwilioProviderFactory

pytestmark = pytest.mark.django_db

# The case (10^16 iterations), and two that blow up without any loop.
NESTED_LOOPS = "{% for i in (1..100000000) %}{% for j in (1..100000000) %}x{% endfor %}{% endfor %}"
SQUARED = '{% assign s = "xxxxxxxxxx" %}' + "{{ s" + ' | split: "" | join: s' * 4 + " | size }}"
DOUBLED = (
    '{% assign s = "xxxxxxxxxx" %}{% for i in (1..60) %}{% assign s = s | append: s %}'
    "{% endfor %}{{ s.size }}"
)
# Small enough to finish (slowly) without bounds, so the tests fail rather than hang before.
MODEST = "{% for i in (1..300) %}{% for j in (1..300) %}x{% endfor %}{% endfor %}"


@pytest.mark.parametrize("body", [NESTED_LOOPS, SQUARED, DOUBLED, MODEST])
def test_rendering_stops_at_the_bounds(body):
    with pytest.raises(TemplateRenderError) as caught:
        render(body, "ok", {"code": "1"})
    assert caught.value.field == "text"
    assert "too much work" in caught.value.message


def test_ordinary_bodies_render_as_before():
    rendered = render(
        "{{ code | split: '' | join: ', ' }}", "{{ code }}{{ pause }}", {"code": "12"}
    )
    assert (rendered.as_text, rendered.as_voice) == ("1, 2", "12 . . .")


def test_a_body_that_does_unbounded_work_is_refused_on_save():
    with pytest.raises(ValidationError) as caught:
        template_create(actor="ann", type="blocked_account", text_body=MODEST)
    assert caught.value.field == "text"
    template = template_create(actor="ann", type="blocked_account")
    with pytest.raises(ValidationError) as caught:
        template_update(template, actor="ann", voice_body=NESTED_LOOPS)
    assert caught.value.field == "voice"
    template.refresh_from_db()
    assert "100000000" not in template.voice_body


def test_a_stored_unbounded_body_is_refused_at_send_and_the_page_still_opens(
    client, django_user_model
):
    TwilioProviderFactory()
    # Stored before the bounds existed (or written behind the service's back).
    PhoneTemplate.objects.create(type="blocked_account", text_body=NESTED_LOOPS, voice_body="Hello")
    with pytest.raises(ValidationError) as caught:
        message_queue(to="+14155550150", message_type="blocked_account", code="1")
    assert "too much work" in str(caught.value)
    assert not PhoneMessage.objects.exists()

    user = django_user_model.objects.create_user("ops", password="pw-staff-123", is_staff=True)
    client.force_login(user)
    response = client.get(reverse("dashboard:template", args=["blocked_account"]))
    assert response.status_code == 200
    assert "too much work" in response.content.decode()


def test_the_api_answers_400_for_an_unbounded_body(api):
    body = {"type": "blocked_account", "content": {"body": {"text": NESTED_LOOPS}}}
    assert_error(api.post("/branding/phone/templates", body), 400, contains="too much work")
    assert not PhoneTemplate.objects.exists()
