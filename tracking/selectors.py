"""Which gateways a webhook request may speak for, and which backend verifies and parses it."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from gateways.backends.base import Backend, WebhookEvent
from gateways.backends.esp_webhooks import VIEWS
from gateways.models import Gateway
from xsender.crypto import decrypt_json
from xsender.rows import Columns

# URL (kind, provider) → gateway provider.
ROUTES: dict[tuple[str, str], str] = {
    **{("email", esp): "esp" for esp in VIEWS},
    ("sms", "twilio"): "twilio",
    ("whatsapp", "cloud"): "whatsapp_cloud",
    ("whatsapp", "web"): "whatsapp_web",
}
# Providers with a site-wide URL (the admin's gateways); a WhatsApp Web bridge has one URL per gateway.
SITE_WIDE = {"esp", "twilio", "whatsapp_cloud"}
MAX_SITE_GATEWAYS = 50  # the admin's gateways tried against one site-wide request


@dataclass
class Target:
    """The gateways a request may speak for. `shared`: one verification (site-wide ESP secrets from settings)
    stands for all of them; otherwise each gateway's own secret is tried."""

    scope: str
    home: Gateway | None
    candidates: list[tuple[Gateway, Backend]]
    shared: Backend | None = None
    parser: Backend | None = field(default=None, init=False)

    def verify(self, request: Any) -> list[Gateway] | None:
        """The gateways whose secrets verify `request`, or None when none does."""
        if self.shared is not None:
            self.parser = self.shared if self.shared.verify(request) else None
            return [g for g, _ in self.candidates] if self.parser else None
        verified = [(g, b) for g, b in self.candidates if b.verify(request)]
        if not verified:
            return None
        self.parser = verified[0][1]
        self.home = self.home or verified[0][0]
        return [g for g, _ in verified]

    def parse(self, request: Any) -> list[WebhookEvent]:
        assert self.parser is not None  # verify() first
        return self.parser.parse_events(request)

    def challenge(self, request: Any) -> str | None:
        for _, backend in self.candidates:
            answer = backend.answer_challenge(request)
            if answer is not None:
                return answer
        return None


# Every webhook request reads its gateway: one prepared statement (no ORM compiling), and the config decrypted
# once per stored value. The cache is keyed by the ciphertext itself: any change of the config (or a key
# rotation) stores a new ciphertext, so a changed secret is never served from here.
_GATEWAY = Columns(Gateway, "g", [f.name for f in Gateway._meta.concrete_fields if f.name != "config"])
_BY_UID = f"SELECT {_GATEWAY.sql}, g.config FROM gateways_gateway g WHERE g.uid = %s AND g.provider = %s"  # noqa: S608
_SITE = (
    f"SELECT {_GATEWAY.sql}, g.config FROM gateways_gateway g "  # noqa: S608 — column names only
    "WHERE g.owner_id IS NULL AND g.provider = %s ORDER BY g.id LIMIT %s"
)
CONFIG_CACHE_SIZE = 1024
_configs: OrderedDict[str, dict[str, Any]] = OrderedDict()
_configs_lock = threading.Lock()


def _config(ciphertext: str | None) -> dict[str, Any]:
    if not ciphertext:
        return {}
    with _configs_lock:
        config = _configs.get(ciphertext)
        if config is not None:
            _configs.move_to_end(ciphertext)
            return dict(config)
    config = decrypt_json(ciphertext) or {}
    with _configs_lock:
        _configs[ciphertext] = config
        while len(_configs) > CONFIG_CACHE_SIZE:
            _configs.popitem(last=False)
    return dict(config)


def _gateways(sql: str, params: list[Any]) -> list[Gateway]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    gateways = []
    for row in rows:
        gateway = _GATEWAY.build(row[:-1])
        gateway.config = _config(row[-1])
        gateways.append(gateway)
    return gateways


def _backend(gateway: Gateway, site_wide: bool) -> Backend:
    backend = gateway.backend()
    backend.site_wide = site_wide
    return backend


def webhook_target(*, kind: str, provider: str, gateway_uid: uuid.UUID | None) -> Target | None:
    """The target of /api/webhook/{kind}/{provider}[/{gateway_uid}], or None (404)."""
    name = ROUTES.get((kind, provider))
    if name is None:
        return None
    if gateway_uid is not None:
        found = _gateways(_BY_UID, [gateway_uid, name])
        gateway = found[0] if found else None
        if gateway is None or (name == "esp" and gateway.config.get("esp") != provider):
            return None
        return Target(scope=f"gateway:{gateway.uid}", home=gateway, candidates=[(gateway, _backend(gateway, False))])
    if name not in SITE_WIDE:
        return None
    admin = _gateways(_SITE, [name, MAX_SITE_GATEWAYS])
    if name == "esp":
        mine = [g for g in admin if g.config.get("esp") == provider]
        probe = Gateway(provider="esp", channel="email", identifier=f"site-{provider}", config={"esp": provider})
        return Target(scope=f"site:{provider}", home=None, candidates=[(g, g.backend()) for g in mine],
                      shared=_backend(probe, True))  # fmt: skip
    return Target(scope=f"site:{provider}", home=None, candidates=[(g, _backend(g, True)) for g in admin])
