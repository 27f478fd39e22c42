"""Reads of the dispatch log, always scoped to the tenant (another tenant's uid is a 404)."""

from __future__ import annotations

import uuid

from accounts.models import CHANNELS, User
from messaging.models import Message
from xsender.errors import NotFound


def get_message(*, user: User, channel: str, uid: str) -> Message:
    """The user's message `uid` on `channel`, with its gateway and events; NotFound for anything else."""
    try:
        parsed = uuid.UUID(str(uid))
    except ValueError:
        raise NotFound("Message not found.") from None
    if channel not in CHANNELS:
        raise NotFound("Message not found.")
    message = (
        Message.objects.for_tenant(user)
        .filter(channel=channel, uid=parsed)
        .select_related("gateway")
        .prefetch_related("events")
        .first()
    )
    if message is None:
        raise NotFound("Message not found.")
    return message
