"""The tenant as Auth0 presents it to handlers (``event.tenant``) and templates: from settings."""

from django.conf import settings


def tenant() -> dict:
    out = {"id": settings.TENANT_NAME, "friendly_name": settings.TENANT_FRIENDLY_NAME}
    # Auth0 leaves the optional tenant fields out when they are not set; so do we.
    for key, value in (
        ("home_url", settings.TENANT_HOME_URL),
        ("logo_url", settings.TENANT_LOGO_URL),
        ("support_email", settings.TENANT_SUPPORT_EMAIL),
        ("support_url", settings.TENANT_SUPPORT_URL),
    ):
        if value:
            out[key] = value
    return out
