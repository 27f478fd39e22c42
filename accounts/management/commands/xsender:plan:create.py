from typing import Any

from django.core.management.base import CommandParser

from accounts import services
from xsender.commands import XSenderCommand, credit_amount, positive_int


class Command(XSenderCommand):
    help = "Create a plan with per-channel credit grants (-1 = unlimited) and an API rate limit."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        for channel in ("email", "sms", "whatsapp"):
            parser.add_argument(f"--{channel}-credits", type=credit_amount, default=0, metavar="N")
        parser.add_argument("--rate-limit", type=positive_int, default=60, metavar="N", help="Requests per minute.")
        parser.add_argument("--duration-days", type=positive_int, default=0, metavar="N", help="0 = never expires.")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        plan = services.create_plan(
            data=services.PlanInput(
                slug=options["slug"],
                name=options["name"],
                email_credits=options["email_credits"],
                sms_credits=options["sms_credits"],
                whatsapp_credits=options["whatsapp_credits"],
                rate_limit_per_minute=options["rate_limit"],
                duration_days=options["duration_days"],
            )
        )
        data = {
            "id": plan.pk,
            "slug": plan.slug,
            "name": plan.name,
            "email_credits": plan.email_credits,
            "sms_credits": plan.sms_credits,
            "whatsapp_credits": plan.whatsapp_credits,
            "rate_limit": plan.rate_limit_per_minute,
            "duration_days": plan.duration_days,
        }
        return f"Plan {plan.slug} created.", data
