"""Routes of /api/v2, spelled as Auth0 spells them (no trailing slashes)."""

from django.urls import path, re_path

from phoneprovider.api import views
from phoneprovider.api.errors import not_found_view

app_name = "api"

urlpatterns = [
    path("branding/phone/providers", views.ProvidersView.as_view(), name="providers"),
    path("branding/phone/providers/<str:id>", views.ProviderView.as_view(), name="provider"),
    path(
        "branding/phone/providers/<str:id>/try",
        views.ProviderTryView.as_view(),
        name="provider-try",
    ),
    path("branding/phone/templates", views.TemplatesView.as_view(), name="templates"),
    path("branding/phone/templates/<str:id>", views.TemplateView.as_view(), name="template"),
    path(
        "branding/phone/templates/<str:id>/reset",
        views.TemplateResetView.as_view(),
        name="template-reset",
    ),
    path(
        "branding/phone/templates/<str:id>/try",
        views.TemplateTryView.as_view(),
        name="template-try",
    ),
    path("actions/actions", views.ActionsView.as_view(), name="actions"),
    path("actions/actions/<str:id>", views.ActionView.as_view(), name="action"),
    path("actions/actions/<str:id>/deploy", views.ActionDeployView.as_view(), name="action-deploy"),
    path("actions/actions/<str:id>/test", views.ActionTestView.as_view(), name="action-test"),
    path(
        "actions/actions/<str:actionId>/versions",
        views.ActionVersionsView.as_view(),
        name="action-versions",
    ),
    path(
        "actions/actions/<str:actionId>/versions/<str:id>",
        views.ActionVersionView.as_view(),
        name="action-version",
    ),
    path(
        "actions/actions/<str:actionId>/versions/<str:id>/deploy",
        views.ActionVersionDeployView.as_view(),
        name="action-version-deploy",
    ),
    path("actions/triggers", views.TriggersView.as_view(), name="triggers"),
    path(
        "actions/triggers/<str:triggerId>/bindings", views.BindingsView.as_view(), name="bindings"
    ),
    path("actions/executions/<str:id>", views.ExecutionView.as_view(), name="execution"),
    path("phone/config", views.PhoneConfigView.as_view(), name="phone-config"),
    path("phone/messages", views.MessagesView.as_view(), name="messages"),
    path("phone/messages/batch", views.MessageBatchView.as_view(), name="messages-batch"),
    path("phone/messages/<str:id>", views.MessageView.as_view(), name="message"),
    path(
        "phone/numbers/<str:e164>/messages",
        views.NumberMessagesView.as_view(),
        name="number-messages",
    ),
    # Last: anything else under /api/v2 is Auth0's JSON 404, never Django's HTML page.
    re_path(r"^.*$", not_found_view),
]
