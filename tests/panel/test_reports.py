"""Reports: the tenant's own traffic per day from the daily counts — numbers, rates, totals, the period and channel
filters, the CSV download, isolation between tenants, and a query count that does not grow with the period."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging import counts
from messaging.items import SmsItem
from messaging.services import accept_messages
from tests.messaging.conftest import make_gateway
from tests.panel.conftest import signed_in
from tests.panel.test_layout import INLINE_HANDLER, INLINE_SCRIPT, INLINE_STYLE

pytestmark = pytest.mark.django_db
KINDS = ["accepted", "sent", "delivered", "opened", "clicked", "bounced", "complained", "failed", "cancelled"]


def seed(user, days_ago: int, channel: str, **kinds: int) -> None:
    """Adds counts as the send path and the transitions do (messaging.counts.add), at noon of the day."""
    day = timezone.localdate() - timedelta(days=days_ago)
    at = timezone.make_aware(datetime.combine(day, time(12)))
    counts.add([(user.pk, at, channel, kind) for kind, n in kinds.items() for _ in range(n)])


def row(html: str, day: str) -> list[str]:
    """The cells of the per-day table's row for `day` (YYYY-MM-DD, or "total"): 9 counts, then 5 rates."""
    table = html.split('id="report-days"')[1].split("</table>")[0]
    found = table.split(f'data-day="{day}"')[1].split("</tr>")[0]
    return re.findall(r'<td class="num">([^<]*)</td>', found)


def days_shown(html: str) -> list[str]:
    table = html.split('id="report-days"')[1].split("<tfoot>")[0]
    return re.findall(r'data-day="(\d{4}-\d\d-\d\d)"', table)


def ago(n: int) -> str:
    return (timezone.localdate() - timedelta(days=n)).isoformat()


def percents(*values: float) -> list[str]:
    """Rates as the page shows them: one decimal and a no-break space before the sign."""
    return [f"{value:.1f}\u00a0%" for value in values]


