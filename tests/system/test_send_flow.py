"""Each channel from POST to Sent through real processes (gunicorn, rqworker, scheduler) and real servers on
loopback that speak SMTP and Twilio's, Meta Graph's and WAHA's HTTP APIs."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from gateways.services import add_gateway
from tests.fakes import providers
from tests.fakes.http import FakeServer
from tests.fakes.smtp import SmtpSink
from tests.system.conftest import wait_until

pytestmark = pytest.mark.system


def send(web, key: str, channel: str, item: dict) -> str:
    response = web.call("POST", f"/api/{channel}/send", key, json={"contact": [item]})
    assert response.status_code == 200, response.text
    return response.json()["data"][0]["uid"]


def final(web, key: str, channel: str, uid: str) -> dict:
    def done():
        data = web.call("GET", f"/api/get/{channel}/{uid}", key).json()["data"]
        return data if data["status"] in ("Sent", "Failed") else None

    return wait_until(done, 30, what=f"{channel} {uid} to be sent")


def test_email_travels_to_the_smtp_server(alice, web, worker):
    with SmtpSink() as sink:
        config = {"host": "127.0.0.1", "port": sink.port, "from_email": "noreply@example.com"}
        add_gateway(owner=alice.user, channel="email", provider="smtp", identifier="smtp-primary", config=config)
        item = {
            "email": "carol@example.com",
            "subject": "Welcome",
            "message": "Hi",
            "sender_name": "Acme",
            "gateway_identifier": "smtp-primary",
        }
        data = final(web, alice.key, "email", send(web, alice.key, "email", item))
    assert data["status"] == "Sent"
    assert sink.messages[0].email["From"] == "Acme <noreply@example.com>"
    assert data["provider_message_id"] == sink.messages[0].email["Message-ID"]


def test_sms_travels_to_twilio(alice, web, worker):
    with FakeServer(providers.twilio(token="tok")) as twilio:
        config = {"account_sid": "AC1", "auth_token": "tok", "from_number": "+15550001111", "base_url": twilio.url}
        add_gateway(
            owner=alice.user,
            channel="sms",
            provider="twilio",
            identifier="twilio-primary",
            config=config,
            is_default=True,
        )
        data = final(
            web,
            alice.key,
            "sms",
            send(web, alice.key, "sms", {"number": "+15555550123", "body": "Code 482915", "sms_type": "otp"}),
        )
    assert (data["status"], data["provider_message_id"][:2]) == ("Sent", "SM")
    assert twilio.requests[0].body["To"] == "+15555550123"


def test_whatsapp_travels_to_the_cloud_api_and_to_a_waha_session(alice, web, worker):
    with FakeServer(providers.graph(token="EAA")) as graph, FakeServer(providers.waha()) as waha:
        cloud = {"phone_number_id": "1061", "access_token": "EAA", "base_url": graph.url}
        add_gateway(
            owner=alice.user,
            channel="whatsapp",
            provider="whatsapp_cloud",
            identifier="cloud",
            config=cloud,
            is_default=True,
        )
        add_gateway(
            owner=alice.user,
            channel="whatsapp",
            provider="whatsapp_web",
            identifier="store-main",
            config={"base_url": waha.url},
        )
        media = {"number": "+15555550123", "message": "Order", "media": "image", "url": "https://93.184.215.14/a.png"}
        via_cloud = final(web, alice.key, "whatsapp", send(web, alice.key, "whatsapp", media))
        via_waha = final(
            web, alice.key, "whatsapp", send(web, alice.key, "whatsapp", {**media, "session_name": "store-main"})
        )
    assert (via_cloud["status"], via_cloud["gateway_identifier"]) == ("Sent", "cloud")
    assert (via_waha["status"], via_waha["gateway_identifier"]) == ("Sent", "store-main")
    assert graph.requests[0].body["image"] == {"link": "https://93.184.215.14/a.png", "caption": "Order"}
    assert waha.requests[0].path == "/api/sendImage"


def test_scheduled_message_is_not_sent_before_its_time_and_is_sent_after(alice, web, worker, scheduler):
    with SmtpSink() as sink:
        config = {"host": "127.0.0.1", "port": sink.port, "from_email": "noreply@example.com"}
        add_gateway(
            owner=alice.user, channel="email", provider="smtp", identifier="smtp", config=config, is_default=True
        )
        due = timezone.localtime() + timedelta(seconds=4)
        item = {
            "email": "later@example.com",
            "subject": "Later",
            "message": "Hi",
            "schedule_at": due.strftime("%Y-%m-%d %H:%M:%S"),
        }
        uid = send(web, alice.key, "email", item)
        while timezone.localtime() < due - timedelta(seconds=1):
            assert web.call("GET", f"/api/get/email/{uid}", alice.key).json()["data"]["status"] == "Scheduled"
            assert sink.messages == []
            time.sleep(0.5)
        data = final(web, alice.key, "email", uid)
    assert data["status"] == "Sent"
    assert timezone.localtime() >= due - timedelta(seconds=1)
    assert sink.recipients == ["later@example.com"]
