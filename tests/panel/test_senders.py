"""Senders in the panel: the list (empty state, place in the navigation, each sender's state and the campaigns that
name it, constant queries), adding one (the link mailed and the page saying so; a bad address, a line break or an
address the tenant has shown at its field with nothing added), the link sent again (not within a minute), removing
(refused while a campaign names it), and another tenant's sender a 404."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.models import Sender
from tests.fakes.smtp import SmtpSink
from tests.messaging.conftest import make_gateway
from tests.panel.conftest import signed_in
from tests.system.conftest import free_port

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+(/senders/confirm/[\w-]+/)")
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|<style|\sstyle\s*=", re.I)


def field_errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="id_{re.escape(field)}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def flashes(html: str) -> str:
    match = re.search(r'<div class="flashes".*?</div>', html, re.S)
    return match.group(0) if match else ""


def row(html: str, sender: Sender) -> str:
    match = re.search(rf'<tr data-sender="{sender.public_id}">(.*?)</tr>', html, re.S)
    return match.group(1) if match else ""


def add(panel, email: str = "News@Example.com", name: str = "Alice News"):
    return panel.post("/senders/add/", {"email": email, "name": name}, secure=True, follow=True)


def link_in(message) -> str:
    return LINK.search(message.body).group(1)


def age_link(sender: Sender, seconds: int) -> None:
    """As if the sender's link had been mailed `seconds` ago."""
    Sender.objects.filter(pk=sender.pk).update(token_sent_at=timezone.now() - timedelta(seconds=seconds))


@pytest.fixture
def sender(alice) -> Sender:
    return services.add_sender(owner=alice.user, email="news@example.com", name="Alice News")


@pytest.fixture
def campaign_of(alice):
    """A draft email campaign of alice naming the given (verified) sender."""
    make_gateway(alice.user, "email", "email-console", is_default=True)
    template = services.create_template(owner=alice.user, channel="email", name="News", subject="Hi", text="Hello")

    def create(sender: Sender, name: str = "Spring sale"):
        return services.create_campaign(
            owner=alice.user, channel="email", name=name, template=template.public_id, sender=sender.public_id
        )

    return create


def confirmed(sender: Sender, client) -> Sender:
    client.post(link_in(mail.outbox[-1]), secure=True)
    sender.refresh_from_db()
    return sender


# ---------------------------------------------------------------- list


def test_the_empty_page_invites_to_add_a_sender(panel):
    html = panel.get("/senders/", secure=True).content.decode()
    assert "No senders yet — add an address above" in html and 'action="/senders/add/"' in html


def test_senders_sit_in_the_navigation_between_templates_and_campaigns(panel):
    html = panel.get("/senders/", secure=True).content.decode()
    nav = html[html.index('class="nav"') :]
    assert nav.index(">Templates<") < nav.index(">Senders<") < nav.index(">Campaigns<")
    assert 'href="/senders/" aria-current="page"' in nav


def test_a_new_sender_is_listed_as_waiting_with_when_its_link_was_sent(panel, sender):
    listed = row(panel.get("/senders/", secure=True).content.decode(), sender)
    assert "news@example.com" in listed and "Alice News" in listed
    assert "Waiting for confirmation" in listed and "link sent <time" in listed
    assert "Send the link again" in listed


def test_a_link_older_than_48_hours_is_listed_as_expired(panel, sender):
    age_link(sender, 48 * 3600 + 60)
    listed = row(panel.get("/senders/", secure=True).content.decode(), sender)
    assert "Link expired" in listed and "Waiting for confirmation" not in listed


def test_the_list_names_the_campaigns_that_use_a_sender(panel, sender, campaign_of, client):
    campaign = campaign_of(confirmed(sender, client))
    listed = row(panel.get("/senders/", secure=True).content.decode(), sender)
    assert f'href="/campaigns/{campaign.public_id}/">Spring sale</a>' in listed and "Draft" in listed


