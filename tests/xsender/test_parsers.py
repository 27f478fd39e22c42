"""JSON bodies: nesting is bounded and every parse failure is a 400 in the envelope, never a 500."""

from __future__ import annotations

import json

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


@pytest.mark.parametrize(
    ("field", "escaped"),
    [("body", "x\\ud800y"), ("body", "\\udfff"), ("number", "\\ud83d"), ("body", "\\ude00\\ud83d")],
)
def test_a_lone_utf16_surrogate_is_a_400_and_nothing_is_sent(api, alice, field, escaped):
    """JSON may escape half of a surrogate pair; decoded, it is not text (no UTF-8 encoder takes it): it was a 500
    from the database or the SMS segment count."""
    from messaging.models import Message

    add_gateway(owner=alice.user, channel="sms", provider="console", identifier="sms", is_default=True)
    item = {"number": "+15555550100", "body": "Hi"} | {field: "@"}
    body = json.dumps({"contact": [item]}).replace('"@"', f'"{escaped}"')
    response = post_raw(api, body)
    assert response.status_code == 400, response.content
    assert response.json()["success"] is False and "unpaired UTF-16 surrogate" in response.json()["message"]
    assert not Message.objects.exists()


def test_an_escaped_surrogate_pair_is_one_character_and_sends(api, alice):
    from messaging.models import Message

    add_gateway(owner=alice.user, channel="sms", provider="console", identifier="sms", is_default=True)
    response = post_raw(api, '{"contact": [{"number": "+15555550100", "body": "Hi \\ud83d\\ude00 \\\\ud800"}]}')
    assert response.status_code == 200, response.content
    assert Message.objects.get().body == "Hi \U0001f600 \\ud800"  # the pair, and an escaped backslash's text
