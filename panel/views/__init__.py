"""The tenant panel's views, one module per area; every name a URL uses is re-exported here.

Areas: dashboard, send, history, devices (and keys, gateways, credits, account as they come). A view is thin:
it reads through selectors (scoped to the signed-in tenant), writes through services, renders a template that
extends templates/panel/base.html.
"""

from panel.views.dashboard import home
from panel.views.devices import add_device, device_list, device_profile, revoke_device

__all__ = ["add_device", "device_list", "device_profile", "home", "revoke_device"]

# A view is never named after its module (panel.views.devices must stay the module for panel/urls.py).
