import json
from typing import Any

from django.core.management.base import CommandParser

from gateways.transfer import export_settings
from xsender.commands import XSenderCommand


class Command(XSenderCommand):
    help = (
        "Print plans, gateways and site settings as one JSON document (gateway secrets masked unless --with-secrets)."
    )
    json_option = False

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--with-secrets", action="store_true", help="Include gateway credentials in clear.")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        document = export_settings(with_secrets=options["with_secrets"])
        return json.dumps(document, indent=2, sort_keys=True, default=str), document
