"""Gateway services: secrets never follow a changed endpoint, sharing rules, removal guarded in one transaction."""

from __future__ import annotations

import pytest

from accounts import services as accounts
from accounts.models import SiteSetting
from gateways.backends.base import SECRET_MASK
from gateways.models import Gateway
from gateways.services import (
    add_gateway,
    register_removal_guard,
    remove_gateway,
    share_gateway,
    unregister_removal_guard,
    update_gateway,
)
from xsender.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db

SMTP = {"host": "smtp.example.com", "port": 587, "password": "pw-secret", "from_email": "a@example.com"}
CLOUD = {"phone_number_id": "1061", "access_token": "EAA-secret", "base_url": "https://graph.example.com"}


def smtp_gateway(owner=None) -> Gateway:
    return add_gateway(owner=owner, channel="email", provider="smtp", identifier="smtp", config=SMTP)


def test_a_masked_secret_is_kept_while_the_endpoint_stays():
    gateway = update_gateway(gateway=smtp_gateway(), config={**SMTP, "password": SECRET_MASK, "timeout": 10})
    assert (gateway.config["password"], gateway.config["timeout"]) == ("pw-secret", 10)


@pytest.mark.parametrize("change", [{"host": "mx.attacker.test"}, {"port": 2525}, {"use_tls": False}])
def test_changing_where_the_secret_goes_clears_a_masked_secret(change):
    gateway = update_gateway(gateway=smtp_gateway(), config={**SMTP, "password": SECRET_MASK, **change})
    gateway.refresh_from_db()
    assert "password" not in gateway.config


def test_a_secret_entered_again_with_the_new_endpoint_is_kept():
    gateway = update_gateway(gateway=smtp_gateway(), config={**SMTP, "host": "smtp2.example.com", "password": "new"})
    assert (gateway.config["host"], gateway.config["password"]) == ("smtp2.example.com", "new")


def test_a_required_secret_cleared_by_an_endpoint_change_must_be_entered_again():
    gateway = add_gateway(owner=None, channel="whatsapp", provider="whatsapp_cloud", identifier="c", config=CLOUD)
    with pytest.raises(ValidationFailed, match="Enter access_token again: base_url changed"):
        update_gateway(
            gateway=gateway, config={**CLOUD, "access_token": SECRET_MASK, "base_url": "http://attacker.test"}
        )
    gateway.refresh_from_db()
    assert gateway.config == CLOUD


def test_a_new_gateway_cannot_take_a_masked_secret():
    with pytest.raises(ValidationFailed, match="masked"):
        add_gateway(
            owner=None, channel="email", provider="smtp", identifier="s", config={**SMTP, "password": "********"}
        )


def test_a_users_gateway_cannot_be_shared(alice, bob):
    with pytest.raises(ValidationFailed, match="Only admin gateways"):
        share_gateway(gateway=smtp_gateway(owner=alice.user), users=[bob.user])


@pytest.fixture
def refusing_guard():
    """A guard as an app above gateways registers one: refuses while work is queued, settles it when forced."""
    calls = []

    def guard(gateway: Gateway, force: bool) -> None:
        calls.append((gateway.identifier, force))
        if not force:
            raise Conflict(f"3 messages are queued for {gateway.identifier}: remove it with force to fail them.")
        accounts.set_site_setting(key="settled", value=gateway.identifier)

    register_removal_guard(guard)
    register_removal_guard(guard)
    yield calls
    unregister_removal_guard(guard)


def test_removal_is_refused_while_a_guard_objects(refusing_guard):
    gateway = smtp_gateway()
    with pytest.raises(Conflict, match="3 messages are queued for smtp"):
        remove_gateway(gateway=gateway)
    assert Gateway.objects.filter(pk=gateway.pk).exists()
    assert refusing_guard == [("smtp", False)]


def test_forced_removal_lets_every_guard_settle_then_deletes(refusing_guard):
    gateway = smtp_gateway()
    remove_gateway(gateway=gateway, force=True)
    assert not Gateway.objects.filter(pk=gateway.pk).exists()
    assert SiteSetting.objects.get(key="settled").value == "smtp"


def test_guards_and_the_delete_are_one_transaction(refusing_guard):
    def later_guard(gateway: Gateway, force: bool) -> None:
        raise Conflict("Another app objects.")

    register_removal_guard(later_guard)
    try:
        with pytest.raises(Conflict, match="Another app"):
            remove_gateway(gateway=smtp_gateway(), force=True)
    finally:
        unregister_removal_guard(later_guard)
    assert Gateway.objects.count() == 1
    assert not SiteSetting.objects.filter(key="settled").exists()
