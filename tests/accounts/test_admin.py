"""Django admin as an operator uses it: two-factor login, actions, gateways with masked secrets, test sends."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client

from accounts.models import ApiKey, CreditAccount
from gateways.models import Gateway
from tests.conftest import login
from tests.fakes.smtp import SmtpSink

pytestmark = pytest.mark.django_db


def act(client: Client, model: str, action: str, pks, **fields):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], "apply": "1", **fields}
    return client.post(f"/admin/{model}/", data, secure=True)


def test_admin_login_without_the_second_factor_is_refused(operator):
    client = Client()
    response = login(client, *operator, token="000000")
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/", secure=True).status_code == 302


def test_top_up_action_adds_credit(admin_client, alice):
    act(admin_client, "accounts/user", "top_up", [alice.user.pk], channel="sms", amount="50")
    assert CreditAccount.objects.get(user=alice.user, channel="sms").balance == 150


def test_suspend_action_stops_the_users_key(admin_client, alice):
    act(admin_client, "accounts/user", "suspend", [alice.user.pk])
    assert alice.client().get("/api/me").status_code == 401


def test_revoke_action_revokes_the_key(admin_client, alice):
    key = ApiKey.objects.get(user=alice.user)
    act(admin_client, "accounts/apikey", "revoke", [key.pk])
    assert alice.client().get("/api/me").status_code == 401


def test_gateway_secrets_are_masked_in_the_form_and_kept_on_save(admin_client, alice):
    config = {"host": "smtp.example.com", "port": 587, "password": "pw-secret", "from_email": "a@example.com"}
    data = {"owner": alice.user.pk, "channel": "email", "provider": "smtp", "identifier": "smtp-1", "name": "SMTP",
            "status": "active", "connections": 2, "config_json": json.dumps(config)}  # fmt: skip
    assert admin_client.post("/admin/gateways/gateway/add/", data, secure=True).status_code == 302
    gateway = Gateway.objects.get(identifier="smtp-1")
    page = admin_client.get(f"/admin/gateways/gateway/{gateway.pk}/change/", secure=True).content.decode()
    masked = {**config, "password": "********", "username": "mailer-2"}
    admin_client.post(
        f"/admin/gateways/gateway/{gateway.pk}/change/",
        {**data, "connections": 4, "config_json": json.dumps(masked)},
        secure=True,
    )
    gateway.refresh_from_db()
    assert "pw-secret" not in page
    assert (gateway.config["password"], gateway.config["username"], gateway.connections) == ("pw-secret", "mailer-2", 4)


def test_gateway_form_rejects_a_bad_config(admin_client, alice):
    data = {
        "owner": alice.user.pk,
        "channel": "email",
        "provider": "smtp",
        "identifier": "smtp-1",
        "status": "active",
        "config_json": '{"host": "x"}',
    }
    response = admin_client.post("/admin/gateways/gateway/add/", data, secure=True)
    assert "from_email" in response.content.decode()
    assert not Gateway.objects.exists()


def test_send_test_message_action_reaches_the_provider(admin_client, alice):
    from gateways.services import add_gateway

    with SmtpSink() as sink:
        gateway = add_gateway(
            owner=None,
            channel="email",
            provider="smtp",
            identifier="smtp",
            config={"host": "127.0.0.1", "port": sink.port, "from_email": "a@example.com"},
        )
        act(admin_client, "gateways/gateway", "send_test", [gateway.pk], to="ops@example.com")
    assert sink.recipients == ["ops@example.com"]
