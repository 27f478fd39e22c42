"""The SMTP backend against a real SMTP server on loopback."""

from __future__ import annotations

import pytest

from gateways.backends.base import BackendError
from gateways.services import ProbeMessage, add_gateway, send_test_message
from tests.fakes.http import FakeServer, Reply
from tests.fakes.smtp import SmtpSink

pytestmark = pytest.mark.django_db


def gateway(sink: SmtpSink, **config):
    return add_gateway(
        owner=None,
        channel="email",
        provider="smtp",
        identifier="smtp",
        config={"host": "127.0.0.1", "port": sink.port, "from_email": "noreply@example.com", **config},
    )


def message(to: str, **fields) -> ProbeMessage:
    return ProbeMessage(**{"recipient": to, "channel": "email", "subject": "Hi", "body": "Hello", **fields})


@pytest.fixture
def sink():
    with SmtpSink(
        refuse={"gone@example.com": "550 5.1.1 No such user", "full@example.com": "452 4.2.2 Mailbox full"}
    ) as server:
        yield server


def test_a_batch_goes_over_one_connection(sink):
    backend = gateway(sink).backend()
    results = backend.send([message(f"r{i}@example.com") for i in range(5)])
    backend.close()
    assert all(r.ok for r in results)
    assert sink.connections == 1
    assert sorted(sink.recipients) == [f"r{i}@example.com" for i in range(5)]


def test_sender_name_subject_and_message_id(sink):
    backend = gateway(sink).backend()
    result = backend.send([message("carol@example.com", sender_name="Acme Support")])[0]
    received = sink.messages[0].email
    assert received["From"] == "Acme Support <noreply@example.com>"
    assert received["Subject"] == "Hi"
    assert result.provider_message_id == received["Message-ID"]


def test_reply_to_becomes_the_reply_to_header_and_is_absent_when_empty(sink):
    backend = gateway(sink).backend()
    backend.send([message("carol@example.com", reply_to="help@example.com"), message("dave@example.com")])
    headers = {m.email["To"]: m.email["Reply-To"] for m in sink.messages}
    assert headers == {"carol@example.com": "help@example.com", "dave@example.com": None}


def test_list_unsubscribe_adds_both_rfc_8058_headers_and_none_when_empty(sink):
    backend = gateway(sink).backend()
    url = "https://x.example/u/1:s/"
    backend.send([message("carol@example.com", list_unsubscribe=url), message("dave@example.com")])
    headers = {m.email["To"]: (m.email["List-Unsubscribe"], m.email["List-Unsubscribe-Post"]) for m in sink.messages}
    assert headers == {
        "carol@example.com": (f"<{url}>", "List-Unsubscribe=One-Click"),
        "dave@example.com": (None, None),
    }


def test_a_line_break_in_list_unsubscribe_fails_that_message_only(sink):
    backend = gateway(sink).backend()
    bad = message("carol@example.com", list_unsubscribe="https://x.example/u/\r\nBcc: e@x.example")
    results = backend.send([bad, message("dave@example.com")])
    assert [r.ok for r in results] == [False, True] and "line break" in results[0].error
    assert sink.recipients == ["dave@example.com"]


