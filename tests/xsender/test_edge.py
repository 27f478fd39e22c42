from __future__ import annotations

from tests.conftest import https_client


def test_me_requires_key(anonymous):
    response = anonymous.get("/api/me")
    assert response.status_code == 401
    assert response.json() == {"success": False, "message": "Missing Api-key header.", "data": []}


def test_me_with_key(api, alice):
    response = api.get("/api/me")
    assert response.status_code == 200
    assert response.json()["data"]["email"] == "alice@example.com"
    assert response["X-RateLimit-Limit"] == "60"
    assert response["X-RateLimit-Remaining"] == "59"


def test_unknown_api_path_is_json_404(api):
    response = api.get("/api/nope")
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_plain_http_refused(alice):
    response = https_client().get("/api/me", HTTP_API_KEY=alice.key, secure=False)
    assert response.status_code == 403
