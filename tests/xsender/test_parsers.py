"""JSON bodies: nesting is bounded and every parse failure is a 400 in the envelope, never a 500."""

from __future__ import annotations

import pytest

from gateways.services import add_gateway

pytestmark = pytest.mark.django_db


def post_raw(api, body: str):
    return api.post("/api/sms/send", body, content_type="application/json")


def test_a_100000_deep_body_is_a_400_in_the_envelope(api):
    response = post_raw(api, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert response.json()["success"] is False and "deeper than 32" in response.json()["message"]


def test_a_body_nested_33_deep_is_refused(api):
    response = post_raw(api, '{"contact": ' + "[" * 32 + "]" * 32 + "}")
    assert response.status_code == 400
    assert "deeper than 32" in response.json()["message"]


def test_malformed_json_is_a_400_in_the_envelope(api):
    response = post_raw(api, '{"contact": [')
    assert response.status_code == 400
    assert response.json()["message"].startswith("JSON parse error")


def test_an_ordinary_send_still_parses(api, alice):
    add_gateway(owner=alice.user, channel="sms", provider="console", identifier="sms", is_default=True)
    response = api.post("/api/sms/send", {"contact": [{"number": "+15555550100", "body": "Hi"}]}, format="json")
    assert response.status_code == 200
