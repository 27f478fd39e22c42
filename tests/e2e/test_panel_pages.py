"""The tenant panel in Chromium against real processes (gunicorn, an RQ worker, an SMTP server): send from the
form and follow the message to Sent, a bulk file with a bad row then fixed, cancel, the dashboard's numbers, the
CSV export, and every page at 375 px and 1,440 px (the screenshots in docs/screenshots/ come from here)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts import services as accounts
from accounts.models import CreditAccount
from gateways.services import add_gateway
from messaging.items import SmsItem
from messaging.models import Message, Status
from messaging.services import accept_messages
from tests.e2e.test_panel_devices import browser_page  # noqa: F401  (the Chromium page fixture)
from tests.fakes.smtp import SmtpSink
from tests.system.conftest import ROOT, start_web, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
# The screenshots in docs/screenshots/ are refreshed with XSENDER_SCREENSHOTS=docs/screenshots; an ordinary run
# writes them to a scratch folder, so that a test run leaves the checkout as it found it.
SHOTS = ROOT / os.environ["XSENDER_SCREENSHOTS"] if os.environ.get("XSENDER_SCREENSHOTS") else Path(tempfile.mkdtemp())
PASSWORD = "carol-passphrase-42"
WIDTHS = {"desktop": (1440, 900), "phone": (375, 812)}


@pytest.fixture
def panel_url(processes) -> str:
    """gunicorn on plain HTTP on loopback (as in local development), a worker, and the static files collected."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=processes.env, check=True
    )
    processes.manage("worker", "xsender:worker")
    return start_web(processes, XSENDER_ALLOW_INSECURE_HTTP="true").url


@pytest.fixture
def carol(db):
    plan = accounts.create_plan(
        data=accounts.PlanInput(slug="pro", name="Pro", email_credits=5000, sms_credits=100, whatsapp_credits=100)
    )
    user, _ = accounts.create_user(email="carol@example.com", name="Carol", password=PASSWORD, plan=plan)
    return user


@pytest.fixture
def page(browser_page, panel_url):  # noqa: F811
    errors: list[str] = []
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_page.base = panel_url
    browser_page.console_errors = errors
    yield browser_page
    assert [e for e in errors if "Content Security Policy" in e] == []


def sign_in(page, user) -> None:
    page.goto(f"{page.base}/login/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{page.base}/")


def shoot(page, name: str, full_page: bool = True) -> None:
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=full_page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is wider than {width} px by {overflow} px"
    page.set_viewport_size({"width": 1440, "height": 900})


def credits(user, channel: str) -> int:
    return CreditAccount.objects.get(user=user, channel=channel).balance


def test_a_tenant_sends_an_email_from_the_form_and_follows_it_to_sent(page, carol):
    with SmtpSink() as sink:
        config = {"host": "127.0.0.1", "port": sink.port, "from_email": "noreply@example.com"}
        add_gateway(
            owner=carol, channel="email", provider="smtp", identifier="smtp-main", config=config, is_default=True
        )
        sign_in(page, carol)
        page.click("nav.nav >> text=Send")
        page.fill("#id_recipients", "dave@example.com")
        page.fill("#id_subject", "Welcome aboard")
        page.fill("#id_message", "Hello Dave")
        shoot(page, "send-email")
        page.click("button[value=send]")
        page.wait_for_url("**/history/**")
        assert "dave@example.com" in page.inner_text("#history-table")
        page.click("#history-table a")
        wait_until(lambda: page.reload() or page.inner_text("#message-status") == "Sent", what="the message to be Sent")
        shoot(page, "message")
        assert sink.recipients == ["dave@example.com"] and sink.messages[0].email["Subject"] == "Welcome aboard"
        page.goto(f"{page.base}/")
        sent_today = page.inner_text("#counts-email tr[data-kind=sent] td:nth-of-type(1)")
        assert sent_today == "1" and page.inner_text("#credits-email .big") == "4999"
        shoot(page, "dashboard")


def write_csv(path: Path, bad_row: int | None) -> Path:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "name"])
        for n in range(2000):
            out.writerow(["not-an-address" if n == bad_row else f"person{n}@example.com", f"Person {n}"])
    return path