def test_attachments_are_fetched_and_attached(sink, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    routes = {"/inv.pdf": Reply(200, b"%PDF-1.7", {"Content-Type": "application/pdf"})}
    with FakeServer(lambda r: routes.get(r.path, Reply(404))) as files:
        backend = gateway(sink).backend()
        backend.send([message("carol@example.com", attachments=[{"type": "file", "url": f"{files.url}/inv.pdf"}])])
    parts = [p for p in sink.messages[0].email.walk() if p.get_filename()]
    assert [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in parts] == [
        ("inv.pdf", "application/pdf", b"%PDF-1.7")
    ]


def test_an_attachment_on_a_private_address_fails_that_message_only(sink):
    backend = gateway(sink).backend()
    results = backend.send(
        [message("a@example.com", attachments=[{"type": "file", "url": "http://10.1.2.3/x"}]), message("b@example.com")]
    )
    assert (results[0].ok, results[0].transient, results[1].ok) == (False, False, True)
    assert "non-public" in results[0].error


def test_5xx_refusal_is_permanent_and_4xx_temporary(sink):
    backend = gateway(sink).backend()
    gone, full = backend.send([message("gone@example.com"), message("full@example.com")])
    assert (gone.ok, gone.transient, full.ok, full.transient) == (False, False, False, True)
    assert gone.error.startswith("550")


def test_unreachable_server_is_a_temporary_batch_failure(db):
    backend = add_gateway(
        owner=None, channel="email", provider="smtp", identifier="down",
        config={"host": "127.0.0.1", "port": 1, "from_email": "noreply@example.com", "timeout": 2},
    ).backend()  # fmt: skip
    with pytest.raises(BackendError) as error:
        backend.send([message("a@example.com")])
    assert error.value.permanent is False


def test_test_message_action_reports_the_result(sink):
    result = send_test_message(gateway=gateway(sink), to="ops@example.com")
    assert result.ok
    assert sink.recipients == ["ops@example.com"]


def test_password_never_appears_in_public_config(sink):
    g = gateway(sink, username="u", password="hunter2-secret")
    assert g.backend().public_config(g.config)["password"] == "********"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"sender_name": "Acme\r\nBcc: x@evil.test"}, "sender name contains a line break"),
        ({"subject": "Hi\nBcc: x@evil.test"}, "subject contains a line break"),
        ({"subject": "Hi \ud800"}, "cannot be encoded"),
        ({"attachments": [{"type": "file"}]}, "'url' is missing"),
    ],
)
def test_a_message_that_cannot_be_built_fails_alone_and_its_neighbours_go_out(sink, fields, reason):
    backend = gateway(sink).backend()
    results = backend.send([message("a@example.com"), message("bad@example.com", **fields), message("c@example.com")])
    backend.close()
    assert [(r.ok, r.transient) for r in results] == [(True, False), (False, False), (True, False)]
    assert reason in results[1].error
    assert (sink.recipients, sink.connections) == (["a@example.com", "c@example.com"], 1)


def test_a_remote_filename_with_a_line_break_is_made_safe_and_adds_no_header(sink, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    disposition = "attachment; filename*=UTF-8''a%0D%0ABcc%3A%20x%40evil.test"
    routes = {"/f": Reply(200, b"%PDF", {"Content-Type": "application/pdf", "Content-Disposition": disposition})}
    with FakeServer(lambda r: routes.get(r.path, Reply(404))) as files:
        result = gateway(sink).backend().send([message("a@example.com", attachments=[{"url": f"{files.url}/f"}])])[0]
    received = sink.messages[0]
    assert result.ok and received.recipients == ["a@example.com"]
    assert received.email["Bcc"] is None
    assert [p.get_filename() for p in received.email.walk() if p.get_filename()] == ["aBcc_ x@evil.test"]


def test_an_attachment_is_fetched_once_per_batch_and_again_after_close(sink, settings):
    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    with FakeServer(lambda r: Reply(200, b"%PDF-1.7", {"Content-Type": "application/pdf"})) as files:
        backend = gateway(sink).backend()
        batch = [message(f"r{i}@example.com", attachments=[{"url": f"{files.url}/inv.pdf"}]) for i in range(5)]
        first = backend.send(batch[:3]) + backend.send(batch[3:])
        backend.close()
        backend.send(batch[:1])
        backend.close()
    assert all(r.ok for r in first)
    assert len(sink.messages) == 6
    assert len(files.requests) == 2


def test_an_html_body_arrives_as_html_with_its_text_and_a_text_body_as_text(sink):
    backend = gateway(sink).backend()
    html = "<html><body><p>Hello &amp; welcome</p>\n\n\n<p>Your code: <b>4829</b></p></body></html>"
    backend.send([message("carol@example.com", body=html), message("dave@example.com", body="if a<b and c>d")])
    received = {m.email["To"]: m.email for m in sink.messages}
    carol = received["carol@example.com"]
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode().replace("\r\n", "\n").rstrip("\n")
        for p in carol.walk()
        if not p.is_multipart()
    }  # as sent over SMTP: lines end in CRLF
    assert carol.get_content_type() == "multipart/alternative"
    assert parts["text/html"] == html
    assert parts["text/plain"] == "Hello & welcome\n\nYour code: 4829"
    dave = received["dave@example.com"]
    assert (dave.get_content_type(), dave.get_payload(decode=True).decode().rstrip()) == (
        "text/plain",
        "if a<b and c>d",
    )
