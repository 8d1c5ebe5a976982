"""API test helpers: handlers, and the custom provider set up through the API. The client and
its token fixtures (``api``, ``api_as``, ``make_token``) are tests/api_client.py's."""

import re

import pytest

from tests.api_client import (  # noqa: F401 - the API tests import them from here
    BASE,
    TRIGGER,
    Api,
    action_deployed,
    assert_error,
    custom_provider_select,
)

HANDLER = "exports.onExecuteCustomPhoneProvider = async (event, api) => {};\n"
BROKEN_HANDLER = "exports.onExecuteCustomPhoneProvider = async (event, api) => {\n"
TWILIO_SID = "AC" + "0" * 32
TWILIO_MSSID = "MG" + "1" * 32
# Auth0's timestamps: UTC, milliseconds, a Z.
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# The fields of Auth0's phone provider object, all of them (credentials are never returned).
PROVIDER_FIELDS = {
    "id",
    "tenant",
    "name",
    "channel",
    "disabled",
    "configuration",
    "created_at",
    "updated_at",
}


def twilio_provider_body(auth_token: str = "tw-auth-token", **configuration) -> dict:
    """The request that creates a Twilio provider (TWILIO_SID, From +14155550100, text messages);
    ``configuration`` overrides its fields."""
    return {
        "name": "twilio",
        "credentials": {"auth_token": auth_token},
        "configuration": {
            "sid": TWILIO_SID,
            "default_from": "+14155550100",
            "delivery_methods": ["text"],
            **configuration,
        },
    }


@pytest.fixture
def twilio_provider(api):
    """A Twilio provider for text and voice, created through the API, as it answers."""
    response = api.post(
        "/branding/phone/providers", twilio_provider_body(delivery_methods=["text", "voice"])
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def deployed_action(api):
    """A deployed custom-phone-provider Action, as the API returns it."""
    return action_deployed(api, HANDLER, secrets={"API_KEY": "s3cret-value"})


@pytest.fixture
def custom_provider(api, deployed_action):
    return custom_provider_select(api)
