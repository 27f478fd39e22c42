from typing import Any

from gateways.models import Gateway
from gateways.selectors import gateway_summary
from xsender.commands import XSenderCommand


class Command(XSenderCommand):
    help = "List every gateway (credentials masked)."

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        gateways = [gateway_summary(g) for g in Gateway.objects.select_related("owner").prefetch_related("shared_with")]
        lines = [
            f"{g['identifier']:<24} {g['channel']:<9} {g['provider']:<15} {g['owner'] or 'admin':<28}"
            f" {'default' if g['is_default'] else '':<8} {g['status']}"
            for g in gateways
        ]
        return "\n".join(lines) or "No gateways.", {"gateways": gateways}
