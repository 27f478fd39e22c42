"""The tenant panel's views, one module per area; every name a URL uses is re-exported here.

Areas: dashboard, send, history, contacts and the audience (lists, tags, custom fields, segments, imports and
export), devices, webhooks, keys, gateways, credits, account (and the password reset). A view is thin: it reads
through selectors (scoped to the signed-in tenant), writes through services, renders a template that extends
templates/panel/base.html.
"""

from panel.views.account import (
    PasswordResetCompleteView,
    PasswordResetConfirmView,
    PasswordResetDoneView,
    PasswordResetView,
    account_page,
    change_email,
    change_password,
    disable_totp,
    end_other_sessions,
    enrol_totp,
    update_profile,
)
from panel.views.audience import (
    custom_field_page,
    delete_custom_field,
    delete_list,
    delete_tag,
    edit_custom_field,
    edit_list,
    list_page,
    rename_tag,
    tag_page,
)
from panel.views.contacts import add_contact, bulk_contacts, contact_list, delete_contact, edit_contact
from panel.views.credits import credits_page, export_ledger
from panel.views.dashboard import home
from panel.views.devices import add_device, device_list, device_profile, revoke_device
from panel.views.gateways import (
    add_gateway,
    gateway_detail,
    gateway_list,
    gateway_session,
    remove_gateway,
    set_default_gateway,
    test_gateway,
)
from panel.views.history import cancel_message, export_history, history_list, message_detail, retry_message
from panel.views.imports import export_contacts, import_detail, import_list, start_import
from panel.views.keys import api_key_list, create_api_key, rename_api_key, revoke_api_key
from panel.views.segments import add_segment, delete_segment, edit_segment, segment_count, segment_list
from panel.views.send import bulk_review, bulk_upload, send_email, send_index, send_sms, send_whatsapp, sms_counter
from panel.views.webhooks import (
    add_webhook,
    credit_alerts,
    delete_webhook,
    edit_webhook,
    resend_webhook,
    rotate_webhook_secret,
    test_webhook,
    webhook_detail,
    webhook_list,
)

__all__ = [
    "PasswordResetCompleteView",
    "PasswordResetConfirmView",
    "PasswordResetDoneView",
    "PasswordResetView",
    "account_page",
    "add_contact",
    "add_device",
    "add_gateway",
    "add_segment",
    "add_webhook",
    "api_key_list",
    "bulk_contacts",
    "bulk_review",
    "bulk_upload",
    "cancel_message",
    "change_email",
    "change_password",
    "contact_list",
    "create_api_key",
    "credit_alerts",
    "credits_page",
    "custom_field_page",
    "delete_contact",
    "delete_custom_field",
    "delete_list",
    "delete_segment",
    "delete_tag",
    "delete_webhook",
    "device_list",
    "device_profile",
    "disable_totp",
    "edit_contact",
    "edit_custom_field",
    "edit_list",
    "edit_segment",
    "edit_webhook",
    "end_other_sessions",
    "enrol_totp",
    "export_contacts",
    "export_history",
    "export_ledger",
    "gateway_detail",
    "gateway_list",
    "gateway_session",
    "history_list",
    "home",
    "import_detail",
    "import_list",
    "list_page",
    "message_detail",
    "remove_gateway",
    "rename_api_key",
    "rename_tag",
    "resend_webhook",
    "retry_message",
    "revoke_api_key",
    "revoke_device",
    "rotate_webhook_secret",
    "segment_count",
    "segment_list",
    "send_email",
    "send_index",
    "send_sms",
    "send_whatsapp",
    "set_default_gateway",
    "sms_counter",
    "start_import",
    "tag_page",
    "test_gateway",
    "test_webhook",
    "update_profile",
    "webhook_detail",
    "webhook_list",
]

# A view is never named after its module (panel.views.devices must stay the module for panel/urls.py).
