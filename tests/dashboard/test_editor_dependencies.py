"""The editor's Dependencies panel through the test client: declare, pin, remove npm packages
with the draft; Deploy installs them from a loopback registry, or names the one it cannot."""

import pytest
from django.urls import reverse

from phoneprovider import selectors
from phoneprovider.models import ActionVersion

EDITOR = reverse("dashboard:editor")
HTMX = {"HTTP_HX_REQUEST": "true"}
HANDLER = """exports.onExecuteCustomPhoneProvider = async (event, api) => {
  console.log(require("pp-greet").greet(event.notification.recipient));
};
"""


def save(client, rows, op="save", htmx=False, **extra):
    """Post the editor with the Dependencies panel's rows: (name, version[, remove])."""
    data = {"code": HANDLER, "op": op, "dependencies_posted": "1", **extra}
    for index, row in enumerate(rows, start=1):
        data[f"dependency-{index}-name"] = row[0]
        data[f"dependency-{index}-version"] = row[1]
        if len(row) > 2 and row[2]:
            data[f"dependency-{index}-remove"] = "on"
    return client.post(EDITOR, data, **(HTMX if htmx else {}))


@pytest.mark.django_db
def test_save_draft_declares_pins_and_removes_dependencies(staff):
    assert save(staff, [("pp-greet", "^1.0.0"), ("pp-other", ""), ("", "")]).status_code == 302
    action = selectors.custom_provider_action()
    assert action.dependencies == [
        {"name": "pp-greet", "version": "^1.0.0"},
        {"name": "pp-other", "version": "latest"},  # no version: the latest, as npm's own
    ]
    html = staff.get(EDITOR).content.decode()
    assert 'value="pp-greet"' in html and 'value="^1.0.0"' in html
    assert "not deployed" in html

    save(staff, [("pp-greet", "1.0.0"), ("pp-other", "latest", "remove")])
    action.refresh_from_db()
    assert action.dependencies == [{"name": "pp-greet", "version": "1.0.0"}]
    assert ActionVersion.objects.count() == 0  # a draft installs nothing


@pytest.mark.django_db
def test_a_post_without_the_panel_keeps_the_declared_dependencies(staff):
    save(staff, [("pp-greet", "1.0.0")])
    staff.post(EDITOR, {"code": HANDLER + "// more\n", "op": "save"})
    assert selectors.custom_provider_action().dependencies == [
        {"name": "pp-greet", "version": "1.0.0"}
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_an_invalid_package_name_is_an_inline_error_and_nothing_is_stored(staff, htmx):
    save(staff, [("pp-greet", "1.0.0")])
    response = save(staff, [("pp-greet", "1.0.0"), ("Not A Package", "1.0.0")], htmx=htmx)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-dependencies" class="field-error has-error"' in html
    assert "is not an npm package name" in html
    if not htmx:  # the page again, with what was typed
        assert 'value="Not A Package"' in html
    assert selectors.custom_provider_action().dependencies == [
        {"name": "pp-greet", "version": "1.0.0"}
    ]


@pytest.mark.django_db
def test_deploy_installs_and_pins_and_the_panel_shows_the_installed_version(staff, npm_registry):
    npm_registry.publish("pp-greet", "1.0.0", {"index.js": "exports.greet = (n) => 'a ' + n;"})
    npm_registry.publish("pp-greet", "1.2.0", {"index.js": "exports.greet = (n) => 'b ' + n;"})
    response = save(staff, [("pp-greet", "^1.0.0")], op="deploy", htmx=True)
    assert response.status_code == 200, response.content.decode()[:1500]
    html = response.content.decode()
    assert 'id="dependencies-block" hx-swap-oob="true"' in html
    assert "1.2.0" in html  # what ^1.0.0 installed
    version = selectors.deployed_version(selectors.custom_provider_action())
    assert version.dependencies == [{"name": "pp-greet", "version": "1.2.0"}]


@pytest.mark.django_db
def test_deploy_of_a_package_that_cannot_be_installed_names_it_and_deploys_nothing(
    staff, npm_registry
):
    response = save(staff, [("pp-not-published", "1.0.0")], op="deploy", htmx=True)
    html = response.content.decode()
    assert 'id="error-dependencies" class="field-error has-error"' in html
    assert "pp-not-published" in html
    assert ActionVersion.objects.count() == 0
