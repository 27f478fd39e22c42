"""The API edge every XSender endpoint shares: auth, envelope, status codes, rate limit, HTTPS, body size."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from django.urls import path

from accounts import services
from tests.conftest import https_client
from xsender import redis as xredis
from xsender.api import XSenderAPIView

pytestmark = pytest.mark.django_db


class Boom(XSenderAPIView):
    def get(self, request):
        raise RuntimeError("secret internals")


urlpatterns = [path("api/boom", Boom.as_view())]


def envelope_error(response) -> dict:
    body = response.json()
    assert body["success"] is False and body["data"] == [] and body["message"]
    return body


# ---------------------------------------------------------------- 401


def test_missing_key_is_a_401_in_the_envelope(anonymous):
    response = anonymous.get("/api/me")
    assert response.status_code == 401
    assert envelope_error(response)["message"] == "Missing Api-key header."


def test_unknown_key_is_a_401(anonymous):
    assert anonymous.get("/api/me", HTTP_API_KEY="xs_000000000000_nope").status_code == 401


def test_revoked_key_is_a_401(alice):
    services.rotate_api_key(user=alice.user)
    assert alice.client().get("/api/me").status_code == 401


def test_suspended_users_key_is_a_401(alice):
    services.set_user_active(user=alice.user, active=False)
    assert alice.client().get("/api/me").status_code == 401


def test_key_in_the_query_string_is_not_accepted(alice, anonymous):
    assert anonymous.get(f"/api/me?Api-key={alice.key}&api_key={alice.key}").status_code == 401


def test_valid_key_reaches_the_endpoint(api):
    body = api.get("/api/me").json()
    assert (body["success"], body["data"]["email"], body["data"]["credits"]["sms"]) == (True, "alice@example.com", 100)


# ---------------------------------------------------------------- 429


def test_rate_limit_headers_on_every_response(api):
    first, second = api.get("/api/me"), api.get("/api/me")
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("60", "59")
    assert second["X-RateLimit-Remaining"] == "58"


def test_over_the_plans_limit_is_a_429_with_retry_after(api, alice):
    alice.user.plan.rate_limit_per_minute = 3
    alice.user.plan.save()
    codes = [api.get("/api/me").status_code for _ in range(4)]
    response = api.get("/api/me")
    assert codes == [200, 200, 200, 429]
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["X-RateLimit-Remaining"] == "0"


def test_limit_is_per_key(api, alice, bob):
    alice.user.plan.rate_limit_per_minute = 1
    alice.user.plan.save()
    api.get("/api/me")
    assert api.get("/api/me").status_code == 429
    assert bob.client().get("/api/me").status_code == 200


# ---------------------------------------------------------------- HTTPS


def test_plain_http_is_refused_with_a_clear_error(alice):
    response = https_client().get("/api/me", HTTP_API_KEY=alice.key, secure=False)
    assert response.status_code == 403
    assert "HTTPS" in envelope_error(response)["message"]


def test_forwarded_proto_from_an_untrusted_address_is_ignored(alice):
    client = https_client()
    response = client.get("/api/me", HTTP_API_KEY=alice.key, HTTP_X_FORWARDED_PROTO="https", secure=False)
    assert response.status_code == 403


@override_settings(XSENDER_TRUSTED_PROXIES=["127.0.0.0/8"])
def test_forwarded_proto_from_a_trusted_proxy_is_honoured(alice):
    client = https_client()
    response = client.get("/api/me", HTTP_API_KEY=alice.key, HTTP_X_FORWARDED_PROTO="https", secure=False)
    assert response.status_code == 200


@override_settings(XSENDER_ALLOW_INSECURE_HTTP=True, SECURE_SSL_REDIRECT=False)  # as when set at start-up
def test_insecure_http_can_be_allowed_for_development(alice):
    assert https_client().get("/api/me", HTTP_API_KEY=alice.key, secure=False).status_code == 200


# ---------------------------------------------------------------- 404 / 413 / 500


def test_unknown_api_path_is_a_json_404(api):
    response = api.get("/api/nope")
    assert response.status_code == 404
    envelope_error(response)


@override_settings(XSENDER_MAX_BODY_BYTES=100)
def test_oversized_body_is_refused(api):
    response = api.post("/api/email/send", {"contact": [{"message": "x" * 200}]}, format="json")
    assert response.status_code == 413
    envelope_error(response)


def test_a_bulk_send_of_several_megabytes_is_accepted(api, alice):
    """Up to XSENDER_MAX_BODY_BYTES (10 MB): Django's own 2.5 MB limit made such a body a 500."""
    from accounts.services import add_credits
    from gateways.services import add_gateway
    from messaging.models import Message

    add_gateway(owner=alice.user, channel="email", provider="console", identifier="mail", is_default=True)
    add_credits(user=alice.user, channel="email", amount=1000)
    html = "<p>" + "Spring sale. " * 300 + "</p>"  # ~4 kB, as an HTML email is
    items = [{"email": f"r{i}@example.com", "subject": "Sale", "message": html} for i in range(1000)]
    body = json.dumps({"contact": items})
    assert 3_000_000 < len(body) < 10 * 1024 * 1024
    response = api.post("/api/email/send", body, content_type="application/json")
    assert response.status_code == 200, response.content[:200]
    assert Message.objects.count() == 1000


def test_a_body_over_the_limit_is_a_413_before_it_is_read(api):
    body = json.dumps({"contact": [{"email": "a@example.com", "subject": "x", "message": "x" * (10 * 1024 * 1024)}]})
    response = api.post("/api/email/send", body, content_type="application/json")
    assert response.status_code == 413
    envelope_error(response)


@override_settings(ROOT_URLCONF="tests.xsender.test_edge")
def test_server_error_is_a_json_500_without_internals(api):
    client = https_client()
    client.raise_request_exception = False
    response = client.get("/api/boom", HTTP_API_KEY=api._credentials["HTTP_API_KEY"])
    assert response.status_code == 500
    assert "secret internals" not in response.content.decode()
    envelope_error(response)


# ---------------------------------------------------------------- health and docs


def test_healthz_reports_database_and_redis(client):
    body = client.get("/healthz").json()
    assert body == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_503_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        xredis._client.cache_clear()
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")


def test_openapi_schema_and_docs_are_served(anonymous):
    schema = anonymous.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/email/send" in schema.json()["paths"]
    assert anonymous.get("/api/docs/").status_code == 200


def test_an_api_answer_may_load_nothing_and_the_api_docs_page_keeps_its_own_scripts(anonymous):
    for response in (anonymous.get("/api/me"), anonymous.get("/api/nowhere")):
        assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    docs = anonymous.get("/api/docs/")
    assert docs.status_code == 200 and "default-src 'none'" not in docs.get("Content-Security-Policy", "")
