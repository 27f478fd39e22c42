"""Events that are not message moves: credit.low once per crossing of the tenant's threshold, device.offline when
the scheduler sees a phone fall silent and device.online when it is heard from again — each once per change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts
from devices import services as devices
from devices.models import AndroidDevice
from webhooks.models import Delivery
from webhooks.sweeps import run_sweeps

pytestmark = pytest.mark.django_db


def types() -> list[str]:
    return list(Delivery.objects.order_by("pk").values_list("type", flat=True))


def send_email(tenant, n: int = 1) -> None:
    items = [{"email": f"u{i}@example.com", "subject": "Hi", "message": "Hello"} for i in range(n)]
    assert tenant.client().post("/api/email/send", {"contact": items}, format="json").status_code == 200


@pytest.fixture
def alerts(alice, endpoint_for):
    from tests.messaging.conftest import make_gateway

    make_gateway(alice.user, "email", "console", is_default=True)
    endpoint_for(alice.user, event_types=["credit.low", "device.online", "device.offline"])
    accounts.set_low_credit_threshold(user=alice.user, channel="email", threshold=98)


def test_a_send_that_takes_the_balance_below_the_threshold_raises_credit_low_once(alice, alerts):
    send_email(alice)  # 100 → 99: still above
    run_sweeps()
    send_email(alice, 2)  # 99 → 97: crosses
    send_email(alice)  # 97 → 96: already below
    run_sweeps()
    run_sweeps()
    assert types() == ["credit.low"]
    assert Delivery.objects.get().payload["data"] == {
        "channel": "email", "balance": 96, "threshold": 98, "user_id": alice.user.pk, "by_admin": False
    }  # fmt: skip


def test_a_bulk_debit_crosses_the_threshold_too(alice, alerts):
    accounts.debit_credits(user=alice.user, channel="email", amount=50)
    run_sweeps()
    assert types() == ["credit.low"]


def test_a_new_crossing_after_a_top_up_raises_credit_low_again(alice, alerts):
    send_email(alice, 3)
    run_sweeps()
    accounts.add_credits(user=alice.user, channel="email", amount=10)
    send_email(alice, 10)
    run_sweeps()
    assert types() == ["credit.low", "credit.low"]


def test_no_threshold_no_credit_low(alice, endpoint_for):
    endpoint_for(alice.user, event_types=["credit.low"])
    accounts.debit_credits(user=alice.user, channel="email", amount=100)
    run_sweeps()
    assert types() == []


@pytest.fixture
def phone(alice) -> AndroidDevice:
    token = devices.create_pairing_token(user=alice.user)[1]
    return devices.register_session(pairing_token=token, device_uuid="alice-phone", device_name="Pixel").device


def go_silent(device: AndroidDevice) -> None:
    AndroidDevice.objects.filter(pk=device.pk).update(last_seen_at=timezone.now() - timedelta(minutes=10))


def test_a_phone_silent_past_the_offline_delay_raises_device_offline_once(alerts, phone):
    go_silent(phone)
    devices.publish_offline_devices()
    devices.publish_offline_devices()
    assert types() == ["device.offline"]
    assert Delivery.objects.get().payload["data"]["device"] == str(phone.uid)


def test_a_phone_heard_from_again_raises_device_online_once(alerts, phone):
    go_silent(phone)
    devices.publish_offline_devices()
    sim = devices.add_sim(device=phone, slot=0)
    devices.record_heartbeat(sim=sim, active=True, signal_strength=3, messages_sent_24h=None, imsi="")
    devices.claim_pending(device=AndroidDevice.objects.get(pk=phone.pk))
    assert types() == ["device.offline", "device.online"]


def test_a_phone_that_polls_in_time_raises_nothing(alerts, phone):
    devices.add_sim(device=phone, slot=0)
    devices.claim_pending(device=phone)
    devices.publish_offline_devices()
    assert types() == []


def test_a_revoked_phone_raises_device_offline(alerts, phone):
    devices.logout_device(device=phone)
    devices.publish_offline_devices()
    assert types() == ["device.offline"]


def test_times_in_event_data_are_iso_8601_in_utc(alerts, phone):
    go_silent(phone)
    devices.publish_offline_devices()
    seen = Delivery.objects.get().payload["data"]["last_seen_at"]
    assert seen.endswith("Z") and "T" in seen
