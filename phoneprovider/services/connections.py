"""Writes of routing connections: named ways to send (Twilio Programmable Messaging, Twilio
Verify, the custom handler) that routing rules list in failover order.

Every write is validated whole before anything is stored and audited with the auth token masked;
``config_cache`` listens to these rows, so every process picks a change up.
"""

from django.db import IntegrityError, transaction

from phoneprovider import selectors
from phoneprovider.errors import Conflict, ValidationError
from phoneprovider.models import Connection, Route
from phoneprovider.providers.twilio import api_host_problem, sender_clean, sid_problem
from phoneprovider.services.audit import MASK, audit_record, audit_update

MAX_CONFIGURATION_KEYS = 50
# What delivery adds to a custom connection's event.configuration.
ROUTE_CONFIGURATION_KEYS = ("route_id", "route_name", "connection_id", "connection_name")

CONNECTION_FIELDS = (
    "name",
    "kind",
    "twilio_sid",
    "twilio_auth_token",
    "twilio_default_from",
    "twilio_mssid",
    "verify_service_sid",
    "api_host",
    "configuration",
)


def name_clean(value, *, field: str = "name") -> str:
    name = (value or "").strip() if isinstance(value, str) else ""
    if not name:
        raise ValidationError("Give it a name.", field=field)
    if len(name) > 64:
        raise ValidationError("Names are at most 64 characters.", field=field)
    return name


def _connection_errors(connection: Connection) -> list[ValidationError]:
    """Every problem of ``connection`` as it would be stored (fields cleaned in place)."""
    errors: list[ValidationError] = []
    try:
        connection.name = name_clean(connection.name)
    except ValidationError as exc:
        errors.append(exc)
    if connection.kind not in Connection.Kind.values:
        kinds = ", ".join(Connection.Kind.values)
        return [*errors, ValidationError(f"The kind must be one of {kinds}.", field="kind")]
    for name in ("twilio_sid", "twilio_default_from", "twilio_mssid", "verify_service_sid"):
        setattr(connection, name, str(getattr(connection, name) or "").strip())
    connection.api_host = str(connection.api_host or "").strip().lower()
    if connection.kind == Connection.Kind.CUSTOM:
        errors += _custom_errors(connection)
    else:
        errors += _twilio_errors(connection)
    return errors


def _twilio_errors(connection: Connection) -> list[ValidationError]:
    errors = []
    if problem := sid_problem(connection.twilio_sid, "AC"):
        errors.append(ValidationError(problem, field="sid"))
    if not connection.twilio_auth_token:
        errors.append(ValidationError("The Twilio auth token is required.", field="auth_token"))
    if connection.api_host and (problem := api_host_problem(connection.api_host)):
        errors.append(ValidationError(problem, field="api_host"))
    if connection.kind == Connection.Kind.TWILIO_VERIFY:
        if problem := sid_problem(connection.verify_service_sid, "VA"):
            errors.append(ValidationError(problem, field="service_sid"))
        return errors
    connection.twilio_default_from, refused = sender_clean(connection.twilio_default_from)
    if refused:
        errors.append(refused)
    if connection.twilio_mssid and (problem := sid_problem(connection.twilio_mssid, "MG")):
        errors.append(ValidationError(problem, field="mssid"))
    if not connection.twilio_default_from and not connection.twilio_mssid:
        errors.append(
            ValidationError("Give a From number or a Messaging Service SID.", field="default_from")
        )
    return errors


def _custom_errors(connection: Connection) -> list[ValidationError]:
    errors = []
    configuration = connection.configuration
    if configuration is None:
        configuration = connection.configuration = {}
    if not isinstance(configuration, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in configuration.items()
    ):
        errors.append(
            ValidationError(
                "The configuration is an object of string values (the handler reads them in "
                "event.configuration).",
                field="configuration",
            )
        )
    elif reserved := sorted(set(configuration) & set(ROUTE_CONFIGURATION_KEYS)):
        errors.append(
            ValidationError(
                f"{reserved[0]!r} is set by the route itself (event.configuration tells the "
                "handler which rule and connection chose it); use another name.",
                field="configuration",
            )
        )
    elif len(configuration) > MAX_CONFIGURATION_KEYS:
        errors.append(
            ValidationError(
                f"At most {MAX_CONFIGURATION_KEYS} configuration values.", field="configuration"
            )
        )
    if selectors.custom_provider_version() is None:
        errors.append(
            ValidationError(
                "A custom connection runs the deployed custom-phone-provider Action; create and "
                "deploy one first.",
                field="kind",
            )
        )
    return errors


def _connection_audit_view(connection: Connection) -> dict:
    view = {
        field: getattr(connection, field)
        for field in CONNECTION_FIELDS
        if field != "twilio_auth_token" and getattr(connection, field)
    }
    if connection.twilio_auth_token:
        view["twilio_auth_token"] = MASK
    return view


def _apply(connection: Connection, changes: dict) -> None:
    unknown = set(changes) - set(CONNECTION_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown connection field {sorted(unknown)[0]!r}.")
    token = changes.pop("twilio_auth_token", None)
    for name, value in changes.items():
        setattr(connection, name, value)
    if token:  # write-only: an empty value keeps the stored token
        connection.twilio_auth_token = token


def save_unique(instance, what: str) -> None:
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise Conflict(f"A {what} named {instance.name!r} already exists.") from None


@transaction.atomic
def connection_create(*, actor: str, **fields) -> Connection:
    connection = Connection()
    _apply(connection, fields)
    ValidationError.raise_all(_connection_errors(connection))
    save_unique(connection, "connection")
    audit_record(
        actor=actor,
        verb="create",
        object_type="phone_connection",
        object_id=connection.public_id,
        changes=_connection_audit_view(connection),
    )
    return connection


@transaction.atomic
def connection_update(connection: Connection, *, actor: str, **changes) -> Connection:
    """Change any subset of the fields; the kind stays what it was created as."""
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    if "kind" in changes and changes["kind"] != connection.kind:
        raise ValidationError(
            "A connection's kind can't change; create a new connection instead.", field="kind"
        )
    before = _connection_audit_view(connection)
    _apply(connection, changes)
    ValidationError.raise_all(_connection_errors(connection))
    save_unique(connection, "connection")
    audit_update(
        actor=actor,
        object_type="phone_connection",
        object_id=connection.public_id,
        before=before,
        after=_connection_audit_view(connection),
    )
    return connection


@transaction.atomic
def connection_delete(connection: Connection, *, actor: str) -> None:
    """Delete a connection no rule uses; one that a rule uses is refused with the rule named."""
    users = list(
        Route.objects.filter(steps__connection=connection).order_by("position", "pk").distinct()
    )
    if users:
        names = ", ".join(repr(route.name) for route in users)
        raise Conflict(
            f"The connection {connection.name!r} is used by the rule {names}; remove it from "
            "there first."
            if len(users) == 1
            else f"The connection {connection.name!r} is used by the rules {names}; remove it "
            "from them first."
        )
    audit_record(
        actor=actor,
        verb="delete",
        object_type="phone_connection",
        object_id=connection.public_id,
        changes={"name": connection.name},
    )
    connection.delete()
