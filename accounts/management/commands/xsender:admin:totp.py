from typing import Any

from django.core.management.base import CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from xsender.commands import XSenderCommand
from xsender.errors import ValidationFailed


class Command(XSenderCommand):
    help = "Enrol a TOTP authenticator for a staff user (the admin login asks for its code when XSENDER_ADMIN_2FA)."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        user = services.get_user(options["email"])
        if not user.is_staff:
            raise ValidationFailed.single("email", f"{user.email} is not staff: only admins log in to the admin site.")
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        text = f"Add this to the authenticator app of {user.email} (replaces any earlier one):\n{device.config_url}"
        return text, {"email": user.email, "otpauth_url": device.config_url}
