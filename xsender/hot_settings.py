"""Settings read on hot paths (for every message of a campaign, every link in it), kept after their first read.

Reading a setting through `django.conf.settings` costs about a microsecond each time (`LazyObject.__getattribute__`
runs on every access), more than a campaign link's own string work; a message reads several. `setting(name)` reads
it once and keeps it until any setting changes: Django sends `setting_changed` then (override_settings in tests; a
running process's settings do not change otherwise).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_KEPT: dict[str, Any] = {}


def setting(name: str) -> Any:
    """`getattr(settings, name)`, kept after the first read."""
    try:
        return _KEPT[name]
    except KeyError:
        value = _KEPT[name] = getattr(settings, name)
        return value


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    _KEPT.clear()
