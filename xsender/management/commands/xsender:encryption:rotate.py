"""Re-encrypts every stored secret with the first key of XSENDER_ENCRYPTION_KEY."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from xsender.commands import XSenderCommand
from xsender.rekey import reencrypt_all


class Command(XSenderCommand):
    help = (
        "Re-encrypt every stored secret (gateway credentials) with the first key of XSENDER_ENCRYPTION_KEY. "
        "Run it after putting a new key first (XSENDER_ENCRYPTION_KEY=new,old); then the old key can go."
    )

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        try:
            counts = reencrypt_all()
        except ValueError as exc:  # a value no configured key opens; the transaction rolls everything back
            raise CommandError(f"Nothing changed. {exc}") from None
        lines = [f"{label}: {count} re-encrypted" for label, count in counts.items()]
        return "\n".join([*lines, "Every value now uses the first key."]), {"reencrypted": counts}
