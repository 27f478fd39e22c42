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
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import cycle
from typing import Any

import hypothesis
import phonenumbers
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.core import NOT_SET
from schemathesis.core.failures import AcceptedNegativeData

from accounts import services as accounts
from accounts.models import Plan
from devices import services as devices
from devices.models import AndroidDevice
from messaging.api.schema import URL_PATTERN
from messaging.idempotency import fingerprint
from messaging.items import EmailItem, SmsItem, WhatsAppItem
from messaging.models import IdempotencyRecord
from messaging.services import accept_messages, add_suppression
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
ITEMS = {
    "email": EmailItem(recipient="reader@example.com", subject="Hello", body="Hi"),
    "sms": SmsItem(recipient="+15555550123", body="Hi"),
    "whatsapp": WhatsAppItem(recipient="+15555550123", body="Hi"),
}


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
    requests: int = 0
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

    def fresh_idempotency_key(self, case: schemathesis.Case) -> None:
        """A client's new request carries a new key: the generated keys repeat ("0"), and the same key with another
        request is a 422 (documented) that would hide what the request itself is checked for. A key too long to
        be valid stays as it is."""
        key = (case.headers or {}).get("Idempotency-Key")
        if isinstance(key, str) and key and len(key) <= 255:
            self.requests += 1
            case.headers = {**case.headers, "Idempotency-Key": f"{self.requests}-{key}"[:255]}

    def existing(self, case: schemathesis.Case, headers: dict[str, str]) -> bool:
        """Points `case` at things that exist (generated ids and tokens almost never do); False if it names none."""
        path, body = case.operation.path, case.body if isinstance(case.body, dict) else None
        if path == "/api/get/{channel}/{uid}":
            channel = case.path_parameters.get("channel", "email")
            case.path_parameters = {"channel": channel, "uid": self.messages[headers["Api-key"]].get(channel, "")}
        elif path == "/api/gateway/sms/android/sim/{uid}":
            case.path_parameters = {"uid": self.sim()}
        elif path == "/api/gateway/sms/android/sim/update-status" and body is not None:
            case.body = {**body, "sim_uid": self.sim()}
        elif path == "/api/gateway/sms/android/register-session" and body is not None:
            case.body = {**body, "pairing_token": devices.create_pairing_token(user=self.phone_owner)[1]}
        else:
            return False
        return True


@pytest.fixture
def callers(alice: Tenant, admin: Tenant, settings: Any) -> Callers:
    """Gateways, one message per channel and key, a paired phone with a SIM and an SMS waiting for it. Rate limits
    are out of the way: each throttle's 429 is asked for on purpose below."""
    settings.XSENDER_DEFAULT_RATE_LIMIT = 100_000
    for name in ("XSENDER_API_KEY_FAILURE_LIMIT", "XSENDER_REGISTER_RATE_LIMIT", "XSENDER_DEVICE_RATE_LIMIT"):
        setattr(settings, name, 0)  # 0: off
    messages: dict[str, dict[str, str]] = {}
    for tenant, owner in ((alice, alice.user), (admin, None)):
        messages[tenant.key] = {}
        for channel, item in ITEMS.items():
            make_gateway(owner, channel, f"{channel}-console-{tenant.user.pk}", is_default=True)
            messages[tenant.key][channel] = str(
                accept_messages(principal=tenant.user, channel=channel, items=[item])[0].uid
            )
    callers = Callers(keys=[alice.key, admin.key], phone_owner=alice.user, messages=messages)
    callers.phone()
    callers.sim()
    accept_messages(
        principal=alice.user, channel="sms", items=[SmsItem("+15555550124", "To the phone", gateway="android")]
    )
    return callers


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
@hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_answer_is_documented(case: schemathesis.Case, callers: Callers) -> None:
    if case.meta is not None and case.meta.generation.mode.is_positive and media_without_url(case):
        return
    headers = callers.headers(case)
    callers.fresh_idempotency_key(case)
    case.call_and_validate(base_url=BASE_URL, headers=headers)
    if case.meta is not None and case.meta.generation.mode.is_positive and callers.existing(case, headers):
        case.call_and_validate(base_url=BASE_URL, headers=headers)


# ---------------------------------------------------------------- each documented error, asked for on purpose


