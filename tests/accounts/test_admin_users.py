"""The admin's actions on users, through the services: credit adjustments (all or nothing, never below zero),
suspension with immediate effect on keys and panel sessions, and the user's read-only message history."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import CreditAccount, CreditEntry
from tests.accounts.test_admin import act
from tests.messaging.conftest import make_gateway

pytestmark = pytest.mark.django_db


def balance(user, channel: str = "sms") -> int:
    return CreditAccount.objects.get(user=user, channel=channel).balance


def test_adjusting_credit_down_writes_an_adjustment(admin_client, alice):
    act(admin_client, "accounts/user", "adjust_credits", [alice.user.pk], channel="sms", delta="-40", note="refunded")
    assert balance(alice.user) == 60
    assert CreditEntry.objects.get(reason="adjust").delta == -40


def test_an_adjustment_below_zero_shows_the_form_error_and_changes_nobody(admin_client, alice, bob):
    act(admin_client, "accounts/user", "adjust_credits", [bob.user.pk], channel="sms", delta="-90")
    response = act(
        admin_client, "accounts/user", "adjust_credits", [alice.user.pk, bob.user.pk], channel="sms", delta="-50"
    )
    assert "never below 0" in response.content.decode()
    assert (balance(alice.user), balance(bob.user)) == (100, 10)


def test_an_adjustment_that_is_not_a_number_changes_nothing(admin_client, alice):
    response = act(admin_client, "accounts/user", "adjust_credits", [alice.user.pk], channel="sms", delta="ten")
    assert response.status_code == 200 and "Enter a whole number" in response.content.decode()
    assert balance(alice.user) == 100


def test_suspending_signs_the_users_panel_session_out_and_stops_their_key(admin_client, alice):
    panel = Client()
    panel.force_login(alice.user)
    act(admin_client, "accounts/user", "suspend", [alice.user.pk])
    assert panel.get("/", secure=True).status_code == 302  # to the sign-in page
    assert alice.client().get("/api/me").status_code == 401


def test_the_users_page_links_to_their_message_history(admin_client, alice):
    page = admin_client.get(f"/admin/accounts/user/{alice.user.pk}/change/", secure=True).content.decode()
    assert f"/admin/accounts/user/{alice.user.pk}/pages/messages/" in page


def test_staff_read_a_users_messages_without_changing_them(admin_client, alice):
    make_gateway(alice.user, "sms", "sms-console", is_default=True)
    alice.client().post("/api/sms/send", {"contact": [{"number": "+15555550123", "body": "Hi"}]}, format="json")
    page = admin_client.get(f"/admin/accounts/user/{alice.user.pk}/pages/messages/", secure=True)
    assert page.status_code == 200
    assert "+15555550123" in page.content.decode()
    assert '<form method="post"' not in page.content.decode()


def test_the_message_history_page_is_for_staff_only(alice, bob):
    client = Client()
    client.force_login(bob.user)
    response = client.get(f"/admin/accounts/user/{alice.user.pk}/pages/messages/", secure=True)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_an_unknown_user_page_is_a_404(admin_client, alice):
    assert admin_client.get(f"/admin/accounts/user/{alice.user.pk}/pages/nothing/", secure=True).status_code == 404
