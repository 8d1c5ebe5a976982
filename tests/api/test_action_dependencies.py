"""npm dependencies of Actions: installed and pinned at deploy; a missing package deploys nothing.

The packages come from the npm registry (reachable from CI); nothing here sends a request."""

import re

import pytest

from phoneprovider.models import Action, ActionVersion
from tests.api.conftest import TRIGGER, assert_error

pytestmark = pytest.mark.django_db

AXIOS_HANDLER = """const axios = require('axios');
if (typeof axios.post !== 'function') throw new Error('no axios');
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  await axios.post('https://gateway.example/sms', { to: event.notification.recipient });
};
"""


def test_deploy_pins_declared_packages_to_exact_versions(api):
    body = {
        "name": "gateway",
        "supported_triggers": TRIGGER,
        "code": AXIOS_HANDLER,
        "dependencies": [{"name": "axios", "version": "^1"}],
        "deploy": True,
    }
    response = api.post("/actions/actions", body)
    assert response.status_code == 201, response.content
    action = response.json()
    assert action["dependencies"] == [{"name": "axios", "version": "^1"}]  # the draft as written
    pinned = action["deployed_version"]["dependencies"]
    assert [d["name"] for d in pinned] == ["axios"]
    assert re.match(r"^1\.\d+\.\d+$", pinned[0]["version"]), pinned
    assert ActionVersion.objects.get().dependencies == pinned


def test_a_package_that_cannot_be_found_fails_the_deploy_naming_it(api):
    missing = "pp-no-such-package-5b2e90d1"
    body = {
        "name": "gateway",
        "supported_triggers": TRIGGER,
        "code": AXIOS_HANDLER,
        "dependencies": [{"name": "axios", "version": "^1"}, {"name": missing, "version": "1.0.0"}],
    }
    created = api.post("/actions/actions", body)
    assert created.status_code == 201, created.content
    error = assert_error(api.post(f"/actions/actions/{created.json()['id']}/deploy"), 400)
    assert missing in error["message"]
    assert not ActionVersion.objects.exists()
    assert Action.objects.get().status == "built"


def test_create_with_deploy_and_a_missing_package_creates_nothing(api):
    missing = "pp-no-such-package-5b2e90d1"
    body = {
        "name": "gateway",
        "supported_triggers": TRIGGER,
        "code": AXIOS_HANDLER,
        "dependencies": [{"name": missing}],
        "deploy": True,
    }
    error = assert_error(api.post("/actions/actions", body), 400)
    assert missing in error["message"]
    assert not Action.objects.exists()


def test_requiring_an_undeclared_package_fails_the_deploy(api):
    body = {"name": "gateway", "supported_triggers": TRIGGER, "code": AXIOS_HANDLER, "deploy": True}
    error = assert_error(api.post("/actions/actions", body), 400)
    assert "Cannot find module 'axios'" in error["message"]
    assert not Action.objects.exists()
