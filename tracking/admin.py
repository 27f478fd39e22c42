from django.contrib import admin
from django.http import HttpRequest

from tracking.models import InboundMessage


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "channel", "sender", "gateway", "user", "media_type")
    list_filter = ("channel",)
    search_fields = ("sender", "body", "user__email", "provider_message_id")
    list_select_related = ("user", "gateway")
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in InboundMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
