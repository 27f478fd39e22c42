"""Every URL that names an object, walked with another tenant's ids: each answers 404 and changes nothing.

The walk covers every URL pattern of the panel and the APIs (Django admin aside: staff only). A new URL that
takes an argument must be added to OBJECTS below with a way to name alice's object, or this test fails —
so no page or endpoint can reach production without its cross-tenant check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import ApiKey
from campaigns import services as campaigns
from campaigns.models import Campaign, Sender, Template
from contacts import services as contacts
from contacts.models import Contact, ContactList, CustomField, ImportJob, Segment, Tag
from devices import services as devices
from gateways.models import Gateway
from messaging.models import Message
from panel.template_preview import stash_html
from tests.conftest import Tenant, https_client
from tests.messaging.conftest import make_gateway
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("admin/"):
                continue
            space = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), space)
        elif entry.pattern.converters or "<" in str(entry.pattern):
            yield f"{namespace}{entry.name}", entry


@pytest.fixture
def world(alice: Tenant, bob: Tenant) -> dict[str, Any]:
    """alice's objects of every kind, and bob's own device session (so bob is a real phone of his own)."""
    for channel in ("email", "sms", "whatsapp"):
        make_gateway(alice.user, channel, f"{channel}-console", is_default=True)
    sent = (
        alice.client()
        .post("/api/sms/send", {"contact": [{"number": "+15555550123", "body": "Hi"}]}, format="json")
        .json()
    )
    alice_device = devices.register_session(
        pairing_token=devices.create_pairing_token(user=alice.user)[1], device_uuid="alice-phone"
    ).device
    bob_session = devices.register_session(
        pairing_token=devices.create_pairing_token(user=bob.user)[1], device_uuid="bob-phone"
    ).session_token
    return {
        "message": Message.objects.get(uid=sent["data"][0]["uid"]),
        "device": alice_device,
        "sim": devices.add_sim(device=alice_device, slot=0),
        "bob_session": bob_session,
        "gateway": Gateway.objects.get(owner=alice.user, identifier="email-console"),
        "key": ApiKey.objects.get(user=alice.user),
        **_alice_webhook(alice),
        **_alice_audience(alice),
        "sender": _alice_sender(alice),
        "preview": stash_html(alice.user.pk, "<p>alice's template</p>"),
    }


def _alice_audience(alice: Tenant) -> dict[str, Any]:
    contact_list = contacts.create_list(owner=alice.user, name="Customers")
    contact = contacts.create_contact(owner=alice.user, email="dave@example.com", lists=[contact_list.public_id],
                                      tags=["vip"])  # fmt: skip
    field = contacts.create_custom_field(owner=alice.user, name="Seats", type="number")
    template = campaigns.create_template(owner=alice.user, channel="email", name="Welcome", subject="Hi",
                                         text="Hello {{ first_name }}")  # fmt: skip
    campaign = campaigns.create_campaign(owner=alice.user, channel="email", name="Spring", template=template.public_id,
                                         include_lists=[contact_list.public_id])  # fmt: skip
    segment = contacts.create_segment(
        owner=alice.user, name="VIPs", rules=[{"field": "tag", "op": "has", "value": "vip"}]
    )
    job = contacts.start_import(owner=alice.user, filename="a.csv", data=b"email\nerin@example.com\n", enqueue=False)
    return {"contact": contact, "contact_list": contact_list, "tag": Tag.objects.get(owner=alice.user),
            "custom_field": field, "template": template, "campaign": campaign, "segment": segment,
            "import_job": job}  # fmt: skip


def _alice_sender(alice: Tenant) -> Sender:
    """Unverified, its link mailed two minutes ago: a new link may be asked for (no longer refused as too soon)."""
    sender = campaigns.add_sender(owner=alice.user, email="news@example.com", name="Alice News")
    Sender.objects.filter(pk=sender.pk).update(token_sent_at=timezone.now() - timedelta(minutes=2))
    return sender


def _alice_webhook(alice: Tenant) -> dict[str, Any]:
    endpoint = Endpoint.objects.create(
        user=alice.user, url="https://hooks.example.com/xsender", event_types=["message.sent"],
        secrets=[{"secret": "whsec_" + "A" * 44, "expires_at": None}],
    )  # fmt: skip
    delivery = Delivery.objects.create(endpoint=endpoint, event_id="msg_1", type="message.sent", payload={})
    return {"endpoint": endpoint, "delivery": delivery}


def as_bob_api(bob: Tenant, world: dict[str, Any]) -> Any:
    return bob.client()


def as_bob_phone(bob: Tenant, world: dict[str, Any]) -> Any:
    client = https_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['bob_session']}")
    return client


def as_bob_in_the_panel(bob: Tenant, world: dict[str, Any]) -> Any:
    client = Client()
    client.force_login(bob.user)
    return client


Caller = Callable[[Tenant, dict[str, Any]], Any]
# URL name → (who asks, alice's arguments, HTTP methods to try).
OBJECTS: dict[str, tuple[Caller, Callable[[dict[str, Any]], dict[str, Any]], tuple[str, ...]]] = {
    "api-message-status": (as_bob_api, lambda w: {"channel": "sms", "uid": w["message"].uid}, ("get",)),
    "device-sim": (as_bob_phone, lambda w: {"uid": w["sim"].uid}, ("put", "delete")),
    "panel:revoke-device": (as_bob_in_the_panel, lambda w: {"uid": w["device"].uid}, ("post",)),
    "panel:device-profile": (as_bob_in_the_panel, lambda w: {"uid": w["device"].uid}, ("get", "post")),
    "panel:message": (as_bob_in_the_panel, lambda w: {"uid": w["message"].uid}, ("get",)),
    "panel:cancel-message": (as_bob_in_the_panel, lambda w: {"uid": w["message"].uid}, ("post",)),
    "panel:retry-message": (as_bob_in_the_panel, lambda w: {"uid": w["message"].uid}, ("post",)),
    "panel:webhook": (as_bob_in_the_panel, lambda w: {"uid": w["endpoint"].uid}, ("get",)),
    "panel:edit-webhook": (as_bob_in_the_panel, lambda w: {"uid": w["endpoint"].uid}, ("get", "post")),
    "panel:delete-webhook": (as_bob_in_the_panel, lambda w: {"uid": w["endpoint"].uid}, ("post",)),
    "panel:rotate-webhook-secret": (as_bob_in_the_panel, lambda w: {"uid": w["endpoint"].uid}, ("post",)),
    "panel:test-webhook": (as_bob_in_the_panel, lambda w: {"uid": w["endpoint"].uid}, ("post",)),
    "panel:resend-webhook": (
        as_bob_in_the_panel,
        lambda w: {"uid": w["endpoint"].uid, "pk": w["delivery"].pk},
        ("post",),
    ),
}
# Panel: alice's gateways and API keys.
OBJECTS |= {
    name: (as_bob_in_the_panel, lambda w: {"uid": w["gateway"].uid}, methods)
    for name, methods in {
        "panel:gateway": ("get", "post"),
        "panel:default-gateway": ("post",),
        "panel:test-gateway": ("post",),
        "panel:remove-gateway": ("get", "post"),
        "panel:gateway-session": ("get",),
    }.items()
}
OBJECTS |= {
    "panel:rename-api-key": (as_bob_in_the_panel, lambda w: {"prefix": w["key"].prefix}, ("get", "post")),
    "panel:revoke-api-key": (as_bob_in_the_panel, lambda w: {"prefix": w["key"].prefix}, ("post",)),
}
# The panel's audience pages: a contact, a list, a tag, a custom field, each named by its public id.
OBJECTS |= {
    name: (as_bob_in_the_panel, lambda w, kind=kind: {"public_id": w[kind].public_id}, ("get", "post"))
    for name, kind in {
        "panel:edit-contact": "contact",
        "panel:delete-contact": "contact",
        "panel:edit-list": "contact_list",
        "panel:delete-list": "contact_list",
        "panel:rename-tag": "tag",
        "panel:delete-tag": "tag",
        "panel:edit-custom-field": "custom_field",
        "panel:delete-custom-field": "custom_field",
        "panel:edit-template": "template",
        "panel:delete-template": "template",
        "panel:edit-segment": "segment",
        "panel:delete-segment": "segment",
        "panel:contact-import": "import_job",
    }.items()
}
# The panel's campaign pages: a wizard step, a start, a pause or a cancel as bob would use his credit or stop hers.
OBJECTS |= {
    name: (as_bob_in_the_panel, lambda w: {"public_id": w["campaign"].public_id}, methods)
    for name, methods in {
        "panel:campaign": ("get",),
        "panel:campaign-audience": ("get", "post"),
        "panel:campaign-content": ("get", "post"),
        "panel:campaign-schedule": ("get", "post"),
        "panel:campaign-review": ("get", "post"),
        "panel:pause-campaign": ("post",),
        "panel:resume-campaign": ("post",),
        "panel:cancel-campaign": ("get", "post"),
        "panel:delete-campaign": ("get", "post"),
        "panel:campaign-report-csv": ("get",),
        "panel:campaign-recipients-csv": ("get",),
    }.items()
}
# alice's sender: bob must neither mail her address a new link nor remove it.
OBJECTS |= {
    name: (as_bob_in_the_panel, lambda w: {"public_id": w["sender"].public_id}, ("post",))
    for name in ("panel:resend-sender", "panel:remove-sender")
}
# A test send of alice's template: bob's gateway and credit would be used, so it must be a 404 and send nothing.
OBJECTS["panel:test-template"] = (as_bob_in_the_panel, lambda w: {"public_id": w["template"].public_id}, ("post",))
# The HTML part of a preview alice just made, kept for her under a random token.
OBJECTS["panel:template-preview-html"] = (as_bob_in_the_panel, lambda w: {"token": w["preview"]}, ("get",))
NOT_OBJECTS = {"django_rq", "schema", "api-docs"}  # staff tools and documentation: no tenant objects
# A password-reset link names an account by its signed token, not by an id a tenant could swap; a wrong or spent
# token is refused (tests/panel/test_password_reset.py).
NOT_OBJECTS |= {"panel:password-reset-confirm"}
# A sender's confirmation link names it by a random token (stored hashed), single use, for 48 hours; a wrong or
# spent token is a 404 (tests/campaigns/test_senders.py).
NOT_OBJECTS |= {"campaigns:sender-confirm"}
# Links in campaign messages name a recipient by a token signed with SECRET_KEY (a salt per kind), not by an id a
# tenant could swap; a forged, tampered or other kind's token is a 404 (tests/campaigns/test_own_links.py).
NOT_OBJECTS |= {"campaigns:unsubscribe", "campaigns:open", "campaigns:click"}
# Provider webhooks: no tenant calls them, each answers 401 unless the gateway's own secret signed the request;
# tests/tracking/test_rules.py proves one tenant's signed event cannot touch another tenant's message.
NOT_OBJECTS |= {
    "webhook-email",
    "webhook-twilio-gateway",
    "webhook-whatsapp-cloud-gateway",
    "webhook-whatsapp-web-gateway",
}


def test_every_url_that_names_an_object_is_listed_here():
    names = {name for name, _ in walk(get_resolver().url_patterns)}
    unlisted = {n for n in names if n not in OBJECTS and not any(n.startswith(p) for p in NOT_OBJECTS)}
    assert unlisted == set()


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_another_tenants_object_is_a_404_and_stays_as_it_was(name, bob, world):
    from django.urls import reverse

    caller, arguments, methods = OBJECTS[name]
    url = reverse(name, kwargs=arguments(world))
    before = _snapshot(world)
    client = caller(bob, world)
    answers = [getattr(client, method)(url, {}, secure=True).status_code for method in methods]
    assert answers == [404] * len(methods)
    assert _snapshot(world) == before


def _snapshot(world: dict[str, Any]) -> tuple[Any, ...]:
    message, device, sim = (type(o).objects.get(pk=o.pk) for o in (world["message"], world["device"], world["sim"]))
    endpoint = Endpoint.objects.get(pk=world["endpoint"].pk)
    webhook = (endpoint.url, endpoint.enabled, endpoint.secrets, Delivery.objects.count())
    gateway = Gateway.objects.filter(pk=world["gateway"].pk).values_list("name", "is_default", "status").first()
    key = ApiKey.objects.filter(pk=world["key"].pk).values_list("name", "revoked_at").first()
    contact = Contact.objects.filter(pk=world["contact"].pk).values_list("email", "first_name").first()
    audience = (
        contact,
        list(Contact.lists.through.objects.values_list("contact_id", "contactlist_id")),
        list(Contact.tags.through.objects.values_list("contact_id", "tag_id")),
        list(ContactList.objects.values_list("name", flat=True)),
        list(Tag.objects.values_list("name", flat=True)),
        list(CustomField.objects.values_list("name", "choices")),
        list(Template.objects.values_list("name", "subject", "text")),
        list(Campaign.objects.values_list("name", "status", "schedule_at", "throttle", "recipients_count")),
        list(Campaign.include_lists.through.objects.values_list("campaign_id", "contactlist_id")),
        list(Segment.objects.values_list("name", "rules", "match")),
        list(ImportJob.objects.values_list("status", "rows_processed")),
        list(Sender.objects.values_list("email", "token_hash", "token_sent_at")),
    )
    return (
        Message.objects.count(),
        message.status,
        device.is_active,
        device.hashed_session_token,
        sim.label,
        sim.active,
        *webhook,
        gateway,
        key,
        audience,
    )
