"""The contract between XSender and a provider.

Outbound — `Backend(gateway).send(messages) -> list[SendResult]`, one result per message, then `close()`:

- `messages` are `OutgoingMessage`s: the attributes below, nothing else (a `messaging.models.Message` row, or
  `gateways.services.ProbeMessage` for the admin's test send);
- a result says `ok` (with the provider's message id), or not ok and `transient` (worth retrying later) or
  permanent, or `unknown` (the call may have reached the provider and its answer was lost). A backend reports
  what happened; whether to retry, fail or refund is the delivery's decision, not the backend's;
- isolation is per message: anything that goes wrong building or sending one message (a line break in a
  header, an encoding error, an attachment that cannot be fetched, a refused media URL, a config key missing,
  an answer the backend did not expect) fails that message alone, permanently, with its reason;
- only a gateway-wide failure (connection refused, credentials refused) raises `BackendError`: before the
  first message was handed over, the whole batch fails with it; part-way, see `send_each`;
- a URL handed to a provider that downloads it itself passes the address rules first (`check_handoff_url`);
  attachments are fetched by us through the safe fetcher, once per URL between `send()` and `close()`.

Inbound — for provider webhooks: `verify(request)` says whether a request really comes from the provider for
this gateway (default: no, an unverifiable source is refused), and `parse_events(request)` turns it into
`ProviderEvent`s (default: none). A backend that receives events overrides both.
"""

from __future__ import annotations

import html
import logging
import re
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formataddr
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMessage, EmailMultiAlternatives
from django.utils.html import strip_tags

from xsender.addresses import AddressRefused, check_url
from xsender.errors import ValidationFailed
from xsender.fetch import FetchedFile, FetchError, safe_fetch

if TYPE_CHECKING:
    from django.http import HttpRequest

    from gateways.models import Gateway

logger = logging.getLogger(__name__)

SECRET_MASK = "********"  # how a stored secret is shown back, and what "keep the stored secret" is written as

# A backend keeps at most this many fetched attachments' worth of bytes for reuse within a batch.
ATTACHMENT_CACHE_FILES = 5

EventStatus = Literal["Sent", "Delivered", "Opened", "Clicked", "Bounced", "Complained", "Failed"]
EVENT_STATUSES: tuple[str, ...] = EventStatus.__args__  # type: ignore[attr-defined]


@runtime_checkable
class OutgoingMessage(Protocol):
    """What a backend may read of a message. A backend also reads, with getattr (a test send has none of them):
    `from_email` (email: the From address instead of the gateway's, "" = the gateway's), `text_body` (email: the
    text/plain part of an HTML body, "" = derived from the HTML) and `whatsapp_template` (WhatsApp: an approved
    template {"name", "language", "components"}, None = a text or media message)."""

    uid: uuid.UUID
    channel: str
    recipient: str
    subject: str
    body: str
    sender_name: str
    reply_to: str  # email: where replies go ("" = the sender)
    list_unsubscribe: str  # email: our one-click unsubscribe URL ("" = no List-Unsubscribe headers)
    sms_type: str
    media: str
    media_url: str
    attachments: list[dict[str, str]]


@dataclass
class SendResult:
    uid: uuid.UUID | None
    ok: bool
    provider_message_id: str = ""
    transient: bool = False
    error: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    unknown: bool = False  # the call may have reached the provider and its answer was lost


@dataclass(frozen=True)
class ProviderEvent:
    """One delivery event a provider reported about one of its messages.

    `status` None records the event without moving the message (a deferral, an unsubscribe); `kind` names the
    event row (default: the status in lower case); `suppress` (a messaging Suppression reason: bounce,
    complaint, opt_out) blocks the recipient for the message's tenant; `error` is the provider's reason."""

    provider_message_id: str
    status: EventStatus | None
    occurred_at: datetime | None
    detail: dict[str, Any]
    event_id: str  # the provider's id of this event, to drop a repeated delivery of it
    kind: str = ""
    suppress: str = ""
    error: str = ""

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in EVENT_STATUSES:
            raise ValueError(f"Unknown event status {self.status!r}; one of {', '.join(EVENT_STATUSES)}.")
        if self.status is None and not self.kind:
            raise ValueError("An event that moves nothing needs a kind.")


@dataclass(frozen=True)
class InboundEvent:
    """A message a customer sent to the gateway's number (WhatsApp, SMS)."""

    sender: str
    body: str
    occurred_at: datetime | None
    detail: dict[str, Any]
    event_id: str
    provider_message_id: str = ""
    media_type: str = ""  # image, video, audio, document, … ("" for text)
    media_url: str = ""  # where the provider serves the media (or its media id)


