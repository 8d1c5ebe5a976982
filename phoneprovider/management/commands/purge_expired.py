"""Run the retention purge now (the beat runs it every RETENTION_PURGE_INTERVAL seconds)."""

from django.core.management.base import BaseCommand, CommandError

from phoneprovider.services.retention import retention_purge


class Command(BaseCommand):
    help = (
        "Delete messages (with attempts and executions) older than MESSAGE_RETENTION_DAYS and "
        "audit entries older than AUDIT_RETENTION_DAYS, in batches."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument(
            "--max-seconds",
            type=float,
            default=None,
            help="Stop after this long (default RETENTION_PURGE_MAX_SECONDS); run again to go on.",
        )

    def handle(self, *args, batch_size, max_seconds, **options):
        run = retention_purge(trigger="command", batch_size=batch_size, max_seconds=max_seconds)
        self.stdout.write(
            f"Removed {run.messages_removed} messages, {run.attempts_removed} attempts, "
            f"{run.executions_removed} executions, {run.audit_entries_removed} audit entries "
            f"in {run.batches} batches, {run.duration_seconds:.1f} s."
        )
        if run.error:
            raise CommandError(f"The purge stopped: {run.error}")
        if not run.complete:
            self.stdout.write("Older rows remain: run it again to carry on.")
