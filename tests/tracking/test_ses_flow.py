"""Amazon SES both ways: an email sent through an SES gateway (to a loopback SES stand-in) is moved by the SNS
notification SES sends about it, at that gateway's webhook URL."""

from __future__ import annotations

import json

import pytest
from django.test import TestCase

from gateways import services as gateways
from messaging.items import EmailItem
from messaging.models import Message, Status
from messaging.services import accept_messages
from tests.fakes.http import FakeServer
from tests.fakes.ses import ses
from tests.messaging.conftest import run_jobs
from tests.tracking.support import BASIC_AUTH, post, sample

pytestmark = pytest.mark.django_db
KEY_ID, SECRET, REGION = "AKIAXSENDERTEST00001", "ses-secret-access-key-for-tests", "eu-west-1"


@pytest.fixture
def stand_in():
    server = FakeServer(lambda request: handler(request))
    with server:
        handler = ses({KEY_ID: SECRET}, REGION, base_url=server.url)
        yield server


def test_an_email_sent_through_ses_is_delivered_by_its_sns_notification(alice, stand_in, sns):
    config = {"esp": "amazon_ses", "region": REGION, "access_key_id": KEY_ID, "secret_access_key": SECRET,
              "from_email": "hello@example.com", "base_url": stand_in.url, "webhook_secret": BASIC_AUTH}  # fmt: skip
    gateway = gateways.add_gateway(owner=alice.user, channel="email", provider="esp", identifier="ses", config=config)
    with TestCase.captureOnCommitCallbacks(execute=True):
        accept_messages(principal=alice.user, channel="email",
                        items=[EmailItem(recipient="jane@example.com", subject="Hi", body="Hello", gateway="ses")])  # fmt: skip
    run_jobs()  # the delivery drain sends it to SES
    message = Message.objects.get()
    data = sample("esp/ses_sns_delivery")
    event = json.loads(data["body"]["Message"])
    event["mail"]["messageId"] = message.provider_message_id
    body = json.dumps(sns.sign({**data["body"], "Message": json.dumps(event)})).encode()
    response = post(f"/api/webhook/email/amazon_ses/{gateway.uid}", body, data["content_type"], data["headers"])
    assert (message.status, response.status_code) == (Status.SENT, 200)
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED
