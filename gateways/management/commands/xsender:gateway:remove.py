from typing import Any

from django.core.management.base import CommandParser

from accounts import services as accounts
from gateways import services
from gateways.models import Gateway
from xsender.commands import XSenderCommand
from xsender.errors import GatewayNotFound


class Command(XSenderCommand):
    help = (
        "Remove a gateway (an admin gateway, or a user's with --owner). Refused while messages are queued for it "
        "unless --force, which fails them with the reason and refunds their senders."
    )

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("identifier")
        parser.add_argument(
            "--owner", metavar="EMAIL", help="The user whose gateway it is (default: an admin gateway)."
        )
        parser.add_argument("--force", action="store_true", help="Fail and refund its queued messages, then remove it.")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        owner = accounts.get_user(options["owner"]) if options["owner"] else None
        gateway = Gateway.objects.filter(owner=owner, identifier=options["identifier"]).first()
        if gateway is None:
            whose = f"{owner.email}'s" if owner else "admin"
            raise GatewayNotFound(f"No {whose} gateway named {options['identifier']!r}.")
        uid = str(gateway.uid)
        services.remove_gateway(gateway=gateway, force=options["force"])
        return f"Gateway {options['identifier']} removed.", {"removed": uid, "identifier": options["identifier"]}
