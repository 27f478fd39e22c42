"""The tenant panel's URLs, one section per area (its views in panel/views/<area>.py).

A URL that takes an argument must be listed in tests/xsender/test_tenant_isolation.py (cross-tenant 404); a page
that belongs in the navigation gets its entry in panel/navigation.py.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from panel.forms import PanelLoginForm
from panel.views import dashboard, devices, history, send

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
    # ---------------------------------------------------------------- gateways → Android (devices)
    path("gateway/android/devices/", devices.device_list, name="devices"),
    path("gateway/android/devices/add/", devices.add_device, name="add-device"),
    path("gateway/android/devices/<uuid:uid>/revoke/", devices.revoke_device, name="revoke-device"),
    path("gateway/android/devices/<uuid:uid>/profile/", devices.device_profile, name="device-profile"),
    # ---------------------------------------------------------------- gateways (email, SMS, WhatsApp): panel:gateways
    # ---------------------------------------------------------------- API keys: panel:api-keys
    # ---------------------------------------------------------------- credits & plan: panel:credits
    # ---------------------------------------------------------------- account, password reset: panel:account
]
