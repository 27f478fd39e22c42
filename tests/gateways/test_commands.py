"""Gateway commands and the settings export/import round trip."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import services as accounts
from accounts.models import Plan, SiteSetting
from gateways.models import Gateway

pytestmark = pytest.mark.django_db

SMTP = {
    "host": "smtp.example.com",
    "port": 587,
    "username": "mailer",
    "password": "s3cret-pass",
    "from_email": "no@example.com",
}


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_gateway_add_for_a_user_masks_the_secret_in_its_output(alice):
    out = run(
        "xsender:gateway:add",
        "email",
        "smtp",
        "smtp-primary",
        "--owner",
        "alice@example.com",
        "--config",
        json.dumps(SMTP),
        "--default",
        "--connections",
        "3",
        "--json",
    )
    data = json.loads(out)
    assert (data["owner"], data["is_default"], data["config"]["password"]) == ("alice@example.com", True, "********")
    assert data["connections"] == Gateway.objects.get(identifier="smtp-primary").connections == 3
    assert "s3cret-pass" not in out
    assert Gateway.objects.get(identifier="smtp-primary").config["password"] == "s3cret-pass"


def test_config_is_encrypted_in_the_database(alice):
    from django.db import connection

    run(
        "xsender:gateway:add",
        "email",
        "smtp",
        "smtp-primary",
        "--owner",
        "alice@example.com",
        "--config",
        json.dumps(SMTP),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT config FROM gateways_gateway")
        assert "s3cret-pass" not in cursor.fetchone()[0]


def test_admin_gateway_shared_with_a_user(alice, bob):
    run("xsender:gateway:add", "sms", "console", "shared-sms", "--admin", "--share-with", "alice@example.com")
    gateway = Gateway.objects.get(identifier="shared-sms")
    assert gateway.owner is None
    assert list(gateway.shared_with.values_list("email", flat=True)) == ["alice@example.com"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["email", "smtp", "x", "--owner", "alice@example.com", "--config", "{nope"], "not valid JSON"),
        (["email", "smtp", "x", "--owner", "alice@example.com", "--config", '{"host": "h"}'], "from_email"),
        (
            ["email", "smtp", "x", "--owner", "alice@example.com", "--config", json.dumps({**SMTP, "colour": "red"})],
            "Unknown key",
        ),
        (["email", "carrier-pigeon", "x", "--owner", "alice@example.com"], "Unknown provider"),
        (["sms", "smtp", "x", "--owner", "alice@example.com", "--config", json.dumps(SMTP)], "does not send sms"),
        (["email", "console", "x", "--owner", "ghost@example.com"], "Unknown user"),
        (["email", "console", "bad id!", "--owner", "alice@example.com"], "Identifier"),
        (
            ["email", "console", "x", "--owner", "alice@example.com", "--share-with", "bob@example.com"],
            "Only admin gateways",
        ),
        (["email", "console", "x", "--owner", "alice@example.com", "--connections", "0"], "from 1 to 16"),
        (["email", "console", "x", "--owner", "alice@example.com", "--connections", "17"], "from 1 to 16"),
    ],
)
def test_gateway_add_refuses_bad_input_and_adds_nothing(alice, bob, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("xsender:gateway:add", *args)
    assert Gateway.objects.count() == 0


def test_gateway_list_shows_every_gateway_masked(alice):
    run(
        "xsender:gateway:add",
        "email",
        "smtp",
        "smtp-primary",
        "--owner",
        "alice@example.com",
        "--config",
        json.dumps(SMTP),
    )
    data = json.loads(run("xsender:gateway:list", "--json"))
    assert [g["identifier"] for g in data["gateways"]] == ["smtp-primary"]
    assert data["gateways"][0]["config"]["password"] == "********"


def test_settings_export_import_round_trip(alice, bob, tmp_path):
    run(
        "xsender:gateway:add",
        "email",
        "smtp",
        "smtp-primary",
        "--owner",
        "alice@example.com",
        "--config",
        json.dumps(SMTP),
        "--default",
    )
    run("xsender:gateway:add", "sms", "console", "shared-sms", "--admin", "--share-with", "bob@example.com")
    accounts.set_site_setting(key="app-name", value="Acme Messaging")
    exported = run("xsender:settings:export", "--with-secrets")
    Gateway.objects.all().delete()
    SiteSetting.objects.all().delete()
    Plan.objects.exclude(users__isnull=False).delete()
    (tmp_path / "export.json").write_text(exported)
    run("xsender:settings:import", str(tmp_path / "export.json"))
    assert run("xsender:settings:export", "--with-secrets") == exported
    assert Gateway.objects.get(identifier="smtp-primary").config["password"] == "s3cret-pass"


def test_export_without_secrets_masks_them(alice):
    run(
        "xsender:gateway:add",
        "email",
        "smtp",
        "smtp-primary",
        "--owner",
        "alice@example.com",
        "--config",
        json.dumps(SMTP),
    )
    assert "s3cret-pass" not in run("xsender:settings:export")


def test_import_is_all_or_nothing(alice, tmp_path):
    document = {
        "version": 1,
        "plans": [
            {
                "slug": "gold",
                "name": "Gold",
                "email_credits": 5,
                "sms_credits": 5,
                "whatsapp_credits": 5,
                "rate_limit_per_minute": 60,
                "duration_days": 0,
            }
        ],
        "gateways": [{"identifier": "g", "channel": "email", "provider": "console", "owner": "ghost@example.com"}],
        "settings": [],
    }
    (tmp_path / "bad.json").write_text(json.dumps(document))
    with pytest.raises(CommandError, match="ghost@example.com"):
        call_command("xsender:settings:import", str(tmp_path / "bad.json"))
    assert not Plan.objects.filter(slug="gold").exists()


def test_import_of_a_file_that_is_not_an_export_is_refused(tmp_path):
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(CommandError, match="Not an XSender settings export"):
        call_command("xsender:settings:import", str(tmp_path / "x.json"))


def test_import_with_an_unknown_provider_is_one_clear_error_and_imports_nothing(tmp_path):
    plan = {"slug": "gold", "name": "Gold", "email_credits": 5, "sms_credits": 5, "whatsapp_credits": 5,
            "rate_limit_per_minute": 60, "duration_days": 0}  # fmt: skip
    gateway = {"identifier": "g", "channel": "email", "provider": "pigeon", "owner": None}
    (tmp_path / "x.json").write_text(json.dumps({"version": 1, "plans": [plan], "gateways": [gateway]}))
    with pytest.raises(CommandError, match=r"Unknown provider 'pigeon'; known: .*smtp"):
        call_command("xsender:settings:import", str(tmp_path / "x.json"))
    assert not Plan.objects.filter(slug="gold").exists()


def test_import_of_a_masked_export_over_a_moved_endpoint_asks_for_the_secret_again(alice, tmp_path):
    run("xsender:gateway:add", "email", "esp", "pm", "--admin", "--config",
        json.dumps({"esp": "postmark", "api_key": "pm-secret", "from_email": "a@example.com"}))  # fmt: skip
    document = json.loads(run("xsender:settings:export"))
    document["gateways"][0]["config"]["base_url"] = "https://attacker.test/"
    (tmp_path / "x.json").write_text(json.dumps(document))
    with pytest.raises(CommandError, match="Enter api_key again"):
        call_command("xsender:settings:import", str(tmp_path / "x.json"))
    assert Gateway.objects.get(identifier="pm").config.get("base_url") is None


@pytest.fixture
def queued():
    from gateways.services import register_removal_guard, unregister_removal_guard
    from xsender.errors import Conflict

    def guard(gateway: Gateway, force: bool) -> None:
        if not force:
            raise Conflict(f"4 messages are queued for {gateway.identifier}; --force fails and refunds them.")

    register_removal_guard(guard)
    yield
    unregister_removal_guard(guard)


def test_gateway_remove_removes_a_users_gateway(alice):
    run("xsender:gateway:add", "sms", "console", "old", "--owner", "alice@example.com")
    assert "removed" in run("xsender:gateway:remove", "old", "--owner", "alice@example.com")
    assert not Gateway.objects.exists()


def test_gateway_remove_is_refused_while_messages_are_queued_and_forced_with_force(queued):
    run("xsender:gateway:add", "sms", "console", "busy", "--admin")
    with pytest.raises(CommandError, match="4 messages are queued for busy"):
        call_command("xsender:gateway:remove", "busy")
    kept = Gateway.objects.filter(identifier="busy").exists()
    run("xsender:gateway:remove", "busy", "--force")
    assert kept and not Gateway.objects.exists()


def test_gateway_remove_of_an_unknown_gateway_says_so(alice):
    run("xsender:gateway:add", "sms", "console", "mine", "--owner", "alice@example.com")
    with pytest.raises(CommandError, match="No admin gateway named 'mine'"):
        call_command("xsender:gateway:remove", "mine")
    assert Gateway.objects.count() == 1
