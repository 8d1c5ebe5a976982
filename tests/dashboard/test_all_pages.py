"""What every dashboard page shares: staff only, CSRF on every POST, the same navigation."""

import pytest
from django.test import Client
from django.urls import reverse

from dashboard import urls as dashboard_urls
from phoneprovider.models import AuditEntry, DeliveryPolicy

# Every route of the dashboard, with arguments that are enough to reach its view, and the methods
# it answers. Ids that do not exist are fine: access is checked before anything is looked up.
ROUTES = {
    "provider": ({}, ("GET", "POST")),
    "provider_enabled": ({}, ("POST",)),
    "provider_draft_discard": ({}, ("POST",)),
    "provider_test": ({}, ("GET", "POST")),
    "provider_test_status": ({"public_id": "msg_missing"}, ("GET",)),
    "editor": ({}, ("GET", "POST")),
    "editor_sample": ({}, ("GET",)),
    "editor_test": ({}, ("POST",)),
    "editor_test_status": ({"public_id": "exe_missing"}, ("GET",)),
    "versions": ({}, ("GET",)),
    "version": ({"public_id": "ver_missing"}, ("GET",)),
    "version_revert": ({"public_id": "ver_missing"}, ("POST",)),
    "templates": ({}, ("GET",)),
    "template": ({"message_type": "otp_verify"}, ("GET", "POST")),
    "template_preview": ({"message_type": "otp_verify"}, ("POST",)),
    "template_reset": ({"message_type": "otp_verify"}, ("POST",)),
    "template_try": ({"message_type": "otp_verify"}, ("GET", "POST")),
    "messages": ({}, ("GET",)),
    "message": ({"public_id": "msg_missing"}, ("GET",)),
    "message_resend": ({"public_id": "msg_missing"}, ("POST",)),
    "number_erase": ({}, ("POST",)),
    "logs": ({}, ("GET",)),
    "logs_rows": ({}, ("GET",)),
    "logs_row": ({"public_id": "exe_missing"}, ("GET",)),
    "logs_download": ({}, ("GET",)),
    "logs_clear": ({}, ("POST",)),
    "limits": ({}, ("GET", "POST")),
    "routing": ({}, ("GET",)),
    "routing_which": ({}, ("GET", "POST")),
    "routing_rule_create": ({}, ("POST",)),
    "routing_rule": ({"public_id": "rte_missing"}, ("GET", "POST")),
    "routing_rule_delete": ({"public_id": "rte_missing"}, ("POST",)),
    "routing_rule_enabled": ({"public_id": "rte_missing"}, ("POST",)),
    "routing_rule_move": ({"public_id": "rte_missing"}, ("POST",)),
    "connection_create": ({}, ("POST",)),
    "connection": ({"public_id": "con_missing"}, ("GET", "POST")),
    "connection_delete": ({"public_id": "con_missing"}, ("POST",)),
    "connection_test": ({"public_id": "con_missing"}, ("GET", "POST")),
}
# Reachable without signing in, on purpose.
PUBLIC = {"login", "logout", None}
CASES = [(name, method) for name, (_, methods) in ROUTES.items() for method in methods]
PAGES = {
    "provider": "Phone Provider",
    "editor": "Phone Provider",
    "templates": "Templates",
    "messages": "Messages",
    "logs": "Logs",
    "limits": "Limits",
    "routing": "Routing",
}


def url(name: str) -> str:
    return reverse(f"dashboard:{name}", kwargs=ROUTES[name][0])


def call(client, method: str, name: str, **extra):
    return getattr(client, method.lower())(url(name), **extra)


def test_the_table_covers_every_dashboard_route():
    names = {pattern.name for pattern in dashboard_urls.urlpatterns} - PUBLIC
    assert names == set(ROUTES)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), CASES)
def test_anonymous_users_are_sent_to_log_in(client, name, method):
    response = call(client, method, name)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard:login"))


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), CASES)
def test_signed_in_users_who_are_not_staff_are_refused(client, django_user_model, name, method):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-1-abcdef"))
    assert call(client, method, name).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", [name for name, (_, methods) in ROUTES.items() if "POST" in methods]
)
def test_every_post_needs_the_csrf_token(django_user_model, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(
        django_user_model.objects.create_user("ops", password="pw-2-abcdef", is_staff=True)
    )
    response = call(client, "POST", name, data={"op": "deploy", "code": "x", "enabled": "on"})
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_a_post_with_the_token_from_the_page_goes_through(django_user_model):
    """The counterpart of the CSRF test: the page's own token is accepted."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(
        django_user_model.objects.create_user("ops", password="pw-2-abcdef", is_staff=True)
    )
    page = client.get(url("limits"))
    token = page.context["csrf_token"]
    data = {
        "csrfmiddlewaretoken": str(token),
        "mode": "record_only",
        "recipient_per_hour": "3",
        "global_per_minute": "0",
        "prefix_digits": "8",
        "prefix_per_minute": "0",
    }
    response = client.post(url("limits"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert DeliveryPolicy.objects.get().mode == "record_only"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "current"), PAGES.items())
def test_every_page_has_the_same_navigation_and_htmx_sends_the_token(
    client, django_user_model, name, current
):
    client.force_login(
        django_user_model.objects.create_user("ops", password="pw-2-abcdef", is_staff=True)
    )
    response = client.get(url(name), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    nav = html[html.index('aria-label="Main"') : html.index("</nav>")]
    links = [part.split("</a>")[0].split(">")[-1] for part in nav.split("<a ")[1:]]
    assert links == [
        "Phone Provider",
        "Routing",
        "Templates",
        "Messages",
        "Logs",
        "Limits",
        "Admin",
    ]
    assert nav.count('aria-current="page"') == 1
    assert f'aria-current="page">{current}</a>' in nav
    # htmx requests carry the CSRF token in a header, set once on <body>.
    assert '"X-CSRFToken": "' in html
    assert '<a class="skip-link" href="#main">' in html
