from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from dashboard import (
    editor_views,
    limit_views,
    log_views,
    message_views,
    routing_views,
    template_views,
    views,
)


class FaviconRedirect(RedirectView):
    permanent = True

    def get_redirect_url(self, *args, **kwargs):
        # Resolved per request, not at import: with DEBUG off, static() reads collectstatic's
        # manifest, and commands such as `migrate` must not depend on it.
        return static("dashboard/favicon.svg")


app_name = "dashboard"
urlpatterns = [
    path("", views.provider_page, name="provider"),
    path("provider/enabled/", views.provider_enabled, name="provider_enabled"),
    path("provider/discard-draft/", views.provider_draft_discard, name="provider_draft_discard"),
    path("provider/test/", views.provider_test, name="provider_test"),
    path(
        "provider/test/<str:public_id>/",
        views.provider_test_status,
        name="provider_test_status",
    ),
    # The expanded Actions editor and its version history.
    path("editor/", editor_views.editor_page, name="editor"),
    path("editor/sample/", editor_views.editor_sample, name="editor_sample"),
    path("editor/test/", editor_views.editor_test, name="editor_test"),
    path(
        "editor/test/<str:public_id>/", editor_views.editor_test_status, name="editor_test_status"
    ),
    path("editor/versions/", editor_views.versions_page, name="versions"),
    path("editor/versions/<str:public_id>/", editor_views.version_page, name="version"),
    path(
        "editor/versions/<str:public_id>/revert/",
        editor_views.version_revert,
        name="version_revert",
    ),
    # Phone templates.
    path("templates/", template_views.templates_index, name="templates"),
    path("templates/<str:message_type>/", template_views.template_page, name="template"),
    path(
        "templates/<str:message_type>/preview/",
        template_views.template_preview,
        name="template_preview",
    ),
    path(
        "templates/<str:message_type>/reset/",
        template_views.template_reset_view,
        name="template_reset",
    ),
    path("templates/<str:message_type>/try/", template_views.template_try, name="template_try"),
    # The message log.
    path("messages/", message_views.messages_page, name="messages"),
    path("messages/erase/", message_views.number_erase_view, name="number_erase"),
    path("messages/<str:public_id>/", message_views.message_page, name="message"),
    path(
        "messages/<str:public_id>/resend/", message_views.message_resend_view, name="message_resend"
    ),
    # Live logs of executions.
    path("logs/", log_views.logs_page, name="logs"),
    path("logs/rows/", log_views.logs_rows, name="logs_rows"),
    path("logs/rows/<str:public_id>/", log_views.logs_row, name="logs_row"),
    path("logs/download/", log_views.logs_download, name="logs_download"),
    path("logs/clear/", log_views.logs_clear, name="logs_clear"),
    # Abuse limits and failover.
    path("limits/", limit_views.limits_page, name="limits"),
    # Routing: rules, connections (each with a Test), Which route?
    path("routing/", routing_views.routing_page, name="routing"),
    path("routing/which/", routing_views.routing_which, name="routing_which"),
    path("routing/rules/", routing_views.rule_create, name="routing_rule_create"),
    path("routing/rules/<str:public_id>/", routing_views.rule_edit, name="routing_rule"),
    path(
        "routing/rules/<str:public_id>/delete/",
        routing_views.rule_delete,
        name="routing_rule_delete",
    ),
    path(
        "routing/rules/<str:public_id>/enabled/",
        routing_views.rule_enabled,
        name="routing_rule_enabled",
    ),
    path("routing/rules/<str:public_id>/move/", routing_views.rule_move, name="routing_rule_move"),
    path("routing/connections/", routing_views.connection_add, name="connection_create"),
    path("routing/connections/<str:public_id>/", routing_views.connection_edit, name="connection"),
    path(
        "routing/connections/<str:public_id>/delete/",
        routing_views.connection_remove,
        name="connection_delete",
    ),
    path(
        "routing/connections/<str:public_id>/test/",
        routing_views.connection_test,
        name="connection_test",
    ),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Browsers ask for /favicon.ico whatever the page links to.
    path("favicon.ico", FaviconRedirect.as_view()),
]
