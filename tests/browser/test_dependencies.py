"""The editor's Dependencies tab in Chromium: declare an npm package, deploy (installed from a
loopback registry and pinned), see a package that cannot be installed named inline, pin another
version, remove."""

import pytest
from playwright.sync_api import expect

from phoneprovider import selectors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_dependencies(page, live_server):
    page.goto(f"{live_server.url}/editor/")
    expect(page.locator("#code-editor .monaco-editor")).to_be_visible()
    page.get_by_role("tab", name="Dependencies").click()
    return page.get_by_role("table", name="Declared dependencies")


def deploy(page, expected_notice: str):
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#editor-flash")).to_contain_text(expected_notice)


def test_dependencies_are_declared_deployed_pinned_and_removed(
    logged_in, live_server, npm_registry, screenshot
):
    npm_registry.publish("pp-greet", "1.0.0", {"index.js": "exports.greet = (n) => 'a ' + n;"})
    npm_registry.publish("pp-greet", "1.2.0", {"index.js": "exports.greet = (n) => 'b ' + n;"})
    page = logged_in
    table = open_dependencies(page, live_server)

    # Declare one with a range; Deploy installs it and the panel shows the exact version.
    table.get_by_label("Package name").last.fill("pp-greet")
    table.get_by_label("Version of the new package").last.fill("^1.0.0")
    deploy(page, "Deployed version 1")
    row = table.locator("tr.dependency-row").filter(has=page.locator('input[value="pp-greet"]'))
    expect(row).to_contain_text("1.2.0")
    action = selectors.custom_provider_action()
    assert selectors.deployed_version(action).dependencies == [
        {"name": "pp-greet", "version": "1.2.0"}
    ]

    # A package the registry does not have: the deploy error is shown in the panel, naming it.
    page.get_by_role("button", name="Add dependency").click()
    table.get_by_label("Package name").last.fill("pp-not-published")
    table.get_by_label("Version of the new package").last.fill("1.0.0")
    page.get_by_role("button", name="Deploy").click()
    error = page.locator("#error-dependencies")
    expect(error).to_contain_text("pp-not-published")
    expect(page.get_by_role("tab", name="Dependencies")).to_have_attribute("aria-selected", "true")
    screenshot("editor-dependencies-install-error")
    assert selectors.deployed_version(action).number == 1

    # Leave it out, pin pp-greet to 1.0.0: version 2 runs 1.0.0.
    table.get_by_label("Package name").last.fill("")
    table.get_by_label("Version of pp-greet").fill("1.0.0")
    deploy(page, "Deployed version 2")
    expect(error).not_to_contain_text("pp-not-published")
    expect(row).to_contain_text("1.0.0")
    assert selectors.deployed_version(action).dependencies == [
        {"name": "pp-greet", "version": "1.0.0"}
    ]

    # Remove it: the draft declares nothing; the deployed version keeps what it installed.
    row.get_by_label("Remove").check()
    page.get_by_role("button", name="Save Draft").click()
    expect(page.locator("#editor-flash")).to_contain_text("Draft saved")
    expect(table.locator('input[value="pp-greet"]')).to_have_count(0)
    action.refresh_from_db()
    assert action.dependencies == []
    assert selectors.deployed_version(action).dependencies == [
        {"name": "pp-greet", "version": "1.0.0"}
    ]
    assert not [m for m in page.console_messages if m.startswith("pageerror")]
