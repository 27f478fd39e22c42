"""Edits in the user change form go through accounts.services: a new plan grants its credits via the ledger."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import CreditAccount, CreditEntry
from tests.accounts.adminforms import post_user_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def pro(db):
    return services.create_plan(data=services.PlanInput(slug="pro", name="Pro", sms_credits=500, email_credits=50))


def test_a_plan_changed_in_the_change_form_grants_its_credits(admin_client, alice, pro):
    response = post_user_change(admin_client, alice.user, plan=pro.pk)
    grant = CreditEntry.objects.get(account__user=alice.user, account__channel="sms", note="pro")
    assert response.status_code == 302
    assert (grant.reason, grant.delta) == (CreditEntry.Reason.PLAN, 500)
    assert CreditAccount.objects.get(user=alice.user, channel="sms").balance == 600


def test_a_plan_changed_in_the_change_form_starts_its_term(admin_client, alice, pro):
    pro.duration_days = 30
    pro.save()
    post_user_change(admin_client, alice.user, plan=pro.pk)
    alice.user.refresh_from_db()
    assert alice.user.plan == pro and alice.user.plan_expires_at is not None


def test_saving_the_form_without_a_plan_change_grants_nothing(admin_client, alice):
    post_user_change(admin_client, alice.user, name="Alice Liddell")
    assert CreditAccount.objects.get(user=alice.user, channel="sms").balance == 100


def test_unticking_active_in_the_change_form_suspends_the_user(admin_client, alice):
    post_user_change(admin_client, alice.user, is_active=False)
    assert alice.client().get("/api/me").status_code == 401