@dataclass(frozen=True)
class ConnectionEvent:
    """The provider's session for this gateway changed state (a WhatsApp Web bridge's WORKING, STOPPED …)."""

    state: str
    detail: dict[str, Any]
    event_id: str
    connected: bool = False


WebhookEvent = ProviderEvent | InboundEvent | ConnectionEvent


class BackendError(Exception):
    """A failure beyond one message (connection refused, auth failed). `permanent` says whether retrying can
    help; `in_flight` says the message being sent may have reached the provider (its outcome is unknown)."""

    def __init__(self, message: str, permanent: bool = False, in_flight: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.in_flight = in_flight


class MessageRefused(Exception):
    """This one message cannot be sent as it is (bad content, a refused URL). It fails alone, permanently."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_handoff_url(url: str, what: str = "Media URL") -> None:
    """Raises MessageRefused unless `url` passes the address rules (resolved and classified, never connected
    to): for URLs a provider downloads from inside its own network."""
    try:
        check_url(url)
    except AddressRefused as exc:
        raise MessageRefused(f"{what} refused: {exc.message}") from None


# A body with an end tag, a line break tag or a document type in it is HTML (the API's and the panel's `message`
# is "HTML or text"); "if a<b and c>d" is text.
HTML_TAG = re.compile(r"</[a-zA-Z][a-zA-Z0-9]*\s*>|<br\s*/?>|<!doctype\s|<html[\s>]", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n\s*(?:\n\s*)+")


def html_to_text(body: str) -> str:
    """The text of an HTML body for its text/plain part: tags removed (Django's strip_tags), entities decoded,
    runs of blank lines made one."""
    return _BLANK_LINES.sub("\n\n", html.unescape(strip_tags(body))).strip()


def check_header_fields(message: OutgoingMessage) -> None:
    """Raises MessageRefused if a field that becomes an email header holds a line break or a NUL."""
    fields = (
        ("subject", message.subject), ("sender_name", message.sender_name), ("reply_to", message.reply_to),
        ("list_unsubscribe", getattr(message, "list_unsubscribe", "")),
        ("from_email", getattr(message, "from_email", "")),
    )  # fmt: skip
    for name, value in fields:
        if any(char in (value or "") for char in "\r\n\0"):
            raise MessageRefused(f"The {name.replace('_', ' ')} contains a line break or NUL: not sent.")


_HEADER = re.compile(r"for header '([\w-]+)'")


def failure_reason(exc: Exception) -> str:
    """Why one message failed, in words safe to show to its sender (never a config value)."""
    if isinstance(exc, MessageRefused):
        return exc.message
    if isinstance(exc, FetchError):
        return f"Attachment not fetched: {exc.message}"
    if isinstance(exc, BadHeaderError):
        header = _HEADER.search(str(exc))
        return f"The {header.group(1) if header else 'header'} header contains a line break: not sent."
    if isinstance(exc, UnicodeError):
        return f"The message cannot be encoded ({type(exc).__name__}): not sent."
    if isinstance(exc, KeyError):
        return f"Cannot build the message: {exc.args[0]!r} is missing."
    return f"Cannot send this message ({type(exc).__name__})."


class Backend:
    """Base of every provider backend (the contract is in this module's docstring).

    `config_schema` maps each config key to (type, required, description); `secret_keys` name the keys never
    shown back; `endpoint_keys` name the keys that decide where (and how) the secrets travel — changing one
    clears the stored secrets unless they are entered again (gateways.services.update_gateway).
    `validate_config` rejects a missing or unknown key with a clear error.
    """

    provider: ClassVar[str]
    channels: ClassVar[tuple[str, ...]]
    # Whether the provider sends WhatsApp approved templates (OutgoingMessage.whatsapp_template); the send path
    # refuses a template item for a gateway whose backend does not, before anything is stored or charged.
    sends_templates: ClassVar[bool] = False
    config_schema: ClassVar[dict[str, tuple[type, bool, str]]] = {}
    secret_keys: ClassVar[tuple[str, ...]] = ()
    endpoint_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.config = dict(gateway.config or {})
        self._fetched: OrderedDict[str, FetchedFile | FetchError] = OrderedDict()

    @classmethod
    def validate_config(cls, config: Any) -> dict[str, Any]:
        if not isinstance(config, dict):
            raise ValidationFailed.single("config", "Config must be a JSON object.")
        errors = []
        for key in config:
            if key not in cls.config_schema:
                known = ", ".join(sorted(cls.config_schema)) or "none"
                errors.append({"field": f"config.{key}", "message": f"Unknown key for {cls.provider}; known: {known}."})
        required = cls.required_keys(config)
        for key, (kind, _required, _doc) in cls.config_schema.items():
            if key not in config:
                if key in required:
                    errors.append({"field": f"config.{key}", "message": f"Required by {cls.provider}."})
                continue
            value = config[key]
            if kind is int and isinstance(value, bool) or not isinstance(value, kind):
                errors.append({"field": f"config.{key}", "message": f"Must be a {kind.__name__}."})
        if errors:
            raise ValidationFailed(errors, message="; ".join(f"{e['field']}: {e['message']}" for e in errors))
        return config

    @classmethod
    def required_keys(cls, config: dict[str, Any]) -> set[str]:
        """The keys `config` cannot do without: those the schema marks required, unless a backend says more
        precisely (the esp backend: per ESP)."""
        return {key for key, (_kind, required, _doc) in cls.config_schema.items() if required}

    @classmethod
    def public_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The config with every secret masked, safe for responses and logs."""
        return {k: (SECRET_MASK if k in cls.secret_keys else v) for k, v in (config or {}).items()}

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        raise NotImplementedError

    def send_each(
        self, messages: Sequence[OutgoingMessage], send_one: Callable[[OutgoingMessage], SendResult]
    ) -> list[SendResult]:
        """Sends one by one through `send_one`, which returns a message's result or raises.

        Any exception but BackendError fails that message alone, permanently, with its reason. A BackendError
        on the first message, not in flight, is raised: nothing was handed over, the batch fails as a whole.
        Part-way, what was sent stays sent, the message in flight has an unknown outcome, and the rest was
        never handed over (transient or permanent as the error says).
        """
        results: list[SendResult] = []
        for index, message in enumerate(messages):
            try:
                results.append(send_one(message))
            except BackendError as exc:
                if not results and not exc.in_flight:
                    raise
                return results + self._stopped(messages[index:], exc)
            except Exception as exc:  # noqa: BLE001 — isolation: what breaks one message fails that message only
                results.append(self._failed(message, exc))
        return results

    def _failed(self, message: OutgoingMessage, exc: Exception) -> SendResult:
        if not isinstance(exc, MessageRefused | FetchError):
            where = traceback.extract_tb(exc.__traceback__)[-1]  # the place, never the text: it may hold a secret
            logger.warning(
                "%s: message %s failed with %s at %s:%s",
                self.gateway.identifier, message.uid, type(exc).__name__, where.filename, where.lineno,
            )  # fmt: skip
        return SendResult(uid=message.uid, ok=False, transient=False, error=failure_reason(exc))

    @staticmethod
    def _stopped(rest: Sequence[OutgoingMessage], exc: BackendError) -> list[SendResult]:
        results = []
        if exc.in_flight:
            error = f"Outcome unknown: {exc.message}"
            results.append(SendResult(uid=rest[0].uid, ok=False, unknown=True, error=error))
            rest = rest[1:]
        return results + [SendResult(uid=m.uid, ok=False, transient=not exc.permanent, error=exc.message) for m in rest]

    def compose_email(
        self,
        message: OutgoingMessage,
        connection: Any,
        headers: dict[str, str] | None = None,
        envelope_sender: str = "",
    ) -> EmailMessage:
        """`message` as a Django EmailMessage From its own `from_email` (a campaign's verified sender) or else the
        gateway's, with the sender name; its Reply-To, its List-Unsubscribe (RFC 2369 + RFC 8058 one-click), its
        text part (its own `text_body`, else the HTML's text) and its attachments (each URL fetched once per
        batch). `envelope_sender` (SMTP): the MAIL FROM address, when it is not the From header's — where bounces
        go. Raises MessageRefused, FetchError."""
        check_header_fields(message)
        unsubscribe = getattr(message, "list_unsubscribe", "")
        if unsubscribe:
            headers = {
                **(headers or {}),
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        author = getattr(message, "from_email", "") or self.config["from_email"]
        sender = formataddr((message.sender_name, author)) if message.sender_name else author
        if envelope_sender and envelope_sender != author:  # Django's SMTP backend uses from_email as MAIL FROM
            headers, sender = {**(headers or {}), "From": sender}, envelope_sender
        reply_to = [message.reply_to] if message.reply_to else None
        if HTML_TAG.search(message.body or ""):  # HTML: sent as HTML, with its text for clients that show only text
            text = getattr(message, "text_body", "") or html_to_text(message.body)
            email = EmailMultiAlternatives(
                message.subject, text, sender, [message.recipient], connection=connection, headers=headers,
                reply_to=reply_to,
            )  # fmt: skip
            email.attach_alternative(message.body, "text/html")
        else:
            email = EmailMessage(
                message.subject, message.body, sender, [message.recipient], connection=connection, headers=headers,
                reply_to=reply_to,
            )  # fmt: skip
        for attachment in message.attachments or []:
            fetched = self.fetch_attachment(attachment["url"])
            email.attach(fetched.filename, fetched.content, fetched.content_type)
        return email

    def fetch_attachment(self, url: str) -> FetchedFile:
        """`url` through the safe fetcher, fetched once between `send()` and `close()` and reused for every
        recipient (a failure too). Raises FetchError."""
        if url not in self._fetched:
            try:
                self._fetched[url] = safe_fetch(url)
            except FetchError as exc:
                self._fetched[url] = exc
            self._trim_attachments()
        self._fetched.move_to_end(url)
        cached = self._fetched[url]
        if isinstance(cached, FetchError):
            raise FetchError(cached.message)
        return cached

    def _trim_attachments(self) -> None:
        """Forgets the least recently used files beyond the cache's size (a few files of the largest size)."""
        budget = ATTACHMENT_CACHE_FILES * settings.XSENDER_FETCH_MAX_BYTES
        while len(self._fetched) > 1:
            held = sum(len(f.content) for f in self._fetched.values() if isinstance(f, FetchedFile))
            if held <= budget and len(self._fetched) <= 1000:
                return
            self._fetched.popitem(last=False)

    def close(self) -> None:
        """Releases what `send` opened (connections, fetched attachments); called once per batch."""
        self._fetched.clear()

    # Set by the webhook receiver when a request came to the provider's site-wide URL (the admin's gateways,
    # secrets from settings where the provider has site-wide ones) rather than to this gateway's own URL.
    site_wide: bool = False

    def verify(self, request: HttpRequest) -> bool:
        """Whether `request` really comes from this gateway's provider. By default nothing is verifiable."""
        return False

    def parse_events(self, request: HttpRequest) -> list[WebhookEvent]:
        """The events a verified `request` reports: message statuses, inbound messages, connection states.
        By default none. Raises ValueError (or KeyError, TypeError) on a body it cannot read."""
        return []

    def answer_challenge(self, request: HttpRequest) -> str | None:
        """The text answering a provider's GET verification of the webhook URL, or None to refuse it."""
        return None


def public_url(request: HttpRequest) -> str:
    """The URL a provider called, as it signs it: XSENDER_BASE_URL + the path (+ the query). Built from our
    setting, never from the request's Host header (which the caller chooses)."""
    query = request.META.get("QUERY_STRING", "")
    return settings.XSENDER_BASE_URL.rstrip("/") + request.path + (f"?{query}" if query else "")


def webhook_url(path: str) -> str:
    """The public URL of one of our webhook paths (`/api/webhook/...`)."""
    return settings.XSENDER_BASE_URL.rstrip("/") + path


def request_sent(exc: BaseException | None) -> bool:
    """Whether a failed HTTP call may have reached the provider: only a failure to connect proves it did not."""
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return False
    return not (isinstance(exc, requests.ConnectionError) and "NewConnectionError" in repr(exc))


class HttpBackend(Backend):
    """A backend speaking JSON over HTTP: one requests.Session per batch, timeouts, no automatic retries
    (a retried POST could send twice; the delivery layer decides about retries)."""

    default_base_url: ClassVar[str] = ""
    timeout: ClassVar[float] = 20.0
    endpoint_keys = ("base_url",)

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway)
        self.base_url = str(self.config.get("base_url") or self.default_base_url).rstrip("/")
        self._session: Any = None

    @property
    def session(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers["User-Agent"] = "XSender/1.0"
        return self._session

    def post(
        self, path: str, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POSTs JSON; returns (status, body as a JSON object). A failed call raises a temporary BackendError,
        in flight unless the connection itself failed."""
        import requests

        try:
            response = self.session.post(
                self.base_url + path, json=payload, headers=headers or {}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise BackendError(
                f"{self.provider}: cannot reach the provider ({type(exc).__name__}).", in_flight=request_sent(exc)
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text[:500]}
        return response.status_code, body if isinstance(body, dict) else {"body": body}

    def close(self) -> None:
        super().close()
        if self._session is not None:
            self._session.close()
            self._session = None
