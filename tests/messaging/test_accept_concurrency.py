"""Single-recipient sends charged and stored in one statement, racing for the last credits from real threads."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from accounts.models import CreditAccount, CreditEntry
from accounts.services import debit_credits
from messaging.items import EmailItem
from messaging.models import Message
from messaging.services import accept_messages
from tests.messaging.conftest import make_gateway
from xsender.errors import CreditExhausted


@pytest.mark.django_db(transaction=True)
def test_forty_single_sends_racing_for_ten_credits_store_exactly_ten(alice):
    make_gateway(alice.user, "email", "mail", is_default=True)
    account = CreditAccount.objects.get(user=alice.user, channel="email")
    debit_credits(user=alice.user, channel="email", amount=account.balance - 10)  # ten credits left
    barrier, refused = threading.Barrier(40), []

    def send(i: int) -> None:
        try:
            barrier.wait()
            accept_messages(principal=alice.user, channel="email", items=[EmailItem(f"r{i}@example.com", "Hi", "x")])
        except CreditExhausted:
            refused.append(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(40)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    account.refresh_from_db()
    assert (Message.objects.count(), len(refused), account.balance) == (10, 30, 0)
    assert CreditEntry.objects.filter(account=account).aggregate(total=Sum("delta"))["total"] == 0  # the ledger agrees
