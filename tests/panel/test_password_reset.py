"""Password reset by email through the platform's own mail: the same answer for any address, a link built on
XSENDER_BASE_URL that works once, staff excluded, and a bounded number of mails."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https://app\.example\.com(/reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.XSENDER_BASE_URL = "https://app.example.com"


def ask(email: str, client: Client | None = None, **extra):
    return (client or Client()).post("/password-reset/", {"email": email}, secure=True, **extra)


def link_in(message) -> str:
    return LINK.search(message.body).group(1)


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(alice):
    known, unknown = ask("alice@example.com"), ask("nobody@example.com")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_the_link_is_built_on_the_public_url_not_the_host_header(alice):
    ask("alice@example.com", HTTP_HOST="localhost")
    assert "https://app.example.com/reset/" in mail.outbox[0].body
    assert "localhost" not in mail.outbox[0].body


def test_the_link_sets_a_new_password_once(alice):
    ask("alice@example.com")
    client = Client()
    form_url = client.get(link_in(mail.outbox[0]), secure=True)["Location"]
    new = "brand-new-passphrase-9"
    done = client.post(form_url, {"new_password1": new, "new_password2": new}, secure=True)
    again = Client().get(link_in(mail.outbox[0]), secure=True)
    alice.user.refresh_from_db()
    assert done["Location"] == "/reset/done/" and alice.user.check_password(new)
    assert again.status_code == 200 and "This link no longer works" in again.content.decode()


def test_a_weak_new_password_is_refused(alice):
    ask("alice@example.com")
    client = Client()
    form_url = client.get(link_in(mail.outbox[0]), secure=True)["Location"]
    response = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"}, secure=True)
    assert response.status_code == 200 and "entirely numeric" in response.content.decode()


def test_an_expired_link_is_refused(alice, settings):
    ask("alice@example.com")
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = Client().get(link_in(mail.outbox[0]), secure=True)
    assert "This link no longer works" in response.content.decode()


def test_staff_accounts_are_not_reset_from_the_panel(operator):
    ask("ops@example.com")
    assert mail.outbox == []


def test_repeated_requests_for_one_address_send_a_bounded_number_of_mails(alice):
    answers = {ask("alice@example.com").status_code for _ in range(5)}
    assert answers == {302}
    assert len(mail.outbox) == 2


def test_the_sign_in_page_links_to_the_reset():
    assert 'href="/password-reset/"' in Client().get("/login/", secure=True).content.decode()
