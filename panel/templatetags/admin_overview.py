"""The admin overview on the Django admin index (templates/admin/index.html): `{% admin_overview %}`."""

from __future__ import annotations

from typing import Any

from django import template

from panel.overview import admin_overview as read_overview
from panel.overview import chart_bars

register = template.Library()


@register.inclusion_tag("admin/xsender_overview.html", takes_context=True)
def admin_overview(context: template.Context) -> dict[str, Any]:
    """Staff only: anyone else gets nothing (the admin index is staff-only already; this does not rely on it)."""
    request = context.get("request")
    if request is None or not request.user.is_active or not request.user.is_staff:
        return {"overview": None}
    overview = read_overview()
    return {"overview": overview, "bars": chart_bars(overview.per_minute)}
