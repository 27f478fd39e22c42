from campaigns import services
from campaigns.management.common import CampaignAction


class Command(CampaignAction):
    help = "Resume a paused campaign from the first recipient without a message (reserving what the pause gave back)."
    action = services.resume_campaign
    done = "resumed"
