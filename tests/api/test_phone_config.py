"""GET/PUT /api/v2/phone/config: the configuration-as-code service through the API."""

import pytest

from phoneprovider.models import AuditEntry
from phoneprovider.services import config
from tests.api.conftest import Api
from tests.services.test_config import ENV, configure, npm_offline  # noqa: F401 - autouse

pytestmark = pytest.mark.django_db


def test_api_get_and_put_with_their_scopes_and_audit(make_token, monkeypatch):
    configure()
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    reader = Api(make_token(["read:phone_config"], name="reader"))
    writer = Api(make_token(["update:phone_config"], name="writer"))

    exported = reader.get("/phone/config")
    assert exported.status_code == 200
    doc = exported.json()
    assert doc == config.config_export() and "tw-token" not in exported.content.decode()

    forbidden = reader.request("PUT", "/phone/config", doc)
    assert forbidden.status_code == 403
    assert forbidden.json()["message"] == "Insufficient scope, expected any of: update:phone_config"
    assert writer.get("/phone/config").status_code == 403

    doc["limits"]["recipient_per_hour"] = 11
    dry = writer.request("PUT", "/phone/config", doc, query={"dry_run": "true"})
    assert dry.json() == {"changes": ["~ limits.recipient_per_hour: 7 → 11"], "dry_run": True}
    applied = writer.request("PUT", "/phone/config", doc)
    assert applied.status_code == 200 and applied.json()["dry_run"] is False
    assert writer.request("PUT", "/phone/config", doc).json()["changes"] == []
    entry = AuditEntry.objects.filter(object_type="phone_config").get()
    assert entry.actor == "writer" and entry.verb == "apply"

    doc["provider"]["colour"] = "blue"
    bad = writer.request("PUT", "/phone/config", doc)
    assert bad.status_code == 400 and "provider.colour" in bad.json()["message"]
