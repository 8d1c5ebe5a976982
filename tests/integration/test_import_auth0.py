"""import_auth0 against a second phoneprovider instance (this API speaks Auth0's) on loopback.

Instance A is a real gunicorn process with its own database, configured through its API only;
instance B is the test database. After the import, export_config from both must be equal.
"""

import io
import subprocess
import sys

import httpx
import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from phoneprovider.models import Action, PhoneProvider, PhoneTemplate
from tests.conftest import ROOT, worker_environment
from tests.integration.conftest import served_web

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HANDLER = """exports.onExecuteCustomPhoneProvider = async (event, api) => {
  console.log("sending to", event.notification.recipient);
};
"""
TRIGGER = [{"id": "custom-phone-provider", "version": "v1"}]


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def peer(django_db_blocker, tmp_path_factory):
    """Instance A: migrated database of its own, an all-scopes token, gunicorn on loopback."""
    with django_db_blocker.unblock():
        db = dict(connection.settings_dict)
        env = worker_environment(CONFIG_CACHE_SECONDS=0)
    tmp = tmp_path_factory.mktemp("peer")
    if db["ENGINE"] == "django.db.backends.sqlite3":
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'peer.sqlite3'}"
        drop = None
    else:
        name = f"{db['NAME']}_peer"
        admin = psycopg.connect(
            host=db.get("HOST") or "127.0.0.1",
            port=db.get("PORT") or 5432,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"

        def drop():
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()

    _manage(env, "migrate", "--noinput", "-v0")
    token = _manage(env, "create_api_token", "--name", "peer", "--scopes", "all").split()[-1]
    try:
        with served_web(env, tmp / "web.log") as url:
            api = httpx.Client(
                base_url=f"{url}/api/v2",
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            yield {"api": api, "token": token, "env": env, "base_url": str(api.base_url)}
            api.close()
    finally:
        if drop:
            drop()


@pytest.fixture(scope="module")
def configured_peer(peer):
    """Configure A through its API only, as a tenant would be in Auth0."""
    api = peer["api"]
    action = api.post(
        "/actions/actions",
        json={
            "name": "sms-gateway",
            "supported_triggers": TRIGGER,
            "code": HANDLER,
            "secrets": [{"name": "API_KEY", "value": "peer-key"}],
            "deploy": True,
        },
    )
    assert action.status_code == 201, action.text
    provider = api.post(
        "/branding/phone/providers",
        json={
            "name": "twilio",
            "configuration": {
                "sid": "sid1",
                "default_from": "+1234567890",
                "delivery_methods": ["text", "voice"],
            },
            "credentials": {"auth_token": "peer-token"},
        },
    )
    assert provider.status_code == 201, provider.text
    template = api.post(
        "/branding/phone/templates",
        json={
            "type": "otp_enroll",
            "content": {"from": "+1111111111", "body": {"text": "Enrol with {{ code }}"}},
        },
    )
    assert template.status_code == 201, template.text
    return peer


@pytest.fixture
def loopback(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


def _import(peer, *extra: str) -> str:
    out = io.StringIO()
    call_command(
        "import_auth0",
        "--domain",
        "tenant.example.com",
        "--base-url",
        peer["base_url"],
        "--token",
        peer["token"],
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_import_then_export_from_both_instances_is_equal(configured_peer, loopback):
    output = _import(
        configured_peer, "--secret", "TWILIO_AUTH_TOKEN=peer-token", "--secret", "API_KEY=peer-key"
    )
    assert "Imported:" in output and "Missing" not in output

    mine = io.StringIO()
    call_command("export_config", stdout=mine)
    theirs = _manage(configured_peer["env"], "export_config")
    assert mine.getvalue() == theirs
    assert "peer-token" not in theirs and "peer-key" not in theirs

    provider = PhoneProvider.objects.get()
    assert (provider.twilio_sid, provider.twilio_auth_token) == ("sid1", "peer-token")
    assert Action.objects.get().secrets.get().value == "peer-key"

    again = _import(
        configured_peer, "--secret", "TWILIO_AUTH_TOKEN=peer-token", "--secret", "API_KEY=peer-key"
    )
    assert again.strip().endswith("No changes.")


def test_dry_run_prints_the_plan_and_imports_nothing(configured_peer, loopback):
    output = _import(configured_peer, "--dry-run")
    assert "+ provider.sid" in output and "Dry run:" in output
    assert (
        "Missing values (give them with --secret NAME=VALUE): API_KEY, TWILIO_AUTH_TOKEN" in output
    )
    assert not PhoneProvider.objects.exists() and not Action.objects.exists()
    assert not PhoneTemplate.objects.exists()


def test_without_the_secret_values_the_provider_stays_disabled(configured_peer, loopback):
    output = _import(configured_peer)
    assert "Missing values" in output and "imported disabled" in output
    provider = PhoneProvider.objects.get()
    assert provider.disabled and provider.twilio_auth_token == ""
    assert not Action.objects.get().secrets.exists()

    _import(
        configured_peer, "--secret", "TWILIO_AUTH_TOKEN=peer-token", "--secret", "API_KEY=peer-key"
    )
    provider.refresh_from_db()
    assert not provider.disabled and provider.twilio_auth_token == "peer-token"


def test_a_bad_token_is_a_clear_error_and_changes_nothing(configured_peer, loopback):
    with pytest.raises(CommandError) as info:
        call_command("import_auth0", "--base-url", configured_peer["base_url"], "--token", "wrong")
    assert "answered 401" in str(info.value) and "nothing was changed" in str(info.value)
    assert not PhoneProvider.objects.exists()


def test_the_guard_refuses_the_peer_unless_loopback_is_allowed(configured_peer):
    with pytest.raises(CommandError) as info:
        _import(configured_peer)
    assert "nothing was changed" in str(info.value)
