"""Reports in Chromium against gunicorn and a worker: a tenant with daily counts of email and SMS traffic opens
Reports from the navigation, reads the seeded numbers in the table, sees the chart drawn, narrows it to SMS (htmx
swaps the report in), downloads the CSV, and the page fits 375 px and 1,440 px (screenshots to docs/screenshots/
only with XSENDER_SCREENSHOTS)."""

from __future__ import annotations

import csv
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from messaging import counts
from tests.e2e.test_panel_devices import browser_page  # noqa: F401  (the Chromium page fixture)
from tests.e2e.test_panel_pages import carol, page, panel_url, shoot, sign_in  # noqa: F401  (fixtures, helpers)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def seed(user, days_ago: int, channel: str, **kinds: int) -> str:
    day = timezone.localdate() - timedelta(days=days_ago)
    at = timezone.make_aware(datetime.combine(day, time(12)))
    counts.add([(user.pk, at, channel, kind) for kind, n in kinds.items() for _ in range(n)])
    return day.isoformat()


def cells(browser, day: str) -> list[str]:
    return browser.eval_on_selector_all(f"#report-days tr[data-day='{day}'] td", "cells => cells.map(c => c.innerText)")


def test_a_tenant_reads_the_daily_traffic_narrows_it_to_sms_and_downloads_the_csv(page, carol):  # noqa: F811
    today = seed(carol, 0, "email", accepted=12, sent=10, delivered=8, opened=4, clicked=2, bounced=1, failed=2)
    three_ago = seed(carol, 3, "sms", accepted=5, sent=5, delivered=5, cancelled=1)
    sign_in(page, carol)
    page.click("nav.nav >> text=Reports")
    page.wait_for_url(f"{page.base}/reports/")
    assert cells(page, today)[:9] == ["12", "10", "8", "4", "2", "1", "0", "2", "0"]
    assert cells(page, today)[9:] == [f"{v}\u00a0%" for v in ("80.0", "50.0", "25.0", "10.0", "16.7")]
    assert cells(page, three_ago)[:9] == ["5", "5", "5", "0", "0", "0", "0", "0", "1"]
    assert cells(page, "total")[:2] == ["17", "15"]
    assert page.locator("#report-days tbody tr").count() == 30
    lines = page.locator("#report-chart svg polyline")
    assert lines.count() == 6 and page.locator("#report-chart svg").bounding_box()["width"] > 200
    assert len(page.get_attribute("#report-chart .series-sent", "points").split()) == 30
    shoot(page, "reports")

    page.select_option("#id_channel", "sms")  # htmx swaps the report in and pushes the URL
    page.wait_for_url("**/reports/?*channel=sms*")
    expect(page.locator("#report-days tfoot td").first).to_have_text("5")
    assert cells(page, today)[:2] == ["0", "0"] and cells(page, three_ago)[:2] == ["5", "5"]
    page.select_option("#id_days", "7")
    page.wait_for_url("**/reports/?*days=7*")
    expect(page.locator("#report-days tbody tr")).to_have_count(7)
    shoot(page, "reports-sms")

    with page.expect_download() as download:
        page.click("#report-csv")
    assert download.value.suggested_filename == f"xsender-traffic-sms-7d-{today}.csv"
    with open(download.value.path(), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8 and rows[-1]["day"] == "total" and rows[-1]["accepted"] == "5"
    by_day = {row["day"]: row for row in rows}
    assert (by_day[three_ago]["delivered"], by_day[three_ago]["cancelled"]) == ("5", "1")
    assert by_day[today]["accepted"] == "0" and {row["channel"] for row in rows} == {"sms"}


def test_90_days_of_traffic_fit_a_phone_and_a_desktop(page, carol):  # noqa: F811
    for n in range(90):
        seed(carol, n, "whatsapp", accepted=1000 + n, sent=1000 + n, delivered=900, opened=500, failed=n)
    sign_in(page, carol)
    page.goto(f"{page.base}/reports/?days=90")
    assert page.locator("#report-days tbody tr").count() == 90
    assert cells(page, "total")[0] == str(sum(1000 + n for n in range(90)))
    shoot(page, "reports-90-days")
