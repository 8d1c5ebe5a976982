"""Routes of /api/v2, spelled as Auth0 spells them (no trailing slashes)."""

from django.urls import path, re_path

from phoneprovider.api.errors import not_found_view
from phoneprovider.api.views import actions, branding, config, messages, routing

app_name = "api"

urlpatterns = [
    path("branding/phone/providers", branding.ProvidersView.as_view(), name="providers"),
    path("branding/phone/providers/<str:id>", branding.ProviderView.as_view(), name="provider"),
    path(
        "branding/phone/providers/<str:id>/try",
        branding.ProviderTryView.as_view(),
        name="provider-try",
    ),
    path("branding/phone/templates", branding.TemplatesView.as_view(), name="templates"),
    path("branding/phone/templates/<str:id>", branding.TemplateView.as_view(), name="template"),
    path(
        "branding/phone/templates/<str:id>/reset",
        branding.TemplateResetView.as_view(),
        name="template-reset",
    ),
    path(
        "branding/phone/templates/<str:id>/try",
        branding.TemplateTryView.as_view(),
        name="template-try",
    ),
    path("actions/actions", actions.ActionsView.as_view(), name="actions"),
    path("actions/actions/<str:id>", actions.ActionView.as_view(), name="action"),
    path(
        "actions/actions/<str:id>/deploy", actions.ActionDeployView.as_view(), name="action-deploy"
    ),
    path("actions/actions/<str:id>/test", actions.ActionTestView.as_view(), name="action-test"),
    path(
        "actions/actions/<str:actionId>/versions",
        actions.ActionVersionsView.as_view(),
        name="action-versions",
    ),
    path(
        "actions/actions/<str:actionId>/versions/<str:id>",
        actions.ActionVersionView.as_view(),
        name="action-version",
    ),
    path(
        "actions/actions/<str:actionId>/versions/<str:id>/deploy",
        actions.ActionVersionDeployView.as_view(),
        name="action-version-deploy",
    ),
    path("actions/triggers", actions.TriggersView.as_view(), name="triggers"),
    path(
        "actions/triggers/<str:triggerId>/bindings", actions.BindingsView.as_view(), name="bindings"
    ),
    path("actions/executions/<str:id>", actions.ExecutionView.as_view(), name="execution"),
    path("phone/config", config.PhoneConfigView.as_view(), name="phone-config"),
    path("phone/messages", messages.MessagesView.as_view(), name="messages"),
    path("phone/messages/batch", messages.MessageBatchView.as_view(), name="messages-batch"),
    path("phone/messages/<str:id>", messages.MessageView.as_view(), name="message"),
    path(
        "phone/numbers/<str:e164>/messages",
        messages.NumberMessagesView.as_view(),
        name="number-messages",
    ),
    path("phone/connections", routing.ConnectionsView.as_view(), name="connections"),
    path("phone/connections/<str:id>", routing.ConnectionView.as_view(), name="connection"),
    path(
        "phone/connections/<str:id>/try",
        routing.ConnectionTryView.as_view(),
        name="connection-try",
    ),
    path("phone/routes", routing.RoutesView.as_view(), name="routes"),
    # Before phone/routes/<id>: these two names are not route ids.
    path("phone/routes/order", routing.RoutesOrderView.as_view(), name="routes-order"),
    path("phone/routes/resolve", routing.RouteResolveView.as_view(), name="routes-resolve"),
    path("phone/routes/<str:id>", routing.RouteView.as_view(), name="route"),
    # Last: anything else under /api/v2 is Auth0's JSON 404, never Django's HTML page.
    re_path(r"^.*$", not_found_view),
]
