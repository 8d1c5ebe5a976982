"""Action fields are checked: runtimes Auth0 names, npm package names, each secret and dependency
named once, no secret a handler would read as Object.prototype's."""

import pytest

from phoneprovider.models import Action
from tests.api.conftest import HANDLER, TRIGGER

pytestmark = pytest.mark.django_db


def _create(api, **fields):
    return api.post(
        "/actions/actions",
        {"name": "gateway", "supported_triggers": TRIGGER, "code": HANDLER, **fields},
    )


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"runtime": "node0"}, "Unsupported runtime"),
        ({"dependencies": [{"name": "../../etc", "version": "1.0.0"}]}, "npm package name"),
        ({"dependencies": [{"name": "Upper", "version": "1.0.0"}]}, "npm package name"),
        ({"dependencies": [{"name": "_private", "version": "1"}]}, "npm package name"),
        ({"dependencies": [{"name": "lodash", "version": "../../etc"}]}, "not a version"),
        (
            {"dependencies": [{"name": "lodash", "version": "1"}, {"name": "lodash"}]},
            "listed twice",
        ),
        (
            {"secrets": [{"name": "KEY", "value": "a"}, {"name": "KEY", "value": "b"}]},
            "listed twice",
        ),
        ({"secrets": [{"name": "__proto__", "value": "a"}]}, "Object.prototype"),
        ({"secrets": [{"name": "constructor", "value": "a"}]}, "Object.prototype"),
    ],
)
def test_nonsense_action_fields_are_refused(api, fields, words):
    response = _create(api, **fields)
    assert response.status_code == 400, response.content
    assert words in response.json()["message"]
    assert Action.objects.count() == 0


def test_a_runtime_update_is_checked_too(api):
    action = _create(api).json()
    response = api.patch(f"/actions/actions/{action['id']}", {"runtime": "node0"})
    assert response.status_code == 400 and "Unsupported runtime" in response.json()["message"]
    dup = api.patch(
        f"/actions/actions/{action['id']}",
        {"secrets": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]},
    )
    assert dup.status_code == 400 and "listed twice" in dup.json()["message"]


@pytest.mark.parametrize(
    "dependency",
    [
        {"name": "lodash", "version": "4.17.21"},
        {"name": "@scope/pkg.name-x_y", "version": "^1.2.3"},
        {"name": "axios", "version": "latest"},
    ],
)
def test_real_package_names_and_runtimes_are_accepted(api, dependency):
    response = _create(api, runtime="node18", dependencies=[dependency])
    assert response.status_code == 201, response.content
    assert response.json()["dependencies"] == [dependency]
