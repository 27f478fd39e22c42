"""The panel's Webhooks page and Django admin's endpoints: the secret shown once, the address rules at the form,
each endpoint's deliveries and attempts, resend and test events, the notice of an endpoint switched off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import CreditAccount
from tests.fakes.http import Reply
from tests.webhooks.conftest import drain, sent_message
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db
EVENTS = ["message.sent", "message.failed"]


def panel(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_adding_an_endpoint_shows_its_secret_once(alice, receiver):
    client = panel(alice.user)
    page = client.post("/webhooks/add/", {"url": receiver.url, "event_types": EVENTS, "enabled": "on"}, secure=True)
    secret = page.context["secret"]
    endpoint = Endpoint.objects.get()
    assert secret in page.content.decode() and page["Cache-Control"] == "no-store"
    assert secret not in client.get(f"/webhooks/{endpoint.uid}/", secure=True).content.decode()


def test_a_loopback_url_is_refused_at_the_url_field_and_nothing_is_stored(alice, settings):
    settings.XSENDER_ALLOW_INSECURE_HTTP = True
    page = panel(alice.user).post("/webhooks/add/", {"url": "http://127.1:9/x", "event_types": EVENTS}, secure=True)
    assert "non-public address" in str(page.context["form"].errors["url"])
    assert Endpoint.objects.count() == 0


def test_the_endpoint_page_shows_each_attempt_with_its_status_and_answer(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    receiver.answers = [Reply(500, b"receiver says no", headers={"Content-Type": "text/plain"})]
    sent_message(alice)
    drain(endpoint)
    page = panel(alice.user).get(f"/webhooks/{endpoint.uid}/", secure=True).content.decode()
    assert "HTTP 500" in page and "receiver says no" in page


def test_resend_and_send_a_test_event_queue_deliveries(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    sent_message(alice)
    client, delivery = panel(alice.user), Delivery.objects.get()
    client.post(f"/webhooks/{endpoint.uid}/deliveries/{delivery.pk}/resend/", secure=True)
    client.post(f"/webhooks/{endpoint.uid}/test/", secure=True)
    drain(endpoint)
    assert [event["type"] for event in receiver.events()] == ["message.sent", "message.sent", "webhook.test"]


def test_an_endpoint_switched_off_for_failing_is_announced_on_the_webhooks_page(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=4))
    receiver.answers = [Reply(500)]
    sent_message(alice)
    drain(endpoint)
    page = panel(alice.user).get("/webhooks/", secure=True).content.decode()
    assert "was switched off" in page and "every delivery failed for 3 days" in page


def test_enabling_it_again_ends_the_notice(alice, endpoint_for):
    endpoint, _ = endpoint_for(alice.user)
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason="Disabled on …")
    form = {"url": endpoint.url, "event_types": EVENTS, "enabled": "on"}
    panel(alice.user).post(f"/webhooks/{endpoint.uid}/edit/", form, secure=True)
    assert "was switched off" not in panel(alice.user).get("/webhooks/", secure=True).content.decode()


def test_low_credit_thresholds_are_saved_per_channel(alice):
    panel(alice.user).post("/webhooks/credit-alerts/", {"email": 50, "sms": 0, "whatsapp": 5}, secure=True)
    saved = dict(CreditAccount.objects.filter(user=alice.user).values_list("channel", "low_credit_threshold"))
    assert saved == {"email": 50, "sms": 0, "whatsapp": 5}


def test_a_negative_threshold_is_refused_and_nothing_changes(alice):
    page = panel(alice.user).post("/webhooks/credit-alerts/", {"email": -1, "sms": 0, "whatsapp": 5}, secure=True)
    assert page.status_code == 400
    assert set(CreditAccount.objects.filter(user=alice.user).values_list("low_credit_threshold", flat=True)) == {0}


def test_the_admin_adds_an_endpoint_for_admin_key_traffic_and_sees_its_secret_once(admin_client, receiver):
    form = {"user": "", "url": receiver.url, "description": "ops", "event_types": EVENTS, "enabled": "on"}
    page = admin_client.post("/admin/webhooks/endpoint/add/", form, secure=True)
    endpoint = Endpoint.objects.get()
    assert endpoint.user is None and page.context["issued"][0][1].startswith("whsec_")
    assert "no-store" in page["Cache-Control"]


def test_the_admin_enabling_an_endpoint_switched_off_clears_its_notice(admin_client, alice, endpoint_for):
    endpoint, _ = endpoint_for(alice.user)
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason="Disabled on …")
    form = {"user": alice.user.pk, "url": endpoint.url, "event_types": EVENTS, "enabled": "on"}
    admin_client.post(f"/admin/webhooks/endpoint/{endpoint.pk}/change/", form, secure=True)
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (True, "")
