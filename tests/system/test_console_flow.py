"""Real processes end to end with the console gateway: gunicorn → PostgreSQL → Redis → rqworker → Sent."""

from __future__ import annotations

import pytest

from tests.messaging.conftest import make_gateway
from tests.system.conftest import wait_until

pytestmark = pytest.mark.system


def test_email_accepted_by_gunicorn_is_sent_by_a_real_worker(alice, web, worker):
    make_gateway(alice.user, "email", "email-console", is_default=True)
    item = {"email": "carol@example.com", "subject": "Hi", "message": "Hello"}
    response = web.call("POST", "/api/email/send", alice.key, json={"contact": [item]})
    assert response.status_code == 200, response.text
    uid = response.json()["data"][0]["uid"]

    def sent():
        data = web.call("GET", f"/api/get/email/{uid}", alice.key).json()["data"]
        return data if data["status"] == "Sent" else None

    assert wait_until(sent, what="the message to be Sent")["gateway_identifier"] == "email-console"
