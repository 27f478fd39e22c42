"""Gateways in Django admin as a staff member uses it: secrets cannot be redirected, shares and removal obey the
services."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from gateways.models import Gateway
from gateways.services import add_gateway, register_removal_guard, unregister_removal_guard
from tests.fakes import providers
from tests.fakes.http import FakeServer
from xsender.errors import Conflict

pytestmark = pytest.mark.django_db

FIELDS = {"name": "G", "status": "active", "connections": 2}


def change(client, gateway: Gateway, config: dict, **fields):
    data = {**FIELDS, "config_json": json.dumps(config), **fields}
    return client.post(f"/admin/gateways/gateway/{gateway.pk}/change/", data, secure=True)


def act(client, action: str, gateways: list[Gateway], **fields):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(g.pk) for g in gateways], "apply": "1", **fields}
    return client.post("/admin/gateways/gateway/", data, secure=True)


def test_pointing_a_gateway_elsewhere_with_the_masked_token_is_refused_and_no_test_send_leaks_it(admin_client):
    with FakeServer(providers.graph(token="EAA-secret")) as meta, FakeServer(providers.graph()) as attacker:
        config = {"phone_number_id": "1061", "access_token": "EAA-secret", "base_url": meta.url}
        gateway = add_gateway(owner=None, channel="whatsapp", provider="whatsapp_cloud", identifier="c", config=config)
        page = change(admin_client, gateway, {**config, "access_token": "********", "base_url": attacker.url})
        act(admin_client, "send_test", [gateway], to="+15555550123")
    gateway.refresh_from_db()
    assert "Enter access_token again" in page.content.decode()
    assert gateway.config["base_url"] == meta.url
    assert (attacker.requests, len(meta.requests)) == ([], 1)


def test_an_optional_secret_is_cleared_when_the_host_changes(admin_client):
    config = {"host": "smtp.example.com", "username": "u", "password": "pw-secret", "from_email": "a@example.com"}
    gateway = add_gateway(owner=None, channel="email", provider="smtp", identifier="s", config=config)
    response = change(admin_client, gateway, {**config, "password": "********", "host": "mx.attacker.test"})
    gateway.refresh_from_db()
    assert response.status_code == 302
    assert gateway.config == {"host": "mx.attacker.test", "username": "u", "from_email": "a@example.com"}


def test_a_users_gateway_cannot_be_shared_from_the_form(admin_client, alice, bob):
    gateway = add_gateway(owner=alice.user, channel="sms", provider="console", identifier="mine")
    response = change(admin_client, gateway, {}, shared_with=[bob.user.pk])
    assert "Only admin gateways can be shared" in response.content.decode()
    assert list(gateway.shared_with.all()) == []


def test_an_admin_gateway_is_shared_from_the_form(admin_client, alice):
    gateway = add_gateway(owner=None, channel="sms", provider="console", identifier="shared")
    change(admin_client, gateway, {}, shared_with=[alice.user.pk])
    assert list(gateway.shared_with.values_list("email", flat=True)) == ["alice@example.com"]


@pytest.fixture
def queued():
    def guard(gateway: Gateway, force: bool) -> None:
        if not force:
            raise Conflict(f"2 messages are queued for {gateway.identifier}.")

    register_removal_guard(guard)
    yield
    unregister_removal_guard(guard)


def test_deleting_a_gateway_with_queued_messages_shows_why_and_keeps_it(admin_client, queued):
    gateway = add_gateway(owner=None, channel="sms", provider="console", identifier="busy")
    response = admin_client.post(
        f"/admin/gateways/gateway/{gateway.pk}/delete/", {"post": "yes"}, follow=True, secure=True
    )
    assert "Not removed: 2 messages are queued for busy." in response.content.decode()
    assert Gateway.objects.filter(pk=gateway.pk).exists()


def test_the_remove_action_is_refused_and_the_forced_action_removes(admin_client, queued):
    gateway = add_gateway(owner=None, channel="sms", provider="console", identifier="busy")
    refused = act(admin_client, "remove_selected", [gateway])
    page = admin_client.get(refused.url, secure=True).content.decode()
    kept = Gateway.objects.filter(pk=gateway.pk).exists()
    act(admin_client, "remove_forced", [gateway], confirm="on")
    assert "Gateway busy not removed: 2 messages are queued for busy." in page
    assert kept and not Gateway.objects.filter(pk=gateway.pk).exists()


def test_the_forced_action_asks_for_confirmation_first(admin_client, queued):
    gateway = add_gateway(owner=None, channel="sms", provider="console", identifier="busy")
    page = act(admin_client, "remove_forced", [gateway])
    assert "Fail their queued messages" in page.content.decode()
    assert Gateway.objects.filter(pk=gateway.pk).exists()
