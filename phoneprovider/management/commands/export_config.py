"""Print the phone setup as YAML (provider, templates, deployed handler, limits, routing; no
secrets)."""

from django.core.management.base import BaseCommand

from phoneprovider.services.config import config_dump, config_export


class Command(BaseCommand):
    help = (
        "Print the phone provider, templates, deployed handler, limits, routing connections and "
        "rules as YAML. Secret values are written as ${ENV_NAME} references, never as values."
    )

    def handle(self, *args, **options):
        self.stdout.write(config_dump(config_export()), ending="")
