"""The credit ledger: atomic under concurrency, never below zero, entries sum to the balance."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from accounts import services
from accounts.models import CreditAccount, CreditEntry
from xsender.errors import CreditExhausted


def ledger_sum(account: CreditAccount) -> int:
    return CreditEntry.objects.filter(account=account).aggregate(total=Sum("delta"))["total"] or 0


@pytest.mark.django_db(transaction=True)
def test_twenty_debits_racing_for_ten_credits_exactly_ten_succeed(db):
    user, _ = services.create_user(email="race@example.com")
    services.add_credits(user=user, channel="sms", amount=10)
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def debit() -> None:
        barrier.wait()
        try:
            services.debit_credits(user=user, channel="sms", amount=1)
            outcomes.append("ok")
        except CreditExhausted:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=debit) for _ in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    account = CreditAccount.objects.get(user=user, channel="sms")
    assert outcomes.count("ok") == 10
    assert account.balance == 0
    assert ledger_sum(account) == account.balance


@pytest.mark.django_db
def test_debit_beyond_the_balance_changes_nothing(alice):
    with pytest.raises(CreditExhausted):
        services.debit_credits(user=alice.user, channel="email", amount=101)
    account = CreditAccount.objects.get(user=alice.user, channel="email")
    assert (account.balance, ledger_sum(account)) == (100, 100)


@pytest.mark.django_db
def test_unlimited_channel_is_never_debited(alice):
    plan = services.create_plan(data=services.PlanInput(slug="unl", name="Unlimited", sms_credits=-1))
    services.assign_plan(user=alice.user, plan=plan)
    assert services.debit_credits(user=alice.user, channel="sms", amount=10_000) is None
    assert services.balances(alice.user)["sms"] == -1


@pytest.mark.django_db
def test_ledger_entries_cannot_be_edited(alice):
    entry = CreditEntry.objects.filter(account__user=alice.user).first()
    entry.delta = 1_000_000
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
