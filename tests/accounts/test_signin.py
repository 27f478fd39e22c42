"""Sign-in to the panel and the admin: one error text whatever failed, no password oracle, lockouts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.oath import totp

from accounts.signin import admin_failed_text, panel_failed_text
from tests.conftest import OPERATOR_PASSWORD, login

pytestmark = pytest.mark.django_db
PASSWORD = "tenant-passphrase-42"


@pytest.fixture
def alice_signs_in(alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    return alice.user


def panel_login(email: str, password: str, client: Client | None = None, **extra):
    client = client or Client()
    return client.post("/login/", {"username": email, "password": password}, secure=True, **extra)


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_the_right_password_signs_a_tenant_in(alice_signs_in):
    assert panel_login("alice@example.com", PASSWORD).status_code == 302


def test_every_panel_failure_reads_the_same(alice_signs_in, bob):
    bob.user.is_active = False
    bob.user.set_password(PASSWORD)
    bob.user.save()
    answers = [
        panel_login("alice@example.com", "wrong"),
        panel_login("nobody@example.com", PASSWORD),
        panel_login("bob@example.com", PASSWORD),
    ]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert all(panel_failed_text() in r.content.decode() for r in answers)


def test_a_staff_password_alone_does_not_open_the_panel(operator):
    response = panel_login("ops@example.com", OPERATOR_PASSWORD)
    assert response.status_code == 200
    assert panel_failed_text() in response.content.decode()


def test_after_five_failures_the_right_password_is_refused_too(alice_signs_in):
    codes = [panel_login("alice@example.com", f"wrong-{i}").status_code for i in range(5)]
    response = panel_login("alice@example.com", PASSWORD)
    assert codes == [200, 200, 200, 200, 429]
    assert response.status_code == 429 and panel_failed_text() in response.content.decode()


def test_the_lock_is_per_account_from_anywhere(alice_signs_in, settings):
    settings.XSENDER_TRUSTED_PROXIES = ["127.0.0.1"]
    for i in range(5):
        panel_login("alice@example.com", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    assert panel_login("alice@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429


def test_behind_a_trusted_proxy_each_caller_has_its_own_count(alice_signs_in, bob, settings):
    settings.XSENDER_TRUSTED_PROXIES = ["127.0.0.1"]
    for i in range(5):
        panel_login(f"guess-{i}@example.com", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.1")
    blocked = panel_login("alice@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1")
    elsewhere = panel_login("alice@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert (blocked.status_code, elsewhere.status_code) == (429, 302)


def test_a_forged_forwarded_for_does_not_escape_the_address_lock(alice_signs_in, settings):
    settings.XSENDER_TRUSTED_PROXIES = []
    for i in range(5):
        panel_login(f"guess-{i}@example.com", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    assert panel_login("alice@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429


def test_admin_answers_a_wrong_password_and_a_wrong_code_identically(operator):
    user, device = operator
    wrong_password = Client().post(
        "/admin/login/?next=/admin/",
        {"username": user.email, "password": "wrong", "otp_token": "123456"},
        secure=True,
    )
    wrong_code = login(Client(), user, device, token="123456" if totp(device.bin_key) != 123456 else "654321")
    assert wrong_password.status_code == wrong_code.status_code == 200
    assert without_csrf(wrong_password) == without_csrf(wrong_code)
    assert admin_failed_text() in wrong_code.content.decode()


def test_a_wrong_admin_code_counts_as_a_failure(operator):
    user, device = operator
    for _ in range(5):
        login(Client(), user, device, token="000000" if totp(device.bin_key) else "111111")
    assert login(Client(), user, device).status_code == 429


def test_a_tenant_cannot_sign_in_to_the_admin(alice_signs_in):
    response = Client().post("/admin/login/", {"username": "alice@example.com", "password": PASSWORD}, secure=True)
    assert response.status_code == 200 and admin_failed_text() in response.content.decode()
