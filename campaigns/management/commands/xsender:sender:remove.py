from typing import Any

from campaigns import senders
from campaigns.management.common import SenderCommand, sender_data


class Command(SenderCommand):
    help = "Remove a tenant's sender (refused while a campaign names it)."

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        sender = self.sender(options)
        data = sender_data(sender)
        senders.remove_sender(sender=sender)
        return f"Sender {data['id']} ({data['email']}) removed.", {"sender": data, "removed": True}
