from typing import Any

from campaigns import senders
from campaigns.management.common import SenderCommand, sender_data, sender_line


class Command(SenderCommand):
    help = (
        "Email an unverified sender a new confirmation link (the previous link stops working); refused for a "
        "verified one."
    )

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        sender = senders.resend_confirmation(sender=self.sender(options))
        text = f"New confirmation link sent to {sender.email}.\n{sender_line(sender)}"
        return text, {"sender": sender_data(sender)}
