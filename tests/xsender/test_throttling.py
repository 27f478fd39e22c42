"""Rate limits: per key, per device session, per address, failed key checks; and what happens while Redis is away."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.test import override_settings
from django.urls import path

from devices import services as devices
from tests.conftest import https_client
from tests.system.conftest import free_port
from xsender.api import XSenderAPIView, ok
from xsender.throttling import _LocalCounts

pytestmark = pytest.mark.django_db
ANDROID = "/api/gateway/sms/android"


class ReceiverView(XSenderAPIView):
    """Stands for a webhook receiver: providers post as often as they like."""

    rate_limit_exempt = True

    def get(self, request):
        return ok("received")


urlpatterns = [path("api/receiver", ReceiverView.as_view())]


@pytest.fixture
def redis_away(settings) -> str:
    """Points REDIS_URL at a loopback port where nothing listens."""
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    return settings.REDIS_URL


class BrokenRedis:
    """A loopback server where Redis should be: it counts connections and hangs up at once, or never answers."""

    def __init__(self, answer_nothing: bool) -> None:
        self.answer_nothing = answer_nothing
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)
            if not self.answer_nothing:
                conn.close()

    def close(self) -> None:
        self.listener.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def broken_redis(settings) -> Iterator[Callable[[bool], BrokenRedis]]:
    servers: list[BrokenRedis] = []

    def start(answer_nothing: bool = False) -> BrokenRedis:
        servers.append(BrokenRedis(answer_nothing))
        settings.REDIS_URL = servers[-1].url
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def pair(alice, device_uuid: str) -> str:
    token = devices.create_pairing_token(user=alice.user)[1]
    body = {"pairing_token": token, "device_uuid": device_uuid}
    return https_client().post(f"{ANDROID}/register-session", body, format="json").json()["data"]["session_token"]


def poll(session_token: str, **extra):
    return https_client().get("/api/logs/sms/pending", HTTP_AUTHORIZATION=f"Bearer {session_token}", **extra)


# ---------------------------------------------------------------- Redis away


def test_sends_are_still_limited_per_key_while_redis_is_away(api, alice, redis_away):
    alice.user.plan.rate_limit_per_minute = 3
    alice.user.plan.save()
    codes = [api.get("/api/me").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_a_broken_redis_is_not_asked_again_on_every_request(api, broken_redis):
    server = broken_redis()
    first = api.get("/api/me").status_code
    tried = len(server.accepted)
    codes = {api.get("/api/me").status_code for _ in range(20)}
    assert first == 200 and codes == {200}
    assert tried >= 1 and len(server.accepted) == tried  # only the first request knocked; the rest counted here


def test_a_redis_that_never_answers_costs_one_short_timeout_not_seconds_per_request(api, broken_redis):
    broken_redis(answer_nothing=True)
    started = time.monotonic()
    codes = {api.get("/api/me").status_code for _ in range(10)}
    assert codes == {200}
    assert time.monotonic() - started < 2.0


def test_the_switch_to_in_process_counting_is_logged_once(api, redis_away, caplog):
    with caplog.at_level(logging.WARNING, logger="xsender.throttling"):
        for _ in range(10):
            api.get("/api/me")
    messages = [r.getMessage() for r in caplog.records if r.name == "xsender.throttling"]
    assert len(messages) == 1
    assert "Redis is unreachable" in messages[0] and "127.0.0.1" not in messages[0]


def test_in_process_counts_keep_a_bounded_number_of_keys():
    counts = _LocalCounts(max_keys=100)
    for i in range(1000):
        counts.add(f"key:{i}", 1)
    assert len(counts) == 100
    assert counts.add("key:999", 1) == 2  # the most recent keys are the ones kept


def test_healthz_reports_redis_down_with_a_503(redis_away):
    response = https_client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")


# ---------------------------------------------------------------- per key (the plan's rate)


@override_settings(ROOT_URLCONF="tests.xsender.test_throttling")
def test_webhook_receivers_are_exempt_from_the_per_key_limit(api, alice):
    alice.user.plan.rate_limit_per_minute = 1
    alice.user.plan.save()
    codes = {api.get("/api/receiver").status_code for _ in range(5)}
    assert codes == {200}


# ---------------------------------------------------------------- failed API-key checks, per address


def test_wrong_keys_from_one_address_get_429_with_retry_after_past_the_bound(settings):
    settings.XSENDER_API_KEY_FAILURE_LIMIT = 3
    client = https_client()
    codes = [client.get("/api/me", HTTP_API_KEY=f"xs_live_wrong{i}_x").status_code for i in range(3)]
    refused = client.get("/api/me", HTTP_API_KEY="xs_live_wrong_x")
    assert codes == [401, 401, 401]
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["success"] is False


def test_an_address_past_the_bound_is_refused_before_its_key_is_looked_up(settings, alice):
    settings.XSENDER_API_KEY_FAILURE_LIMIT = 2
    for _ in range(2):
        https_client().get("/api/me", HTTP_API_KEY="xs_live_wrong_x")
    assert https_client().get("/api/me", HTTP_API_KEY=alice.key).status_code == 429
    assert https_client().get("/api/me", HTTP_API_KEY=alice.key, REMOTE_ADDR="198.51.100.7").status_code == 200


def test_successful_requests_do_not_count_as_failures(settings, api):
    settings.XSENDER_API_KEY_FAILURE_LIMIT = 2
    for _ in range(5):
        api.get("/api/me")
    codes = [https_client().get("/api/me", HTTP_API_KEY="xs_live_wrong_x").status_code for _ in range(2)]
    assert codes == [401, 401]


# ---------------------------------------------------------------- Android devices


def test_a_device_session_past_its_bound_gets_429_and_other_phones_carry_on(settings, alice):
    settings.XSENDER_DEVICE_RATE_LIMIT = 3
    busy, other = pair(alice, "phone-busy"), pair(alice, "phone-other")
    codes = [poll(busy).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert poll(other).status_code == 200


def test_device_calls_from_one_address_are_bounded_even_with_bad_tokens(settings):
    settings.XSENDER_DEVICE_IP_RATE_LIMIT = 3
    codes = [poll(f"xsd_guess{i}").status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    assert poll("xsd_guess", REMOTE_ADDR="198.51.100.7").status_code == 401


def test_register_session_is_bounded_per_address(settings):
    settings.XSENDER_REGISTER_RATE_LIMIT = 2
    body = {"pairing_token": "ATKN-guess", "device_uuid": "phone-x"}
    codes = [https_client().post(f"{ANDROID}/register-session", body, format="json").status_code for _ in range(3)]
    response = https_client().post(f"{ANDROID}/register-session", body, format="json")
    assert codes == [401, 401, 429]
    assert response.status_code == 429 and response["Retry-After"]
