"""Our own links in campaign emails: unsubscribe (page and RFC 8058 one-click), the open pixel, click redirects
(campaigns.links, campaigns.engagement), through a real SMTP sink."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.services import add_credits
from campaigns import jobs, links, services
from campaigns.models import Campaign
from campaigns.services import create_campaign, create_template
from contacts.models import Contact
from messaging import delivery
from messaging.models import Message, MessageEvent, Status, Suppression
from tests.campaigns.conftest import Audience, campaign_messages
from tests.fakes.smtp import SmtpSink
from tests.messaging.conftest import smtp_gateway
from xsender import events as platform

pytestmark = pytest.mark.django_db

HTML = (
    '<html><body><p>Hi {{ first_name }}</p><a href="https://shop.example/sale?a=1&amp;b=2">Sale</a> '
    '<a href="javascript:alert(1)">x</a> <a href="mailto:help@example.com">mail</a> '
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></body></html>'
)


@pytest.fixture
def smtp(alice, sink):
    add_credits(user=alice.user, channel="email", amount=1000)
    return smtp_gateway(alice.user, sink, from_email="news@example.com")


def _campaign(alice, audience: Audience, name: str = "Spring", **extra) -> Campaign:
    template = create_template(
        owner=alice.user, channel="email", name=name, subject="Hi {{ first_name }}", html=HTML, from_name="Alice Shop"
    )
    return create_campaign(
        owner=alice.user, channel="email", name=name, template=template.public_id, gateway_identifier="mail",
        include_lists=[audience.first.public_id, audience.second.public_id], exclude_tags=["vip"], **extra,
    )  # fmt: skip


def _send(campaign: Campaign, gateway) -> None:
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    delivery.drain_gateway(gateway_id=gateway.pk, seconds=30)


@pytest.fixture
def sent(alice, audience, smtp, sink):
    campaign = _campaign(alice, audience)
    _send(campaign, smtp)
    return campaign


def received(sink: SmtpSink, address: str):
    return next(m.email for m in sink.messages if m.recipients == [address])


def html_body(sink: SmtpSink, address: str) -> str:
    """The HTML an email carries (its text/html part; an HTML body goes out with a text part beside it)."""
    email = received(sink, address)
    part = next((p for p in email.walk() if p.get_content_type() == "text/html"), email)
    return part.get_payload(decode=True).decode()


def header(sink: SmtpSink, address: str, name: str) -> str:
    """A header's value unfolded (a long one is folded onto a continuation line: RFC 5322 §2.2.3)."""
    return re.sub(r"\r?\n[ \t]+", " ", received(sink, address)[name]).strip()


def unsubscribe_path(sink: SmtpSink, address: str = "a9@example.com") -> str:
    return urlsplit(header(sink, address, "List-Unsubscribe").strip("<>")).path


def message_of(address: str) -> Message:
    return Message.objects.get(recipient=address, source="campaign")


