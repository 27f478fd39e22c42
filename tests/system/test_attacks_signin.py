"""Password guessing through a real gunicorn: lockout per account and per address, no admin password oracle.

The web process runs with a 3-second cool-off (XSENDER_LOGIN_COOLOFF_SECONDS) so that its end can be seen.
"""

from __future__ import annotations

import re
import time

import pytest
import requests
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from tests.system.conftest import Processes, Web

pytestmark = pytest.mark.system
PASSWORD = "tenant-passphrase-42"
COOL_OFF = 3


@pytest.fixture
def short_cool_off(processes: Processes) -> None:
    processes.env["XSENDER_LOGIN_COOLOFF_SECONDS"] = str(COOL_OFF)


@pytest.fixture
def site(short_cool_off, web: Web) -> Web:
    return web


def sign_in(web: Web, path: str, forwarded_for: str | None = None, **fields: str) -> requests.Response:
    """Posts a sign-in form as a browser behind our TLS proxy would (cookies kept by hand: they are Secure)."""
    headers = {"X-Forwarded-Proto": "https", "Origin": web.url.replace("http://", "https://")}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    page = requests.get(web.url + path, headers=headers, timeout=30)
    token = page.cookies["csrftoken"]
    data = {"csrfmiddlewaretoken": token, **fields}
    headers["Cookie"] = f"csrftoken={token}"
    return requests.post(web.url + path, data=data, headers=headers, timeout=30, allow_redirects=False)


def panel(web: Web, email: str, password: str, forwarded_for: str | None = None) -> requests.Response:
    return sign_in(web, "/login/", forwarded_for, username=email, password=password)


def tenant(email: str) -> None:
    user, _ = services.create_user(email=email)
    user.set_password(PASSWORD)
    user.save()


def test_thirty_wrong_passwords_lock_the_account_and_the_address_until_the_cool_off(site, db):
    tenant("alice@example.com")
    tenant("bob@example.com")
    guesses = [panel(site, "alice@example.com", f"guess-{i}").status_code for i in range(30)]
    right = panel(site, "alice@example.com", PASSWORD)
    other_account = panel(site, "bob@example.com", PASSWORD)
    other_address = panel(site, "bob@example.com", PASSWORD, forwarded_for="198.51.100.20")
    assert guesses == [200] * 4 + [429] * 26
    assert (right.status_code, other_account.status_code, other_address.status_code) == (429, 429, 302)
    time.sleep(COOL_OFF + 0.5)
    assert panel(site, "alice@example.com", PASSWORD).status_code == 302


def test_a_staff_password_does_not_open_the_panel(site, db):
    services.create_user(email="ops@example.com", password=PASSWORD, admin=True)
    response = panel(site, "ops@example.com", PASSWORD)
    assert response.status_code == 200
    assert "Sign-in failed" in response.text


def test_the_admin_login_is_no_password_oracle(site, db):
    user, _ = services.create_user(email="ops@example.com", password=PASSWORD, admin=True)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    wrong_code = "123456" if totp(device.bin_key) != 123456 else "654321"
    answers = [
        sign_in(site, "/admin/login/?next=/admin/", username=user.email, password=password, otp_token=wrong_code)
        for password in ("wrong-password", PASSWORD)
    ]
    bodies = [re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", r.text) for r in answers]
    assert [r.status_code for r in answers] == [200, 200]
    assert bodies[0] == bodies[1]
    assert "Sign-in failed" in bodies[0]


def test_the_right_password_and_code_open_the_admin(site, db):
    user, _ = services.create_user(email="ops@example.com", password=PASSWORD, admin=True)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    code = f"{totp(device.bin_key):06d}"
    response = sign_in(site, "/admin/login/?next=/admin/", username=user.email, password=PASSWORD, otp_token=code)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
