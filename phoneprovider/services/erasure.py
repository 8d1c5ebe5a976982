"""Erasure by phone number: a person asks that what is kept about their number be deleted.

One service for every door (the API, ``manage.py erase_number``, the dashboard). It removes the
messages sent to the number or mentioning it (with their attempts and the executions those
attempts ran), test executions whose event, logs or fetches mention it, its abuse-limit counts,
and handlers' ``api.cache`` records whose key or value holds it; audit entries that mention it
keep their place in the history with the number masked. One audit entry records the erasure,
naming the number masked (``+1415555••00``) and the counts.

Messages in flight are erased too: the person asked. A worker that is sending one at that moment
finishes the send (it has left) and then finds the row gone, and writes nothing back.
"""

import json
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from phoneprovider.models import Action, AuditEntry, Execution, PhoneMessage
from phoneprovider.phone import mask_erased, normalize_e164
from phoneprovider.providers import custom
from phoneprovider.services.audit import audit_record
from phoneprovider.services.limits import limits_forget_number
from phoneprovider.services.retention import messages_delete

BATCH_SIZE = 500
# Messages written while an erasure runs are found by the next pass; a number still being sent
# to faster than it is erased is not going to settle, and what is left is reported.
MAX_PASSES = 5


@dataclass(frozen=True)
class Erasure:
    number: str  # masked
    messages_removed: int
    attempts_removed: int
    executions_removed: int
    audit_entries_masked: int

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "messages_removed": self.messages_removed,
            "attempts_removed": self.attempts_removed,
            "executions_removed": self.executions_removed,
            "audit_entries_masked": self.audit_entries_masked,
        }


def _mentions(digits: str, *fields: str) -> Q:
    """Rows where any of ``fields`` (text or JSON, as text) holds the number's digits: that
    covers ``+14155550100``, ``14155550100`` and JSON-escaped forms alike."""
    query = Q()
    for name in fields:
        query |= Q(**{f"{name}__icontains": digits})
    return query


def _message_ids(number: str, digits: str) -> list[int]:
    mentioning = _mentions(digits, "idempotency_key", "as_text", "as_voice", "context", "reason")
    rows = PhoneMessage.objects.filter(Q(recipient=number) | mentioning)
    return list(rows.order_by("pk").values_list("pk", flat=True))


def _erase_messages(number: str, digits: str) -> tuple[int, int, int]:
    removed = [0, 0, 0]
    for _ in range(MAX_PASSES):
        ids = _message_ids(number, digits)
        if not ids:
            break
        for start in range(0, len(ids), BATCH_SIZE):
            with transaction.atomic():
                # Waits for a worker that holds one of them (its claim, or its result being
                # written), so no attempt or execution it adds is left behind.
                locked = list(
                    PhoneMessage.objects.select_for_update()
                    .filter(pk__in=ids[start : start + BATCH_SIZE])
                    .values_list("pk", flat=True)
                )
                for i, count in enumerate(messages_delete(locked)):
                    removed[i] += count
    return tuple(removed)


def _erase_executions(digits: str) -> int:
    """Executions no message leads to any more (test runs, or a delivery's run that mentions the
    number under another recipient's message). Django's delete unlinks their attempts."""
    rows = Execution.objects.filter(
        _mentions(digits, "event", "logs", "fetches", "error", "reason")
    )
    _, by_model = rows.delete()
    return by_model.get(Execution._meta.label, 0)


def _erase_handler_cache(digits: str) -> int:
    """``api.cache`` records (each Action's own namespace) whose key or value holds the number."""
    store = custom.handler_cache()
    removed = 0
    for namespace in Action.objects.values_list("public_id", flat=True):
        records = store.load(namespace)
        gone = {
            key: None
            for key, record in records.items()
            if digits in key or digits in json.dumps(record.get("value"))
        }
        store.save(namespace, gone)
        removed += len(gone)
    return removed


def _mask_audit_entries(number: str, digits: str) -> int:
    masked_digits = mask_erased(number).lstrip("+")
    masked = 0
    entries = AuditEntry.objects.filter(_mentions(digits, "changes", "object_id"))
    for entry in entries.select_for_update().iterator():
        entry.changes = json.loads(json.dumps(entry.changes).replace(digits, masked_digits))
        entry.object_id = entry.object_id.replace(digits, masked_digits)
        entry.save(update_fields=["changes", "object_id"])
        masked += 1
    return masked


def number_erase(number: str, *, actor: str) -> Erasure:
    """Erase what is kept about ``number`` (E.164); record one audit entry. Returns the counts.

    Raises ``ValidationError`` (field ``e164``) for anything not in E.164 form. A number no
    longer valid in its country's plan is still erased: it may have been stored while it was.
    """
    number = normalize_e164(number, field="e164", require_valid=False)
    digits = number.lstrip("+")
    messages, attempts, executions = _erase_messages(number, digits)
    executions += _erase_executions(digits)
    limits_forget_number(number)
    _erase_handler_cache(digits)
    with transaction.atomic():
        audit_entries = _mask_audit_entries(number, digits)
        result = Erasure(
            number=mask_erased(number),
            messages_removed=messages,
            attempts_removed=attempts,
            executions_removed=executions,
            audit_entries_masked=audit_entries,
        )
        audit_record(
            actor=actor,
            verb="erase",
            object_type="phone_number",
            object_id=result.number,
            changes=result.as_dict(),
        )
    return result