@dataclass
class Ask:
    """One request: the operation, and what differs from a plain one (werkzeug's `extra`: a raw body)."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    path_parameters: dict[str, str] | None = None
    body: Any = None
    base_url: str = BASE_URL
    extra: dict[str, Any] = field(default_factory=dict)


SEND = "/api/email/send"
REGISTER = "/api/gateway/sms/android/register-session"


def _email(**fields: Any) -> dict[str, Any]:
    return {"contact": [{"email": "reader@example.com", "subject": "Hi", "message": "Hello", **fields}]}


def _send(w: World, **fields: Any) -> Ask:
    return Ask("POST", SEND, w.key, body=_email(**fields))


def _raw(w: World, content_type: str, data: bytes) -> Ask:
    return Ask("POST", SEND, {**w.key, "Content-Type": content_type}, extra={"data": data})


def _in_flight(w: World) -> Ask:
    digest = fingerprint("POST", SEND, _email()["contact"])
    IdempotencyRecord.objects.create(user=w.alice.user, key="retry-1", fingerprint=digest)
    return Ask("POST", SEND, {**w.key, "Idempotency-Key": "retry-1"}, body=_email())


def _suppressed(w: World) -> Ask:
    add_suppression(user=w.alice.user, channel="email", address="reader@example.com")
    return _send(w)


def _second(w: World, ask: Ask, setting: str) -> Ask:
    """`ask` after the one request a limit of 1 per minute allows."""
    setattr(w.settings, setting, 1)
    body = ask.body if ask.body is not None else NOT_SET
    schema[ask.path][ask.method].Case(headers=ask.headers, body=body).call(base_url=BASE_URL)
    return ask


def _settings(w: World, ask: Ask, **values: Any) -> Ask:
    for name, value in values.items():
        setattr(w.settings, name, value)
    return ask


ANSWERS: dict[str, tuple[int, Callable[[World], Ask]]] = {
    "bad field named in errors[]": (400, lambda w: _send(w, email="nope")),
    "unclosed IPv6 bracket in a URL": (400, lambda w: _send(w, attachments=[{"type": "file", "url": "http://[::1"}])),
    "schedule_at with no UTC instant": (
        400,
        lambda w: _settings(w, _send(w, schedule_at="0001-01-01 00:00:00"), TIME_ZONE="Europe/Paris"),
    ),
    "malformed JSON": (400, lambda w: _raw(w, "application/json", b"{")),
    "unknown key": (401, lambda w: Ask("GET", "/api/me", {"Api-key": "xs_unknown"})),
    "no credit left": (402, lambda w: Ask("POST", SEND, w.broke, body=_email())),
    "plain HTTP": (403, lambda w: Ask("GET", "/api/me", w.key, base_url="http://localhost")),
    "unknown message": (
        404,
        lambda w: Ask("GET", "/api/get/{channel}/{uid}", w.key, {"channel": "email", "uid": str(uuid.uuid4())}),
    ),
    "unknown gateway": (404, lambda w: _send(w, gateway_identifier="nope")),
    "HTML asked for": (406, lambda w: Ask("GET", "/api/me", {**w.key, "Accept": "text/html"})),
    "Idempotency-Key in flight": (409, _in_flight),
    "body too large": (413, lambda w: _settings(w, _send(w), XSENDER_MAX_BODY_BYTES=10)),
    "not JSON": (415, lambda w: _raw(w, "text/plain", b"hello")),
    "suppressed recipient": (422, _suppressed),
    "plan's rate limit": (429, lambda w: _second(w, Ask("GET", "/api/me", w.admin_key), "XSENDER_DEFAULT_RATE_LIMIT")),
    "device: unknown session": (401, lambda w: Ask("GET", "/api/logs/sms/pending", {"Authorization": "Bearer xsd_x"})),
    "device: unknown SIM": (404, lambda w: Ask("DELETE", "/api/gateway/sms/android/sim/{uid}", w.phone, {"uid": "x"})),
    "device: session's rate limit": (
        429,
        lambda w: _second(w, Ask("GET", "/api/logs/sms/pending", w.phone), "XSENDER_DEVICE_RATE_LIMIT"),
    ),
    "pairing token already used": (401, lambda w: Ask("POST", REGISTER, body=w.used_pairing)),
    "pairing: address's rate limit": (
        429,
        lambda w: _second(w, Ask("POST", REGISTER, body=w.used_pairing), "XSENDER_REGISTER_RATE_LIMIT"),
    ),
}


@dataclass
class World:
    alice: Tenant
    admin: Tenant
    settings: Any
    phone: dict[str, str]
    broke: dict[str, str]
    used_pairing: dict[str, str]

    @property
    def key(self) -> dict[str, str]:
        return {"Api-key": self.alice.key}

    @property
    def admin_key(self) -> dict[str, str]:
        return {"Api-key": self.admin.key}


@pytest.fixture
def world(callers: Callers, alice: Tenant, admin: Tenant, settings: Any) -> World:
    empty = accounts.create_plan(data=accounts.PlanInput(slug="empty", name="Empty"))
    carol, broke = accounts.create_user(email="carol@example.com", name="Carol", plan=empty)
    make_gateway(carol, "email", "carol-console", is_default=True)
    used = {"pairing_token": devices.create_pairing_token(user=alice.user)[1], "device_uuid": "used-token-phone"}
    devices.register_session(**used)
    return World(alice, admin, settings, {"Authorization": f"Bearer {callers.phone()}"}, {"Api-key": broke}, used)


@pytest.mark.parametrize("name", list(ANSWERS))
def test_each_error_answer_is_the_documented_one(name: str, world: World) -> None:
    status, make = ANSWERS[name]
    ask = make(world)
    case = schema[ask.path][ask.method].Case(
        headers=ask.headers, path_parameters=ask.path_parameters, body=ask.body if ask.body is not None else NOT_SET
    )
    response = case.call(base_url=ask.base_url, **ask.extra)
    assert response.status_code == status, response.text
    case.validate_response(response)
