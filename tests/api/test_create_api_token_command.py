"""manage.py create_api_token prints the token alone on its last line; it works at once."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from phoneprovider.models import ApiToken
from phoneprovider.services.tokens import SCOPES
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_prints_a_working_token_on_the_last_line():
    output = run("--scopes", "read:actions create:actions", "--name", "deploy-bot")
    token = output.strip().splitlines()[-1]
    stored = ApiToken.objects.get()
    assert stored.name == "deploy-bot"
    assert stored.scopes == ["read:actions", "create:actions"]
    assert token not in stored.token_hash and stored.prefix == token[: len(stored.prefix)]
    assert Api(token).get("/actions/actions").status_code == 200


def test_all_scopes_and_expiry():
    run("--scopes", "all", "--expires-in-days", "7")
    stored = ApiToken.objects.get()
    assert stored.scopes == list(SCOPES)
    assert stored.expires_at is not None


def test_unknown_scope_fails():
    with pytest.raises(CommandError, match="Unknown scope"):
        run("--scopes", "read:users")
