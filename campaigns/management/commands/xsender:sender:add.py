from typing import Any

from django.core.management.base import CommandParser

from campaigns import senders
from campaigns.management.common import add_user_argument, sender_data, sender_line, tenant
from xsender.commands import XSenderCommand


class Command(XSenderCommand):
    help = (
        "Add a from-address for a tenant's email campaigns and email it the confirmation link; the sender can be "
        f"used once someone who reads that mailbox confirms it (within {senders.CONFIRM_HOURS} hours)."
    )

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The from-address.")
        add_user_argument(parser)
        parser.add_argument("--name", default="", help="The display name shown with the address.")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        sender = senders.add_sender(owner=tenant(options), email=options["email"], name=options["name"])
        text = f"Sender added; confirmation link sent to {sender.email}.\n{sender_line(sender)}"
        return text, {"sender": sender_data(sender)}
