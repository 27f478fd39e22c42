"""The cast: alice (tenant with a key and credits), bob (another tenant), admin (superuser, admin-scope key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.models import Plan, User
from tests.fakes.smtp import SmtpSink
from xsender.redis import get_redis


@dataclass
class Tenant:
    user: User
    key: str

    def client(self, **headers: str) -> APIClient:
        """This tenant's authenticated HTTPS client."""
        client = https_client()
        client.credentials(HTTP_API_KEY=self.key, **headers)
        return client


class HttpsAPIClient(APIClient):
    """Requests arrive over HTTPS unless a test passes secure=False (the edge refuses plain HTTP)."""

    def generic(self, method: str, path: str, *args: Any, secure: bool = True, **extra: Any) -> Any:
        return super().generic(method, path, *args, secure=secure, **extra)


def https_client() -> APIClient:
    return HttpsAPIClient()


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    get_redis().flushdb()


@pytest.fixture(scope="session", autouse=True)
def _delivery_threads(django_db_setup, django_db_blocker):
    """Delivery keeps lane and writer threads (with their database connections) for the process's life: they
    end before the test database is dropped."""
    yield
    from messaging.delivery import close_pools

    close_pools()


@pytest.fixture
def plan(db) -> Plan:
    return accounts.create_plan(
        data=accounts.PlanInput(
            slug="starter", name="Starter", email_credits=100, sms_credits=100, whatsapp_credits=100
        )
    )


def _tenant(email: str, plan: Plan | None, admin: bool = False) -> Tenant:
    user, key = accounts.create_user(email=email, name=email.split("@")[0].title(), plan=plan, admin=admin)
    return Tenant(user=user, key=key)


@pytest.fixture
def alice(plan: Plan) -> Tenant:
    return _tenant("alice@example.com", plan)


@pytest.fixture
def bob(plan: Plan) -> Tenant:
    return _tenant("bob@example.com", plan)


@pytest.fixture
def admin(db) -> Tenant:
    return _tenant("admin@example.com", None, admin=True)


@pytest.fixture
def api(alice: Tenant) -> APIClient:
    """alice's authenticated HTTPS client."""
    return alice.client()


@pytest.fixture
def anonymous() -> APIClient:
    return https_client()


# ---------------------------------------------------------------- Django admin, signed in with its second factor

OPERATOR_PASSWORD = "operator-passphrase-42"


@pytest.fixture
def operator(db) -> tuple[User, TOTPDevice]:
    user, _ = accounts.create_user(email="ops@example.com", password=OPERATOR_PASSWORD, admin=True)
    return user, TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def login(client: Client, user: User, device: TOTPDevice, token: str | None = None):
    data = {"username": user.email, "password": OPERATOR_PASSWORD, "otp_device": device.persistent_id}
    data["otp_token"] = token if token is not None else f"{totp(device.bin_key):06d}"
    return client.post("/admin/login/?next=/admin/", data, secure=True)


@pytest.fixture
def admin_client(operator) -> Client:
    """A staff member signed in to Django admin with password and TOTP code."""
    client = Client()
    response = login(client, *operator)
    assert response.status_code == 302
    return client


@pytest.fixture
def sink():
    """A real SMTP server (aiosmtpd) on loopback: what the SMTP gateways send arrives there."""
    with SmtpSink() as server:
        yield server
