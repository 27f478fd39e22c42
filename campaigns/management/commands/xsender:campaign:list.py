from typing import Any

from django.core.management.base import CommandParser

from campaigns import selectors
from campaigns.management.common import add_user_argument, campaign_data, campaign_line, tenant
from campaigns.models import CampaignStatus
from xsender.commands import XSenderCommand


class Command(XSenderCommand):
    help = "List a tenant's campaigns, newest first: status, recipients, messages, cost, reserved credits, schedule."

    def add_command_arguments(self, parser: CommandParser) -> None:
        add_user_argument(parser)
        parser.add_argument("--status", choices=CampaignStatus.values, help="Only the campaigns in this state.")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        campaigns = list(selectors.campaigns_of(tenant(options), status=options["status"]).order_by("-id"))
        text = "\n".join(campaign_line(c) for c in campaigns) or "No campaigns."
        return text, {"campaigns": [campaign_data(c) for c in campaigns]}
