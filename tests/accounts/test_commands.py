"""The sysadmin commands: happy paths, --json, and bad input (one clear line, non-zero exit, nothing changed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import services
from accounts.models import ApiKey, CreditAccount, CreditEntry, Plan, User
from tests.system.conftest import ROOT

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    from io import StringIO

    out = StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def balance(user: User, channel: str) -> int:
    return CreditAccount.objects.get(user=user, channel=channel).balance


def test_plan_create_prints_the_plan():
    data = run(
        "xsender:plan:create",
        "pro",
        "--name",
        "Pro",
        "--email-credits",
        "500",
        "--sms-credits",
        "-1",
        "--rate-limit",
        "120",
    )
    assert (data["slug"], data["email_credits"], data["sms_credits"], data["rate_limit"]) == ("pro", 500, -1, 120)


@pytest.mark.parametrize(
    "option", ["--email-credits", "--sms-credits", "--whatsapp-credits", "--rate-limit", "--duration-days"]
)
@pytest.mark.parametrize("value", ["2147483648", "99999999999999999999"])
def test_plan_create_refuses_a_number_past_the_columns_range(option, value):
    """It was a database error (or psycopg's OverflowError) and a traceback."""
    with pytest.raises(CommandError, match="At most 2,147,483,647"):
        call_command("xsender:plan:create", "big", "--name", "Big", option, value)
    assert not Plan.objects.filter(slug="big").exists()


def test_user_create_with_plan_prints_a_working_key(plan):
    data = run("xsender:user:create", "carol@example.com", "--name", "Carol", "--plan", "starter")
    assert set(data) == {"id", "email", "plan", "api_key"}
    assert services.authenticate_api_key(data["api_key"]).user.email == "carol@example.com"
    assert balance(User.objects.get(email="carol@example.com"), "email") == 100


def test_user_create_admin_makes_a_superuser():
    data = run("xsender:user:create", "root@example.com", "--admin", "--password", "a-long-passphrase-42")
    user = User.objects.get(pk=data["id"])
    assert user.is_superuser and user.check_password("a-long-passphrase-42")


def test_plan_assign_grants_credits_through_the_ledger(alice):
    run("xsender:plan:create", "big", "--name", "Big", "--email-credits", "1000", "--whatsapp-credits", "-1")
    data = run("xsender:plan:assign", "alice@example.com", "big")
    assert data["credits"] == {"email": 1100, "sms": 100, "whatsapp": -1}
    assert CreditEntry.objects.filter(account__user=alice.user, reason="plan").count() == 4


def test_credit_topup_adds_to_the_balance(alice):
    assert run("xsender:credit:topup", "alice@example.com", "sms", "25")["balance"] == 125


def test_apikey_rotate_revokes_the_old_key(alice):
    new = run("xsender:apikey:rotate", "alice@example.com")["api_key"]
    assert services.authenticate_api_key(alice.key) is None
    assert services.authenticate_api_key(new) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["xsender:user:create", "not-an-email"], "not a valid email"),
        (["xsender:user:create", "alice@example.com"], "already exists"),
        (["xsender:user:create", "new@example.com", "--plan", "ghost"], "Unknown plan"),
        (["xsender:plan:create", "starter", "--name", "Again"], "already exists"),
        (["xsender:plan:assign", "nobody@example.com", "starter"], "Unknown user"),
        (["xsender:plan:assign", "alice@example.com", "ghost"], "Unknown plan"),
        (["xsender:credit:topup", "nobody@example.com", "sms", "5"], "Unknown user"),
        (["xsender:credit:topup", "alice@example.com", "sms", "0"], "positive"),
        (["xsender:apikey:rotate", "nobody@example.com"], "Unknown user"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(alice, args, message):
    before = (User.objects.count(), Plan.objects.count(), CreditEntry.objects.count(), ApiKey.objects.count())
    with pytest.raises(CommandError, match=message):
        call_command(*args)
    assert (User.objects.count(), Plan.objects.count(), CreditEntry.objects.count(), ApiKey.objects.count()) == before


@pytest.mark.parametrize(
    "args",
    [
        ["xsender:credit:topup", "alice@example.com", "sms", "ten"],
        ["xsender:credit:topup", "alice@example.com", "sms", "-3"],
        ["xsender:credit:topup", "alice@example.com", "fax", "3"],
        ["xsender:plan:create", "x", "--name", "X", "--sms-credits", "-5"],
        ["xsender:plan:create", "x", "--name", "X", "--rate-limit", "1.5"],
    ],
)
def test_bad_numbers_exit_non_zero_with_one_line(args):
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_command_has_help():
    for name in ("user:create", "plan:create", "plan:assign", "credit:topup", "apikey:rotate"):
        result = subprocess.run(
            [sys.executable, "manage.py", f"xsender:{name}", "--help"], cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0 and "--json" in result.stdout
