"""Which gateways a principal may use. Every lookup of a gateway by a tenant goes through here."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.models import User
from gateways.backends import get_backend_class
from gateways.models import Gateway
from xsender.errors import NotFound
from xsender.rows import Columns


def visible_gateways(user: User) -> QuerySet[Gateway]:
    """An admin (superuser) sees the admin gateways; a user sees their own plus those shared with them."""
    if user.is_superuser:
        return Gateway.objects.filter(owner__isnull=True)
    return Gateway.objects.filter(Q(owner=user) | Q(shared_with=user)).distinct()


def own_gateways(user: User) -> QuerySet[Gateway]:
    """The gateways `user` owns (the panel edits only these)."""
    return Gateway.objects.filter(owner=user) if user.pk is not None else Gateway.objects.none()


def own_gateway(*, user: User, uid: Any) -> Gateway:
    """The user's own gateway `uid`; NotFound for another's, a shared one, or none."""
    try:
        gateway = own_gateways(user).filter(uid=uuid.UUID(str(uid))).first()
    except ValueError:
        gateway = None
    if gateway is None:
        raise NotFound("Gateway not found.")
    return gateway


def shared_gateways(user: User) -> QuerySet[Gateway]:
    """The admin gateways shared with `user` (usable, not editable by them)."""
    return Gateway.objects.filter(owner__isnull=True, shared_with=user).distinct()


# What the send path reads of a gateway (its config, encrypted, stays unread: deferred).
_ROUTING = Columns(Gateway, "g", ["id", "uid", "owner", "channel", "provider", "identifier", "is_default", "status"])
_VISIBLE = {  # the rule of visible_gateways, in the one statement the send path runs on every request
    "admin": "g.owner_id IS NULL",
    "user": "(g.owner_id = %(user)s OR EXISTS (SELECT 1 FROM gateways_gateway_shared_with s "
    "WHERE s.gateway_id = g.id AND s.user_id = %(user)s))",
}


def usable_gateways(user: User, channel: str) -> list[Gateway]:
    """Active gateways of `channel` the user may send through (those `visible_gateways` shows), own ones first,
    default first among them. One prepared statement, the config left unread."""
    where = _VISIBLE["admin" if user.is_superuser else "user"]
    sql = (
        f"SELECT {_ROUTING.sql} FROM gateways_gateway g "  # noqa: S608 — constant SQL, values as parameters
        f"WHERE g.channel = %(channel)s AND g.status = %(active)s AND {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"channel": channel, "active": Gateway.Status.ACTIVE, "user": user.pk})
        gateways = [_ROUTING.build(row) for row in cursor.fetchall()]
    return sorted(gateways, key=lambda g: (g.owner_id != user.pk, not g.is_default, g.pk))


def default_gateway(gateways: list[Gateway]) -> Gateway | None:
    """Among `usable_gateways`: the default one, else the only one, else none."""
    return next((g for g in gateways if g.is_default), gateways[0] if len(gateways) == 1 else None)


def gateways_by_identifier(gateways: list[Gateway]) -> dict[str, Gateway]:
    """Among `usable_gateways` (own first): identifier → gateway, an own gateway winning over a shared one."""
    found: dict[str, Gateway] = {}
    for gateway in gateways:
        found.setdefault(gateway.identifier, gateway)
    return found


def gateway_summary(gateway: Gateway) -> dict[str, object]:
    """A gateway as commands and exports show it: secrets masked."""
    backend = get_backend_class(gateway.provider)
    return {
        "uid": str(gateway.uid),
        "identifier": gateway.identifier,
        "name": gateway.name,
        "channel": gateway.channel,
        "provider": gateway.provider,
        "owner": gateway.owner.email if gateway.owner_id else None,
        "is_default": gateway.is_default,
        "status": gateway.status,
        "retry_unknown_outcome": gateway.retry_unknown_outcome,
        "connections": gateway.connections,
        "shared_with": sorted(u.email for u in gateway.shared_with.all()),
        "config": backend.public_config(gateway.config),
    }
