from typing import Any

from django.core.management.base import CommandParser

from accounts import services
from accounts.models import CHANNELS
from xsender.commands import XSenderCommand, positive_int


class Command(XSenderCommand):
    help = "Add credits to a user's channel balance (recorded in the ledger)."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("channel", choices=CHANNELS)
        parser.add_argument("amount", type=positive_int)

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        user = services.get_user(options["email"])
        services.add_credits(user=user, channel=options["channel"], amount=options["amount"], note="manage.py topup")
        balance = services.balances(user)[options["channel"]]
        data = {"email": user.email, "channel": options["channel"], "added": options["amount"], "balance": balance}
        return f"Added {options['amount']} {options['channel']} credits to {user.email}; balance {balance}.", data
