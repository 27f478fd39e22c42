import uuid
from typing import Any

from django.core.management.base import CommandParser

from webhooks import services
from webhooks.models import Endpoint
from xsender.commands import XSenderCommand
from xsender.errors import NotFound


class Command(XSenderCommand):
    help = "Remove a webhook endpoint (with its deliveries and their log)."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("uid", help="The endpoint's uid (see xsender:webhook:list).")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        try:
            endpoint = Endpoint.objects.get(uid=uuid.UUID(options["uid"]))
        except (ValueError, Endpoint.DoesNotExist):
            raise NotFound(f"No webhook endpoint {options['uid']!r}.") from None
        services.remove_endpoint(endpoint=endpoint)
        return f"Endpoint {options['uid']} removed.", {"uid": options["uid"], "removed": True}
