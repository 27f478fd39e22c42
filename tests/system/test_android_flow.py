"""An SMS through an Android phone: POST /api/sms/send → the reference phone (a real process) claims and
reports → GET /api/get/sms/{uid} shows Delivered."""

from __future__ import annotations

import sys

import pytest

from devices import services
from tests.system.conftest import wait_until

pytestmark = pytest.mark.system


def test_sms_through_a_simulated_phone_ends_delivered(alice, web, processes):
    token = services.create_pairing_token(user=alice.user)[1]
    phone = processes.start(
        "phone", sys.executable, "manage.py", "xsender:device:simulate", "--server", web.url, "--pairing-token", token,
        "--sims", "2", "--interval", "0.5", "--max-seconds", "30", "--forwarded-proto", "https",
    )  # fmt: skip
    wait_until(lambda: "Registered" in processes.log("phone") or phone.poll() is not None, 30, what="the phone to pair")
    response = web.call(
        "POST",
        "/api/sms/send",
        alice.key,
        json={
            "contact": [
                {"number": "+15555550123", "body": "Code 482915", "sms_type": "otp", "gateway_identifier": "android"}
            ]
        },
    )
    assert response.status_code == 200, response.text
    uid = response.json()["data"][0]["uid"]

    def delivered():
        data = web.call("GET", f"/api/get/sms/{uid}", alice.key).json()["data"]
        return data if data["status"] == "Delivered" else None

    data = wait_until(delivered, 30, interval=0.5, what="the SMS to be Delivered\n" + processes.log("phone"))
    assert data["sent_at"] and data["delivered_at"]
