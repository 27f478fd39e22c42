"""A device session token through a real gunicorn: it lapses unless used, and a re-pair replaces it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from devices import services
from devices.models import AndroidDevice
from tests.system.conftest import Web

pytestmark = pytest.mark.system
BASE = "/api/gateway/sms/android"


def pair(web: Web, alice, device_uuid: str = "phone-1") -> str:
    token = services.create_pairing_token(user=alice.user)[1]
    body = {"pairing_token": token, "device_uuid": device_uuid}
    response = web.call("POST", f"{BASE}/register-session", "", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]["session_token"]


def poll(web: Web, session: str) -> int:
    return web.call("GET", "/api/logs/sms/pending", "", headers={"Authorization": f"Bearer {session}"}).status_code


def test_a_stolen_session_token_stops_working_once_the_session_lapses(alice, web):
    session = pair(web, alice)
    assert poll(web, session) == 200
    AndroidDevice.objects.update(session_expires_at=timezone.now() - timedelta(seconds=1))
    assert poll(web, session) == 401


def test_re_pairing_the_phone_revokes_the_old_token(alice, web):
    old = pair(web, alice)
    new = pair(web, alice)
    assert (poll(web, old), poll(web, new)) == (401, 200)
