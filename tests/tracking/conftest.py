from __future__ import annotations

import pytest

from tests.fakes.http import FakeServer, Reply, Request
from tests.tracking.support import BASE_URL, SnsSigner


@pytest.fixture(autouse=True)
def _webhook_settings(settings) -> None:
    settings.XSENDER_BASE_URL = BASE_URL
    settings.XSENDER_DRAIN_LINGER_SECONDS = 0  # a test's drain ends when the queue is empty


@pytest.fixture
def sns(settings):
    """A loopback host serving an SNS signing certificate (allowed by the test settings only), and what was
    fetched from it (certificates, subscription confirmations)."""
    holder: dict[str, SnsSigner] = {}

    def handle(request: Request) -> Reply:
        if request.path.endswith(".pem"):
            return Reply(200, holder["signer"].pem, {"Content-Type": "application/x-pem-file"})
        return Reply(200, b"<ConfirmSubscriptionResponse/>", {"Content-Type": "text/xml"})

    with FakeServer(handle) as server:
        settings.XSENDER_SNS_TEST_CERT_HOSTS = ["127.0.0.1"]
        settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
        holder["signer"] = SnsSigner(f"{server.url}/SimpleNotificationService-test.pem")
        holder["signer"].server = server
        yield holder["signer"]
