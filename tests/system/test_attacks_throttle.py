"""Guessing through gunicorn: pairing tokens at register-session, and floods of wrong API keys, meet a 429."""

from __future__ import annotations

import pytest
import requests

from tests.system.conftest import start_web

pytestmark = pytest.mark.system
REGISTER = "/api/gateway/sms/android/register-session"


def test_guessing_pairing_tokens_is_stopped_per_address(processes):
    web = start_web(processes, XSENDER_REGISTER_RATE_LIMIT="5")
    answers = [
        requests.post(web.url + REGISTER, json={"pairing_token": f"ATKN-guess-{i}", "device_uuid": "phone-x"},
                      headers={"X-Forwarded-Proto": "https"}, timeout=10)
        for i in range(8)
    ]  # fmt: skip
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 3
    assert answers[-1].json()["success"] is False and 1 <= int(answers[-1].headers["Retry-After"]) <= 60


def test_a_flood_of_wrong_keys_is_refused_and_so_are_valid_keys_from_that_address(alice, processes):
    web = start_web(processes, XSENDER_API_KEY_FAILURE_LIMIT="5")
    codes = [web.call("GET", "/api/me", f"xs_{i:08d}_wrong").status_code for i in range(12)]
    blocked = web.call("GET", "/api/me", alice.key)
    # The test's proxy (127.0.0.1, trusted) forwards another caller: that one is not held back.
    elsewhere = web.call("GET", "/api/me", alice.key, headers={"X-Forwarded-For": "198.51.100.7"})
    assert codes == [401] * 5 + [429] * 7
    assert (blocked.status_code, elsewhere.status_code) == (429, 200)
    assert "Retry-After" in blocked.headers
