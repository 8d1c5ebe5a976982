from phoneprovider.models import AuditEntry

MASK = "[redacted]"


def audit_record(
    *, actor: str, verb: str, object_type: str, object_id: str = "", changes: dict | None = None
) -> AuditEntry:
    """Record a configuration change. Callers pass secrets already masked (``MASK``)."""
    return AuditEntry.objects.create(
        actor=actor or "system",
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        changes=changes or {},
    )


def audit_update(
    *, actor: str, object_type: str, object_id: str, before: dict, after: dict
) -> AuditEntry:
    """Record an update as the object's audit view before and after it."""
    return audit_record(
        actor=actor,
        verb="update",
        object_type=object_type,
        object_id=object_id,
        changes={"before": before, "after": after},
    )
