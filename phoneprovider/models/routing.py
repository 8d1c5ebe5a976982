"""Routing without code: named provider connections and the ordered rules that choose them.

The installation's one Auth0-shaped PhoneProvider stays the default route; a message that no
enabled rule matches goes there, exactly as before routes existed.
"""

from django.db import models
from django.db.models import Q

from phoneprovider import ids
from phoneprovider.crypto import EncryptedCharField


class Connection(models.Model):
    """A named way to send: Twilio Programmable Messaging, Twilio Verify or the custom handler.

    The Twilio fields carry the same names as on PhoneProvider, so the Twilio sender takes
    either. Credentials are encrypted at rest and write-only (never shown or returned).
    """

    class Kind(models.TextChoices):
        TWILIO = "twilio", "Twilio Programmable Messaging"
        TWILIO_VERIFY = "twilio_verify", "Twilio Verify"
        CUSTOM = "custom", "Custom handler"

    public_id = models.CharField(max_length=26, unique=True, default=ids.new_connection_id)
    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    twilio_sid = models.CharField("Twilio Account SID", max_length=64, blank=True)
    twilio_auth_token = EncryptedCharField("Twilio auth token", max_length=256, blank=True)
    twilio_default_from = models.CharField("From", max_length=32, blank=True)
    twilio_mssid = models.CharField("Messaging Service SID", max_length=64, blank=True)
    verify_service_sid = models.CharField("Verify Service SID", max_length=64, blank=True)
    # A Twilio region/edge host such as api.dublin.ie1.twilio.com; blank: Twilio's default
    # (api.twilio.com, verify.twilio.com). TWILIO_API_BASE_URL, when set, wins (tests).
    api_host = models.CharField("Region / edge host", max_length=128, blank=True)
    # Non-secret key/values a custom connection's handler reads in event.configuration.
    configuration = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["twilio", "twilio_verify", "custom"]),
                name="connection_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_auth_token(self) -> bool:
        return bool(self.twilio_auth_token)


class Route(models.Model):
    """One routing rule. Conditions are ANDed; each list matches any of its values and an empty
    list matches everything. The first enabled rule that matches (lowest position) wins."""

    public_id = models.CharField(max_length=26, unique=True, default=ids.new_route_id)
    name = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    countries = models.JSONField(default=list, blank=True)  # ISO 3166 alpha-2 of the number
    prefixes = models.JSONField(default=list, blank=True)  # E.164 prefixes such as +4478
    message_types = models.JSONField(default=list, blank=True)
    delivery_methods = models.JSONField(default=list, blank=True)
    client_ids = models.JSONField(default=list, blank=True)
    organization_ids = models.JSONField(default=list, blank=True)
    connections = models.ManyToManyField(
        Connection, through="RouteConnection", related_name="routes"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class RouteConnection(models.Model):
    """A connection's place in a route: the first sends, the next ones fail over in order."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="steps")
    # PROTECT: a connection a rule uses can't be deleted from under it (services name the rule).
    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="steps")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["route", "position"]
        constraints = [
            models.UniqueConstraint(fields=["route", "position"], name="unique_route_step"),
            models.UniqueConstraint(fields=["route", "connection"], name="unique_route_connection"),
        ]

    def __str__(self) -> str:
        return f"{self.route} #{self.position}: {self.connection}"
