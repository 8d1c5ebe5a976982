"""Django admin is the audit view: every registered model's list and change page opens, and
nothing there can add, change or delete history."""

import pytest
from django.contrib import admin

from phoneprovider.models import (
    Action,
    ActionSecret,
    ActionVersion,
    ApiToken,
    AuditEntry,
    DeliveryAttempt,
    Execution,
    PhoneMessage,
    PhoneTemplate,
    PurgeRun,
    Route,
    RouteConnection,
)
from tests.factories import ConnectionFactory, MessageFactory, TwilioProviderFactory

pytestmark = pytest.mark.django_db

# Rows the admin shows as history: no add, change or delete for anyone.
HISTORY = (PhoneMessage, DeliveryAttempt, Execution, AuditEntry, ActionVersion, PurgeRun)


def one_row_of_everything() -> None:
    TwilioProviderFactory()
    action = Action.objects.create(
        name="gateway", trigger_id=Action.Trigger.CUSTOM_PHONE_PROVIDER, code="// draft"
    )
    ActionSecret.objects.create(action=action, name="GATEWAY_TOKEN", value="s3cret-value-1")
    version = ActionVersion.objects.create(
        action=action, number=1, code="// v1", runtime="node22", deployed=True
    )
    PhoneTemplate.objects.create(type="otp_verify", text_body="{{ code }}", voice_body="{{ code }}")
    message = MessageFactory(status="delivered", provider_name="custom", attempt_count=1)
    execution = Execution.objects.create(
        action=action, version=version, kind=Execution.Kind.DELIVERY, status="delivered"
    )
    DeliveryAttempt.objects.create(
        message=message, number=1, provider_name="custom", outcome="sent", execution=execution
    )
    ApiToken.objects.create(name="ci", prefix="pp_abc", token_hash="0" * 64, scopes=["all"])
    AuditEntry.objects.create(actor="ops", verb="deploy", object_type="action", object_id="1")
    PurgeRun.objects.create(trigger="command", complete=True)
    connection = ConnectionFactory(name="uk", twilio_auth_token="uk-token-value-9")
    route = Route.objects.create(name="UK", countries=["GB"])
    RouteConnection.objects.create(route=route, connection=connection, position=0)


def registered_models():
    return [model for model in admin.site._registry if model._meta.app_label == "phoneprovider"]


def test_every_registered_model_opens_its_list_and_change_page(admin_client):
    one_row_of_everything()
    models = registered_models()
    assert PhoneMessage in models and Action in models
    for model in models:
        base = f"/admin/phoneprovider/{model._meta.model_name}/"
        row = model.objects.first()
        assert row is not None, f"no {model.__name__} row: add one to one_row_of_everything"
        listing = admin_client.get(base)
        assert listing.status_code == 200, (model, listing.status_code)
        detail = admin_client.get(f"{base}{row.pk}/change/")
        assert detail.status_code == 200, (model, detail.status_code)


def test_history_cannot_be_added_changed_or_deleted_in_admin(admin_client):
    one_row_of_everything()
    for model in HISTORY:
        base = f"/admin/phoneprovider/{model._meta.model_name}/"
        row = model.objects.first()
        before = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}
        detail = admin_client.get(f"{base}{row.pk}/change/").content.decode()
        assert 'name="_save"' not in detail, model
        assert admin_client.get(f"{base}add/").status_code == 403, model
        assert admin_client.post(f"{base}{row.pk}/change/", {}).status_code == 403, model
        assert admin_client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
        # No bulk action (not even "delete selected") is offered on the list.
        assert 'name="action"' not in admin_client.get(base).content.decode(), model
        row.refresh_from_db()
        after = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}
        assert after == before, model


def test_message_change_page_shows_its_attempts_read_only(admin_client):
    one_row_of_everything()
    message = PhoneMessage.objects.get()
    html = admin_client.get(f"/admin/phoneprovider/phonemessage/{message.pk}/change/")
    html = html.content.decode()
    assert "Permanent failure" not in html and "Sent" in html
    assert 'name="attempts-0-outcome"' not in html


def test_action_change_page_lists_secret_names_never_values(admin_client):
    one_row_of_everything()
    action = Action.objects.get()
    html = admin_client.get(f"/admin/phoneprovider/action/{action.pk}/change/").content.decode()
    assert "GATEWAY_TOKEN" in html and "s3cret-value-1" not in html


def test_connection_page_shows_whether_a_token_is_set_never_the_token(admin_client):
    one_row_of_everything()
    connection = ConnectionFactory._meta.model.objects.get()
    html = admin_client.get(f"/admin/phoneprovider/connection/{connection.pk}/change/")
    html = html.content.decode()
    assert "Auth token set" in html and "uk-token-value-9" not in html
    route = admin_client.get(f"/admin/phoneprovider/route/{Route.objects.get().pk}/change/")
    assert "uk" in route.content.decode()
