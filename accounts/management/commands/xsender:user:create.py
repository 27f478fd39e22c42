from typing import Any

from django.core.management.base import CommandParser

from accounts import services
from xsender.commands import XSenderCommand


class Command(XSenderCommand):
    help = "Create a user (a superuser with --admin), assign a plan, and print their new API key once."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="")
        parser.add_argument("--password", default=None, help="Panel password (omit for an API-only user).")
        parser.add_argument("--plan", default=None, metavar="SLUG")
        parser.add_argument("--admin", action="store_true", help="Create a superuser: its key is the admin-scope key.")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        plan = services.get_plan(options["plan"]) if options["plan"] else None
        user, key = services.create_user(
            email=options["email"],
            name=options["name"],
            password=options["password"],
            plan=plan,
            admin=options["admin"],
        )
        data = {"id": user.pk, "email": user.email, "plan": plan.slug if plan else None, "api_key": key}
        kind = "Admin" if user.is_superuser else "User"
        text = f"{kind} {user.email} created (id {user.pk}, plan {data['plan'] or '-'}).\nAPI key (shown once): {key}"
        return text, data
