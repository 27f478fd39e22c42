import io
from typing import Any

import qrcode
from django.core.management.base import CommandParser

from accounts import services as accounts
from devices import services
from xsender.commands import XSenderCommand, positive_int


class Command(XSenderCommand):
    help = "Create a one-time pairing token for a user's Android phone (shown as a QR code, or --json for MDM tools)."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--ttl", type=positive_int, default=None, metavar="MINUTES", help="Lifetime (default 10).")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        user = accounts.get_user(options["email"])
        row, token = services.create_pairing_token(user=user, ttl_minutes=options["ttl"])
        payload = services.pairing_payload(token)
        qr = qrcode.QRCode(border=1)
        qr.add_data(payload)
        art = io.StringIO()
        qr.print_ascii(out=art, invert=True)
        data = {
            "email": user.email,
            "pairing_token": token,
            "expires_at": row.expires_at.isoformat(),
            "qr_payload": payload,
        }
        text = f"{art.getvalue()}\nPairing token for {user.email} (single use, expires {row.expires_at:%Y-%m-%d %H:%M %Z}):\n{token}"
        return text, data
