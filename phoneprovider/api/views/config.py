"""Configuration as code (our extension)."""

from phoneprovider.api.base import ApiView, operation, respond
from phoneprovider.api.views.common import BOOLEAN_QUERY
from phoneprovider.services import config as config_services

CONFIG = "Configuration as code"


class PhoneConfigView(ApiView):
    @operation(
        "read:phone_config",
        "Export the phone setup",
        tag=CONFIG,
        response="PhoneConfig",
        description="Provider, customised templates, deployed handler, limits, routing connections "
        "and rules, as `manage.py export_config` prints them; secrets only as ${ENV_NAME} "
        "references.",
    )
    def get(self, request, *, body, query):
        return respond(config_services.config_export())

    @operation(
        "update:phone_config",
        "Apply a phone setup",
        tag=CONFIG,
        body="PhoneConfig",
        query={"dry_run": BOOLEAN_QUERY},
        response="PhoneConfigApplyResult",
        description="Makes the installation match the document in one transaction and lists "
        "what changed; the same document again changes nothing. `dry_run=true` lists the "
        "changes and keeps none.",
    )
    def put(self, request, *, body, query):
        dry_run = bool(query.get("dry_run"))
        result = config_services.config_apply(body, actor=self.actor, dry_run=dry_run)
        return respond({"changes": result.changes, "dry_run": dry_run})
