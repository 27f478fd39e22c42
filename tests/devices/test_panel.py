"""The device pages of the tenant panel and of Django admin: profile bounds, tenant isolation, revocation."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from devices import services
from devices.models import AndroidDevice

pytestmark = pytest.mark.django_db
PAGES = "/gateway/android/devices"


@pytest.fixture
def device(alice) -> AndroidDevice:
    token = services.create_pairing_token(user=alice.user)[1]
    return services.register_session(pairing_token=token, device_uuid="pixel-7", device_name="Office Pixel").device


def panel(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def profile(device: AndroidDevice) -> tuple[int, int, int]:
    device.refresh_from_db()
    return device.poll_interval, device.daily_quota, device.lease_seconds


def test_profile_is_saved_from_the_panel(alice, device):
    body = {"poll_interval": 7, "daily_quota": 500, "lease_seconds": 300}
    response = panel(alice.user).post(f"{PAGES}/{device.uid}/profile/", body, secure=True)
    assert response.status_code == 302
    assert profile(device) == (7, 500, 300)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("poll_interval", 2, "The poll interval is 5 to 15 seconds."),
        ("daily_quota", 0, "The daily quota is 1 to 100,000 SMS per SIM."),
        ("lease_seconds", 5000, "The lease is 30 to 3,600 seconds."),
    ],
)
def test_a_profile_out_of_bounds_is_refused_in_the_panel_and_in_admin(
    alice, device, admin_client, field, value, message
):
    body = {"poll_interval": 7, "daily_quota": 500, "lease_seconds": 300, field: value}
    page = panel(alice.user).post(f"{PAGES}/{device.uid}/profile/", body, secure=True)
    form = {"name": "Office Pixel", "android_version": "", "app_version": "", **body}
    form.update({"sims-TOTAL_FORMS": 0, "sims-INITIAL_FORMS": 0, "sims-MIN_NUM_FORMS": 0, "sims-MAX_NUM_FORMS": 1000})
    admin_page = admin_client.post(f"/admin/devices/androiddevice/{device.pk}/change/", form, secure=True)
    assert (page.status_code, admin_page.status_code) == (200, 200)  # the form again, with its error
    assert message in page.content.decode() and message in admin_page.content.decode()
    assert profile(device) == (10, 200, 120)


def test_admin_cannot_move_a_device_to_another_tenant(alice, bob, device, admin_client):
    form = {"user": bob.user.pk, "name": "Renamed", "poll_interval": 10, "daily_quota": 200, "lease_seconds": 120}
    form.update({"sims-TOTAL_FORMS": 0, "sims-INITIAL_FORMS": 0, "sims-MIN_NUM_FORMS": 0, "sims-MAX_NUM_FORMS": 1000})
    assert admin_client.post(f"/admin/devices/androiddevice/{device.pk}/change/", form, secure=True).status_code == 302
    device.refresh_from_db()
    assert (device.name, device.user_id) == ("Renamed", alice.user.pk)


def test_another_tenants_or_an_unknown_device_is_a_404_and_stays_as_it_was(alice, bob, device):
    for uid in (device.uid, uuid.uuid4()):
        assert panel(bob.user).post(f"{PAGES}/{uid}/revoke/", secure=True).status_code == 404
        assert panel(bob.user).get(f"{PAGES}/{uid}/profile/", secure=True).status_code == 404
    device.refresh_from_db()
    assert device.is_active and device.hashed_session_token


def test_revoking_from_the_panel_ends_the_session(alice, device):
    assert panel(alice.user).post(f"{PAGES}/{device.uid}/revoke/", secure=True).status_code == 302
    device.refresh_from_db()
    assert (device.is_active, device.hashed_session_token) == (False, "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", "http://127.0.0.1:9", "--session-token", "xsd_x", "--once"], "cannot reach"),
        (["--server", "http://127.0.0.1:9", "--session-token", "xsd_x", "--sims", "0"], "--sims is between 1 and 8"),
    ],
)
def test_simulator_bad_input_or_no_server_is_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("xsender:device:simulate", *args)
