from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.provider_page, name="provider"),
    path("provider/enabled/", views.provider_enabled, name="provider_enabled"),
    path("provider/test/", views.provider_test, name="provider_test"),
    path(
        "provider/test/<str:public_id>/",
        views.provider_test_status,
        name="provider_test_status",
    ),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Browsers ask for /favicon.ico whatever the page links to.
    path("favicon.ico", RedirectView.as_view(url=static("dashboard/favicon.svg"))),
]
