from django.contrib import admin
from django.urls import include, path, re_path

from phoneprovider import health, webhooks
from phoneprovider.api import docs
from phoneprovider.api.errors import not_found_view

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # The documents describe the API's routes, so they sit beside them rather than among them.
    path("api/v2/openapi.json", docs.OpenApiView.as_view(), name="api-openapi"),
    path("api/v2/docs", docs.DocsView.as_view(), name="api-docs"),
    path("api/v2/", include("phoneprovider.api.urls")),
    # Anything else under /api/ is Auth0's JSON 404, even with DEBUG's technical 404 page on.
    re_path(r"^api(?:/|$)", not_found_view),
    path("hooks/twilio/status", webhooks.twilio_status, name="twilio-status"),
    path("", include("dashboard.urls")),
]

# Under /api/ every error answers Auth0's JSON body; elsewhere Django's pages.
handler400 = "phoneprovider.api.errors.handler400"
handler404 = "phoneprovider.api.errors.handler404"
handler500 = "phoneprovider.api.errors.handler500"
