from typing import Any

from django.core.management.base import CommandParser

from campaigns import services
from campaigns.management.common import CampaignCommand, campaign_data, campaign_line, schedule_time, server_time
from campaigns.models import CampaignStatus


class Command(CampaignCommand):
    help = (
        "Schedule a draft or scheduled campaign for a time (default: the time it was given); a time not ahead "
        "starts it now. The credit for its audience is checked now and reserved when it starts."
    )

    def add_command_arguments(self, parser: CommandParser) -> None:
        super().add_command_arguments(parser)
        parser.add_argument(
            "--at", type=schedule_time, metavar='"Y-m-d H:i:s"',
            help="On the server's clock (TIME_ZONE), or ISO 8601 with an offset; with the campaign's "
            "'each contact's time zone', the wall-clock time in each contact's zone.",
        )  # fmt: skip

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        _, campaign = self.campaign(options)
        campaign = services.schedule_campaign(campaign=campaign, schedule_at=options["at"])
        if campaign.status == CampaignStatus.SCHEDULED:
            done = f"scheduled for {server_time(campaign.schedule_at)}"
        else:
            done = "started"
        text = f"Campaign {campaign.public_id} “{campaign.name}” {done}.\n{campaign_line(campaign)}"
        return text, {"campaign": campaign_data(campaign)}
