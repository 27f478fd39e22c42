"""What the `xsender:campaign:*` and `xsender:sender:*` commands share: the tenant named by `--user EMAIL`, its
campaign or sender named by public id through campaigns.selectors (another tenant's id, a malformed one and a
missing one are all "not found", as in the panel), and each object's row for the text and `--json` output."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from django.core.management.base import CommandParser
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from campaigns import selectors
from campaigns.models import Campaign, Sender
from xsender.commands import XSenderCommand


def add_user_argument(parser: CommandParser) -> None:
    parser.add_argument("--user", required=True, metavar="EMAIL", help="The tenant.")


def tenant(options: dict[str, Any]) -> User:
    """The `--user` tenant. Raises NotFound ("Unknown user …")."""
    return accounts.get_user(options["user"])


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def server_time(at: datetime | None) -> str:
    """`at` on the server's clock (TIME_ZONE), as the panel shows it; "-" for none."""
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S %Z") if at else "-"


def schedule_time(value: str) -> datetime:
    """argparse type for `--at`: `Y-m-d H:i[:s]` on the server's clock (TIME_ZONE), or ISO 8601 with an offset."""
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date and time: write Y-m-d H:i:s (server time) or add an offset (+02:00)"
        ) from None
    return timezone.make_aware(at) if timezone.is_naive(at) else at


# ---------------------------------------------------------------- campaigns


def campaign_data(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.public_id, "name": campaign.name, "channel": campaign.channel, "status": campaign.status,
        "recipients": campaign.recipients_count, "messages": campaign.messages_count,
        "skipped": campaign.skipped_count, "cost": campaign.cost, "reserved": campaign.reserved,
        "schedule_at": iso(campaign.schedule_at), "contact_time_zone": campaign.contact_time_zone,
        "started_at": iso(campaign.started_at), "finished_at": iso(campaign.finished_at),
        "last_error": campaign.last_error,
    }  # fmt: skip


def campaign_line(campaign: Campaign) -> str:
    zones = " (each contact's zone)" if campaign.contact_time_zone else ""
    return (
        f"{campaign.public_id}  {campaign.status:<9} {campaign.channel:<8} {campaign.name}  "
        f"recipients {campaign.recipients_count}, messages {campaign.messages_count}, cost {campaign.cost}, "
        f"reserved {campaign.reserved}, schedule {server_time(campaign.schedule_at)}{zones}"
        + (f"  [{campaign.last_error}]" if campaign.last_error else "")
    )


class CampaignCommand(XSenderCommand):
    """A command about one campaign of the `--user` tenant, named by its public id."""

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", metavar="CAMPAIGN_ID", help="campaign_… (see xsender:campaign:list).")
        add_user_argument(parser)

    def campaign(self, options: dict[str, Any]) -> tuple[User, Campaign]:
        """The tenant and its campaign. Raises NotFound for an unknown user, and "Campaign not found." for a
        malformed, missing or another tenant's id."""
        user = tenant(options)
        return user, selectors.campaign_of(user=user, public_id=options["campaign"])


class CampaignAction(CampaignCommand):
    """One of campaigns.services' transitions (start, pause, resume, cancel) applied to the campaign; the
    service's domain error (Conflict for the wrong state, CreditExhausted naming the shortfall …) is the
    command's error, and the service's transaction leaves nothing changed."""

    action: ClassVar[Callable[..., Campaign]]
    done: ClassVar[str]

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        _, campaign = self.campaign(options)
        campaign = type(self).action(campaign=campaign)
        text = f"Campaign {campaign.public_id} “{campaign.name}” {self.done}.\n{campaign_line(campaign)}"
        return text, {"campaign": campaign_data(campaign)}


# ---------------------------------------------------------------- senders


def sender_data(sender: Sender) -> dict[str, Any]:
    return {
        "id": sender.public_id, "email": sender.email, "name": sender.name, "verified": sender.verified_at is not None,
        "verified_at": iso(sender.verified_at), "link_sent_at": iso(sender.token_sent_at),
        "created_at": iso(sender.created_at),
    }  # fmt: skip


def sender_line(sender: Sender) -> str:
    state = "verified" if sender.verified_at else f"unverified (link sent {server_time(sender.token_sent_at)})"
    return f"{sender.public_id}  {sender.email}  {sender.name or '-'}  {state}"


class SenderCommand(XSenderCommand):
    """A command about one sender of the `--user` tenant, named by its public id."""

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sender", metavar="SENDER_ID", help="sender_… (see xsender:sender:list).")
        add_user_argument(parser)

    def sender(self, options: dict[str, Any]) -> Sender:
        """The tenant's sender. Raises NotFound for an unknown user, and "Sender not found." for a malformed,
        missing or another tenant's id."""
        return selectors.sender_of(user=tenant(options), public_id=options["sender"])
