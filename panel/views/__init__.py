"""The tenant panel's views, one module per area; every name a URL uses is re-exported here.

Areas: dashboard, send, history, devices (and keys, gateways, credits, account as they come). A view is thin:
it reads through selectors (scoped to the signed-in tenant), writes through services, renders a template that
extends templates/panel/base.html.
"""

from panel.views.dashboard import home
from panel.views.devices import add_device, device_list, device_profile, revoke_device
from panel.views.history import cancel_message, export_history, history_list, message_detail, retry_message
from panel.views.send import bulk_review, bulk_upload, send_email, send_index, send_sms, send_whatsapp, sms_counter

__all__ = [
    "add_device",
    "bulk_review",
    "bulk_upload",
    "cancel_message",
    "device_list",
    "device_profile",
    "export_history",
    "history_list",
    "home",
    "message_detail",
    "retry_message",
    "revoke_device",
    "send_index",
    "send_email",
    "send_sms",
    "send_whatsapp",
    "sms_counter",
]

# A view is never named after its module (panel.views.devices must stay the module for panel/urls.py).
