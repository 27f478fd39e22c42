"""Posting the shared provider samples (../shared/payloads) byte for byte, and the messages they name."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import django_rq
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from django.test import Client, TestCase
from django.utils import timezone
from rq import SimpleWorker

from gateways import services as gateways
from gateways.backends.base import SendResult
from gateways.models import Gateway
from messaging import transitions
from messaging.items import ITEM_TYPES
from messaging.models import Message
from messaging.services import accept_messages

PAYLOADS = Path(__file__).resolve().parents[3] / "shared" / "payloads"
if not PAYLOADS.exists():  # a clone with shared/ beside it
    PAYLOADS = Path(__file__).resolve().parents[2] / "shared" / "payloads"
BASE_URL = "http://testserver"  # the samples were signed for it (Twilio, Mandrill)

# The signing keys and secrets the samples were made with (README of the samples).
SIGNING_KEYS = {
    "mailgun": "TEST_WEBHOOK_SIGNING_KEY",
    "mailersend": "TEST_WEBHOOK_SIGNING_SECRET",
    "resend": "whsec_VEVTVF9TSUdOSU5HX1NFQ1JFVA==",
    "mandrill": "TEST_WEBHOOK_KEY",
}
BASIC_AUTH = "username:password"
POSTAL_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
POSTAL_PUBLIC = base64.b64encode(
    POSTAL_KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()
ESP_NAMES = {"amazon_ses": "amazon_ses"}


def sample(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def esp_samples() -> list[str]:
    return sorted(f"esp/{p.stem}" for p in (PAYLOADS / "esp").glob("*.json"))


def esp_of(data: dict[str, Any]) -> str:
    return data["provider"]


def raw_body(data: dict[str, Any]) -> bytes:
    """The bytes the provider sent: raw_body, else the form string, else json.dumps of the body."""
    if "raw_body" in data:
        return data["raw_body"].encode()
    body = data["body"]
    return (body if isinstance(body, str) else json.dumps(body)).encode()


def signing_key(esp: str, data: dict[str, Any]) -> str:
    if esp == "postal":
        return POSTAL_PUBLIC
    if esp == "sendgrid" and data.get("signing"):
        return data["signing"]["public_key"]
    return SIGNING_KEYS.get(esp, "")


def signed_headers(esp: str, data: dict[str, Any], body: bytes, url: str) -> dict[str, str]:
    """The sample's headers, with the signatures the README says to compute at send time."""
    headers = dict(data.get("headers") or {})
    if esp == "resend":
        secret = base64.b64decode(SIGNING_KEYS["resend"].removeprefix("whsec_"))
        stamp = str(int(time.time()))
        signed = f"{headers['svix-id']}.{stamp}.".encode() + body
        headers["svix-timestamp"] = stamp
        headers["svix-signature"] = "v1," + base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    if esp == "postal":
        headers["X-Postal-Signature"] = base64.b64encode(
            POSTAL_KEY.sign(body, padding.PKCS1v15(), hashes.SHA1())
        ).decode()
    if esp == "mandrill" and url != data["signing"]["signed_url"]:
        headers["X-Mandrill-Signature"] = mandrill_signature(url, data["body"])
    return headers


def mandrill_signature(url: str, form: str) -> str:
    from urllib.parse import parse_qsl

    text = url + "".join(k + v for k, v in sorted(parse_qsl(form, keep_blank_values=True)))
    return base64.b64encode(hmac.new(SIGNING_KEYS["mandrill"].encode(), text.encode(), hashlib.sha1).digest()).decode()


def meta(headers: dict[str, str]) -> dict[str, str]:
    """HTTP headers as Django's test client takes them."""
    out = {}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        out[key if key in ("CONTENT_TYPE",) else f"HTTP_{key}"] = value
    return out


def post(path: str, body: bytes, content_type: str, headers: dict[str, str]) -> Any:
    """POSTs as the provider does; what it queued is applied before this returns (`applying`)."""
    with applying():
        return Client().generic("POST", path, body, content_type=content_type, secure=True, **meta(headers))


@contextmanager
def applying() -> Iterator[None]:
    """Within: the receiver's after-commit wake-ups run; after: the drains they queued run (a real RQ worker in
    burst mode, as a worker process would)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        yield
    run_drains()


def run_drains() -> None:
    queue = django_rq.get_queue("low")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def sent_message(gateway: Gateway, recipient: str, provider_id: str, principal: Any = None) -> Message:
    """A message of the gateway's owner, accepted and answered by the provider with `provider_id` (Sent)."""
    channel = gateway.channel
    fields = {"subject": "Hi", "body": "Hello"} if channel == "email" else {"body": "Hello"}
    item = ITEM_TYPES[channel](recipient=recipient, gateway=gateway.identifier, **fields)
    accept_messages(principal=principal or gateway.owner, channel=channel, items=[item])
    claimed = transitions.claim_next(gateway_id=gateway.pk, limit=50)
    results = [SendResult(uid=m.uid, ok=True, provider_message_id=provider_id) for m in claimed]
    transitions.record_send_results(gateway=gateway, messages=claimed, results=results)
    return Message.objects.get(uid=claimed[0].uid)


def esp_gateway(owner: Any, esp: str, data: dict[str, Any], **extra: str) -> Gateway:
    config = {"esp": esp, "api_key": "key", "from_email": "sender@example.com", "webhook_secret": BASIC_AUTH}
    if signing_key(esp, data):
        config["webhook_signing_key"] = signing_key(esp, data)
    if esp == "amazon_ses":
        config.update(region="eu-west-1", access_key_id="AKIAXSENDERTEST00001", secret_access_key="secret")
    config.update(extra)
    return gateways.add_gateway(owner=owner, channel="email", provider="esp", identifier=f"{esp}-mail", config=config,
                                is_default=True)  # fmt: skip


class SnsSigner:
    """A certificate served from loopback (XSENDER_SNS_TEST_CERT_HOSTS) and the SNS signatures it verifies."""

    def __init__(self, url: str) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = timezone.now()
        self.cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timezone.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.url = url

    def sign(self, message: dict[str, Any]) -> dict[str, Any]:
        from gateways.backends.sns import signed_text

        message = {**message, "SigningCertURL": self.url, "SignatureVersion": "1"}
        signature = self.key.sign(signed_text(message).encode(), padding.PKCS1v15(), hashes.SHA1())
        return {**message, "Signature": base64.b64encode(signature).decode()}
