"""Senders: a from-address is added unverified and confirmed by a link mailed to it — once, within 48 hours, by
a POST (a GET shows the button only) — and only a tenant's own verified sender may be named by its email campaigns."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from campaigns import selectors, senders, services
from campaigns.models import Sender
from tests.panel.test_senders import platform_mail
from tests.system.conftest import free_port
from xsender.errors import Conflict, NotFound, Throttled, ValidationFailed

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.campaigns.urls")]

LINK = re.compile(r"https?://\S+/senders/confirm/([\w-]+)/")


def token_of(message) -> str:
    return LINK.search(message.body).group(1)


@pytest.fixture
def sender(alice) -> Sender:
    return services.add_sender(owner=alice.user, email="News@Example.COM", name="Alice News")


def confirm_url(token: str) -> str:
    return f"/senders/confirm/{token}/"


def test_adding_a_sender_mails_a_confirmation_link_from_the_platform(sender):
    (message,) = mail.outbox
    assert message.to == ["news@example.com"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.body.count(settings.XSENDER_BASE_URL.rstrip("/") + confirm_url(token_of(message))) == 1
    assert (sender.email, sender.verified_at, sender.public_id[:7]) == ("news@example.com", None, "sender_")


def test_only_the_tokens_hash_is_stored(sender):
    sender.refresh_from_db()
    assert sender.token_hash and token_of(mail.outbox[0]) not in sender.token_hash


def test_an_address_is_added_once_per_tenant_and_must_be_valid(sender, alice, bob):
    with pytest.raises(Conflict):
        services.add_sender(owner=alice.user, email="news@example.com")
    with pytest.raises(ValidationFailed) as refused:
        services.add_sender(owner=alice.user, email="not an address")
    assert refused.value.errors[0]["field"] == "email"
    assert services.add_sender(owner=bob.user, email="news@example.com").owner == bob.user


def test_the_link_page_shows_a_button_and_a_get_confirms_nothing(sender, client):
    page = client.get(confirm_url(token_of(mail.outbox[0])), secure=True)
    sender.refresh_from_db()
    assert page.status_code == 200
    assert b'<form method="post">' in page.content and b"news@example.com" in page.content
    assert sender.verified_at is None


def test_a_post_confirms_once(sender, client):
    url = confirm_url(token_of(mail.outbox[0]))
    assert client.post(url, secure=True).status_code == 200
    sender.refresh_from_db()
    assert sender.verified_at is not None
    assert client.post(url, secure=True).status_code == 404


def test_an_unknown_link_is_refused(client, db):
    assert client.get(confirm_url("nope"), secure=True).status_code == 404
    with pytest.raises(NotFound):
        senders.confirm_sender(token="nope")


def test_a_link_expires_after_48_hours(sender, client, monkeypatch):
    token = token_of(mail.outbox[0])
    later = timezone.now() + timedelta(hours=48, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert client.post(confirm_url(token), secure=True).status_code == 410
    sender.refresh_from_db()
    assert sender.verified_at is None


def test_a_new_link_replaces_the_old_one(sender, monkeypatch):
    old = token_of(mail.outbox[0])
    later = timezone.now() + timedelta(seconds=senders.RESEND_SECONDS)
    monkeypatch.setattr(timezone, "now", lambda: later)
    senders.resend_confirmation(sender=sender)
    with pytest.raises(NotFound):
        senders.confirm_sender(token=old)
    assert senders.confirm_sender(token=token_of(mail.outbox[1])).verified_at is not None


def test_a_new_link_within_a_minute_of_the_last_is_refused_saying_how_long_to_wait(sender, monkeypatch):
    later = timezone.now() + timedelta(seconds=45)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(Throttled) as refused:
        senders.resend_confirmation(sender=sender)
    assert refused.value.retry_after == 15 and "ask again in 15 seconds" in refused.value.message
    assert len(mail.outbox) == 1
    assert senders.confirm_sender(token=token_of(mail.outbox[0])).verified_at is not None  # the first link still works


@pytest.fixture
def verified(sender) -> Sender:
    return senders.confirm_sender(token=token_of(mail.outbox[0]))


def test_an_email_campaign_may_name_its_tenants_verified_sender(campaign, verified):
    services.update_campaign(campaign=campaign, sender=verified.public_id)
    campaign.refresh_from_db()
    assert campaign.sender == verified


def test_an_unverified_sender_is_refused_naming_the_field(campaign, sender):
    with pytest.raises(ValidationFailed) as refused:
        services.update_campaign(campaign=campaign, sender=sender.public_id)
    assert refused.value.errors[0]["field"] == "sender"


def test_another_tenants_sender_is_unknown(verified, bob, gateways):
    template = services.create_template(owner=bob.user, channel="email", name="B", subject="s", text="t")
    with pytest.raises(ValidationFailed) as refused:
        services.create_campaign(
            owner=bob.user, channel="email", name="B", template=template.public_id, sender=verified.public_id
        )
    assert refused.value.errors[0] == {"field": "sender", "message": "Sender not found."}
    with pytest.raises(NotFound):
        selectors.sender_of(user=bob.user, public_id=verified.public_id)


def test_a_sender_named_by_a_campaign_cannot_be_removed(campaign, verified):
    services.update_campaign(campaign=campaign, sender=verified)
    with pytest.raises(Conflict) as refused:
        services.remove_sender(sender=verified)
    assert refused.value.message.startswith("news@example.com cannot be removed: campaign “Spring” uses it.")
    services.update_campaign(campaign=campaign, sender=None)
    services.remove_sender(sender=verified)
    assert not Sender.objects.filter(pk=verified.pk).exists()


def test_the_refusal_to_remove_names_up_to_three_campaigns(campaign, verified):
    services.update_campaign(campaign=campaign, sender=verified)
    for name in ("Autumn", "Summer", "Winter"):
        services.create_campaign(owner=campaign.owner, channel="email", name=name,
                                 template=campaign.template.public_id, sender=verified.public_id)  # fmt: skip
    with pytest.raises(Conflict) as refused:
        services.remove_sender(sender=verified)
    assert "campaigns “Autumn”, “Spring”, “Summer” and others use it." in refused.value.message


def test_the_admin_adds_a_sender_through_the_service(admin_client, alice):
    data = {"owner": alice.user.pk, "email": "Team@Example.com", "name": "Team"}
    admin_client.post("/admin/campaigns/sender/add/", data, secure=True, follow=True)
    assert Sender.objects.get(owner=alice.user).email == "team@example.com"
    assert mail.outbox[0].to == ["team@example.com"]


def test_the_admin_says_when_the_platforms_mail_is_down_and_adds_nothing(admin_client, alice):
    data = {"owner": alice.user.pk, "email": "team@example.com", "name": "Team"}
    with platform_mail(free_port()):  # nothing listens there
        page = admin_client.post("/admin/campaigns/sender/add/", data, secure=True, follow=True)
    assert page.status_code == 200 and page.redirect_chain[-1][0].endswith("/admin/campaigns/sender/")
    assert "could not be sent just now" in page.content.decode()
    assert not Sender.objects.exists()


def test_the_admin_refuses_an_address_the_tenant_already_has(admin_client, alice, sender):
    data = {"owner": alice.user.pk, "email": "NEWS@example.com", "name": ""}
    page = admin_client.post("/admin/campaigns/sender/add/", data, secure=True)
    assert page.status_code == 200  # the form again, with the error
    assert Sender.objects.filter(owner=alice.user).count() == 1
