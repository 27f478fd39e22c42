"""The tenant panel's URLs, one section per area (its views in panel/views/<area>.py).

A URL that takes an argument must be listed in tests/xsender/test_tenant_isolation.py (cross-tenant 404); a page
that belongs in the navigation gets its entry in panel/navigation.py.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from panel.forms import PanelLoginForm
from panel.views import (
    account,
    audience,
    campaigns,
    contacts,
    credits,
    dashboard,
    devices,
    gateways,
    history,
    imports,
    keys,
    reports,
    segments,
    send,
    senders,
    templates,
    webhooks,
)

app_name = "panel"
urlpatterns = [
    # ---------------------------------------------------------------- sign-in
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="panel/login.html", authentication_form=PanelLoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="panel:login"), name="logout"),
    # ---------------------------------------------------------------- dashboard
    path("", dashboard.home, name="home"),
    # ---------------------------------------------------------------- send
    path("send/", send.send_index, name="send"),
    path("send/email/", send.send_email, name="send-email"),
    path("send/sms/", send.send_sms, name="send-sms"),
    path("send/sms/count/", send.sms_counter, name="sms-counter"),
    path("send/whatsapp/", send.send_whatsapp, name="send-whatsapp"),
    path("send/bulk/", send.bulk_upload, name="send-bulk"),
    path("send/bulk/review/", send.bulk_review, name="send-bulk-review"),
    # ---------------------------------------------------------------- history
    path("history/", history.history_list, name="history"),
    path("history/export.csv", history.export_history, name="history-export"),
    path("history/<uuid:uid>/", history.message_detail, name="message"),
    path("history/<uuid:uid>/cancel/", history.cancel_message, name="cancel-message"),
    path("history/<uuid:uid>/retry/", history.retry_message, name="retry-message"),
    # ---------------------------------------------------------------- contacts, lists, tags, custom fields
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/add/", contacts.add_contact, name="add-contact"),
    path("contacts/bulk/", contacts.bulk_contacts, name="bulk-contacts"),
    path("contacts/lists/", audience.list_page, name="contact-lists"),
    path("contacts/lists/<str:public_id>/", audience.edit_list, name="edit-list"),
    path("contacts/lists/<str:public_id>/delete/", audience.delete_list, name="delete-list"),
    path("contacts/tags/", audience.tag_page, name="contact-tags"),
    path("contacts/tags/<str:public_id>/", audience.rename_tag, name="rename-tag"),
    path("contacts/tags/<str:public_id>/delete/", audience.delete_tag, name="delete-tag"),
    path("contacts/fields/", audience.custom_field_page, name="custom-fields"),
    path("contacts/fields/<str:public_id>/", audience.edit_custom_field, name="edit-custom-field"),
    path("contacts/fields/<str:public_id>/delete/", audience.delete_custom_field, name="delete-custom-field"),
    path("contacts/segments/", segments.segment_list, name="segments"),
    path("contacts/segments/new/", segments.add_segment, name="add-segment"),
    path("contacts/segments/count/", segments.segment_count, name="segment-count"),
    path("contacts/segments/<str:public_id>/", segments.edit_segment, name="edit-segment"),
    path("contacts/segments/<str:public_id>/delete/", segments.delete_segment, name="delete-segment"),
    path("contacts/imports/", imports.import_list, name="contact-imports"),
    path("contacts/imports/start/", imports.start_import, name="start-contact-import"),
    path("contacts/imports/<str:public_id>/", imports.import_detail, name="contact-import"),
    path("contacts/export/", imports.export_contacts, name="contact-export"),
    path("contacts/<str:public_id>/", contacts.edit_contact, name="edit-contact"),
    path("contacts/<str:public_id>/delete/", contacts.delete_contact, name="delete-contact"),
    # ---------------------------------------------------------------- templates
    path("templates/", templates.template_list, name="templates"),
    path("templates/new/", templates.add_template, name="add-template"),
    path("templates/preview/", templates.template_preview, name="template-preview"),
    path("templates/preview/<str:token>/", templates.template_preview_html, name="template-preview-html"),
    path("templates/<str:public_id>/", templates.edit_template, name="edit-template"),
    path("templates/<str:public_id>/delete/", templates.delete_template, name="delete-template"),
    path("templates/<str:public_id>/test/", templates.test_template, name="test-template"),
    # ---------------------------------------------------------------- senders (campaigns' from-addresses)
    path("senders/", senders.sender_list, name="senders"),
    path("senders/add/", senders.add_sender, name="add-sender"),
    path("senders/<str:public_id>/resend/", senders.resend_sender_link, name="resend-sender"),
    path("senders/<str:public_id>/remove/", senders.remove_sender, name="remove-sender"),
    # ---------------------------------------------------------------- campaigns
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/new/", campaigns.add_campaign, name="add-campaign"),
    path("campaigns/<str:public_id>/", campaigns.campaign_detail, name="campaign"),
    path("campaigns/<str:public_id>/audience/", campaigns.campaign_audience, name="campaign-audience"),
    path("campaigns/<str:public_id>/content/", campaigns.campaign_content, name="campaign-content"),
    path("campaigns/<str:public_id>/schedule/", campaigns.campaign_schedule, name="campaign-schedule"),
    path("campaigns/<str:public_id>/review/", campaigns.campaign_review, name="campaign-review"),
    path("campaigns/<str:public_id>/pause/", campaigns.pause_campaign, name="pause-campaign"),
    path("campaigns/<str:public_id>/resume/", campaigns.resume_campaign, name="resume-campaign"),
    path("campaigns/<str:public_id>/cancel/", campaigns.cancel_campaign, name="cancel-campaign"),
    path("campaigns/<str:public_id>/delete/", campaigns.delete_campaign, name="delete-campaign"),
    path("campaigns/<str:public_id>/report.csv", campaigns.campaign_report_csv, name="campaign-report-csv"),
    path("campaigns/<str:public_id>/recipients.csv", campaigns.campaign_recipients_csv, name="campaign-recipients-csv"),
    # ---------------------------------------------------------------- reports (the tenant's traffic per day)
    path("reports/", reports.traffic_report, name="reports"),
    path("reports/traffic.csv", reports.traffic_report_csv, name="reports-csv"),
    # ---------------------------------------------------------------- gateways → Android (devices)
    path("gateway/android/devices/", devices.device_list, name="devices"),
    path("gateway/android/devices/add/", devices.add_device, name="add-device"),
    path("gateway/android/devices/<uuid:uid>/revoke/", devices.revoke_device, name="revoke-device"),
    path("gateway/android/devices/<uuid:uid>/profile/", devices.device_profile, name="device-profile"),
    # ---------------------------------------------------------------- webhooks
    path("webhooks/", webhooks.webhook_list, name="webhooks"),
    path("webhooks/add/", webhooks.add_webhook, name="add-webhook"),
    path("webhooks/credit-alerts/", webhooks.credit_alerts, name="credit-alerts"),
    path("webhooks/<uuid:uid>/", webhooks.webhook_detail, name="webhook"),
    path("webhooks/<uuid:uid>/edit/", webhooks.edit_webhook, name="edit-webhook"),
    path("webhooks/<uuid:uid>/remove/", webhooks.delete_webhook, name="delete-webhook"),
    path("webhooks/<uuid:uid>/rotate/", webhooks.rotate_webhook_secret, name="rotate-webhook-secret"),
    path("webhooks/<uuid:uid>/test/", webhooks.test_webhook, name="test-webhook"),
    path("webhooks/<uuid:uid>/deliveries/<int:pk>/resend/", webhooks.resend_webhook, name="resend-webhook"),
    # ---------------------------------------------------------------- gateways (email, SMS, WhatsApp)
    path("gateways/", gateways.gateway_list, name="gateways"),
    path("gateways/add/", gateways.add_gateway, name="add-gateway"),
    path("gateways/<uuid:uid>/", gateways.gateway_detail, name="gateway"),
    path("gateways/<uuid:uid>/default/", gateways.set_default_gateway, name="default-gateway"),
    path("gateways/<uuid:uid>/test/", gateways.test_gateway, name="test-gateway"),
    path("gateways/<uuid:uid>/remove/", gateways.remove_gateway, name="remove-gateway"),
    path("gateways/<uuid:uid>/session/", gateways.gateway_session, name="gateway-session"),
    # ---------------------------------------------------------------- API keys
    path("api-keys/", keys.api_key_list, name="api-keys"),
    path("api-keys/new/", keys.create_api_key, name="create-api-key"),
    path("api-keys/<str:prefix>/rename/", keys.rename_api_key, name="rename-api-key"),
    path("api-keys/<str:prefix>/revoke/", keys.revoke_api_key, name="revoke-api-key"),
    # ---------------------------------------------------------------- credits & plan
    path("credits/", credits.credits_page, name="credits"),
    path("credits/export.csv", credits.export_ledger, name="credits-export"),
    # ---------------------------------------------------------------- account, password reset
    path("account/", account.account_page, name="account"),
    path("account/profile/", account.update_profile, name="account-profile"),
    path("account/email/", account.change_email, name="account-email"),
    path("account/password/", account.change_password, name="account-password"),
    path("account/sessions/", account.end_other_sessions, name="end-sessions"),
    path("account/two-factor/", account.enrol_totp, name="enrol-totp"),
    path("account/two-factor/off/", account.disable_totp, name="disable-totp"),
    path("password-reset/", account.PasswordResetView.as_view(), name="password-reset"),
    path("password-reset/sent/", account.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path("reset/<uidb64>/<token>/", account.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
    path("reset/done/", account.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
]
