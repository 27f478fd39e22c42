"""The Android device API, driven over HTTP as a phone drives it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from devices import services
from devices.models import AndroidDevice, PairingToken, Sim
from gateways.models import Gateway
from messaging.models import Message, Status
from tests.conftest import https_client

pytestmark = pytest.mark.django_db
BASE = "/api/gateway/sms/android"


def register(token: str, device_uuid: str = "phone-1", **extra):
    body = {
        "pairing_token": token,
        "device_uuid": device_uuid,
        "device_name": "Office Pixel",
        "android_version": "14",
        "app_version": "1.4.0",
        **extra,
    }
    return https_client().post(f"{BASE}/register-session", body, format="json")


def phone(session_token: str):
    client = https_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token}")
    return client


@pytest.fixture
def pairing(alice) -> str:
    return services.create_pairing_token(user=alice.user)[1]


@pytest.fixture
def paired(pairing):
    data = register(pairing).json()["data"]
    return phone(data["session_token"]), data


def add_sim(client, slot: int = 0) -> str:
    return client.post(f"{BASE}/sim", {"slot": slot, "label": f"SIM {slot}"}, format="json").json()["data"]["uid"]


def send_sms(alice, count: int = 1, **extra) -> list[str]:
    items = [{"number": f"+1555555{i:04d}", "body": f"Message {i}", **extra} for i in range(count)]
    response = alice.client().post("/api/sms/send", {"contact": items}, format="json")
    assert response.status_code == 200, response.json()
    return [d["uid"] for d in response.json()["data"]]


# ---------------------------------------------------------------- pairing and sessions


def test_register_returns_the_spec_shape(alice, pairing):
    response = register(pairing)
    data = response.json()["data"]
    assert response.status_code == 200
    assert set(data) >= {"session_token", "gateway_uid", "user", "sims"}
    assert data["user"] == {"id": alice.user.pk, "name": "Alice"}
    assert data["profile"] == {"poll_interval": 10, "daily_quota": 200, "lease_seconds": 120}


def test_pairing_token_is_single_use(pairing):
    assert register(pairing).status_code == 200
    assert register(pairing, device_uuid="phone-2").status_code == 401


def test_expired_pairing_token_is_refused(pairing):
    PairingToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert register(pairing).status_code == 401
    assert not AndroidDevice.objects.exists()


def test_relink_keeps_the_gateway_uid(alice, pairing):
    first = register(pairing).json()["data"]
    second = register(services.create_pairing_token(user=alice.user)[1]).json()["data"]
    assert second["gateway_uid"] == first["gateway_uid"]
    assert Gateway.objects.filter(provider="android").count() == 2  # the phone's own and the tenant's pool


def test_logout_then_the_old_token_is_a_401(paired):
    client, _ = paired
    assert client.post(f"{BASE}/logout").status_code == 200
    assert client.get("/api/logs/sms/pending").status_code == 401
    assert AndroidDevice.objects.get().is_active is False


def test_missing_or_unknown_token_is_a_401():
    assert https_client().get("/api/logs/sms/pending").status_code == 401
    assert phone("xsd_nope").get("/api/logs/sms/pending").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"device_uuid": "p"}, "pairing_token"),
        ({"pairing_token": "ATKN-x"}, "device_uuid"),
        ({"pairing_token": ["x"], "device_uuid": "p"}, "pairing_token"),
    ],
)
def test_register_with_missing_or_wrong_fields_is_a_400(body, field):
    response = https_client().post(f"{BASE}/register-session", body, format="json")
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]


def test_pairing_token_command_prints_a_token_that_pairs(alice, capsys):
    call_command("xsender:device:pairing-token", "alice@example.com", "--ttl", "5", "--json")
    import json

    token = json.loads(capsys.readouterr().out)["pairing_token"]
    assert token.startswith("ATKN-")
    assert register(token).status_code == 200


# ---------------------------------------------------------------- SIMs


def test_sim_crud(paired):
    client, _ = paired
    uid = add_sim(client)
    updated = client.put(f"{BASE}/sim/{uid}", {"label": "OTP", "active": False}, format="json").json()["data"]
    assert (updated["label"], updated["active"]) == ("OTP", False)
    assert client.delete(f"{BASE}/sim/{uid}").status_code == 200
    assert not Sim.objects.exists()


def test_another_devices_sim_is_not_found(alice, paired):
    client, _ = paired
    uid = add_sim(client)
    other = phone(
        register(services.create_pairing_token(user=alice.user)[1], device_uuid="phone-2").json()["data"][
            "session_token"
        ]
    )
    assert other.put(f"{BASE}/sim/{uid}", {"label": "x"}, format="json").status_code == 404
    assert other.delete(f"{BASE}/sim/{uid}").status_code == 404
    assert Sim.objects.get().label == "SIM 0"


@pytest.mark.parametrize("body", [{}, {"slot": "first"}, {"slot": -1}])
def test_bad_sim_input_is_a_400(paired, body):
    client, _ = paired
    assert client.post(f"{BASE}/sim", body, format="json").status_code == 400
    assert not Sim.objects.exists()


def test_heartbeat_shows_the_device_online_with_signal(paired):
    client, _ = paired
    uid = add_sim(client)
    AndroidDevice.objects.update(last_seen_at=None)
    body = {"sim_uid": uid, "active": True, "signal_strength": -78, "messages_sent_24h": 12, "imsi": "310260000000001"}
    assert client.post(f"{BASE}/sim/update-status", body, format="json").status_code == 200
    sim = Sim.objects.get()
    assert (sim.signal_strength, sim.messages_sent_24h, sim.imsi) == (-78, 12, "310260000000001")
    assert AndroidDevice.objects.get().online


def test_heartbeat_for_an_unknown_sim_is_a_404(paired):
    client, _ = paired
    assert (
        client.post(f"{BASE}/sim/update-status", {"sim_uid": "sim-nope", "active": True}, format="json").status_code
        == 404
    )


# ---------------------------------------------------------------- claiming and reports


def test_pending_hands_out_pool_messages_otp_first(alice, paired):
    client, _ = paired
    add_sim(client)
    send_sms(alice, 2)
    otp = send_sms(alice, 1, sms_type="otp")[0]
    data = client.get("/api/logs/sms/pending").json()["data"]
    assert [d["uid"] for d in data][0] == otp
    assert data[0]["priority"] == "high" and set(data[0]) == {"uid", "number", "body", "sim_uid", "priority"}
    assert client.get("/api/logs/sms/pending").json()["data"] == []


def test_pending_never_exceeds_the_quota(alice, paired):
    client, _ = paired
    add_sim(client)
    AndroidDevice.objects.update(daily_quota=3)
    send_sms(alice, 5)
    assert len(client.get("/api/logs/sms/pending").json()["data"]) == 3
    assert client.get("/api/logs/sms/pending").json()["data"] == []


def test_no_active_sim_no_messages(alice, paired):
    client, _ = paired
    send_sms(alice, 2)
    assert client.get("/api/logs/sms/pending").json()["data"] == []


def test_messages_for_one_phone_stay_with_it(alice, paired):
    client, data = paired
    add_sim(client)
    other = phone(
        register(services.create_pairing_token(user=alice.user)[1], device_uuid="phone-2").json()["data"][
            "session_token"
        ]
    )
    add_sim(other)
    identifier = Gateway.objects.get(uid=data["gateway_uid"]).identifier
    send_sms(alice, 2, gateway_identifier=identifier)
    assert other.get("/api/logs/sms/pending").json()["data"] == []
    assert len(client.get("/api/logs/sms/pending").json()["data"]) == 2


def test_reports_move_the_status_and_are_idempotent(alice, paired):
    client, _ = paired
    add_sim(client)
    uid = send_sms(alice)[0]
    client.get("/api/logs/sms/pending")
    sent = {"statuses": [{"uid": uid, "status": "sent", "delivered_at": "2026-05-23 12:01:14"}]}
    assert client.post("/api/logs/sms/update-statuses", sent, format="json").json()["data"][0]["changed"] is True
    assert client.post("/api/logs/sms/update-statuses", sent, format="json").json()["data"][0]["changed"] is False
    client.post("/api/logs/sms/update-statuses", {"statuses": [{"uid": uid, "status": "delivered"}]}, format="json")
    status = alice.client().get(f"/api/get/sms/{uid}").json()["data"]
    assert status["status"] == "Delivered"


def test_failure_report_refunds_the_credit(alice, paired):
    client, _ = paired
    add_sim(client)
    uid = send_sms(alice)[0]
    client.get("/api/logs/sms/pending")
    report = {"statuses": [{"uid": uid, "status": "failed", "error": "RADIO_NOT_AVAILABLE"}]}
    client.post("/api/logs/sms/update-statuses", report, format="json")
    message = Message.objects.get(uid=uid)
    assert (message.status, message.error) == (Status.FAILED, "RADIO_NOT_AVAILABLE")
    assert alice.user.credit_accounts.get(channel="sms").balance == 100


def test_unknown_and_foreign_uids_fail_alone(alice, bob, paired):
    client, _ = paired
    add_sim(client)
    uid = send_sms(alice)[0]
    client.get("/api/logs/sms/pending")
    unclaimed = send_sms(alice)[0]
    report = {
        "statuses": [
            {"uid": "nope", "status": "sent"},
            {"uid": unclaimed, "status": "sent"},
            {"uid": uid, "status": "sent"},
        ]
    }
    answers = client.post("/api/logs/sms/update-statuses", report, format="json").json()["data"]
    assert [a["success"] for a in answers] == [False, False, True]
    assert Message.objects.get(uid=unclaimed).status == Status.PENDING


def test_empty_report_is_a_400(paired):
    client, _ = paired
    assert client.post("/api/logs/sms/update-statuses", {"statuses": []}, format="json").status_code == 400


def test_report_query_count_does_not_grow_with_its_items(alice, paired):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, _ = paired
    add_sim(client)
    uids = send_sms(alice, 21)
    client.get("/api/logs/sms/pending")

    def queries(batch: list[str]) -> int:
        with CaptureQueriesContext(connection) as ctx:
            client.post(
                "/api/logs/sms/update-statuses",
                {"statuses": [{"uid": u, "status": "sent"} for u in batch]},
                format="json",
            )
        return len(ctx.captured_queries)

    assert queries(uids[:1]) == queries(uids[1:])
    assert Message.objects.filter(status=Status.SENT).count() == 21


def test_a_report_time_with_no_utc_instant_is_refused_alone(alice, paired, settings):
    settings.TIME_ZONE = "Europe/Paris"
    client, _ = paired
    add_sim(client)
    uid = send_sms(alice)[0]
    client.get("/api/logs/sms/pending")
    report = {"statuses": [{"uid": uid, "status": "delivered", "delivered_at": "0001-01-01 00:00:00"}]}
    answer = client.post("/api/logs/sms/update-statuses", report, format="json").json()["data"][0]
    assert (answer["success"], answer["message"]) == (False, "Timestamps are Y-m-d H:i:s.")
    assert alice.client().get(f"/api/get/sms/{uid}").status_code == 200