def csv_of(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_each_day_shows_its_counts_and_days_without_traffic_show_zeros(alice, panel):
    seed(alice.user, 0, "email", accepted=10, sent=8, delivered=6, opened=3, clicked=1, bounced=2, failed=1)
    seed(alice.user, 2, "sms", accepted=4, sent=4, complained=1, cancelled=2)
    html = panel.get("/reports/", secure=True).content.decode()
    assert days_shown(html) == [ago(n) for n in range(30)]  # 30 days by default, newest first
    assert row(html, ago(0))[:9] == ["10", "8", "6", "3", "1", "2", "0", "1", "0"]
    assert row(html, ago(2))[:9] == ["4", "4", "0", "0", "0", "0", "1", "0", "2"]
    assert row(html, ago(1))[:9] == ["0"] * 9
    assert row(html, "total")[:9] == ["14", "12", "6", "3", "1", "2", "1", "1", "2"]
    totals = html.split('id="report-totals"')[1].split("</table>")[0]
    assert re.search(r'data-kind="accepted"><th scope="row">Accepted</th><td class="num">14<', totals)


def test_rates_per_day_and_for_the_period_with_a_dash_when_nothing_to_divide_by(alice, panel):
    seed(alice.user, 0, "email", accepted=10, sent=8, delivered=6, opened=3, clicked=1, bounced=2, failed=1)
    seed(alice.user, 1, "email", accepted=10, sent=2, delivered=2, failed=5)
    html = panel.get("/reports/", secure=True).content.decode()
    # delivered/sent, opened/delivered, clicked/delivered, bounced/sent, failed/accepted
    assert row(html, ago(0))[9:] == percents(75.0, 50.0, 16.7, 25.0, 10.0)
    assert row(html, ago(1))[9:] == percents(100.0, 0.0, 0.0, 0.0, 50.0)
    assert row(html, ago(2))[9:] == ["—"] * 5
    assert row(html, "total")[9:] == percents(80.0, 37.5, 12.5, 20.0, 30.0)
    rates = html.split('id="report-rates"')[1].split("</table>")[0]
    failure = rates.split('data-rate="failure_rate">')[1].split("</tr>")[0]
    assert failure == '<th scope="row">Failure rate</th><td class="num">30.0\u00a0%</td><td>Failed / accepted</td>'


def test_the_period_chooses_7_30_or_90_days_and_leaves_older_counts_out(alice, panel):
    seed(alice.user, 5, "sms", sent=1)
    seed(alice.user, 20, "sms", sent=10)
    seed(alice.user, 60, "sms", sent=100)
    seed(alice.user, 95, "sms", sent=1000)
    totals = {}
    for days in (7, 30, 90):
        html = panel.get(f"/reports/?days={days}", secure=True).content.decode()
        assert days_shown(html) == [ago(n) for n in range(days)]
        totals[days] = row(html, "total")[1]
        assert f'<option value="{days}" selected>Last {days} days</option>' in html
    assert totals == {7: "1", 30: "11", 90: "111"}


def test_the_channel_filter_shows_one_channel_and_all_adds_them_up(alice, panel):
    seed(alice.user, 0, "email", sent=3)
    seed(alice.user, 0, "sms", sent=5)
    seed(alice.user, 0, "whatsapp", sent=7)
    sent = {}
    for channel in ("", "email", "sms", "whatsapp"):
        html = panel.get(f"/reports/?channel={channel}", secure=True).content.decode()
        sent[channel] = row(html, ago(0))[1]
    assert sent == {"": "15", "email": "3", "sms": "5", "whatsapp": "7"}


def test_a_period_or_channel_not_offered_is_refused_with_the_filters_error(alice, panel):
    for query in ("days=365", "days=abc", "channel=fax"):
        response = panel.get(f"/reports/?{query}", secure=True)
        html = response.content.decode()
        assert response.status_code == 400
        assert "Select a valid choice" in html and 'id="report-days"' not in html
    response = panel.get("/reports/traffic.csv?days=365", secure=True)
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_a_message_accepted_through_the_send_path_is_counted_today(alice, panel):
    make_gateway(alice.user, "sms", "sms-console", is_default=True)
    accept_messages(
        principal=alice.user, channel="sms", items=[SmsItem(recipient=f"+1555555010{n}", body="Hi") for n in range(3)]
    )
    html = panel.get("/reports/?days=7&channel=sms", secure=True).content.decode()
    assert row(html, ago(0))[0] == "3"


def test_the_csv_holds_the_table_oldest_day_first_with_the_totals(alice, panel):
    seed(alice.user, 0, "email", accepted=10, sent=8, delivered=6, opened=3, clicked=1, bounced=2, failed=1)
    seed(alice.user, 3, "email", accepted=2, sent=2)
    seed(alice.user, 3, "sms", accepted=50)
    response = panel.get("/reports/traffic.csv?days=7&channel=email", secure=True)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="xsender-traffic-email-7d-{today}.csv"'
    rows = csv_of(response)
    assert [r["day"] for r in rows] == [ago(n) for n in range(6, -1, -1)] + ["total"]
    assert list(rows[0]) == ["day", "channel", *KINDS, "delivery_rate", "open_rate", "click_rate", "bounce_rate",
                             "failure_rate"]  # fmt: skip
    last = rows[-2]
    assert [last[k] for k in KINDS] == ["10", "8", "6", "3", "1", "2", "0", "1", "0"] and last["channel"] == "email"
    assert (last["delivery_rate"], last["click_rate"], last["failure_rate"]) == ("0.75", "0.1667", "0.1")
    assert rows[-1]["accepted"] == "12" and rows[-1]["sent"] == "10"  # the SMS left out
    assert rows[0]["accepted"] == "0" and rows[0]["delivery_rate"] == ""


def test_the_pages_csv_link_carries_the_chosen_filter(alice, panel):
    html = panel.get("/reports/?days=90&channel=whatsapp", secure=True).content.decode()
    assert 'href="/reports/traffic.csv?days=90&amp;channel=whatsapp"' in html
    rows = csv_of(panel.get("/reports/traffic.csv?days=90&channel=whatsapp", secure=True))
    assert len(rows) == 91 and {r["channel"] for r in rows} == {"whatsapp"}


def test_another_tenants_counts_are_neither_shown_nor_exported(alice, bob, panel):
    seed(bob.user, 0, "email", accepted=7, sent=7)
    seed(alice.user, 0, "email", accepted=1)
    html = panel.get("/reports/", secure=True).content.decode()
    assert row(html, ago(0))[:2] == ["1", "0"] and row(html, "total")[:2] == ["1", "0"]
    assert csv_of(panel.get("/reports/traffic.csv", secure=True))[-1]["accepted"] == "1"
    bobs = signed_in(bob.user).get("/reports/", secure=True).content.decode()
    assert row(bobs, ago(0))[:2] == ["7", "7"]


def test_staff_are_sent_to_the_admin_and_visitors_to_sign_in(admin):
    for url in ("/reports/", "/reports/traffic.csv"):
        assert signed_in(admin.user).get(url, secure=True)["Location"] == "/admin/"
        assert Client().get(url, secure=True)["Location"].startswith("/login/")


def test_the_query_count_does_not_grow_with_the_period_or_the_traffic(alice, panel, django_assert_max_num_queries):
    panel.get("/reports/?days=7", secure=True)
    with CaptureQueriesContext(connection) as quiet:
        panel.get("/reports/?days=7", secure=True)
    for n in range(90):
        for channel in ("email", "sms", "whatsapp"):
            seed(alice.user, n, channel, accepted=2, sent=2, delivered=1, opened=1, failed=1)
    for url in ("/reports/?days=90", "/reports/?days=30&channel=sms"):
        with django_assert_max_num_queries(len(quiet.captured_queries)):
            assert row(panel.get(url, secure=True).content.decode(), ago(0))[0] in ("6", "2")
    with django_assert_max_num_queries(len(quiet.captured_queries)):
        assert len(csv_of(panel.get("/reports/traffic.csv?days=90", secure=True))) == 91
    daily = [q for q in quiet.captured_queries if "messaging_dailycount" in q["sql"]]
    assert len(daily) == 1 and "messaging_message" not in " ".join(q["sql"] for q in quiet.captured_queries)


def test_reports_sit_in_the_navigation_after_campaigns_and_the_page_says_what_it_counts(panel):
    html = panel.get("/reports/", secure=True).content.decode()
    nav = html[html.index('<nav class="nav"') : html.index("</nav>")]
    assert 'href="/reports/" aria-current="page"' in nav
    assert nav.index(">Campaigns<") < nav.index(">Reports<") < nav.index(">Gateways<")
    scope = html.split('id="report-scope"')[1].split("</p>")[0]
    assert "API, this panel and campaigns" in scope and 'href="/campaigns/"' in scope


def test_the_page_draws_an_svg_chart_with_no_inline_code_and_labels_its_filters(alice, panel):
    seed(alice.user, 0, "sms", sent=4, delivered=3)
    response = panel.get("/reports/", secure=True)
    html = response.content.decode()
    chart = html.split('id="report-chart"')[1].split("</figure>")[0]
    assert chart.count("<polyline") == 6 and 'class="series-delivered"' in chart
    assert "All channels: messages per day, last 30 days" in chart
    assert '<label for="id_days"' in html and '<label for="id_channel"' in html
    assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html) and not INLINE_STYLE.search(html)


def test_htmx_gets_only_the_report_for_the_new_filter(alice, panel):
    seed(alice.user, 0, "sms", sent=4)
    html = panel.get("/reports/?days=7&channel=sms", secure=True, HTTP_HX_REQUEST="true").content.decode()
    assert html.startswith('<div id="report">') and "<nav" not in html
    assert days_shown(html) == [ago(n) for n in range(7)] and row(html, ago(0))[1] == "4"


def test_a_quiet_period_says_so_and_offers_to_send(panel):
    html = panel.get("/reports/", secure=True).content.decode()
    assert "No messages in this period." in html and 'href="/send/"' in html
    assert row(html, "total") == ["0"] * 9 + ["—"] * 5
