"""manage.py create_api_token prints the token alone on its last line; it works at once."""

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from phoneprovider.models import ApiToken
from phoneprovider.services.tokens import SCOPES
from tests.api.conftest import Api
from tests.conftest import ROOT, worker_environment

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


def test_without_scopes_the_token_gets_every_scope():
    token = run().strip().splitlines()[-1]
    assert ApiToken.objects.get().scopes == list(SCOPES)
    assert Api(token).get("/branding/phone/providers").status_code == 200


def test_unknown_scope_fails():
    with pytest.raises(CommandError, match="Unknown scope"):
        run("--scopes", "read:users")


@pytest.mark.django_db(transaction=True)
def test_as_a_real_command_the_token_is_the_last_line_of_all_output():
    """Run as people do (stdout and stderr in one stream): the last line is the token alone."""
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "create_api_token",
            "--scopes",
            "read:actions",
            "--name",
            "ci",
        ],
        cwd=ROOT,
        env=worker_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.strip().splitlines()
    assert len(lines) > 1  # the explanation comes first
    token = lines[-1]
    assert token == token.strip() and " " not in token
    assert Api(token).get("/actions/actions").status_code == 200
    assert ApiToken.objects.get().name == "ci"
