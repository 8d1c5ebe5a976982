"""Whether an Action's draft still matches its deployed version, when the draft declares npm
packages by range (^1.0.0) and deploy pins what it installed (1.2.0)."""

import pytest

from phoneprovider import selectors
from phoneprovider.services.actions import (
    action_create,
    action_deploy,
    action_draft_discard,
    action_update,
    action_version_redeploy,
)

pytestmark = pytest.mark.django_db

HANDLER = "exports.onExecuteCustomPhoneProvider = async (event, api) => {};"
RANGE = [{"name": "pp-range", "version": "^1.0.0"}]


@pytest.fixture
def ranged(npm_registry):
    npm_registry.publish("pp-range", "1.0.0", {"index.js": "exports.v = 1;"})
    npm_registry.publish("pp-range", "1.2.0", {"index.js": "exports.v = 2;"})
    action = action_create(
        actor="t",
        name="Ranged",
        trigger_id="custom-phone-provider",
        code=HANDLER,
        dependencies=RANGE,
    )
    version = action_deploy(action, actor="t")
    action.refresh_from_db()
    return action, version


def test_a_draft_declaring_a_range_matches_the_version_it_deployed(ranged):
    action, version = ranged
    assert version.dependencies == [{"name": "pp-range", "version": "1.2.0"}]  # pinned
    assert action.dependencies == RANGE  # the draft as written
    assert selectors.action_all_changes_deployed(action, version)
    # Save and Deploy with nothing changed makes no new version.
    assert action_deploy(action, actor="t", only_if_changed=True).pk == version.pk
    assert action.versions.count() == 1

    action = action_update(action, actor="t", dependencies=[{"name": "pp-range", "version": "1"}])
    assert not selectors.action_all_changes_deployed(action, version)


def test_discard_and_rollback_keep_the_declared_range(ranged):
    action, first = ranged
    action_update(action, actor="t", dependencies=[])
    second = action_deploy(action, actor="t")
    assert second.dependencies == []

    action = action_update(action, actor="t", dependencies=RANGE)
    action = action_draft_discard(action, actor="t")
    assert action.dependencies == []

    rolled_back = action_version_redeploy(first, actor="t")
    assert rolled_back.dependencies == first.dependencies  # the same pinned install
    action = action_update(action, actor="t", dependencies=RANGE)
    assert selectors.action_all_changes_deployed(action, rolled_back)
    action = action_draft_discard(action, actor="t")
    assert action.dependencies == RANGE
