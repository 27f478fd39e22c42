"""The per-key rate limit is one count in Redis, shared by every web process."""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.system.conftest import Web, free_port, wait_until

pytestmark = pytest.mark.system


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_rate_limit_holds_across_two_web_processes(alice, processes):
    alice.user.plan.rate_limit_per_minute = 20
    alice.user.plan.save()
    webs = []
    for name in ("web-a", "web-b"):
        port = free_port()
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        processes.start(name, gunicorn, "xsender.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1")
        webs.append(Web(url=f"http://127.0.0.1:{port}"))
    for web in webs:
        wait_until(lambda web=web: _up(web.url), what=f"{web.url} to answer")
    if time.time() % 60 > 50:  # the count is per minute: start inside one window
        time.sleep(61 - time.time() % 60)
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: webs[i % 2].call("GET", "/api/me", alice.key).status_code, range(40)))
    assert codes.count(200) == 20
    assert codes.count(429) == 20
