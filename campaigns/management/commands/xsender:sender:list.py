from typing import Any

from django.core.management.base import CommandParser

from campaigns import selectors
from campaigns.management.common import add_user_argument, sender_data, sender_line, tenant
from xsender.commands import XSenderCommand


class Command(XSenderCommand):
    help = "List a tenant's senders (from-addresses) and whether each is verified."

    def add_command_arguments(self, parser: CommandParser) -> None:
        add_user_argument(parser)

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        rows = list(selectors.senders_of(tenant(options)))
        return "\n".join(sender_line(s) for s in rows) or "No senders.", {"senders": [sender_data(s) for s in rows]}
