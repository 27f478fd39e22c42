from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from devices import services
from devices.models import AndroidDevice, PairingToken, Sim


class SimInline(admin.TabularInline):
    model = Sim
    extra = 0
    readonly_fields = ("uid", "signal_strength", "messages_sent_24h", "imsi", "last_heartbeat_at")


@admin.register(AndroidDevice)
class AndroidDeviceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "user",
        "online",
        "is_active",
        "last_seen_at",
        "android_version",
        "app_version",
        "daily_quota",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "device_uuid", "user__email", "uid")
    list_select_related = ("user",)
    # The owner goes with the device's gateway, and a session ends only through "Revoke": neither is edited here.
    # The profile fields keep the model's bounds (devices.models.PROFILE_LIMITS).
    readonly_fields = (
        "uid", "user", "gateway", "device_uuid", "is_active", "last_seen_at", "session_expires_at", "revoked_at",
        "created_at",
    )  # fmt: skip
    exclude = ("hashed_session_token",)
    inlines = [SimInline]
    actions = ["revoke"]

    @admin.display(boolean=True)
    def online(self, obj: AndroidDevice) -> bool:
        return obj.online

    @admin.action(description="Revoke (ends the phone's session)", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[AndroidDevice]) -> None:
        for device in queryset:
            services.logout_device(device=device)
        self.message_user(request, f"{queryset.count()} device(s) revoked.")


@admin.register(PairingToken)
class PairingTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created_at", "expires_at", "used_at")
    search_fields = ("user__email",)
    readonly_fields = ("user", "hashed_token", "created_at", "expires_at", "used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created from the panel or `xsender:device:pairing-token`, so the token is shown once
