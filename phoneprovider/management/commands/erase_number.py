"""Erase everything kept about one phone number (a person's erasure request)."""

from django.core.management.base import BaseCommand, CommandError

from phoneprovider.errors import ValidationError
from phoneprovider.services.erasure import number_erase


class Command(BaseCommand):
    help = (
        "Delete every message, attempt, execution and abuse-limit count for a phone number, "
        "mask it in audit entries, and record the erasure (the number masked) in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("number", help="The number in E.164 form, e.g. +14155550100.")
        parser.add_argument(
            "--actor", default="manage.py erase_number", help="Who asked, for the audit entry."
        )

    def handle(self, *args, number, actor, **options):
        try:
            result = number_erase(number, actor=actor)
        except ValidationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Erased {result.number}: {result.messages_removed} messages, "
            f"{result.attempts_removed} attempts, {result.executions_removed} executions "
            f"removed; {result.audit_entries_masked} audit entries masked."
        )
