"""SMTP: Django's SMTP EmailBackend, one connection per batch.

Reply codes (RFC 5321 §4.2.1): 4xx is a temporary failure (retry), 5xx a permanent one (fail the message).
A message that cannot be built (a line break in a header, an attachment not fetched) fails alone: it is
refused before any of its bytes reach the server, so the connection carries on with the next one.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.utils import make_msgid
from typing import TYPE_CHECKING

from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend

from gateways.backends.base import Backend, BackendError, OutgoingMessage, SendResult

if TYPE_CHECKING:
    from gateways.models import Gateway


class SmtpBackend(Backend):
    provider = "smtp"
    channels = ("email",)
    config_schema = {
        "host": (str, True, "SMTP server host name."),
        "port": (int, False, "Port (default 587; 465 with use_ssl; 25 for plain relays)."),
        "username": (str, False, "Login user, if the server requires authentication."),
        "password": (str, False, "Login password."),
        "use_tls": (bool, False, "STARTTLS after connecting (default: true on port 587)."),
        "use_ssl": (bool, False, "Implicit TLS from the first byte (port 465)."),
        "timeout": (int, False, "Seconds before a stalled connection is abandoned (default 30)."),
        "from_email": (str, True, "Envelope sender, and From unless a campaign names a verified sender."),
    }
    secret_keys = ("password",)
    # Where the password goes, and whether it travels encrypted.
    endpoint_keys = ("host", "port", "use_tls", "use_ssl")

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway)
        self.connection: EmailBackend | None = None

    def _connect(self) -> EmailBackend:
        if not self.config.get("host") or not self.config.get("from_email"):
            raise BackendError("The SMTP gateway's config lacks host or from_email.", permanent=True)
        port = int(self.config.get("port", 465 if self.config.get("use_ssl") else 587))
        connection = EmailBackend(
            host=self.config["host"],
            port=port,
            username=self.config.get("username", ""),
            password=self.config.get("password", ""),
            use_tls=bool(self.config.get("use_tls", port == 587 and not self.config.get("use_ssl"))),
            use_ssl=bool(self.config.get("use_ssl", False)),
            timeout=int(self.config.get("timeout", 30)),
            fail_silently=False,
        )
        try:
            connection.open()
        except smtplib.SMTPAuthenticationError:
            raise BackendError("SMTP authentication failed: check the gateway's username and password.", permanent=True)
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            raise BackendError(f"Cannot connect to the SMTP server: {type(exc).__name__}.") from None
        return connection

    def _email(self, message: OutgoingMessage, connection: EmailBackend) -> EmailMessage:
        # The gateway's own address stays the envelope sender (MAIL FROM, the Return-Path) even when the From
        # header is a campaign's verified sender: bounces come back to the mailbox the gateway's owner reads, and
        # SPF is checked against the gateway's domain, the one its server is allowed to send for.
        domain = self.config["from_email"].rpartition("@")[2] or None
        return self.compose_email(
            message,
            connection,
            headers={"Message-ID": make_msgid(domain=domain)},
            envelope_sender=self.config["from_email"],
        )

    def _send_one(self, message: OutgoingMessage) -> SendResult:
        if self.connection is None:  # lost after an earlier message of this batch
            self.connection = self._connect()
        email = self._email(message, self.connection)
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            return SendResult(
                uid=message.uid, ok=False, transient=400 <= code < 500, error=f"{code} {reply.decode(errors='replace')}"
            )
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            return SendResult(
                uid=message.uid, ok=False, transient=400 <= exc.smtp_code < 500, error=f"{exc.smtp_code} {text}"
            )
        except smtplib.SMTPNotSupportedError:
            return SendResult(uid=message.uid, ok=False, error="The SMTP server cannot take this address (SMTPUTF8).")
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self._close_connection()
            raise BackendError(f"SMTP connection lost during the send: {type(exc).__name__}.", in_flight=True) from None
        except Exception:
            self._reset()  # whatever broke this message, the next one starts a clean SMTP transaction
            raise
        return SendResult(uid=message.uid, ok=True, provider_message_id=email.extra_headers.get("Message-ID", ""))

    def _reset(self) -> None:
        smtp = self.connection.connection if self.connection is not None else None
        if smtp is None:
            return
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._close_connection()

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        if self.connection is None:
            self.connection = self._connect()
        try:
            return self.send_each(messages, self._send_one)
        finally:
            if self.connection is not None and self.connection.connection is None:
                self._close_connection()

    def close(self) -> None:
        super().close()
        self._close_connection()

    def _close_connection(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None
