from typing import Any

from django.core.management.base import CommandParser

from accounts import services
from xsender.commands import XSenderCommand


class Command(XSenderCommand):
    help = "Revoke a user's API keys and print a new one (shown once)."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        user = services.get_user(options["email"])
        key, raw = services.rotate_api_key(user=user)
        return f"Old keys revoked for {user.email}.\nNew API key (shown once): {raw}", {
            "email": user.email,
            "api_key": raw,
            "prefix": key.prefix,
        }
