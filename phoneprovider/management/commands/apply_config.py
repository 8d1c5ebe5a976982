"""Make the phone setup match a YAML file (as written by export_config), in one transaction."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from phoneprovider.errors import ApplicationError
from phoneprovider.services.config import config_apply, config_load


class Command(BaseCommand):
    help = (
        "Apply a phone configuration file: prints what changes, all or nothing. ${ENV_NAME} "
        "references are read from the environment. --dry-run prints the changes and keeps none."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the YAML file ('-' for standard input)")
        parser.add_argument("--dry-run", action="store_true", help="show the changes, keep none")
        parser.add_argument("--actor", default="apply_config", help="the name in the audit log")

    def handle(self, *args, path, dry_run, actor, **options):
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot read the file: {exc}") from None
        try:
            doc, lines = config_load(text)
            result = config_apply(doc, actor=actor, lines=lines, dry_run=dry_run)
        except ApplicationError as exc:
            raise CommandError(f"{path}: {exc.message} (nothing was changed)") from None
        for line in result.changes:
            self.stdout.write(line)
        if not result.changes:
            self.stdout.write("No changes.")
        elif dry_run:
            self.stdout.write(f"Dry run: {len(result.changes)} change(s) shown, none kept.")
        else:
            self.stdout.write(f"Applied {len(result.changes)} change(s).")
