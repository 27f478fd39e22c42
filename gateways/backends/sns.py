"""Amazon SNS message signatures, which django-anymail does not check (Amazon SES events arrive through SNS).

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html: the signature (SignatureVersion
1: SHA1withRSA, 2: SHA256withRSA) covers named fields of the message, each as "name\\nvalue\\n", in a fixed
order; the key is the certificate at SigningCertURL, which must be an https URL on an SNS host of AWS
(sns.<region>.amazonaws.com). The certificate is fetched through the safe fetcher, once per URL per process.
Tests serve one from loopback: XSENDER_SNS_TEST_CERT_HOSTS names such hosts (http allowed for them only).
"""

from __future__ import annotations

import base64
import re
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

from xsender.fetch import FetchError, safe_fetch

SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_CERTIFICATES = 32

_certificates: OrderedDict[str, rsa.RSAPublicKey] = OrderedDict()
_lock = threading.Lock()


def sns_url_allowed(url: str) -> bool:
    """Whether `url` is on an SNS host of AWS (https), or on a host the test settings name."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if host in {h.lower() for h in getattr(settings, "XSENDER_SNS_TEST_CERT_HOSTS", [])}:
        return parts.scheme in ("http", "https")
    return parts.scheme == "https" and bool(SNS_HOST.match(host)) and parts.port in (None, 443)


def signed_text(message: dict[str, Any]) -> str:
    fields = NOTIFICATION_FIELDS if message.get("Type") == "Notification" else SUBSCRIPTION_FIELDS
    return "".join(f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None)


def _public_key(url: str) -> rsa.RSAPublicKey | None:
    with _lock:
        if url in _certificates:
            _certificates.move_to_end(url)
            return _certificates[url]
    try:
        fetched = safe_fetch(url, max_bytes=64 * 1024, timeout=5.0)
        key = x509.load_pem_x509_certificate(fetched.content).public_key()
    except (FetchError, ValueError):
        return None
    if not isinstance(key, rsa.RSAPublicKey):
        return None
    with _lock:
        _certificates[url] = key
        while len(_certificates) > MAX_CERTIFICATES:
            _certificates.popitem(last=False)
    return key


def verify_message(message: Any) -> bool:
    """Whether `message` (an SNS message, parsed) carries a valid signature of Amazon SNS."""
    if not isinstance(message, dict):
        return False
    url, version = str(message.get("SigningCertURL") or ""), str(message.get("SignatureVersion") or "")
    if version not in HASHES or not sns_url_allowed(url):
        return False
    key = _public_key(url)
    if key is None:
        return False
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
        key.verify(signature, signed_text(message).encode(), padding.PKCS1v15(), HASHES[version]())
    except (InvalidSignature, ValueError):
        return False
    return True


def confirm_subscription(message: dict[str, Any]) -> bool:
    """Visits the SubscribeURL of a verified SubscriptionConfirmation (only on an SNS host)."""
    url = str(message.get("SubscribeURL") or "")
    if not sns_url_allowed(url):
        return False
    try:
        safe_fetch(url, max_bytes=64 * 1024, timeout=5.0)
    except FetchError:
        return False
    return True