def upload(page, path: Path) -> None:
    page.goto(f"{page.base}/send/bulk/")
    page.select_option("#id_channel", "email")
    page.set_input_files("#id_file", str(path))
    page.click("main button[type=submit]")
    page.fill("#id_text_subject", "Hello {{ name }}")
    page.fill("#id_text_body", "Dear {{ name }}, welcome.")
    page.click("button[value=check]")


def test_a_bulk_file_with_one_bad_row_sends_nothing_and_once_fixed_sends_2000_in_one_charge(page, carol, tmp_path):
    add_gateway(owner=carol, channel="email", provider="console", identifier="console", is_default=True)
    sign_in(page, carol)
    before = credits(carol, "email")
    upload(page, write_csv(tmp_path / "people.csv", bad_row=1234))
    errors = page.inner_text("#row-errors")
    assert "1236" in errors and "email" in errors  # row 1236 of the file: the header is row 1
    assert page.locator("button[value=send]").count() == 0
    shoot(page, "bulk-review")
    assert Message.objects.count() == 0 and credits(carol, "email") == before
    upload(page, write_csv(tmp_path / "fixed.csv", bad_row=None))
    page.click("button[value=send]")
    assert page.locator("#bulk-uids li").count() == 2000
    shoot(page, "bulk-result", full_page=False)  # 2,000 uids: the top of the page
    assert Message.objects.filter(user=carol).count() == 2000 and credits(carol, "email") == before - 2000


def test_cancelling_a_scheduled_message_gives_its_credit_back(page, carol):
    add_gateway(owner=carol, channel="sms", provider="console", identifier="sms", is_default=True)
    later = timezone.now() + timedelta(days=1)
    (message,) = accept_messages(
        principal=carol, channel="sms", items=[SmsItem(recipient="+15555550101", body="Later", schedule_at=later)]
    )
    sign_in(page, carol)
    assert credits(carol, "sms") == 99
    page.goto(f"{page.base}/history/{message.uid}/")
    page.click("text=Cancel this message")
    assert page.inner_text("#message-status") == "Cancelled"
    assert credits(carol, "sms") == 100 and Message.objects.get(pk=message.pk).status == Status.CANCELLED


def test_the_csv_export_holds_exactly_the_filtered_list(page, carol, tmp_path):
    add_gateway(owner=carol, channel="sms", provider="console", identifier="sms", is_default=True)
    add_gateway(owner=carol, channel="email", provider="console", identifier="mail", is_default=True)
    numbers = [f"+1555555{n:04d}" for n in range(30)]
    accept_messages(principal=carol, channel="sms", items=[SmsItem(recipient=n, body="Hi") for n in numbers])
    sign_in(page, carol)
    page.goto(f"{page.base}/history/")
    page.select_option("#id_channel", "sms")
    page.click("#history-filters button[type=submit]")
    page.wait_for_url("**/history/?*channel=sms*")
    page.wait_for_load_state("networkidle")
    listed = page.eval_on_selector_all("#history-table tbody tr", "rows => rows.map(r => r.dataset.uid)")
    shoot(page, "history")
    with page.expect_download() as download:
        page.click("text=Export CSV")
    with open(download.value.path(), newline="") as handle:
        exported = [row["uid"] for row in csv.DictReader(handle)]
    assert exported == listed and len(listed) == 30


def test_the_send_and_devices_pages_fit_a_phone_and_a_desktop(page, carol):
    add_gateway(owner=carol, channel="sms", provider="console", identifier="sms", is_default=True)
    sign_in(page, carol)
    page.goto(f"{page.base}/send/sms/")
    page.fill("#id_recipients", "+15555550101")
    page.fill("#id_body", "Grüße 😀")
    page.locator("#sms-counter", has_text="UCS-2").wait_for()  # the server's count, through htmx
    shoot(page, "send-sms")
    page.goto(f"{page.base}/send/bulk/")
    shoot(page, "bulk-upload")
    page.goto(f"{page.base}/gateway/android/devices/")
    shoot(page, "devices")
    page.goto(f"{page.base}/history/")
    assert "No messages yet — send your first one" in page.inner_text("main")
