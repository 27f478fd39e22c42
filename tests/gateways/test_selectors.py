"""The send path's gateway lookup (one hand-written statement) sees exactly what visible_gateways shows."""

from __future__ import annotations

import pytest

from gateways.models import Gateway
from gateways.selectors import default_gateway, usable_gateways, visible_gateways
from tests.messaging.conftest import make_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def mix(alice, bob):
    make_gateway(alice.user, "email", "own-1")
    make_gateway(alice.user, "email", "own-default", is_default=True)
    make_gateway(alice.user, "email", "own-off", status=Gateway.Status.DISABLED)
    make_gateway(alice.user, "sms", "own-sms")
    make_gateway(bob.user, "email", "bobs")
    make_gateway(None, "email", "admin-shared").shared_with.add(alice.user)
    make_gateway(None, "email", "admin-private")


def expected(user, channel: str) -> set[str]:
    return set(visible_gateways(user).filter(channel=channel, status="active").values_list("identifier", flat=True))


@pytest.mark.parametrize("channel", ["email", "sms", "whatsapp"])
def test_a_tenant_may_use_its_own_and_the_shared_active_gateways_of_the_channel(mix, alice, channel):
    assert {g.identifier for g in usable_gateways(alice.user, channel)} == expected(alice.user, channel)


def test_the_admin_uses_the_admin_gateways(mix, admin):
    assert {g.identifier for g in usable_gateways(admin.user, "email")} == {"admin-shared", "admin-private"}


def test_own_gateways_come_first_and_the_default_is_chosen(mix, alice):
    usable = usable_gateways(alice.user, "email")
    assert [g.identifier for g in usable][:2] == ["own-default", "own-1"]
    assert default_gateway(usable).identifier == "own-default"
