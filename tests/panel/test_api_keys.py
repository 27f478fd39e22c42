"""API keys in the panel: list, create (the secret shown once, with a ready curl), rename, revoke (401 at once)."""

from __future__ import annotations

import html
import re

import pytest

from accounts.models import ApiKey
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


def created_secret(response) -> str:
    return re.search(r'id="api-key-secret"[^>]*value="([^"]+)"', response.content.decode()).group(1)


def test_the_list_shows_each_key_without_its_secret(alice, panel):
    key = ApiKey.objects.get(user=alice.user)
    page = panel.get("/api-keys/", secure=True).content.decode()
    assert f"xs_{key.prefix}_…" in page
    assert alice.key not in page


def test_a_new_key_is_shown_once_and_works(alice, panel, settings):
    settings.XSENDER_BASE_URL = "https://send.example.com"
    response = panel.post("/api-keys/new/", {"name": "billing"}, secure=True)
    secret = created_secret(response)
    assert response["Cache-Control"] == "no-store"
    assert f'curl -H "Api-key: {secret}" https://send.example.com/api/me' in html.unescape(response.content.decode())
    assert Tenant(alice.user, secret).client().get("/api/me").status_code == 200


def test_the_secret_never_travels_in_a_flash_message(panel):
    secret = created_secret(panel.post("/api-keys/new/", {"name": "billing"}, secure=True))
    assert secret not in panel.get("/api-keys/", secure=True).content.decode()


def test_a_bad_name_shows_the_error_and_creates_nothing(alice, panel):
    response = panel.post("/api-keys/new/", {"name": "two\nlines"}, secure=True)
    assert response.status_code == 400 and "1 to 100 characters on one line" in response.content.decode()
    assert ApiKey.objects.filter(user=alice.user).count() == 1


def test_a_revoked_key_answers_401_at_once(alice, panel):
    key = ApiKey.objects.get(user=alice.user)
    assert alice.client().get("/api/me").status_code == 200
    panel.post(f"/api-keys/{key.prefix}/revoke/", secure=True)
    assert alice.client().get("/api/me").status_code == 401


def test_a_key_is_renamed(alice, panel):
    key = ApiKey.objects.get(user=alice.user)
    response = panel.post(f"/api-keys/{key.prefix}/rename/", {"name": "crm"}, secure=True)
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=key.pk).name == "crm"


def test_an_empty_new_name_keeps_the_old_one(alice, panel):
    key = ApiKey.objects.get(user=alice.user)
    response = panel.post(f"/api-keys/{key.prefix}/rename/", {"name": "  "}, secure=True)
    assert response.status_code == 200 and 'aria-invalid="true"' in response.content.decode()
    assert ApiKey.objects.get(pk=key.pk).name == "default"


def test_a_staff_session_is_sent_to_the_admin(admin_client):
    assert admin_client.get("/api-keys/", secure=True)["Location"] == "/admin/"
