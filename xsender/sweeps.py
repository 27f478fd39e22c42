"""Sweeps of apps above messaging that the scheduler runs after its own (messaging.sweeps).

The scheduler command lives in messaging, which imports no app above it: those apps register their sweep here
from their AppConfig.ready() (webhooks: due deliveries; devices: phones gone offline), the same way they
observe message moves. xsender imports no app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger("xsender.scheduler")
Sweep = Callable[[], dict[str, int]]
_sweeps: dict[str, Sweep] = {}


def register(name: str, sweep: Sweep) -> None:
    """Runs `sweep` on every scheduler pass; it returns its counts (merged into the pass's counts)."""
    _sweeps[name] = sweep


def run_registered() -> dict[str, int]:
    """Runs every registered sweep; one that fails is logged and does not keep the others from running."""
    counts: dict[str, int] = {}
    for name, sweep in list(_sweeps.items()):
        try:
            counts.update(sweep())
        except Exception:  # noqa: BLE001 — a failed sweep (its endpoint table locked…) must not stop the pass
            logger.exception("sweep %s failed; it runs again next pass", name)
    return counts
