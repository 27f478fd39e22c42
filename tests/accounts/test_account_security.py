"""A tenant's account: keys renamed, sessions ended, email and password changed, two-factor sign-in, credit
adjustments by the admin — each through accounts.services, bad input changing nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import ApiKey, CreditAccount, CreditEntry
from accounts.signin import panel_failed_text
from xsender.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db
PASSWORD = "tenant-passphrase-42"


@pytest.fixture
def carol(alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    return alice.user


def signed_in(email: str = "alice@example.com", code: str = "") -> Client:
    client = Client()
    client.post("/login/", {"username": email, "password": PASSWORD, "otp_token": code}, secure=True)
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/", secure=True).status_code == 200


def test_a_key_renamed_keeps_working_under_its_new_name(alice):
    key = ApiKey.objects.get(user=alice.user)
    services.rename_api_key(key=key, name="  billing server  ")
    assert ApiKey.objects.get(pk=key.pk).name == "billing server"
    assert alice.client().get("/api/me").status_code == 200


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "two\nlines"])
def test_a_bad_key_name_is_refused_and_changes_nothing(alice, name):
    key = ApiKey.objects.get(user=alice.user)
    with pytest.raises(ValidationFailed):
        services.rename_api_key(key=key, name=name)
    assert ApiKey.objects.get(pk=key.pk).name == "default"


def test_ending_sessions_signs_out_every_open_session(carol):
    first, second = signed_in(), signed_in()
    services.end_sessions(user=carol)
    assert (is_signed_in(first), is_signed_in(second)) == (False, False)


def test_sessions_opened_before_any_ending_stay_valid(carol):
    client = signed_in()
    assert is_signed_in(client)


def test_suspension_signs_the_panel_out_and_reactivation_does_not_bring_it_back(carol):
    client = signed_in()
    services.set_user_active(user=carol, active=False)
    services.set_user_active(user=carol, active=True)
    assert not is_signed_in(client)


def test_email_change_needs_the_current_password(carol):
    with pytest.raises(ValidationFailed) as refused:
        services.change_email(user=carol, email="carol@example.com", password="wrong")
    carol.refresh_from_db()
    assert refused.value.errors[0]["field"] == "password"
    assert carol.email == "alice@example.com"


def test_email_change_refuses_an_address_in_use(carol, bob):
    with pytest.raises(ValidationFailed) as refused:
        services.change_email(user=carol, email="BOB@example.com", password=PASSWORD)
    assert refused.value.errors[0]["field"] == "email"


def test_email_change_with_the_password_signs_in_under_the_new_address(carol):
    services.change_email(user=carol, email="Carol@Example.com", password=PASSWORD)
    assert is_signed_in(signed_in("carol@example.com"))


def test_a_weak_new_password_is_refused_by_djangos_validators(carol):
    with pytest.raises(ValidationFailed):
        services.set_user_password(user=carol, password="12345678")
    carol.refresh_from_db()
    assert carol.check_password(PASSWORD)


def test_a_wrong_first_code_leaves_totp_off(carol):
    device = services.start_totp(user=carol)
    with pytest.raises(ValidationFailed):
        services.confirm_totp(user=carol, token="000000" if totp(device.bin_key) else "111111")
    assert not TOTPDevice.objects.filter(user=carol, confirmed=True).exists()


def test_a_right_first_code_turns_totp_on(carol):
    device = services.start_totp(user=carol)
    services.confirm_totp(user=carol, token=f"{totp(device.bin_key):06d}")
    assert TOTPDevice.objects.filter(user=carol, confirmed=True).count() == 1


def test_a_second_authenticator_needs_the_first_turned_off(carol):
    device = services.start_totp(user=carol)
    services.confirm_totp(user=carol, token=f"{totp(device.bin_key):06d}")
    with pytest.raises(Conflict):
        services.start_totp(user=carol)


def test_with_totp_on_the_panel_asks_for_the_code(carol):
    device = services.start_totp(user=carol)
    services.confirm_totp(user=carol, token=f"{totp(device.bin_key):06d}")
    without = Client().post("/login/", {"username": carol.email, "password": PASSWORD}, secure=True)
    assert without.status_code == 200 and panel_failed_text() in without.content.decode()
    # A code is spent once (django-otp): the next time step's code, within the device's tolerance.
    assert is_signed_in(signed_in(code=f"{totp(device.bin_key, drift=1):06d}"))


def test_a_wrong_code_reads_like_a_wrong_password(carol):
    device = services.start_totp(user=carol)
    services.confirm_totp(user=carol, token=f"{totp(device.bin_key):06d}")
    wrong = "000000" if totp(device.bin_key) else "111111"
    wrong_code = Client().post(
        "/login/", {"username": carol.email, "password": PASSWORD, "otp_token": wrong}, secure=True
    )
    wrong_password = Client().post(
        "/login/", {"username": carol.email, "password": "nope", "otp_token": wrong}, secure=True
    )
    assert wrong_code.status_code == wrong_password.status_code == 200
    assert panel_failed_text() in wrong_code.content.decode() and panel_failed_text() in wrong_password.content.decode()


def test_wrong_codes_count_towards_the_sign_in_lock(carol):
    device = services.start_totp(user=carol)
    services.confirm_totp(user=carol, token=f"{totp(device.bin_key):06d}")
    for _ in range(5):
        Client().post("/login/", {"username": carol.email, "password": PASSWORD, "otp_token": "12"}, secure=True)
    locked = Client().post(
        "/login/",
        {"username": carol.email, "password": PASSWORD, "otp_token": f"{totp(device.bin_key):06d}"},
        secure=True,
    )
    assert locked.status_code == 429


def test_turning_totp_off_needs_the_password(carol):
    device = services.start_totp(user=carol)
    services.confirm_totp(user=carol, token=f"{totp(device.bin_key):06d}")
    with pytest.raises(ValidationFailed):
        services.disable_totp(user=carol, password="wrong")
    services.disable_totp(user=carol, password=PASSWORD)
    assert is_signed_in(signed_in())


def test_an_adjustment_down_is_written_to_the_ledger(alice):
    services.adjust_credits(user=alice.user, channel="sms", delta=-30, note="duplicate grant")
    entry = CreditEntry.objects.filter(account__user=alice.user, reason="adjust").get()
    assert CreditAccount.objects.get(user=alice.user, channel="sms").balance == 70
    assert (entry.delta, entry.note) == (-30, "duplicate grant")


def test_an_adjustment_never_takes_a_balance_below_zero(alice):
    with pytest.raises(ValidationFailed) as refused:
        services.adjust_credits(user=alice.user, channel="sms", delta=-101)
    assert "balance is 100" in refused.value.message
    assert CreditAccount.objects.get(user=alice.user, channel="sms").balance == 100
    assert not CreditEntry.objects.filter(reason="adjust").exists()


def test_an_adjustment_of_zero_is_refused(alice):
    with pytest.raises(ValidationFailed):
        services.adjust_credits(user=alice.user, channel="sms", delta=0)
