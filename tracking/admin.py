from typing import Any

from django.contrib import admin
from django.db.models import Sum
from django.http import HttpRequest

from tracking.models import InboundMessage, QueuedEvent, UnmatchedCount


class ReadOnlyAdmin(admin.ModelAdmin):
    """What providers told us is shown, never edited by hand."""

    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "channel", "sender", "gateway", "user", "media_type")
    list_filter = ("channel",)
    search_fields = ("sender", "body", "user__email", "provider_message_id")
    list_select_related = ("user", "gateway")


@admin.register(QueuedEvent)
class QueuedEventAdmin(ReadOnlyAdmin):
    """Provider events received and not applied yet: normally only those waiting for their message (the provider
    called back before our worker wrote its id); the list's header says how many were dropped as unmatched."""

    list_display = ("received_at", "gateway", "kind", "provider_message_id", "state", "attempts", "due_at")
    list_filter = ("kind",)
    search_fields = ("provider_message_id", "event_id")
    list_select_related = ("gateway",)

    @admin.display(description="state")
    def state(self, obj: QueuedEvent) -> str:
        return "waiting for its message" if obj.attempts else "queued"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        dropped = UnmatchedCount.objects.aggregate(total=Sum("count"))["total"] or 0
        title = f"Provider events not applied yet ({dropped} dropped as unmatched so far: see Unmatched counts)"
        return super().changelist_view(request, {**(extra_context or {}), "title": title})


@admin.register(UnmatchedCount)
class UnmatchedCountAdmin(ReadOnlyAdmin):
    """Events dropped because no message of the gateways that verified them had their provider id, after
    XSENDER_INBOUND_MATCH_SECONDS of tries: a wrong webhook URL, or a provider account shared with another
    sender."""

    list_display = ("day", "scope", "count")
    list_filter = ("day",)
    search_fields = ("scope",)
