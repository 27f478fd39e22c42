"""API keys, gateways, credits, account, password reset and the admin's actions, in Chromium against real processes
(gunicorn, an RQ worker, an SMTP server that is also the platform's own mail): a key created, used over HTTP and
revoked; an SMTP gateway on a wrong port then on the server; another tenant's gateway and key URLs; a reset link
that works once; a suspension that stops the key and signs the panel out. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass

import pytest
import requests
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as accounts
from accounts.models import User
from gateways.models import Gateway
from gateways.services import add_gateway
from messaging.items import SmsItem
from messaging.models import Message
from messaging.services import accept_messages
from tests.e2e.test_panel_devices import browser_page  # noqa: F401  (the Chromium page fixture)
from tests.e2e.test_panel_pages import SHOTS, shoot
from tests.fakes.smtp import SmtpSink
from tests.system.conftest import ROOT, free_port, start_web, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "carol-passphrase-42"
STAFF_PASSWORD = "staff-passphrase-42"
RESET_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/reset/[^/\s]+/[^/\s]+/)")


@dataclass
class Site:
    url: str
    sink: SmtpSink


@pytest.fixture
def site(processes):
    """gunicorn (its own mail to the SMTP sink, its public URL its own address, loopback allowed for the tenants'
    SMTP gateways, as an operator of a private installation would), a worker, the static files collected."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=processes.env, check=True
    )
    processes.manage("worker", "xsender:worker")
    with SmtpSink() as sink:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {"XSENDER_ALLOW_INSECURE_HTTP": "true", "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
               "XSENDER_BASE_URL": url, "XSENDER_FETCH_ALLOWED_HOSTS": "127.0.0.1"}  # fmt: skip
        yield Site(url=start_web(processes, port, **env).url, sink=sink)


@pytest.fixture
def page(browser_page, site):  # noqa: F811
    errors: list[str] = []
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_page.base = site.url
    yield browser_page
    assert [e for e in errors if "Content Security Policy" in e] == []


