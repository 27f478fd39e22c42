"""Staff pages in Django admin that read the messaging layer (accounts, below it, cannot): a user's message history,
read-only ("view as" without impersonation: the staff member stays signed in as themself and changes nothing)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.admin import UserPage, register_user_page
from accounts.models import CHANNELS, User
from messaging.models import Status
from messaging.selectors import Cursor, HistoryFilter, history_page

PAGE_SIZE = 50


def user_messages(request: HttpRequest, user: User) -> HttpResponse:
    """The user's messages, newest first, as their own History shows them (the same selector, keyset pages)."""
    channel = request.GET.get("channel", "")
    status = request.GET.get("status", "")
    wanted = HistoryFilter(
        channel=channel if channel in CHANNELS else "", status=status if status in Status.values else ""
    )
    page = history_page(user=user, wanted=wanted, after=Cursor.decode(request.GET.get("after", "")), size=PAGE_SIZE)
    context = {
        **admin.site.each_context(request),
        "title": f"Messages of {user.email}",
        "subject": user,
        "page": page,
        "wanted": wanted,
        "channels": CHANNELS,
        "statuses": Status.values,
        "opts": User._meta,
    }
    return TemplateResponse(request, "admin/xsender_user_messages.html", context)


def register() -> None:
    register_user_page("messages", UserPage("Messages (read-only)", user_messages, "messaging.view_message"))
