from typing import Any

from django.core.management.base import CommandParser

from accounts import services as accounts
from webhooks import services
from webhooks.choices import EVENT_TYPES
from xsender.commands import XSenderCommand


class Command(XSenderCommand):
    help = (
        "Register a webhook endpoint for a tenant (--user) or for the admin key's traffic (--admin) and print its "
        "signing secret once."
    )

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="https URL (http only with XSENDER_ALLOW_INSECURE_HTTP).")
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--user", metavar="EMAIL", help="The tenant whose events it receives.")
        owner.add_argument("--admin", action="store_true", help="Receives the admin key's traffic.")
        parser.add_argument(
            "--events", default=",".join(EVENT_TYPES), metavar="TYPES",
            help="Comma-separated event types (default: all): " + ", ".join(EVENT_TYPES),
        )  # fmt: skip
        parser.add_argument("--description", default="")
        parser.add_argument("--disabled", action="store_true", help="Register it switched off.")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        owner = None if options["admin"] else accounts.get_user(options["user"])
        endpoint, secret = services.add_endpoint(
            owner=owner, url=options["url"], description=options["description"], enabled=not options["disabled"],
            event_types=[t.strip() for t in options["events"].split(",") if t.strip()],
        )  # fmt: skip
        data = {"uid": str(endpoint.uid), "url": endpoint.url, "owner": owner.email if owner else None,
                "event_types": endpoint.event_types, "enabled": endpoint.enabled, "secret": secret}  # fmt: skip
        text = (
            f"Endpoint {endpoint.uid} added for {data['owner'] or 'the admin'}.\nSigning secret (shown once): {secret}"
        )
        return text, data
