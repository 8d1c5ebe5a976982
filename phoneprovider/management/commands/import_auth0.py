"""Recreate an Auth0 tenant's phone setup here, read through its Management API."""

import os

from django.core.management.base import BaseCommand, CommandError

from phoneprovider.errors import ApplicationError
from phoneprovider.services.auth0_import import auth0_import, auth0_token


class Command(BaseCommand):
    help = (
        "Import the phone provider, phone templates, custom-phone-provider Action and bound "
        "send-phone-message Actions of an Auth0 tenant. Secret values and the Twilio auth token "
        "cannot be read from Auth0: give them with --secret NAME=VALUE (or the environment); "
        "without them the provider stays disabled."
    )

    def add_arguments(self, parser):
        parser.add_argument("--domain", help="the tenant, e.g. example.eu.auth0.com")
        parser.add_argument("--token", help="a Management API token (or AUTH0_TOKEN)")
        parser.add_argument("--client-id", help="with --client-secret: client-credentials grant")
        parser.add_argument("--client-secret", help="(or AUTH0_CLIENT_SECRET)")
        parser.add_argument(
            "--base-url", help="the Management API base (default https://DOMAIN/api/v2)"
        )
        parser.add_argument(
            "--secret",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="an Action secret's value, or TWILIO_AUTH_TOKEN; repeatable",
        )
        parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
        parser.add_argument("--actor", default="import_auth0", help="the name in the audit log")

    def handle(self, *args, **options):
        domain = options["domain"]
        base_url = options["base_url"] or (f"https://{domain}/api/v2" if domain else None)
        if not base_url:
            raise CommandError("Give --domain (or --base-url).")
        values = {}
        for item in options["secret"]:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise CommandError(f"--secret {item!r}: write NAME=VALUE.")
            values[name] = value
        try:
            token = options["token"] or os.environ.get("AUTH0_TOKEN", "")
            client_secret = options["client_secret"] or os.environ.get("AUTH0_CLIENT_SECRET", "")
            if not token:
                if not (options["client_id"] and client_secret and domain):
                    raise CommandError(
                        "Give --token, or --domain with --client-id and --client-secret."
                    )
                token = auth0_token(
                    domain=domain, client_id=options["client_id"], client_secret=client_secret
                )
            env = {**os.environ, **values}
            plan, result = auth0_import(
                base_url=base_url,
                token=token,
                values=env,
                actor=options["actor"],
                dry_run=options["dry_run"],
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} (nothing was changed)") from None
        for line in result.changes:
            self.stdout.write(line)
        for note in plan.notes:
            self.stdout.write(f"Note: {note}")
        if plan.missing:
            self.stdout.write(
                "Missing values (give them with --secret NAME=VALUE): " + ", ".join(plan.missing)
            )
        if not result.changes:
            self.stdout.write("No changes.")
        elif options["dry_run"]:
            self.stdout.write(f"Dry run: {len(result.changes)} change(s) shown, none kept.")
        else:
            self.stdout.write(f"Imported: {len(result.changes)} change(s).")
