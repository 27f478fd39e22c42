"""Reads of templates, campaigns and senders, scoped to their owner: another tenant's template is as unknown as a missing one."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from campaigns.models import Campaign, Sender, Template
from xsender.errors import NotFound
from xsender.public_ids import is_public_id


def templates_of(user: User, *, channel: str | None = None) -> QuerySet[Template]:
    templates = Template.objects.for_tenant(user)
    return templates.filter(channel=channel) if channel else templates


def template_of(*, user: User, public_id: str) -> Template:
    """The tenant's template `public_id` (`template_…`). Raises NotFound for a malformed id, a missing one
    and another tenant's alike."""
    template = None
    if is_public_id(public_id, "template"):
        template = Template.objects.for_tenant(user).filter(public_id=public_id).first()
    if template is None:
        raise NotFound("Template not found.")
    return template


def campaigns_of(user: User, *, status: str | None = None) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.for_tenant(user).select_related("template")
    return campaigns.filter(status=status) if status else campaigns


def campaign_of(*, user: User, public_id: str) -> Campaign:
    """The tenant's campaign `public_id` (`campaign_…`); NotFound for a malformed, missing or foreign id."""
    campaign = None
    if is_public_id(public_id, "campaign"):
        campaign = Campaign.objects.for_tenant(user).filter(public_id=public_id).first()
    if campaign is None:
        raise NotFound("Campaign not found.")
    return campaign


def senders_of(user: User, *, verified: bool | None = None) -> QuerySet[Sender]:
    senders = Sender.objects.for_tenant(user)
    return senders if verified is None else senders.filter(verified_at__isnull=not verified)


def sender_of(*, user: User, public_id: str) -> Sender:
    """The tenant's sender `public_id` (`sender_…`); NotFound for a malformed, missing or foreign id."""
    sender = None
    if is_public_id(public_id, "sender"):
        sender = Sender.objects.for_tenant(user).filter(public_id=public_id).first()
    if sender is None:
        raise NotFound("Sender not found.")
    return sender
