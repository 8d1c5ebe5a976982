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

from phoneprovider import selectors
from phoneprovider.models import Action, ActionSecret, PhoneProvider, PhoneTemplate
from tests.conftest import ROOT, _serve, npm_registry_in_use, worker_environment
from tests.integration.conftest import served_web
from tests.npm_registry import NpmRegistry

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Both handlers need an npm package, installed at deploy from a registry on loopback.
HANDLER = """const { label } = require("pp-sms-label");
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  console.log(label("sending to", event.notification.recipient));
};
"""
TRIGGER = [{"id": "custom-phone-provider", "version": "v1"}]
LEGACY_HANDLER = """const { label } = require("pp-sms-label");
exports.onExecuteSendPhoneMessage = async (event, api) => {
  console.log(label("legacy", event.message_options.recipient));
};
"""
# Declared as a range in A; the deployed versions record the exact version the range found.
DEPENDENCIES = [{"name": "pp-sms-label", "version": "^1.0.0"}]
PINNED = [{"name": "pp-sms-label", "version": "1.2.0"}]
LEGACY_TRIGGER = [{"id": "send-phone-message", "version": "v2"}]
ALL_SECRETS = ("TWILIO_AUTH_TOKEN=peer-token", "API_KEY=peer-key", "SNS_KEY=peer-sns")


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
def tenant_registry():
    """The npm registry both instances install from (tests/npm_registry.py), on loopback."""
    server = _serve()
    registry = NpmRegistry(server)
    for version in ("1.0.0", "1.2.0", "2.0.0"):
        registry.publish(
            "pp-sms-label",
            version,
            {"index.js": f"exports.label = (what, to) => `${{what}} ${{to}} ({version})`;"},
            latest=version == "2.0.0",
        )
    yield registry
    server.clear()
    server.stop()


@pytest.fixture(scope="module")
def peer(django_db_blocker, tmp_path_factory, tenant_registry):
    """Instance A: migrated database of its own, an all-scopes token, gunicorn on loopback,
    deploys installing from the tenant's registry into a Deno cache of its own."""
    tmp = tmp_path_factory.mktemp("peer")
    with django_db_blocker.unblock():
        db = dict(connection.settings_dict)
        env = worker_environment(
            CONFIG_CACHE_SECONDS=0,
            NPM_CONFIG_REGISTRY=tenant_registry.url,
            DENO_DIR=tmp / "deno",
        )
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
            "dependencies": DEPENDENCIES,
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
    # Auth0's older trigger: one Action bound (deployed), one left as a draft.
    for name, deploy in (("aws-sns", True), ("sns-draft", False)):
        legacy = api.post(
            "/actions/actions",
            json={
                "name": name,
                "supported_triggers": LEGACY_TRIGGER,
                "code": LEGACY_HANDLER,
                "runtime": "node18",
                "dependencies": DEPENDENCIES,
                "secrets": [{"name": "SNS_KEY", "value": "peer-sns"}],
                "deploy": deploy,
            },
        )
        assert legacy.status_code == 201, legacy.text
    bound = api.get("/actions/triggers/send-phone-message/bindings").json()["bindings"]
    assert [b["display_name"] for b in bound] == ["aws-sns"]
    return peer


@pytest.fixture
def loopback(settings, monkeypatch, tmp_path, tenant_registry):
    """Instance B (this process) may reach A, and installs from the same registry into an empty
    Deno cache of its own."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with npm_registry_in_use(tenant_registry, monkeypatch, settings, tmp_path / "deno"):
        yield tenant_registry


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


def _secrets(*pairs: str) -> list[str]:
    return [arg for pair in pairs for arg in ("--secret", pair)]


def test_import_then_export_from_both_instances_is_equal(configured_peer, loopback):
    tarball = "pp-sms-label/-/pp-sms-label-1.2.0.tgz"
    fetched_by_a = loopback.requests.count(tarball)
    output = _import(configured_peer, *_secrets(*ALL_SECRETS))
    assert "Imported:" in output and "Missing" not in output
    assert "'sns-draft' (send-phone-message) is not bound in Auth0; not imported" in output

    mine = io.StringIO()
    call_command("export_config", stdout=mine)
    theirs = _manage(configured_peer["env"], "export_config")
    assert mine.getvalue() == theirs
    for value in ("peer-token", "peer-key", "peer-sns"):
        assert value not in theirs
    assert "send_phone_message:\n  aws-sns:\n    runtime: node18\n" in theirs

    provider = PhoneProvider.objects.get()
    assert (provider.twilio_sid, provider.twilio_auth_token) == ("sid1", "peer-token")
    handler = Action.objects.get(trigger_id="custom-phone-provider")
    assert handler.secrets.get().value == "peer-key"
    legacy = Action.objects.get(trigger_id="send-phone-message")  # the draft stayed behind
    assert legacy.name == "aws-sns" and legacy.secrets.get().value == "peer-sns"
    version = selectors.deployed_version(legacy)
    assert (version.code, version.runtime, version.secrets) == (
        LEGACY_HANDLER,
        "node18",
        {"SNS_KEY": "peer-sns"},
    )
    # The npm dependency came along pinned, and B installed it from the registry itself.
    assert "dependencies:\n    - name: pp-sms-label\n      version: 1.2.0\n" in theirs
    assert version.dependencies == PINNED
    assert selectors.deployed_version(handler).dependencies == PINNED
    assert fetched_by_a >= 1 and loopback.requests.count(tarball) > fetched_by_a

    again = _import(configured_peer, *_secrets(*ALL_SECRETS))
    assert again.strip().endswith("No changes.")


def test_dry_run_prints_the_plan_and_imports_nothing(configured_peer, loopback):
    output = _import(configured_peer, "--dry-run")
    assert "+ provider.sid" in output and "Dry run:" in output
    assert (
        "Missing values (give them with --secret NAME=VALUE): API_KEY, SNS_KEY, TWILIO_AUTH_TOKEN"
        in output
    )
    assert not PhoneProvider.objects.exists() and not Action.objects.exists()
    assert not PhoneTemplate.objects.exists()


def test_without_the_secret_values_the_provider_stays_disabled(configured_peer, loopback):
    output = _import(configured_peer)
    assert "Missing values" in output and "imported disabled" in output
    provider = PhoneProvider.objects.get()
    assert provider.disabled and provider.twilio_auth_token == ""
    assert not ActionSecret.objects.exists()

    _import(configured_peer, *_secrets(*ALL_SECRETS))
    provider.refresh_from_db()
    assert not provider.disabled and provider.twilio_auth_token == "peer-token"
    legacy = Action.objects.get(trigger_id="send-phone-message")
    assert selectors.deployed_version(legacy).secrets == {"SNS_KEY": "peer-sns"}


def test_a_bad_token_is_a_clear_error_and_changes_nothing(configured_peer, loopback):
    with pytest.raises(CommandError) as info:
        call_command("import_auth0", "--base-url", configured_peer["base_url"], "--token", "wrong")
    assert "answered 401" in str(info.value) and "nothing was changed" in str(info.value)
    assert not PhoneProvider.objects.exists()


def test_the_guard_refuses_the_peer_unless_loopback_is_allowed(configured_peer):
    with pytest.raises(CommandError) as info:
        _import(configured_peer)
    assert "nothing was changed" in str(info.value)
