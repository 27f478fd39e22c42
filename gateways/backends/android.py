"""Android phones: nothing is pushed. Messages wait Pending until a paired phone claims them (devices app)."""

from __future__ import annotations

from collections.abc import Sequence

from gateways.backends.base import Backend, OutgoingMessage, SendResult


class AndroidBackend(Backend):
    provider = "android"
    channels = ("sms",)
    config_schema = {
        "device_uid": (str, False, "The paired device (set by pairing)."),
        "pool": (bool, False, "The tenant's pool: any of the tenant's phones may claim (set by pairing)."),
    }

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        error = "Android gateways do not push: a paired phone claims its messages when it polls."
        return [SendResult(uid=m.uid, ok=False, transient=True, error=error) for m in messages]