def test_the_list_page_costs_the_same_queries_for_3_or_30_senders(alice, panel, django_assert_num_queries):
    for n in range(3):
        services.add_sender(owner=alice.user, email=f"s{n:02}@example.com")
    panel.get("/senders/", secure=True)  # warm-up
    with CaptureQueriesContext(connection) as three:
        assert "s02@example.com" in panel.get("/senders/", secure=True).content.decode()
    for n in range(3, 30):
        services.add_sender(owner=alice.user, email=f"s{n:02}@example.com")
    with django_assert_num_queries(len(three)):
        assert "s29@example.com" in panel.get("/senders/", secure=True).content.decode()


def test_the_page_has_no_inline_script_or_style(panel, sender):
    html = panel.get("/senders/", secure=True).content.decode()
    assert INLINE.search(html) is None


# ---------------------------------------------------------------- add


def test_adding_a_sender_mails_the_link_and_the_page_says_so(alice, panel):
    page = add(panel).content.decode()
    (message,) = mail.outbox
    assert message.to == ["news@example.com"] and LINK.search(message.body)
    assert "We sent a link to news@example.com" in flashes(page)
    assert "Waiting for confirmation" in row(page, Sender.objects.get(owner=alice.user))


def test_the_emailed_link_shows_the_sender_as_verified(alice, panel, client):
    add(panel)
    page = client.get(link_in(mail.outbox[0]), secure=True).content.decode()
    assert "Confirm news@example.com" in page  # the link's page asks first; its button confirms
    client.post(link_in(mail.outbox[0]), secure=True)
    listed = row(panel.get("/senders/", secure=True).content.decode(), Sender.objects.get(owner=alice.user))
    assert "Verified" in listed and "Send the link again" not in listed


@pytest.mark.parametrize(
    ("email", "name", "field"),
    [
        ("not an address", "", "email"),
        ("news@example.com\r\nBcc: victim@example.com", "", "email"),
        ("news@example.com", "Alice\r\nBcc: victim@example.com", "name"),
        ("news@example.com", "x" * 151, "name"),
    ],
)
def test_a_refused_address_or_name_is_shown_at_its_field_and_nothing_is_added(alice, panel, email, name, field):
    answer = add(panel, email, name)
    assert answer.status_code == 400
    assert field_errors(answer.content.decode(), field)
    assert not Sender.objects.filter(owner=alice.user).exists() and mail.outbox == []


def test_an_address_the_tenant_has_is_shown_at_the_email_field(alice, panel, sender):
    answer = add(panel, "NEWS@example.com")
    assert answer.status_code == 400
    assert "news@example.com is already one of your senders." in field_errors(answer.content.decode(), "email")
    assert Sender.objects.filter(owner=alice.user).count() == 1 and len(mail.outbox) == 1


def platform_mail(port: int):
    """The platform's own mail through a real SMTP server on loopback."""
    return override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                             EMAIL_PORT=port, EMAIL_USE_TLS=False, EMAIL_USE_SSL=False, EMAIL_TIMEOUT=5)  # fmt: skip


def test_an_address_the_mail_server_refuses_is_shown_at_the_email_field_and_nothing_is_added(alice, panel):
    with SmtpSink(refuse={"news@example.com": "550 5.1.1 No such user"}) as sink, platform_mail(sink.port):
        answer = add(panel)
    assert answer.status_code == 400
    assert "The mail server refused news@example.com: nothing was changed." in field_errors(
        answer.content.decode(), "email"
    )
    assert not Sender.objects.filter(owner=alice.user).exists()


def test_when_the_platforms_mail_is_down_nothing_is_added_and_the_page_says_to_try_later(alice, panel):
    with platform_mail(free_port()):  # nothing listens there
        answer = add(panel)
    assert answer.status_code == 400
    assert "could not be sent just now" in field_errors(answer.content.decode(), "email")
    assert not Sender.objects.filter(owner=alice.user).exists()


