"""The served OpenAPI schema (/api/schema/) tells the truth: schemathesis drives every operation with valid and
invalid requests — as a tenant's key, the admin key and a paired phone — and runs all its checks on each answer:
no 5xx, no undocumented status, bodies, headers and content types as documented, invalid input refused, valid
input accepted.

In process (Django's WSGI handler, inside the test's transaction): nothing is committed, so no worker is woken
and nothing leaves the machine; every gateway is a console one besides. Requests arrive over HTTPS, as the edge
requires. Bounded: a fixed seed, derandomized, a few examples per operation.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import cycle
from typing import Any

import phonenumbers
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.failures import AcceptedNegativeData

from accounts import services as accounts
from accounts.models import Plan
from devices import services as devices
from devices.models import AndroidDevice
from messaging.api.schema import URL_PATTERN
from messaging.items import EmailItem, SmsItem, WhatsAppItem
from messaging.services import accept_messages
from tests.conftest import Tenant
from tests.messaging.conftest import make_gateway

pytestmark = pytest.mark.django_db
BASE_URL = "https://localhost"
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260523,
        "generation": {"max-examples": 6, "deterministic": True, "database": "none", "no-shrink": True},
        "phases": {"stateful": {"enabled": False}},
    }
)
PHONE = "schema-phone"


def _possible_numbers() -> list[str]:
    """phonenumbers' example number of every region it knows, in E.164."""
    numbers = (phonenumbers.example_number(region) for region in sorted(phonenumbers.SUPPORTED_REGIONS))
    return [phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164) for n in numbers if n is not None]


# The schema's `format: phone` (a number with its country code and a possible length): a generator must be told.
schemathesis.openapi.format("phone", st.sampled_from(_possible_numbers()))

# The live schema, as the server serves it (loaded when the tests are collected: serving it needs no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG, base_url=BASE_URL)


@pytest.fixture
def plan(db) -> Plan:
    """Unlimited credits and a rate limit the run never reaches, so that valid sends are accepted."""
    return accounts.create_plan(
        data=accounts.PlanInput(
            slug="unlimited", name="Unlimited", email_credits=-1, sms_credits=-1, whatsapp_credits=-1,
            rate_limit_per_minute=100_000,
        )
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _requests_keep_the_test_transaction() -> Iterator[None]:
    """Django's end-of-request cleanup would close the connection that holds the test's transaction; Django's own
    test client turns it off the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@dataclass
class Callers:
    """Who calls: the Api-key operations alternate a tenant's key and the admin key; the device API is called by a
    paired phone (paired again after a logout the run made). `messages` holds a message of each key per channel."""

    keys: list[str]
    phone_owner: Any
    messages: dict[str, dict[str, str]]
    session: str = ""
    turns: dict[str, Iterator[str]] = field(default_factory=dict)

    def phone(self) -> str:
        if not AndroidDevice.objects.filter(device_uuid=PHONE, is_active=True).exists():
            token = devices.create_pairing_token(user=self.phone_owner)[1]
            self.session = devices.register_session(pairing_token=token, device_uuid=PHONE).session_token
        return self.session

    def sim(self) -> str:
        device = AndroidDevice.objects.get(device_uuid=PHONE)
        sim = device.sims.first() or devices.add_sim(device=device, slot=0, label="SIM 0")
        return sim.uid

    def headers(self, case: schemathesis.Case) -> dict[str, str]:
        security = {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}
        if "ApiKey" in security:
            return {"Api-key": next(self.turns.setdefault(case.operation.label, cycle(self.keys)))}
        if "DeviceSession" in security:
            return {"Authorization": f"Bearer {self.phone()}"}
        return {}

    def existing(self, case: schemathesis.Case, headers: dict[str, str]) -> dict[str, str] | None:
        """Path parameters naming something that exists (generated ones almost never do), or None."""
        if case.operation.path == "/api/get/{channel}/{uid}":
            channel = case.path_parameters.get("channel", "email")
            return {"channel": channel, "uid": self.messages[headers["Api-key"]].get(channel, "")}
        if case.operation.path == "/api/gateway/sms/android/sim/{uid}":
            return {"uid": self.sim()}
        return None


@pytest.fixture
def callers(alice: Tenant, admin: Tenant) -> Callers:
    items = {
        "email": EmailItem(recipient="reader@example.com", subject="Hello", body="Hi"),
        "sms": SmsItem(recipient="+15555550123", body="Hi"),
        "whatsapp": WhatsAppItem(recipient="+15555550123", body="Hi"),
    }
    messages: dict[str, dict[str, str]] = {}
    for tenant, owner in ((alice, alice.user), (admin, None)):
        messages[tenant.key] = {}
        for channel, item in items.items():
            make_gateway(owner, channel, f"{channel}-console-{tenant.user.pk}", is_default=True)
            sent = accept_messages(principal=tenant.user, channel=channel, items=[item])
            messages[tenant.key][channel] = str(sent[0].uid)
    return Callers(keys=[alice.key, admin.key], phone_owner=alice.user, messages=messages)


def _number_paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path
    elif isinstance(value, (dict, list)):
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            yield from _number_paths(item, (*path, key))


def _as_text(value: Any, path: tuple) -> Any:
    if not path:
        return str(value)
    copied = copy.copy(value)
    copied[path[0]] = _as_text(value[path[0]], path[1:])
    return copied


def read_as_the_api_does(validator: Any, body: Any) -> Any:
    """`body` with each number given where the schema wants text turned into text: the API reads `"label": 7` as
    the label "7" (DRF's CharField and the send endpoints' reader both do)."""
    for path in list(_number_paths(body)):
        candidate = _as_text(body, path)
        if len(list(validator.iter_errors(candidate))) < len(list(validator.iter_errors(body))):
            body = candidate
    return body


@schema.hook
def filter_failure(context: Any, failure: Any, case: schemathesis.Case, response: Any) -> bool:
    """Keeps every failure except "invalid data accepted" for a body that is valid once numbers are read as text."""
    if not isinstance(failure, AcceptedNegativeData) or not isinstance(case.body, (dict, list)):
        return True
    body = case.operation.get_body_for_media_type(case.media_type)
    if body is None:
        return True
    validator = body.get_validator()
    return not validator.is_valid(read_as_the_api_does(validator, case.body))


def media_without_url(case: schemathesis.Case) -> bool:
    """The WhatsApp GET form documents `url` as "required with media", which a query string's schema cannot say:
    a valid-looking query with media and no URL is not a valid request."""
    query = case.query or {}
    if case.operation.label != "GET /api/whatsapp/send" or not query.get("media"):
        return False
    return not re.match(URL_PATTERN, str(query.get("url") or ""))


# Function-scoped fixtures are meant: the examples of one operation share one database state, as a client's would.
@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_answer_is_documented(case: schemathesis.Case, callers: Callers) -> None:
    if case.meta is not None and case.meta.generation.mode.is_positive and media_without_url(case):
        return
    headers = callers.headers(case)
    case.call_and_validate(base_url=BASE_URL, headers=headers)
    existing = callers.existing(case, headers)
    if existing is not None and case.meta is not None and case.meta.generation.mode.is_positive:
        case.path_parameters = {**case.path_parameters, **existing}
        case.call_and_validate(base_url=BASE_URL, headers=headers)
