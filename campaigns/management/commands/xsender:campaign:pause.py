from campaigns import services
from campaigns.management.common import CampaignAction


class Command(CampaignAction):
    help = "Pause a sending campaign: its messages not yet sent are withdrawn and refunded until it is resumed."
    action = services.pause_campaign
    done = "paused: its queued messages were withdrawn"
