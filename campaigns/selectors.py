"""Reads of templates, campaigns and senders, scoped to their owner: another tenant's template is as unknown as a missing one."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from campaigns.models import Campaign, Sender, Template
from xsender.errors import NotFound
from xsender.tenancy import owned_by_public_id


def templates_of(user: User, *, channel: str | None = None) -> QuerySet[Template]:
    """The tenant's saved templates; a campaign's inline content (Template.campaign_only) is not one of them."""
    templates = Template.objects.for_tenant(user).filter(campaign_only=False)
    return templates.filter(channel=channel) if channel else templates


def template_of(*, user: User, public_id: str) -> Template:
    """The tenant's saved template `public_id` (`template_…`). Raises NotFound for a malformed id, a missing one,
    another tenant's and a campaign's inline content alike."""
    template = owned_by_public_id(Template, user, public_id, "template", "Template")
    if template.campaign_only:
        raise NotFound("Template not found.")
    return template


def campaigns_of(user: User, *, status: str | None = None) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.for_tenant(user).select_related("template")
    return campaigns.filter(status=status) if status else campaigns


def campaign_of(*, user: User, public_id: str) -> Campaign:
    """The tenant's campaign `public_id` (`campaign_…`); NotFound for a malformed, missing or foreign id."""
    return owned_by_public_id(Campaign, user, public_id, "campaign", "Campaign")


def senders_of(user: User, *, verified: bool | None = None) -> QuerySet[Sender]:
    senders = Sender.objects.for_tenant(user)
    return senders if verified is None else senders.filter(verified_at__isnull=not verified)


def senders_with_campaigns(user: User) -> list[Sender]:
    """The tenant's senders by address, each with the campaigns that name it (`sender.campaigns.all()`, by name):
    two queries whatever their number."""
    campaigns = Campaign.objects.only("public_id", "name", "status", "sender_id").order_by("name")
    return list(senders_of(user).prefetch_related(Prefetch("campaigns", queryset=campaigns)))


def sender_of(*, user: User, public_id: str) -> Sender:
    """The tenant's sender `public_id` (`sender_…`); NotFound for a malformed, missing or foreign id."""
    return owned_by_public_id(Sender, user, public_id, "sender", "Sender")
