from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from messaging import services
from messaging.models import Message, MessageEvent, Suppression


class MessageEventInline(admin.TabularInline):
    model = MessageEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "at", "payload")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("uid", "user", "channel", "recipient", "status", "gateway", "attempts", "cost", "created_at")
    list_filter = ("channel", "status", "source", "by_admin", "sms_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("uid", "recipient", "user__email", "provider_message_id", "subject")
    list_select_related = ("user", "gateway")
    date_hierarchy = "created_at"
    inlines = [MessageEventInline]
    actions = ["cancel"]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Message._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Cancel (only Scheduled or Pending; credits refunded)", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = services.cancel_messages(messages=queryset)
        self.message_user(request, f"{count} message(s) cancelled.", messages.SUCCESS)


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("address", "channel", "user", "reason", "created_at")
    list_filter = ("channel", "reason")
    search_fields = ("address", "user__email")
    autocomplete_fields = ("user",)

    def save_model(self, request: HttpRequest, obj: Suppression, form: object, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        saved = services.add_suppression(user=obj.user, channel=obj.channel, address=obj.address, reason=obj.reason)
        obj.pk = saved.pk
