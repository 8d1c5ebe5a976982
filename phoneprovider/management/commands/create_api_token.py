"""Create a Management API token and print it — alone, on the last line — exactly once."""

from django.core.management.base import BaseCommand, CommandError

from phoneprovider.errors import ApplicationError
from phoneprovider.services.tokens import SCOPES, token_create


class Command(BaseCommand):
    help = (
        "Create a bearer token for /api/v2. Only its hash is stored: copy it now. "
        f"Scopes: {' '.join(SCOPES)}, or 'all'."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scopes",
            default="all",
            help='Space-separated scopes, e.g. "read:actions create:actions"; default "all".',
        )
        parser.add_argument(
            "--name", default="API token", help="Recorded as the actor in the audit log."
        )
        parser.add_argument("--expires-in-days", type=float, default=None)

    def handle(self, *args, scopes: str, name: str, expires_in_days: float | None, **options):
        try:
            new = token_create(
                actor="manage.py create_api_token",
                name=name,
                scopes=scopes,
                expires_in_days=expires_in_days,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        token = new.token
        expiry = (
            f"expires {token.expires_at:%Y-%m-%d %H:%M UTC}" if token.expires_at else "no expiry"
        )
        self.stderr.write(
            f"Created token {token.name!r} ({token.prefix}…, {expiry}) with scopes: "
            f"{' '.join(token.scopes)}\nStore it now; it cannot be shown again."
        )
        self.stdout.write(new.raw)
