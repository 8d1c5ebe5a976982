"""The installation's core rows: provider, Actions, templates, messages, attempts, tokens, audit."""

import json

from django.db import models
from django.db.models import Q

from phoneprovider import ids
from phoneprovider.crypto import EncryptedCharField, EncryptedTextField, is_undecryptable, reveal


class MessageType(models.TextChoices):
    OTP_VERIFY = "otp_verify", "OTP verify"
    OTP_ENROLL = "otp_enroll", "OTP enroll"
    CHANGE_PASSWORD = "change_password", "Change password"
    BLOCKED_ACCOUNT = "blocked_account", "Blocked account"
    PASSWORD_BREACH = "password_breach", "Password breach"


class DeliveryMethod(models.TextChoices):
    TEXT = "text", "Text"
    VOICE = "voice", "Voice"


class PhoneProvider(models.Model):
    """The installation's one phone provider (Auth0 allows one per tenant)."""

    class Name(models.TextChoices):
        TWILIO = "twilio", "Twilio"
        CUSTOM = "custom", "Custom"

    public_id = models.CharField(max_length=26, unique=True, default=ids.new_provider_id)
    # A constant with a unique index: the database itself refuses a second provider.
    installation = models.PositiveSmallIntegerField(default=1, unique=True, editable=False)
    name = models.CharField(max_length=16, choices=Name.choices)
    disabled = models.BooleanField(default=False)
    delivery_methods = models.JSONField(default=list)
    twilio_sid = models.CharField("Twilio SID", max_length=64, blank=True)
    twilio_default_from = models.CharField("From", max_length=32, blank=True)
    twilio_mssid = models.CharField("Messaging Service SID", max_length=64, blank=True)
    twilio_auth_token = EncryptedCharField("Twilio auth token", max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(name__in=["twilio", "custom"]), name="provider_name_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_name_display()} ({self.public_id})"

    @property
    def configuration(self) -> dict:
        """The provider's configuration in Auth0's wire shape (credentials never included)."""
        config: dict = {"delivery_methods": list(self.delivery_methods)}
        # Auth0 returns the Twilio fields it was given, also after a switch to custom that
        # still carried them; so do we (they are what a Twilio failover sends through).
        if self.name == self.Name.TWILIO or self.twilio_sid:
            config["sid"] = self.twilio_sid
        if self.twilio_default_from:
            config["default_from"] = self.twilio_default_from
        if self.twilio_mssid:
            config["mssid"] = self.twilio_mssid
        return config

    @property
    def has_auth_token(self) -> bool:
        return bool(self.twilio_auth_token)

    @property
    def kind(self) -> str:
        """How it sends, in a route connection's terms (Connection.kind): twilio or custom."""
        return self.name


class Action(models.Model):
    """An Action: draft code, runtime and secrets. What runs is its deployed ActionVersion."""

    class Trigger(models.TextChoices):
        CUSTOM_PHONE_PROVIDER = "custom-phone-provider", "Custom phone provider"
        SEND_PHONE_MESSAGE = "send-phone-message", "Send phone message (legacy)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        BUILDING = "building", "Building"
        BUILT = "built", "Built"
        FAILED = "failed", "Failed"

    public_id = models.CharField(max_length=36, unique=True, default=ids.new_uuid)
    name = models.CharField(max_length=255)
    trigger_id = models.CharField(max_length=64, choices=Trigger.choices)
    trigger_version = models.CharField(max_length=8, default="v1")
    code = models.TextField(blank=True)
    runtime = models.CharField(max_length=16, default="node22")
    dependencies = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BUILT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Auth0 allows at most one Action bound to the custom phone provider trigger.
            models.UniqueConstraint(
                fields=["trigger_id"],
                condition=Q(trigger_id="custom-phone-provider"),
                name="one_custom_phone_provider_action",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ActionSecret(models.Model):
    """A write-only secret of an Action's draft; its value is encrypted at rest."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=128)
    value = EncryptedTextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["action", "name"], name="unique_secret_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def plain_value(self) -> str:
        """The value (SecretUnavailable when FIELD_ENCRYPTION_KEY can't open it)."""
        return reveal(self.value, f"Secret {self.name} of {self.action.name}")


class ActionVersion(models.Model):
    """An immutable deployed snapshot of an Action's code and secrets."""

    public_id = models.CharField(max_length=36, unique=True, default=ids.new_uuid)
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    code = models.TextField()
    runtime = models.CharField(max_length=16)
    dependencies = models.JSONField(default=list)  # pinned: what ``deploy`` installed
    # As the draft declared them (ranges such as ^1.0.0), to tell whether the draft still matches
    # this version; None on versions deployed before it was recorded.
    declared_dependencies = models.JSONField(null=True, blank=True)
    # JSON object {name: value}, encrypted as a whole.
    secrets_json = EncryptedTextField(default="{}")
    deployed = models.BooleanField(default=False)
    status = models.CharField(max_length=16, default=Action.Status.BUILT)
    created_by = models.CharField(max_length=255, blank=True)
    # Set on a rollback: the number of the version this one is a copy of.
    copied_from = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["action", "number"], name="unique_version_number"),
            models.UniqueConstraint(
                fields=["action"], condition=Q(deployed=True), name="one_deployed_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action.name} v{self.number}"

    @property
    def secrets(self) -> dict[str, str]:
        """The secret values this version runs with, ``{name: value}`` (SecretUnavailable when
        FIELD_ENCRYPTION_KEY can't open them)."""
        what = f"The secrets of {self.action.name} version {self.number}"
        return json.loads(reveal(self.secrets_json, what) or "{}")

    @property
    def secret_names(self) -> list[str]:
        """The names of its secrets; none listed while FIELD_ENCRYPTION_KEY can't open them."""
        if is_undecryptable(self.secrets_json):
            return []
        return sorted(self.secrets)


class PhoneTemplate(models.Model):
    """A customised phone template; types without a row use the built-in defaults."""

    public_id = models.CharField(max_length=26, unique=True, default=ids.new_template_id)
    type = models.CharField(max_length=32, choices=MessageType.choices, unique=True)
    disabled = models.BooleanField(default=False)
    from_number = models.CharField(max_length=16, blank=True)
    text_body = models.TextField(max_length=20000)
    voice_body = models.TextField(max_length=20000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.get_type_display()


class PhoneMessage(models.Model):
    """One message to one recipient: the outbox row and the source of truth of its fate."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"
        DROPPED = "dropped", "Dropped"
        BLOCKED = "blocked", "Blocked"

    FINAL_STATUSES = ("sent", "delivered", "undelivered", "failed", "dropped", "blocked")

    public_id = models.CharField(max_length=26, unique=True, default=ids.new_message_id)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    recipient = models.CharField(max_length=20)
    message_type = models.CharField(max_length=32, choices=MessageType.choices)
    delivery_method = models.CharField(max_length=8, choices=DeliveryMethod.choices)
    code = EncryptedCharField(max_length=64, blank=True)
    locale = models.CharField(max_length=16, blank=True)
    sender = models.CharField(max_length=32, blank=True)
    # The rendered bodies hold the code: encrypted at rest like it.
    as_text = EncryptedTextField(blank=True)
    as_voice = EncryptedTextField(blank=True)
    # user, client, organization, request, tenant… as the sender supplied them.
    context = models.JSONField(default=dict, blank=True)
    is_test = models.BooleanField(default=False)
    provider_name = models.CharField(max_length=16, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    reason = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True, db_index=True)
    # The abuse-limit rule that blocked this message (or, in record-only mode, would have).
    limit_rule = models.CharField(max_length=64, blank=True)
    # Set when the custom handler failed and the message went out through Twilio instead, or
    # when a route's first connection failed and a later one took over.
    failed_over = models.BooleanField(default=False)
    # The routing rule chosen at the first attempt (None: the default provider), its name as it
    # was then (the rule may be renamed or deleted later), and which of its connections is
    # sending now (0: the first; failover moves on).
    route = models.ForeignKey(
        "phoneprovider.Route",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    route_name = models.CharField(max_length=64, blank=True)
    # A connection's Test: sent through this connection only, whatever the rules say.
    pinned_connection = models.ForeignKey(
        "phoneprovider.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    route_step = models.PositiveSmallIntegerField(default=0)
    # The attempt number the current connection started at: each connection of a route gets
    # its own MESSAGE_MAX_ATTEMPTS tries before the next one takes over.
    step_first_attempt = models.PositiveIntegerField(default=1)
    attempt_count = models.PositiveIntegerField(default=0)
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Indexed by message_chart_covering_idx (Meta), which serves every created_at lookup.
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["recipient", "created_at"]),
            models.Index(fields=["route", "created_at"]),
            # created_at's index, carrying every column the Messages charts read, so they read
            # the index alone (selectors_charts). Beside a plain created_at index the planner
            # would prefer the smaller one and read the table too.
            models.Index(
                fields=["created_at"],
                include=[
                    "status",
                    "sent_at",
                    "failed_over",
                    "route",
                    "route_name",
                    "pinned_connection",
                ],
                name="message_chart_covering_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

    def masked(self, text: str) -> str:
        """``text`` with this message's code masked (MASK_CODES), for people to read."""
        from phoneprovider.crypto import is_undecryptable
        from phoneprovider.masking import mask_text

        code = "" if is_undecryptable(self.code) else self.code
        return mask_text(text, code)

    @property
    def shown_text(self) -> str:
        """as_text with the code masked (MASK_CODES), for people to read."""
        return self.masked(self.as_text)

    @property
    def shown_voice(self) -> str:
        return self.masked(self.as_voice)


class Execution(models.Model):
    """One run of handler code (a delivery attempt, a test run or a dry run), with its logs."""

    class Kind(models.TextChoices):
        DELIVERY = "delivery", "Delivery"
        TEST = "test", "Test"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        DROP = "drop", "Dropped"
        RETRY = "retry", "Retry"
        ERROR = "error", "Error"

    public_id = models.CharField(max_length=26, unique=True, default=ids.new_execution_id)
    action = models.ForeignKey(
        Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="executions"
    )
    version = models.ForeignKey(
        ActionVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    dry_run = models.BooleanField(default=False)
    # Test runs keep the code and event they ran (secrets are added in the worker, not stored).
    code = models.TextField(blank=True)
    event = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True)
    error = models.JSONField(null=True, blank=True)
    logs = models.JSONField(default=list, blank=True)
    logs_truncated = models.BooleanField(default=False)
    fetches = models.JSONField(default=list, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.public_id


class DeliveryAttempt(models.Model):
    """One try at handing a message to its provider. Written before the call, finished after."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "In progress"
        SENT = "sent", "Sent"
        RETRY = "retry", "Transient failure"
        FAILED = "failed", "Permanent failure"
        DROPPED = "dropped", "Dropped by handler"

    message = models.ForeignKey(PhoneMessage, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    provider_name = models.CharField(max_length=16)  # twilio | twilio_verify | custom
    # The route connection this attempt used (None: the default provider), and its name then.
    connection = models.ForeignKey(
        "phoneprovider.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attempts",
    )
    connection_name = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True)
    execution = models.OneToOneField(
        Execution, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempt"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["message", "number"]
        constraints = [
            models.UniqueConstraint(fields=["message", "number"], name="unique_attempt_number"),
        ]

    def __str__(self) -> str:
        return f"{self.message.public_id} #{self.number}"


class ApiToken(models.Model):
    """A Management API bearer token. Only its SHA-256 is stored."""

    name = models.CharField(max_length=255)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEntry(models.Model):
    """Who changed what configuration, when; secret values are masked in ``changes``."""

    actor = models.CharField(max_length=255)
    verb = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor} {self.verb} {self.object_type} {self.object_id}"
