"""The ESP backend sending through Amazon SES (django-anymail's boto3 backend) to a loopback SES stand-in that
checks every request's AWS signature."""

from __future__ import annotations

import base64
from email import message_from_bytes

import pytest

from gateways.backends.base import BackendError
from gateways.services import ProbeMessage, add_gateway
from tests.fakes.http import FakeServer
from tests.fakes.ses import ses
from xsender.errors import ValidationFailed

pytestmark = pytest.mark.django_db
KEY_ID, SECRET, REGION = "AKIAXSENDERTEST00001", "ses-secret-access-key-for-tests", "eu-west-1"


def mail(to: str) -> ProbeMessage:
    return ProbeMessage(recipient=to, channel="email", subject="Welcome", body="Hi there", sender_name="Acme")


@pytest.fixture
def stand_in():
    failures = {"bad@example.com": (400, "MessageRejected"), "busy@example.com": (429, "TooManyRequestsException")}
    server = FakeServer(lambda request: handler(request))
    with server:
        handler = ses({KEY_ID: SECRET}, REGION, failures, base_url=server.url)
        yield server


def gateway(server, secret: str = SECRET, **extra: str):
    config = {"esp": "amazon_ses", "region": REGION, "access_key_id": KEY_ID, "secret_access_key": secret,
              "from_email": "hello@example.com", "base_url": server.url, **extra}  # fmt: skip
    return add_gateway(owner=None, channel="email", provider="esp", identifier="ses", config=config)


def test_ses_receives_the_message_signed_with_the_gateways_keys(stand_in):
    result = gateway(stand_in).backend().send([mail("carol@example.com")])[0]
    sent = message_from_bytes(base64.b64decode(stand_in.requests[0].body["Content"]["Raw"]["Data"]))
    assert result.ok and result.provider_message_id.startswith("0100018c")
    assert (sent["To"], sent["From"], sent["Subject"]) == ("carol@example.com", "Acme <hello@example.com>", "Welcome")


def test_a_secret_ses_refuses_fails_the_batch_without_showing_it(stand_in):
    with pytest.raises(BackendError) as error:
        gateway(stand_in, secret="not-the-secret").backend().send([mail("carol@example.com")])
    assert error.value.permanent and "not-the-secret" not in error.value.message


def test_a_rejected_message_is_permanent_and_throttling_temporary_each_asked_once(stand_in):
    bad, busy = gateway(stand_in).backend().send([mail("bad@example.com"), mail("busy@example.com")])
    assert (bad.ok, bad.transient, busy.ok, busy.transient) == (False, False, False, True)
    assert len(stand_in.requests) == 2  # boto3 retries nothing: the delivery decides


def test_ses_without_a_region_or_keys_is_refused(db):
    config = {"esp": "amazon_ses", "access_key_id": KEY_ID, "secret_access_key": SECRET, "from_email": "a@example.com"}
    with pytest.raises(ValidationFailed) as error:
        add_gateway(owner=None, channel="email", provider="esp", identifier="ses", config=config)
    assert error.value.errors[0]["field"] == "config.region"


def test_the_secret_access_key_is_stored_encrypted_and_never_shown_back(stand_in):
    backend = gateway(stand_in).backend()
    assert backend.public_config(backend.config)["secret_access_key"] != SECRET
    assert backend.public_config(backend.config)["access_key_id"] == KEY_ID
