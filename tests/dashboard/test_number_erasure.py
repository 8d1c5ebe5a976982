"""The Messages page's erasure form and its retention card, through the test client."""

from datetime import timedelta

import pytest
from django.urls import reverse

from phoneprovider.models import AuditEntry, PhoneMessage
from phoneprovider.services import retention
from tests.factories import MessageFactory, bulk_messages

LIST = reverse("dashboard:messages")
ERASE = reverse("dashboard:number_erase")

pytestmark = pytest.mark.django_db


def test_erasing_a_number_removes_its_messages_and_says_what_went(staff):
    erased = [MessageFactory(), MessageFactory(recipient="+14155550100")]
    kept = MessageFactory(recipient="+447700900123")

    response = staff.post(ERASE, {"number": "+1 415 555 0100"}, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    html = response.content.decode()
    assert "Erased +1415555••00: 2 messages" in html
    assert "+14155550100" not in html
    assert not PhoneMessage.objects.filter(pk__in=[m.pk for m in erased]).exists()
    assert PhoneMessage.objects.filter(pk=kept.pk).exists()
    assert AuditEntry.objects.get(verb="erase").actor == "ops"


def test_a_bad_number_erases_nothing_and_says_why(staff):
    message = MessageFactory()
    html = staff.post(ERASE, {"number": "4155550100"}, follow=True).content.decode()
    assert "Nothing was erased: Phone numbers must be in E.164 format" in html
    assert PhoneMessage.objects.filter(pk=message.pk).exists()
    assert not AuditEntry.objects.filter(verb="erase").exists()


def test_erasure_is_staff_only_and_post_only(client, django_user_model, staff):
    message = MessageFactory()
    assert staff.get(ERASE).status_code == 405
    client.logout()
    client.force_login(django_user_model.objects.create_user("r", password="pw-1-abcdef"))
    assert client.post(ERASE, {"number": "+14155550100"}).status_code == 403
    assert PhoneMessage.objects.filter(pk=message.pk).exists()


def test_the_page_offers_erasure_behind_a_confirmation(staff):
    html = staff.get(LIST).content.decode()
    assert f'action="{ERASE}"' in html and 'data-confirm-dialog="erase-dialog"' in html
    assert 'id="erase-dialog"' in html


def test_the_page_shows_the_last_purge_run(staff, settings):
    settings.MESSAGE_RETENTION_DAYS = 30
    html = staff.get(LIST).content.decode()
    assert "Messages are kept 30 days" in html and "No purge has run yet." in html

    bulk_messages(12, age=timedelta(days=40), executions=True)
    run = retention.retention_purge(batch_size=5, trigger="command")

    html = staff.get(LIST).content.decode()
    assert "No purge has run yet." not in html
    assert "12 messages, 12 attempts, 12 executions, 0 audit entries" in html
    assert "3 batches" in html and "complete" in html and "(command)" in html
    assert run.started_at.strftime("%Y-%m-%d %H:%M:%S") in html


def test_retention_off_says_messages_are_kept_forever(staff, settings):
    settings.MESSAGE_RETENTION_DAYS = 0
    assert "Messages are kept forever" in staff.get(LIST).content.decode()
