import json
from typing import Any

from django.core.management.base import CommandParser

from accounts import services as accounts
from accounts.models import CHANNELS
from gateways import services
from gateways.selectors import gateway_summary
from xsender.commands import XSenderCommand
from xsender.errors import ValidationFailed


class Command(XSenderCommand):
    help = "Add a gateway for a user (--owner) or for the admin (--admin); config is JSON, validated by the provider."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("channel", choices=CHANNELS)
        parser.add_argument("provider")
        parser.add_argument("identifier", help="What gateway_identifier / session_name will name.")
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--owner", metavar="EMAIL")
        owner.add_argument("--admin", action="store_true", help="An admin gateway (shareable with users).")
        parser.add_argument(
            "--config", default="{}", help='Provider settings as JSON, e.g. \'{"host": "smtp.example.com"}\'.'
        )
        parser.add_argument("--name", default="")
        parser.add_argument("--default", action="store_true", help="The owner's default gateway of this channel.")
        parser.add_argument("--share-with", nargs="+", default=[], metavar="EMAIL")
        parser.add_argument("--retry-unknown-outcome", action="store_true")
        parser.add_argument(
            "--connections", type=int, default=2, help="Connections a worker opens to the provider at once (1-16)."
        )

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        try:
            config = json.loads(options["config"])
        except json.JSONDecodeError as exc:
            raise ValidationFailed.single("config", f"--config is not valid JSON ({exc.msg}).") from None
        gateway = services.add_gateway(
            owner=None if options["admin"] else accounts.get_user(options["owner"]),
            channel=options["channel"],
            provider=options["provider"],
            identifier=options["identifier"],
            name=options["name"],
            config=config,
            is_default=options["default"],
            share_with=[accounts.get_user(email) for email in options["share_with"]],
            retry_unknown_outcome=options["retry_unknown_outcome"],
            connections=options["connections"],
        )
        return (
            f"Gateway {gateway.identifier} added ({gateway.channel}/{gateway.provider}, uid {gateway.uid}).",
            gateway_summary(gateway),
        )