def test_a_campaign_email_carries_one_click_list_unsubscribe_headers(sent, sink, settings):
    url = header(sink, "a9@example.com", "List-Unsubscribe")
    assert url.startswith(f"<{settings.XSENDER_BASE_URL.rstrip('/')}/u/") and url.endswith("/>")
    assert header(sink, "a9@example.com", "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert not any(c in url for c in "\r\n ")


def test_the_unsubscribe_placeholder_is_the_same_working_url(sent, sink):
    body = html_body(sink, "a9@example.com")
    assert unsubscribe_path(sink) in body


def test_get_shows_the_masked_address_and_changes_nothing(sent, sink):
    answer = Client().get(unsubscribe_path(sink), secure=True)
    page = answer.content.decode()
    assert answer.status_code == 200 and "a***@example.com" in page and "Alice Shop" in page
    assert "a9@example.com" not in page
    assert not Suppression.objects.filter(address="a9@example.com").exists()
    assert Contact.objects.get(email="a9@example.com").email_status == "subscribed"


def test_post_unsubscribes_the_contact_with_a_suppression_and_an_event(sent, sink):
    answer = Client(enforce_csrf_checks=True).post(unsubscribe_path(sink), secure=True)
    assert answer.status_code == 200 and "Unsubscribed" in answer.content.decode()
    assert Suppression.objects.get(address="a9@example.com").reason == "opt_out"
    assert Contact.objects.get(email="a9@example.com").email_status == "unsubscribed"
    assert message_of("a9@example.com").events.filter(kind="unsubscribed").count() == 1


def test_one_click_post_without_csrf_token_unsubscribes_and_publishes_once(sent, sink):
    published: list = []
    platform.subscribe(published.extend)
    try:
        client = Client(enforce_csrf_checks=True)
        for _ in range(2):
            answer = client.post(unsubscribe_path(sink), {"List-Unsubscribe": "One-Click"}, secure=True)
    finally:
        platform._subscribers.remove(published.extend)
    assert answer.status_code == 200
    assert Suppression.objects.filter(address="a9@example.com").count() == 1
    assert message_of("a9@example.com").events.filter(kind="unsubscribed").count() == 1
    assert [e.data["recipient"] for e in published if e.type == "message.unsubscribed"] == ["a9@example.com"]


def test_a_tampered_or_foreign_token_is_a_404_and_changes_nothing(sent, sink):
    path = unsubscribe_path(sink)
    token = path.split("/")[2]
    number, signature = token.split(":")
    tampered = f"/u/{int(number) + 1}:{signature}/"
    pixel_token = links.recipient_token(int(number), links.OPEN)  # a valid token of another kind
    client = Client()
    answers = [client.post(p, secure=True).status_code for p in (tampered, f"/u/{pixel_token}/", "/u/junk/")]
    assert answers == [404, 404, 404]
    assert not Suppression.objects.filter(reason="opt_out", address__in=["a9@example.com", "a0@example.com"]).exists()


def test_the_next_campaign_skips_an_unsubscribed_contact(alice, audience, smtp, sink, sent):
    Client().post(unsubscribe_path(sink), secure=True)
    second = _campaign(alice, audience, name="Summer")
    _send(second, smtp)
    reached = set(campaign_messages(second).values_list("recipient", flat=True))
    assert reached == audience.expected - {"a9@example.com"}


def _hrefs(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('href="')[1:]]


def test_links_in_the_html_are_rewritten_and_the_pixel_added(sent, sink, settings):
    html = html_body(sink, "a9@example.com")
    base = settings.XSENDER_BASE_URL.rstrip("/")
    hrefs = _hrefs(html)
    assert hrefs[0].startswith(f"{base}/c/")
    assert hrefs[1:3] == ["javascript:alert(1)", "mailto:help@example.com"]  # not http(s): left alone
    assert hrefs[3].startswith(f"{base}/u/")  # our own link: not tracked
    assert f'<img src="{base}/o/' in html and html.index("/o/") < html.index("</body>")


def test_the_text_part_of_a_text_template_is_untouched(alice, audience, smtp, sink):
    template = create_template(
        owner=alice.user, channel="email", name="Plain", subject="Hi", text="See https://shop.example/x"
    )
    campaign = create_campaign(
        owner=alice.user, channel="email", name="Plain", template=template.public_id,
        include_lists=[audience.first.public_id], gateway_identifier="mail",
    )  # fmt: skip
    _send(campaign, smtp)
    assert received(sink, "a0@example.com").get_payload(decode=True).decode().rstrip() == "See https://shop.example/x"


def test_a_campaign_that_opts_out_of_tracking_keeps_its_links(alice, audience, smtp, sink):
    _send(_campaign(alice, audience, track_opens_clicks=False), smtp)
    html = html_body(sink, "a9@example.com")
    assert _hrefs(html)[0] == "https://shop.example/sale?a=1&amp;b=2" and "/o/" not in html


def _tracked(sink: SmtpSink, address: str = "a9@example.com") -> tuple[str, str]:
    html = html_body(sink, address)
    pixel = html.split('<img src="', 1)[1].split('"', 1)[0]
    return urlsplit(pixel).path, urlsplit(_hrefs(html)[0]).path


def test_the_open_pixel_moves_the_message_to_opened_once(sent, sink):
    pixel, _ = _tracked(sink)
    client = Client()
    answers = [client.get(pixel, secure=True) for _ in range(2)]
    assert [a["Content-Type"] for a in answers] == ["image/gif", "image/gif"]
    message = message_of("a9@example.com")
    assert message.status == Status.OPENED
    assert MessageEvent.objects.filter(message=message, kind="opened", payload__not_applied__isnull=True).count() == 1


def test_a_bad_pixel_token_still_answers_the_gif(sent):
    answer = Client().get("/o/123:forged/", secure=True)
    assert (answer.status_code, answer["Content-Type"]) == (200, "image/gif")


def test_a_click_records_the_url_and_redirects_to_exactly_the_original_link(sent, sink):
    _, click = _tracked(sink)
    answer = Client().get(click, secure=True)
    assert (answer.status_code, answer["Location"]) == (302, "https://shop.example/sale?a=1&b=2")
    message = message_of("a9@example.com")
    assert message.status == Status.CLICKED
    assert message.events.get(kind="clicked").payload["url"] == "https://shop.example/sale?a=1&b=2"


def test_a_query_parameter_never_changes_the_redirect_target(sent, sink):
    _, click = _tracked(sink)
    answer = Client().get(click, {"url": "https://evil.example/", "next": "https://evil.example/"}, secure=True)
    assert answer["Location"] == "https://shop.example/sale?a=1&b=2"


def test_a_forged_click_token_or_a_javascript_target_is_a_404(sent, sink):
    recipient = message_recipient_id(sink)
    forged = (
        links.click_token(recipient, "https://shop.example/sale").rsplit(":", 1)[0]
        + ":AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )
    javascript = links.click_token(recipient, "javascript:alert(1)")  # signed by us, but not an http(s) target
    other_kind = links.recipient_token(recipient, links.OPEN)
    client = Client()
    answers = [client.get(f"/c/{t}/", secure=True).status_code for t in (forged, javascript, other_kind)]
    assert answers == [404, 404, 404]
    assert message_of("a9@example.com").status == Status.SENT


def message_recipient_id(sink: SmtpSink) -> int:
    return int(unsubscribe_path(sink).split("/")[2].split(":")[0])


@pytest.mark.parametrize(
    "html",
    [
        '<a href="https://x.example/">x</a>',
        "<A HREF='https://x.example/' class=b>x</A>",
        '<a href="https://x.example/"/>',
    ],
)
def test_track_html_rewrites_each_http_link_whatever_its_quoting(html):
    tracked = links.track_html(html, 7)
    target = links.read_click_token(urlsplit(_hrefs(tracked)[0]).path.split("/")[2])
    assert target == (7, "https://x.example/")


def test_track_html_keeps_everything_else_byte_for_byte():
    html = "<!doctype html>\n<p class=x>caf&eacute; <b>bold</b><!-- c --></p>\n"
    assert links.track_html(html, 7).startswith(html)


def test_list_unsubscribe_must_be_our_own_url_without_line_breaks(alice, smtp, settings):
    from messaging.items import EmailItem
    from messaging.validation import item_errors

    base = settings.XSENDER_BASE_URL.rstrip("/")
    items = [
        EmailItem(recipient="a@example.com", subject="s", body="b", list_unsubscribe="https://evil.example/u/x/"),
        EmailItem(recipient="a@example.com", subject="s", body="b", list_unsubscribe=f"{base}/u/x/\r\nBcc: e@x"),
        EmailItem(recipient="a@example.com", subject="s", body="b", list_unsubscribe=f"{base}/u/x/"),
    ]
    _, errors = item_errors("email", items)
    assert sorted({e["index"] for e in errors if e["field"] == "list_unsubscribe"}) == [0, 1]