@pytest.fixture
def carol(db):
    plan = accounts.create_plan(
        data=accounts.PlanInput(slug="pro", name="Pro", email_credits=5000, sms_credits=100, whatsapp_credits=100)
    )
    user, _ = accounts.create_user(email="carol@example.com", name="Carol", password=PASSWORD, plan=plan)
    return user


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{page.base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{page.base}/")


def api(site_url: str, key: str) -> int:
    return requests.get(f"{site_url}/api/me", headers={"Api-key": key}, timeout=10).status_code


def test_a_key_is_created_used_over_http_and_revoked(page, carol):
    sign_in(page, carol.email)
    page.click("nav.nav >> text=API keys")
    page.fill("#id_name", "billing server")
    page.click("#create-key button[type=submit]")
    secret = page.input_value("#api-key-secret")
    assert secret in page.inner_text("#curl-me")
    shoot(page, "api-key-created")
    assert api(page.base, secret) == 200
    page.click("text=Done")
    shoot(page, "api-keys")
    page.locator("#api-keys tr", has_text="billing server").locator("button", has_text="Revoke").click()
    assert "revoked" in page.inner_text("#api-keys")
    assert api(page.base, secret) == 401


def test_an_smtp_gateway_on_a_wrong_port_says_so_and_on_the_server_delivers_the_test(page, site, carol):
    with SmtpSink() as closed:
        wrong_port = closed.port
    sign_in(page, carol.email)
    page.goto(f"{page.base}/gateways/?channel=email")
    page.click("text=Add Email gateway")
    page.click("text=smtp")
    page.fill("#id_identifier", "office-mail")
    page.fill("#id_config_host", "127.0.0.1")
    page.fill("#id_config_port", str(wrong_port))
    page.fill("#id_config_from_email", "noreply@example.com")
    page.select_option("#id_config_use_tls", "no")
    shoot(page, "gateway-add")
    page.click("#gateway-form button[type=submit]")
    page.fill("#id_to", "dave@example.com")
    page.click("#test-form button[type=submit]")
    assert "Cannot connect to the SMTP server: ConnectionRefusedError." in page.inner_text(".flashes")
    with SmtpSink() as server:
        page.fill("#id_config_port", str(server.port))
        page.click("#gateway-form button[type=submit]")
        page.fill("#id_to", "dave@example.com")
        page.click("#test-form button[type=submit]")
        assert "Test message sent to dave@example.com" in page.inner_text(".flashes")
        wait_until(lambda: server.recipients == ["dave@example.com"], what="the test message to arrive")
    shoot(page, "gateway")
    page.goto(f"{page.base}/gateways/")
    shoot(page, "gateways")


def test_another_tenant_gets_404_on_the_first_ones_gateway_and_key_urls(page, carol):
    gateway = Gateway.objects.create(owner=carol, channel="email", provider="console", identifier="carol-mail")
    key = carol.api_keys.get()
    accounts.create_user(email="erin@example.com", password="erin-passphrase-42")
    sign_in(page, "erin@example.com", "erin-passphrase-42")
    urls = [f"/gateways/{gateway.uid}/", f"/gateways/{gateway.uid}/remove/", f"/gateways/{gateway.uid}/session/",
            f"/api-keys/{key.prefix}/rename/"]  # fmt: skip
    assert [page.goto(page.base + url).status for url in urls] == [404, 404, 404, 404]
    gateway.refresh_from_db()
    assert gateway.name == "" and carol.api_keys.get().revoked_at is None


def test_a_password_reset_link_works_once(page, site, carol):
    page.goto(f"{page.base}/login/")
    page.click("text=Forgot your password?")
    page.fill("#id_email", carol.email)
    shoot(page, "password-reset")
    page.click("#reset-form button[type=submit]")
    assert "a link to choose a new password is on its way" in page.inner_text("#reset-sent")
    wait_until(lambda: site.sink.messages, what="the reset mail")
    link = RESET_LINK.search(site.sink.messages[0].email.get_payload()).group(1)
    page.goto(link)
    page.fill("#id_new_password1", "a-new-passphrase-77")
    page.fill("#id_new_password2", "a-new-passphrase-77")
    page.click("#new-password-form button[type=submit]")
    assert "Your password is set" in page.inner_text("#reset-complete")
    page.goto(link)
    assert "This link no longer works" in page.inner_text("main")
    sign_in(page, carol.email, "a-new-passphrase-77")


def some_traffic(user) -> None:
    """Five messages through a working gateway and two through one that fails, delivered by the worker."""
    add_gateway(owner=user, channel="sms", provider="console", identifier="sms-main", is_default=True)
    add_gateway(owner=user, channel="sms", provider="console", identifier="sms-broken", config={"fail": True})
    numbers = [f"+1555555{n:04d}" for n in range(7)]
    items = [SmsItem(recipient=n, body="Hi", gateway="sms-broken" if i > 4 else "") for i, n in enumerate(numbers)]
    accept_messages(principal=user, channel="sms", items=items)
    final = ("Sent", "Failed")
    wait_until(lambda: Message.objects.filter(status__in=final).count() == 7, what="the worker to deliver")


def test_suspending_a_user_in_the_admin_stops_their_key_and_signs_the_panel_out(page, carol):
    _, key = accounts.rotate_api_key(user=carol)
    some_traffic(carol)
    sign_in(page, carol.email)
    staff_page = page.context.browser.new_context().new_page()
    staff_page.base = page.base
    admin_sign_in(staff_page)
    assert "sms-broken" in staff_page.inner_text("#overview")
    staff_page.screenshot(path=str(SHOTS / "admin-overview-desktop.png"), full_page=True)  # the admin: desktop only
    staff_page.goto(f"{page.base}/admin/accounts/user/{carol.pk}/change/")
    staff_page.click("text=Messages (read-only)")
    assert staff_page.locator("#result_list tbody tr").count() == 7
    staff_page.screenshot(path=str(SHOTS / "admin-user-messages-desktop.png"), full_page=True)
    staff_page.goto(f"{page.base}/admin/accounts/user/?q=carol")
    staff_page.locator("tr", has_text=carol.email).locator("input.action-select").check()
    staff_page.select_option("select[name=action]", "suspend")
    staff_page.click("button[name=index]")
    assert "suspended" in staff_page.inner_text(".messagelist")
    assert api(page.base, key) == 401
    page.goto(f"{page.base}/api-keys/")
    assert page.url.startswith(f"{page.base}/login/")


def admin_sign_in(page) -> User:
    user, _ = accounts.create_user(email="ops@example.com", password=STAFF_PASSWORD, admin=True)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(f"{page.base}/admin/login/?next=/admin/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", STAFF_PASSWORD)
    page.fill("#id_otp_token", f"{totp(device.bin_key):06d}")
    page.click("input[type=submit]")
    page.wait_for_url(f"{page.base}/admin/")
    return user


def test_credits_and_account_pages_fit_a_phone_and_a_desktop(page, carol):
    accounts.add_credits(user=carol, channel="sms", amount=250, note="invoice 2026-117")
    accounts.adjust_credits(user=carol, channel="email", delta=-20, note="duplicate grant")
    sign_in(page, carol.email)
    page.click("nav.nav >> text=Credits")
    assert "invoice 2026-117" in page.inner_text("#ledger-table")
    shoot(page, "credits")
    page.click("nav.nav >> text=Account")
    shoot(page, "account")
    page.click("text=Turn two-factor sign-in on")
    assert page.locator("#totp-qr svg").count() == 1
    shoot(page, "totp")
    page.goto(f"{page.base}/gateways/add/")
    shoot(page, "gateway-providers")
