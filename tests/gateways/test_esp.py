"""The ESP backend (django-anymail) against a loopback server speaking Postmark's API."""

from __future__ import annotations

import pytest

from gateways.backends.base import BackendError
from gateways.services import ProbeMessage, add_gateway
from tests.fakes import providers
from tests.fakes.http import FakeServer, Reply
from xsender.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def mail(to: str) -> ProbeMessage:
    return ProbeMessage(recipient=to, channel="email", subject="Welcome", body="Hi there", sender_name="Acme")


@pytest.fixture
def postmark():
    failures = {"bad@example.com": (422, 300), "gone@example.com": (422, 406), "busy@example.com": (500, 0)}
    with FakeServer(providers.postmark(failures, token="pm-token")) as server:
        yield server


def esp(server, key: str = "pm-token"):
    config = {"esp": "postmark", "api_key": key, "from_email": "hello@example.com", "base_url": f"{server.url}/"}
    return add_gateway(owner=None, channel="email", provider="esp", identifier="pm", config=config).backend()


def test_postmark_receives_the_message(postmark):
    result = esp(postmark).send([mail("carol@example.com")])[0]
    body = postmark.requests[0].body
    assert result.ok and result.provider_message_id.startswith("0000")
    assert (body["To"], body["From"], body["Subject"], body["TextBody"]) == (
        "carol@example.com",
        "Acme <hello@example.com>",
        "Welcome",
        "Hi there",
    )


def test_rejected_recipients_are_permanent_and_outage_temporary(postmark):
    bad, gone, busy = esp(postmark).send([mail("bad@example.com"), mail("gone@example.com"), mail("busy@example.com")])
    assert (bad.transient, gone.transient, busy.transient) == (False, False, True)
    assert not (bad.ok or gone.ok or busy.ok)


def test_revoked_token_fails_the_batch_without_showing_it(postmark):
    with pytest.raises(BackendError) as error:
        esp(postmark, key="pm-revoked").send([mail("carol@example.com")])
    assert error.value.permanent and "pm-revoked" not in error.value.message


def test_unknown_esp_is_refused(db):
    with pytest.raises(ValidationFailed, match="Unknown ESP"):
        add_gateway(
            owner=None,
            channel="email",
            provider="esp",
            identifier="x",
            config={"esp": "pigeon", "api_key": "k", "from_email": "a@example.com"},
        )


def test_a_line_break_in_the_sender_name_fails_that_message_only(postmark):
    bad = ProbeMessage(recipient="x@example.com", channel="email", subject="S", body="B", sender_name="A\r\nBcc: e@x")
    results = esp(postmark).send([mail("a@example.com"), bad, mail("c@example.com")])
    assert [r.ok for r in results] == [True, False, True]
    assert "line break" in results[1].error
    assert [r.body["To"] for r in postmark.requests] == ["a@example.com", "c@example.com"]


def test_reply_to_reaches_the_esp_and_a_line_break_in_it_fails_that_message_only(postmark):
    good = ProbeMessage(recipient="a@example.com", channel="email", subject="S", body="B", reply_to="help@example.com")
    bad = ProbeMessage(recipient="b@example.com", channel="email", subject="S", body="B", reply_to="h@x.io\nBcc: e@x")
    results = esp(postmark).send([good, bad])
    assert [r.ok for r in results] == [True, False]
    assert "reply to" in results[1].error
    assert [(r.body["To"], r.body.get("ReplyTo")) for r in postmark.requests] == [("a@example.com", "help@example.com")]


def test_an_attachment_is_fetched_once_for_every_recipient_of_a_batch(postmark, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    with FakeServer(lambda r: Reply(200, b"%PDF", {"Content-Type": "application/pdf"})) as files:
        messages = [mail(f"r{i}@example.com") for i in range(4)]
        for item in messages:
            item.attachments = [{"type": "file", "url": f"{files.url}/inv.pdf"}]
        results = esp(postmark).send(messages)
    assert all(r.ok for r in results)
    assert len(files.requests) == 1
    assert all(r.body["Attachments"][0]["Name"] == "inv.pdf" for r in postmark.requests)


def test_an_html_body_reaches_the_esp_as_html_and_text(postmark):
    html_mail = ProbeMessage(recipient="a@example.com", channel="email", subject="S", body="<p>Hi <b>Ann</b></p>")
    assert esp(postmark).send([html_mail])[0].ok
    body = postmark.requests[0].body
    assert (body["HtmlBody"], body["TextBody"]) == ("<p>Hi <b>Ann</b></p>", "Hi Ann")
