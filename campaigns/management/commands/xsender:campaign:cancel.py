from campaigns import services
from campaigns.management.common import CampaignAction


class Command(CampaignAction):
    help = "Cancel a campaign not yet finished: unsent messages are withdrawn and the unused credit refunded."
    action = services.cancel_campaign
    done = "cancelled: unsent messages were refunded"
