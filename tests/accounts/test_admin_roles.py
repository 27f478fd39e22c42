"""Staff of the Admin role (not superusers) cannot raise privileges or touch a superuser's keys; new keys are
shown once on a page, never in a flash message."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import ApiKey, User
from tests.accounts.adminforms import post_user_change
from tests.accounts.test_admin import act
from tests.conftest import OPERATOR_PASSWORD, https_client, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_role(db) -> User:
    user, _ = services.create_user(email="role-admin@example.com", password=OPERATOR_PASSWORD)
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="Admin"))
    return user


@pytest.fixture
def role_client(admin_role) -> Client:
    client = Client()
    assert login(client, admin_role, TOTPDevice.objects.create(user=admin_role, confirmed=True)).status_code == 302
    return client


def test_an_admin_role_member_cannot_make_themselves_superuser(role_client, admin_role):
    post_user_change(role_client, admin_role, is_superuser=True)
    admin_role.refresh_from_db()
    assert admin_role.is_superuser is False


def test_an_admin_role_member_cannot_hand_out_staff_roles(role_client, alice):
    admin_group = Group.objects.get(name="Admin")
    post_user_change(role_client, alice.user, is_staff=True, groups=[admin_group.pk])
    alice.user.refresh_from_db()
    assert (alice.user.is_staff, list(alice.user.groups.all())) == (False, [])


def test_an_admin_role_member_still_edits_a_tenant(role_client, alice):
    assert post_user_change(role_client, alice.user, name="Alice L.").status_code == 302
    alice.user.refresh_from_db()
    assert alice.user.name == "Alice L."


def test_an_admin_role_member_cannot_rotate_a_superusers_key(role_client, admin):
    act(role_client, "accounts/user", "issue_key", [admin.user.pk])
    assert admin.client().get("/api/me").status_code == 200


def test_an_admin_role_member_cannot_revoke_a_superusers_key(role_client, admin):
    act(role_client, "accounts/apikey", "revoke", [ApiKey.objects.get(user=admin.user).pk])
    assert admin.client().get("/api/me").status_code == 200


def test_an_admin_role_member_cannot_change_a_superusers_account(role_client, admin):
    post_user_change(role_client, admin.user, email="mine@example.com")
    assert role_client.get(f"/admin/accounts/user/{admin.user.pk}/password/", secure=True).status_code == 403
    admin.user.refresh_from_db()
    assert admin.user.email == "admin@example.com"


def test_a_superuser_can_grant_the_admin_role(admin_client, alice):
    admin_group = Group.objects.get(name="Admin")
    post_user_change(admin_client, alice.user, is_staff=True, groups=[admin_group.pk])
    alice.user.refresh_from_db()
    assert alice.user.is_staff and list(alice.user.groups.all()) == [admin_group]


def test_a_rotated_key_is_shown_once_on_the_answer_page_and_never_in_a_message(admin_client, alice):
    response = act(admin_client, "accounts/user", "issue_key", [alice.user.pk])
    new_key = response.context["issued"][0][1]
    assert new_key in response.content.decode() and "no-store" in response["Cache-Control"]
    assert "messages" not in response.cookies
    later = admin_client.get("/admin/accounts/user/", secure=True).content.decode()
    assert new_key not in later
    assert https_client().get("/api/me", HTTP_API_KEY=new_key).status_code == 200


def test_an_admin_role_member_cannot_delete_a_superusers_key_or_account(role_client, admin):
    act(role_client, "accounts/apikey", "delete_selected", [ApiKey.objects.get(user=admin.user).pk], post="yes")
    act(role_client, "accounts/user", "delete_selected", [admin.user.pk], post="yes")
    assert admin.client().get("/api/me").status_code == 200
