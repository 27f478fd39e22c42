"""The outbox: a message's move becomes one delivery per matching endpoint, in the move's own transaction."""

from __future__ import annotations

import pytest
from django.db import transaction

from messaging import transitions
from messaging.models import Status
from tests.webhooks.conftest import drain, sent_message
from webhooks.models import Delivery
from webhooks.outbox import record_moves

pytestmark = pytest.mark.django_db


def test_a_sent_message_reaches_its_tenants_endpoint_with_the_documented_payload(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    message = sent_message(alice)
    drain(endpoint)
    event = receiver.events()[0]
    assert (event["type"], event["data"]["uid"], event["data"]["status"]) == ("message.sent", str(message.uid), "Sent")
    assert event["data"]["user_id"] == alice.user.pk and event["data"]["by_admin"] is False
    assert event["data"]["gateway"] == message.gateway.identifier and event["data"]["recipient"] == "to@example.com"


def test_admin_key_messages_carry_a_null_user_id_and_by_admin_true(admin, alice, endpoint_for, receiver):
    admins, _ = endpoint_for(None)
    endpoint_for(alice.user)
    sent_message(admin, by_admin=True)
    drain(admins)
    data = receiver.events()[0]["data"]
    assert (data["user_id"], data["by_admin"]) == (None, True)
    assert Delivery.objects.count() == 1  # alice's endpoint does not get the admin's traffic


def test_another_tenants_endpoint_gets_nothing(alice, bob, endpoint_for):
    endpoint_for(bob.user)
    sent_message(alice)
    assert Delivery.objects.count() == 0


def test_an_endpoint_gets_only_the_event_types_it_asked_for(alice, endpoint_for):
    endpoint_for(alice.user, event_types=["message.delivered"])
    message = sent_message(alice)
    assert Delivery.objects.count() == 0
    transitions.apply_reports(reports=[transitions.Report(message, Status.DELIVERED)])
    assert list(Delivery.objects.values_list("type", flat=True)) == ["message.delivered"]


def test_a_disabled_endpoint_gets_nothing(alice, endpoint_for):
    endpoint_for(alice.user, enabled=False)
    sent_message(alice)
    assert Delivery.objects.count() == 0


def test_a_move_that_is_rolled_back_leaves_no_event(alice, endpoint_for):
    endpoint_for(alice.user)
    message = sent_message(alice)
    Delivery.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        transitions.apply_reports(reports=[transitions.Report(message, Status.DELIVERED)])
        raise RuntimeError("the move's transaction fails after the move")
    assert Delivery.objects.count() == 0


def test_a_tenant_without_endpoints_costs_one_statement_per_batch_of_moves(alice, bob, endpoint_for, receiver):
    endpoint_for(bob.user)  # endpoints exist, none of alice's
    message = sent_message(alice)
    moves = [transitions.Moved(message, Status.DELIVERED, message.sent_at, {}) for _ in range(50)]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        record_moves(moves)
    assert len(queries) == 1 and Delivery.objects.count() == 0
