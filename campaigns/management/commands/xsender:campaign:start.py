from campaigns import services
from campaigns.management.common import CampaignAction


class Command(CampaignAction):
    help = (
        "Start a draft or scheduled campaign now: its audience is resolved and the credit for all of it reserved "
        "in one ledger entry (refused, naming the shortfall, when the balance falls short)."
    )
    action = services.start_campaign
    done = "started"
