from typing import Any

from django.core.management.base import CommandParser

from accounts import services
from xsender.commands import XSenderCommand


class Command(XSenderCommand):
    help = "Assign a plan to a user and grant its credits through the ledger."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("slug")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        user = services.get_user(options["email"])
        plan = services.get_plan(options["slug"])
        services.assign_plan(user=user, plan=plan)
        credits = services.balances(user)
        data = {"email": user.email, "plan": plan.slug, "credits": credits}
        text = f"Plan {plan.slug} assigned to {user.email}. Credits: " + ", ".join(
            f"{ch} {'unlimited' if n == -1 else n}" for ch, n in credits.items()
        )
        return text, data
