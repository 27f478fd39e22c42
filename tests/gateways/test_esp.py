"""The ESP backend (django-anymail) against a loopback server speaking Postmark's API."""

from __future__ import annotations

import pytest

from gateways.backends.base import BackendError
from gateways.services import ProbeMessage, add_gateway
from tests.fakes import providers
from tests.fakes.http import FakeServer
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
