"""Template helpers of the panel: navigation, times with their zone, the empty state."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from panel.navigation import links

register = template.Library()


@register.inclusion_tag("panel/_navigation.html", takes_context=True)
def panel_navigation(context: template.Context) -> dict[str, object]:
    request: HttpRequest = context["request"]
    return {"links": links(request)}


@register.filter
def when(value: datetime | None, empty: str = "—") -> str:
    """`2026-05-23 14:05:09 CEST` in the server's time zone, in a <time> element carrying the instant."""
    if value is None:
        return empty
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{}</time>', local.isoformat(), local.strftime("%Y-%m-%d %H:%M:%S ") + local.tzname()
    )


@register.simple_tag
def server_time_zone() -> str:
    """The zone every time in the panel is shown in (settings.TIME_ZONE), as named in the footer."""
    return settings.TIME_ZONE


@register.inclusion_tag("panel/_empty.html")
def empty_state(text: str, link_url: str = "", link_text: str = "") -> dict[str, str]:
    """The pattern for "nothing here yet": a sentence and, when there is one, the action that fills the page."""
    return {"text": text, "link_url": link_url, "link_text": link_text}
