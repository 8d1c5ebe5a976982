"""Draft vs deployed in Chromium: after a revert the provider page says the draft differs, Save
asks the admin to confirm it, Open diff and Discard draft work; code that throws at load is
refused with its line and nothing is deployed."""

import pytest
from playwright.sync_api import expect

from dashboard.starter import STARTER_HANDLER
from phoneprovider import selectors
from phoneprovider.models import ActionVersion
from phoneprovider.services.actions import action_version_redeploy
from phoneprovider.services.providers import custom_provider_configure
from tests.browser.test_provider_page import type_into_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

V2 = STARTER_HANDLER.replace("exports.", "// version two\nexports.", 1)


def deployed_number() -> int:
    return selectors.deployed_version(selectors.custom_provider_action()).number


def test_revert_case_draft_differs_confirm_diff_discard_and_a_load_time_throw(
    logged_in, live_server, custom_provider, outside_event_loop, screenshot
):
    page = logged_in
    # v1 is the starter (the fixture); v2 changes it; a revert deploys v3, a copy of v1, while
    # the draft stays v2 — the case where the page used to show v2 under "deployed: version 3".
    outside_event_loop(
        custom_provider_configure, actor="setup", code=V2, delivery_methods=["text", "voice"]
    )
    v1 = ActionVersion.objects.get(number=1)
    outside_event_loop(action_version_redeploy, v1, actor="setup")
    assert deployed_number() == 3

    page.goto(f"{live_server.url}/")
    state = page.locator("#draft-state")
    expect(state).to_contain_text("differs from the deployed version 3")
    expect(page.locator("#code-editor .monaco-editor")).to_be_visible()
    assert page.evaluate("window.phoneProviderEditor.get()") == V2
    screenshot("30-provider-draft-differs")

    # Save without confirming deploys nothing and says why, beside the code.
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#error-code")).to_contain_text("differs from the deployed version 3")
    assert deployed_number() == 3

    # Open diff: version 3 against the draft.
    page.get_by_role("link", name="Open diff").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Version 3")
    expect(page.locator("body")).to_contain_text("A rollback: a copy of version 1.")
    expect(page.locator("body")).to_contain_text("version two")
    page.go_back()

    # Discard draft: the editor shows what runs, nothing is deployed.
    page.get_by_role("button", name="Discard draft").click()
    expect(page.get_by_role("status").filter(has_text="Discarded the draft")).to_be_visible()
    expect(page.locator("#draft-state")).to_contain_text(
        "Deployed: version 3. The code below is what runs."
    )
    expect(page.locator("#code-editor .monaco-editor")).to_be_visible()
    assert page.evaluate("window.phoneProviderEditor.get()") == STARTER_HANDLER
    assert ActionVersion.objects.count() == 3

    # Code that throws as it loads: refused with the error and its line; nothing deployed.
    type_into_editor(
        page,
        'const ready = false;\nif (!ready) throw new Error("boom at load");\n' + STARTER_HANDLER,
    )
    page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator("#error-code")
    expect(error).to_contain_text("The code throws while it loads: boom at load")
    expect(error).to_contain_text("Line 2")
    screenshot("31-provider-load-time-throw")
    assert deployed_number() == 3 and ActionVersion.objects.count() == 3
