"""Account in the panel: profile, email change, password change, signing out other sessions, two-factor sign-in."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.panel.conftest import signed_in

pytestmark = pytest.mark.django_db
PASSWORD = "tenant-passphrase-42"


@pytest.fixture
def carol(alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    return alice.user


@pytest.fixture
def carol_panel(carol) -> Client:
    client = Client()
    assert client.post("/login/", {"username": carol.email, "password": PASSWORD}, secure=True).status_code == 302
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/account/", secure=True).status_code == 200


def test_the_profile_name_is_saved(carol, carol_panel):
    carol_panel.post("/account/profile/", {"name": "Carol Smith"}, secure=True)
    carol.refresh_from_db()
    assert carol.name == "Carol Smith"


def test_an_email_change_with_a_wrong_password_shows_the_error_and_changes_nothing(carol, carol_panel):
    response = carol_panel.post("/account/email/", {"email": "carol@example.com", "password": "wrong"}, secure=True)
    carol.refresh_from_db()
    assert response.status_code == 400 and "Your current password is not right." in response.content.decode()
    assert carol.email == "alice@example.com"


def test_an_email_change_with_the_password(carol, carol_panel):
    carol_panel.post("/account/email/", {"email": "carol@example.com", "password": PASSWORD}, secure=True)
    carol.refresh_from_db()
    assert carol.email == "carol@example.com"


def test_a_weak_password_is_refused_by_djangos_validators(carol, carol_panel):
    data = {"old_password": PASSWORD, "new_password1": "password", "new_password2": "password"}
    response = carol_panel.post("/account/password/", data, secure=True)
    carol.refresh_from_db()
    assert response.status_code == 400 and "too common" in response.content.decode()
    assert carol.check_password(PASSWORD)


def test_a_password_change_keeps_this_session_and_ends_the_others(carol, carol_panel):
    other = signed_in(carol)
    new = "another-passphrase-77"
    carol_panel.post(
        "/account/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}, secure=True
    )
    assert (is_signed_in(carol_panel), is_signed_in(other)) == (True, False)


def test_signing_out_other_sessions_keeps_this_one(carol, carol_panel):
    other = signed_in(carol)
    carol_panel.post("/account/sessions/", secure=True)
    assert (is_signed_in(carol_panel), is_signed_in(other)) == (True, False)


def enrol(client: Client, carol) -> TOTPDevice:
    page = client.get("/account/two-factor/", secure=True)
    assert '<div id="totp-qr" class="qr"><svg' in page.content.decode()
    return TOTPDevice.objects.get(user=carol, confirmed=False)


def test_two_factor_is_enrolled_with_a_qr_code_and_a_first_code(carol, carol_panel):
    device = enrol(carol_panel, carol)
    response = carol_panel.post("/account/two-factor/", {"token": f"{totp(device.bin_key):06d}"}, secure=True)
    assert response.status_code == 302
    assert TOTPDevice.objects.get(pk=device.pk).confirmed


def test_a_wrong_first_code_leaves_two_factor_off(carol, carol_panel):
    device = enrol(carol_panel, carol)
    wrong = "000000" if totp(device.bin_key) else "111111"
    response = carol_panel.post("/account/two-factor/", {"token": wrong}, secure=True)
    assert response.status_code == 400 and "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=carol, confirmed=True).exists()


def test_enrolment_page_shows_the_key_and_is_not_cached(carol, carol_panel):
    response = carol_panel.get("/account/two-factor/", secure=True)
    assert response["Cache-Control"] == "no-store"
    assert re.search(r'id="totp-secret">[A-Z2-7]{32}<', response.content.decode())


def test_after_enrolment_the_sign_in_needs_the_code(carol, carol_panel):
    device = enrol(carol_panel, carol)
    carol_panel.post("/account/two-factor/", {"token": f"{totp(device.bin_key):06d}"}, secure=True)
    without = Client().post("/login/", {"username": carol.email, "password": PASSWORD}, secure=True)
    with_code = Client().post(
        "/login/", {"username": carol.email, "password": PASSWORD, "otp_token": f"{totp(device.bin_key, drift=1):06d}"},
        secure=True,
    )  # fmt: skip
    assert (without.status_code, with_code.status_code) == (200, 302)


def test_turning_two_factor_off_needs_the_password(carol, carol_panel):
    device = enrol(carol_panel, carol)
    carol_panel.post("/account/two-factor/", {"token": f"{totp(device.bin_key):06d}"}, secure=True)
    refused = carol_panel.post("/account/two-factor/off/", {"password": "wrong"}, secure=True)
    assert refused.status_code == 400 and TOTPDevice.objects.filter(user=carol).exists()
    carol_panel.post("/account/two-factor/off/", {"password": PASSWORD}, secure=True)
    assert not TOTPDevice.objects.filter(user=carol).exists()