def test_another_tenant_may_add_the_same_address(bob, sender):
    add(signed_in(bob.user), "news@example.com")
    assert Sender.objects.filter(email="news@example.com").count() == 2


# ---------------------------------------------------------------- send the link again


def test_the_link_is_sent_again_after_a_minute_and_the_old_one_stops_working(panel, sender, client):
    age_link(sender, 61)
    page = panel.post(f"/senders/{sender.public_id}/resend/", secure=True, follow=True).content.decode()
    assert len(mail.outbox) == 2 and "We sent a link to news@example.com" in flashes(page)
    assert client.post(link_in(mail.outbox[0]), secure=True).status_code == 404
    assert client.post(link_in(mail.outbox[1]), secure=True).status_code == 200


def test_a_second_link_within_a_minute_is_refused_and_says_how_long_to_wait(panel, sender):
    age_link(sender, 20)
    page = panel.post(f"/senders/{sender.public_id}/resend/", secure=True, follow=True).content.decode()
    assert len(mail.outbox) == 1
    assert "less than a minute ago" in flashes(page) and re.search(r"ask again in 4\d seconds", flashes(page))


def test_a_link_not_mailed_again_leaves_the_previous_one_working(panel, sender, client):
    age_link(sender, 61)
    with platform_mail(free_port()):
        page = panel.post(f"/senders/{sender.public_id}/resend/", secure=True, follow=True).content.decode()
    assert "could not be sent just now" in flashes(page)
    assert client.post(link_in(mail.outbox[0]), secure=True).status_code == 200


def test_a_verified_sender_gets_no_new_link(panel, sender, client):
    confirmed(sender, client)
    page = panel.post(f"/senders/{sender.public_id}/resend/", secure=True, follow=True).content.decode()
    assert "news@example.com is already verified." in flashes(page) and len(mail.outbox) == 1


def test_the_actions_answer_only_a_post(panel, sender):
    urls = [f"/senders/{sender.public_id}/resend/", f"/senders/{sender.public_id}/remove/", "/senders/add/"]
    assert [panel.get(url, secure=True).status_code for url in urls] == [405] * 3
    assert Sender.objects.filter(pk=sender.pk).exists() and len(mail.outbox) == 1


# ---------------------------------------------------------------- remove


def test_removing_a_sender(panel, sender):
    page = panel.post(f"/senders/{sender.public_id}/remove/", secure=True, follow=True).content.decode()
    assert "Sender news@example.com removed." in flashes(page)
    assert not Sender.objects.filter(pk=sender.pk).exists() and "data-sender=" not in page


def test_a_sender_a_campaign_uses_is_not_removed_and_its_row_names_the_campaign(panel, sender, campaign_of, client):
    campaign = campaign_of(confirmed(sender, client))
    page = panel.post(f"/senders/{sender.public_id}/remove/", secure=True, follow=True).content.decode()
    assert "news@example.com cannot be removed: campaign “Spring sale” uses it." in flashes(page)
    assert "Spring sale</a>" in row(page, sender) and Sender.objects.filter(pk=sender.pk).exists()
    services.update_campaign(campaign=campaign, sender=None)
    panel.post(f"/senders/{sender.public_id}/remove/", secure=True)
    assert not Sender.objects.filter(pk=sender.pk).exists()


# ---------------------------------------------------------------- another tenant


def test_another_tenants_sender_is_a_404_and_stays_as_it_was(bob, sender):
    as_bob = signed_in(bob.user)
    age_link(sender, 120)
    answers = [as_bob.post(f"/senders/{sender.public_id}/{action}/", secure=True) for action in ("resend", "remove")]
    assert [a.status_code for a in answers] == [404, 404]
    assert Sender.objects.filter(pk=sender.pk).exists() and len(mail.outbox) == 1
    assert sender.public_id not in as_bob.get("/senders/", secure=True).content.decode()
