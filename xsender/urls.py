from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from xsender.dialects import not_found
from xsender.health import healthz

if settings.XSENDER_ADMIN_2FA:
    from django_otp.admin import OTPAdminSite

    # The admin login asks for a TOTP code too (`manage.py xsender:admin:totp EMAIL` enrols a device).
    admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("accounts.urls")),
    path("", include("messaging.urls")),
    path("", include("devices.urls")),
    path("", include("tracking.urls")),
    path("", include("panel.urls")),
    path("", include("campaigns.urls")),
    # Anything else under an API prefix is that dialect's JSON 404, never an HTML page (even with DEBUG).
    re_path(r"^api/", not_found),
]

handler404 = "xsender.api.not_found_handler"
handler500 = "xsender.api.server_error_handler"
