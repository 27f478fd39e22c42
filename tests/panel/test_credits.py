"""Credits & plan in the panel: balances, plan limits, the ledger filtered and paged by keyset, its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services
from accounts.models import CreditEntry
from accounts.selectors import LedgerFilter, ledger_page

pytestmark = pytest.mark.django_db


def export(panel, query: str = "") -> list[list[str]]:
    response = panel.get(f"/credits/export.csv{query}", secure=True)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_page_shows_balances_and_plan_limits(alice, panel):
    page = panel.get("/credits/", secure=True).content.decode()
    assert "Starter" in page and "60 requests per minute per key" in page
    assert page.count('<p class="big">100</p>') == 3


def test_the_ledger_lists_grants_topups_and_adjustments(alice, panel):
    services.add_credits(user=alice.user, channel="sms", amount=25, note="invoice 7")
    services.adjust_credits(user=alice.user, channel="email", delta=-5, note="=HYPERLINK(1)")
    page = panel.get("/credits/", secure=True).content.decode()
    assert "invoice 7" in page and "+25" in page and "-5" in page


def test_the_ledger_filters_by_channel_and_reason(alice, panel):
    services.add_credits(user=alice.user, channel="sms", amount=25)
    rows = export(panel, "?channel=sms&reason=topup")
    assert [(r[1], r[2], r[3]) for r in rows[1:]] == [("sms", "25", "topup")]


def test_a_bad_date_range_is_refused_in_place(alice, panel):
    response = panel.get("/credits/?since=2026-05-02&until=2026-05-01", secure=True)
    assert response.status_code == 400 and "before the start date" in response.content.decode()


def test_the_ledger_pages_by_keyset_without_repeating_or_losing_entries(alice):
    for amount in range(1, 8):
        services.add_credits(user=alice.user, channel=("email", "sms", "whatsapp")[amount % 3], amount=amount)
    seen, after = [], None
    while True:
        page = ledger_page(user=alice.user, wanted=LedgerFilter(), after=after, size=3)
        seen += [row["id"] for row in page.rows]
        if page.next is None:
            break
        after = page.next
    assert seen == list(
        CreditEntry.objects.filter(account__user=alice.user).order_by("-created_at", "-id").values_list("id", flat=True)
    )


def test_a_page_costs_the_same_queries_for_a_long_ledger(alice):
    with CaptureQueriesContext(connection) as short:
        ledger_page(user=alice.user, wanted=LedgerFilter())
    for _ in range(60):
        services.add_credits(user=alice.user, channel="sms", amount=1)
    with CaptureQueriesContext(connection) as long:
        ledger_page(user=alice.user, wanted=LedgerFilter())
    assert len(long) == len(short)


def test_the_export_neutralises_formulas(alice, panel):
    services.adjust_credits(user=alice.user, channel="email", delta=-5, note="=HYPERLINK(1)")
    rows = export(panel, "?reason=adjust")
    assert rows[1][4] == "'=HYPERLINK(1)"


def test_the_export_has_every_entry_of_the_filter(alice, panel):
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    rows = export(panel, f"?since={since}")
    assert len(rows) == 1 + CreditEntry.objects.filter(account__user=alice.user).count()


def test_the_ledger_reads_another_tenants_entries_never(alice, bob, panel):
    services.add_credits(user=bob.user, channel="sms", amount=77, note="bob only")
    assert "bob only" not in panel.get("/credits/", secure=True).content.decode()
    assert all("bob only" not in row for row in export(panel))
