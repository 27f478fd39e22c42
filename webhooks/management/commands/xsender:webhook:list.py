from typing import Any

from django.core.management.base import CommandParser

from accounts import services as accounts
from webhooks.models import Endpoint
from xsender.commands import XSenderCommand


class Command(XSenderCommand):
    help = "List webhook endpoints (all, a tenant's with --user, or the admin's with --admin); secrets are not shown."

    def add_command_arguments(self, parser: CommandParser) -> None:
        owner = parser.add_mutually_exclusive_group()
        owner.add_argument("--user", metavar="EMAIL")
        owner.add_argument("--admin", action="store_true")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        endpoints = Endpoint.objects.select_related("user").order_by("created_at")
        if options["admin"]:
            endpoints = endpoints.filter(user__isnull=True)
        elif options["user"]:
            endpoints = endpoints.filter(user=accounts.get_user(options["user"]))
        rows = [
            {"uid": str(e.uid), "owner": e.user.email if e.user else None, "url": e.url, "enabled": e.enabled,
             "event_types": e.event_types, "failing_since": e.failing_since, "disabled_reason": e.disabled_reason}
            for e in endpoints
        ]  # fmt: skip
        lines = [
            f"{r['uid']}  {'on ' if r['enabled'] else 'off'}  {r['owner'] or 'admin'}  {r['url']}  "
            f"({len(r['event_types'])} event types){'  ' + r['disabled_reason'] if r['disabled_reason'] else ''}"
            for r in rows
        ]
        return "\n".join(lines) or "No webhook endpoints.", {"endpoints": rows}
