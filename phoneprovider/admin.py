"""Django admin: the audit view. Messages, attempts, executions and the audit log are read-only."""

from django.contrib import admin

from phoneprovider.models import (
    Action,
    ActionSecret,
    ActionVersion,
    ApiToken,
    AuditEntry,
    Connection,
    DeliveryAttempt,
    Execution,
    PhoneMessage,
    PhoneProvider,
    PhoneTemplate,
    PurgeRun,
    Route,
    RouteConnection,
)
from phoneprovider.phone import mask
from phoneprovider.services.tokens import token_revoke


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is shown, never written: no add, change or delete, and no bulk actions."""

    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        # Every listed field is read-only, so the inline's form is built without them: a form
        # may not name a non-editable field (auto_now, auto_now_add), which was a FieldError.
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PhoneProvider)
class PhoneProviderAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "name", "disabled", "delivery_methods", "updated_at")
    # The auth token is never shown, not even encrypted.
    exclude = ("twilio_auth_token",)
    readonly_fields = ("has_auth_token",)

    @admin.display(boolean=True, description="Auth token set")
    def has_auth_token(self, obj):
        return obj.has_auth_token


class ActionSecretInline(ReadOnlyInline):
    model = ActionSecret
    fields = ("name", "updated_at")
    show_change_link = False


class ActionVersionInline(ReadOnlyInline):
    model = ActionVersion
    fields = ("number", "deployed", "created_by", "created_at")
    show_change_link = False


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ("name", "trigger_id", "status", "runtime", "updated_at")
    list_filter = ("trigger_id", "status")
    search_fields = ("name", "public_id")
    inlines = [ActionSecretInline, ActionVersionInline]


@admin.register(ActionVersion)
class ActionVersionAdmin(ReadOnlyAdmin):
    list_display = ("action", "number", "deployed", "created_by", "created_at")
    list_filter = ("deployed",)
    list_select_related = ("action",)
    exclude = ("secrets_json",)


@admin.register(PhoneTemplate)
class PhoneTemplateAdmin(ReadOnlyAdmin):
    list_display = ("type", "disabled", "from_number", "updated_at")


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    """Routing connections are changed on the Routing page or through the API (validated and
    audited there); here they are shown, the auth token never."""

    list_display = ("name", "kind", "public_id", "twilio_sid", "api_host", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name", "public_id")
    exclude = ("twilio_auth_token",)
    readonly_fields = ("has_auth_token",)

    @admin.display(boolean=True, description="Auth token set")
    def has_auth_token(self, obj):
        return obj.has_auth_token


class RouteConnectionInline(ReadOnlyInline):
    model = RouteConnection
    fields = ("position", "connection")
    show_change_link = False


@admin.register(Route)
class RouteAdmin(ReadOnlyAdmin):
    list_display = ("position", "name", "enabled", "public_id", "updated_at")
    list_display_links = ("name",)
    list_filter = ("enabled",)
    search_fields = ("name", "public_id")
    inlines = [RouteConnectionInline]


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = (
        "number",
        "provider_name",
        "connection_name",
        "outcome",
        "error",
        "provider_message_id",
        "started_at",
        "ended_at",
        "execution",
    )


@admin.register(PhoneMessage)
class PhoneMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "masked_recipient",
        "message_type",
        "delivery_method",
        "status",
        "provider_name",
        "route_name",
        "attempt_count",
        "created_at",
    )
    list_filter = (
        "status",
        "message_type",
        "delivery_method",
        "provider_name",
        "failed_over",
        "is_test",
    )
    search_fields = ("public_id", "recipient", "provider_message_id", "idempotency_key")
    date_hierarchy = "created_at"
    exclude = ("code", "as_text", "as_voice")
    readonly_fields = ("text_body", "voice_body")
    inlines = [DeliveryAttemptInline]

    @admin.display(description="Recipient")
    def masked_recipient(self, obj):
        return mask(obj.recipient)

    @admin.display(description="As text")
    def text_body(self, obj):
        return obj.shown_text

    @admin.display(description="As voice")
    def voice_body(self, obj):
        return obj.shown_voice


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "message",
        "number",
        "provider_name",
        "connection_name",
        "outcome",
        "started_at",
        "ended_at",
    )
    list_filter = ("outcome", "provider_name")
    list_select_related = ("message",)
    search_fields = ("message__public_id", "provider_message_id")


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "kind", "status", "action", "created_at")
    list_filter = ("kind", "status")
    list_select_related = ("action",)
    search_fields = ("public_id",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `manage.py create_api_token`; here they are listed and revoked."""

    list_display = ("name", "prefix", "scopes", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = ("name", "prefix", "scopes", "created_at", "last_used_at")
    exclude = ("token_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        # Through the service, so each revocation leaves an audit entry like any other change.
        for token in queryset.filter(revoked_at__isnull=True):
            token_revoke(token, actor=f"admin:{request.user.get_username()}")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "verb", "object_type", "object_id")
    list_filter = ("verb", "object_type")
    search_fields = ("actor", "object_id")
    date_hierarchy = "created_at"


@admin.register(PurgeRun)
class PurgeRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "trigger",
        "messages_removed",
        "attempts_removed",
        "executions_removed",
        "audit_entries_removed",
        "duration_seconds",
        "complete",
        "error",
    )
    list_filter = ("trigger", "complete")
