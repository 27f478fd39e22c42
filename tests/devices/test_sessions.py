"""Device sessions expire unless used, are extended by use at most once a minute, and a re-pair replaces them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices import services
from devices.models import AndroidDevice
from tests.devices.test_api import BASE, phone, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def paired(alice):
    data = register(services.create_pairing_token(user=alice.user)[1]).json()["data"]
    return phone(data["session_token"]), data


def session_updates(queries) -> int:
    return sum(1 for q in queries if q["sql"].startswith("UPDATE") and "session_expires_at" in q["sql"])


def test_a_new_session_lasts_thirty_days(paired):
    expires = AndroidDevice.objects.get().session_expires_at
    assert timedelta(days=30) - timedelta(minutes=1) < expires - timezone.now() <= timedelta(days=30)


def test_an_expired_session_is_told_to_pair_again(paired):
    client, _ = paired
    AndroidDevice.objects.update(session_expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/logs/sms/pending")
    assert response.status_code == 401
    assert response.json()["message"] == "Session expired: pair the device again."


def test_use_extends_the_session(paired):
    client, _ = paired
    AndroidDevice.objects.update(session_expires_at=timezone.now() + timedelta(days=2))
    assert client.get("/api/logs/sms/pending").status_code == 200
    assert AndroidDevice.objects.get().session_expires_at > timezone.now() + timedelta(days=29)


def test_polls_write_the_expiry_at_most_once_a_minute(paired):
    client, _ = paired
    AndroidDevice.objects.update(session_expires_at=timezone.now() + timedelta(days=29))
    with CaptureQueriesContext(connection) as queries:
        codes = [client.get("/api/logs/sms/pending").status_code for _ in range(5)]
    assert codes == [200] * 5
    assert session_updates(queries.captured_queries) == 1


def test_re_pairing_replaces_the_token(alice, paired):
    old_client, _ = paired
    new = register(services.create_pairing_token(user=alice.user)[1]).json()["data"]
    assert old_client.get("/api/logs/sms/pending").status_code == 401
    assert phone(new["session_token"]).get("/api/logs/sms/pending").status_code == 200


def test_re_pairing_an_expired_phone_starts_a_new_term(alice, paired):
    AndroidDevice.objects.update(session_expires_at=timezone.now() - timedelta(days=1))
    new = register(services.create_pairing_token(user=alice.user)[1]).json()["data"]
    assert phone(new["session_token"]).post(f"{BASE}/sim", {"slot": 0}, format="json").status_code == 201
