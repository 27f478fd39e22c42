"""SMTP: Django's SMTP EmailBackend, one connection per batch.

Reply codes (RFC 5321 §4.2.1): 4xx is a temporary failure (retry), 5xx a permanent one (fail the message).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.utils import formataddr, make_msgid
from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend

from gateways.backends.base import Backend, BackendError, SendResult


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
        "from_email": (str, True, "Envelope and header sender, e.g. noreply@example.com."),
    }
    secret_keys = ("password",)

    def __init__(self, gateway: Any) -> None:
        super().__init__(gateway)
        self.connection: EmailBackend | None = None

    def _connect(self) -> EmailBackend:
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

    def _email(self, message: Any, connection: EmailBackend) -> EmailMessage:
        sender = self.config["from_email"]
        if message.sender_name:
            sender = formataddr((message.sender_name, sender))
        domain = self.config["from_email"].rpartition("@")[2] or None
        headers = {"Message-ID": make_msgid(domain=domain)}
        email = EmailMessage(
            message.subject, message.body, sender, [message.recipient], connection=connection, headers=headers
        )
        for attachment in message.attachments or []:
            from xsender.fetch import safe_fetch

            fetched = safe_fetch(attachment["url"])
            email.attach(fetched.filename, fetched.content, fetched.content_type)
        return email

    def _send_one(self, message: Any, connection: EmailBackend) -> SendResult:
        try:
            email = self._email(message, connection)
        except Exception as exc:  # noqa: BLE001 — a fetch failure fails this message only, with its reason
            return SendResult(uid=message.uid, ok=False, error=f"Attachment not fetched: {exc}")
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
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise BackendError(f"SMTP connection lost during the send: {type(exc).__name__}.", in_flight=True) from None
        return SendResult(uid=message.uid, ok=True, provider_message_id=email.extra_headers.get("Message-ID", ""))

    def send(self, messages: Sequence[Any]) -> list[SendResult]:
        if self.connection is None:
            self.connection = self._connect()
        try:
            return self.send_each(messages, lambda message: self._send_one(message, self.connection))
        finally:
            if self.connection is not None and self.connection.connection is None:
                self.close()

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None
