"""The public page behind a sender's confirmation link: GET shows the address and a button, POST confirms. A GET
never confirms, so a mail scanner that fetches the link does not verify an address on anyone's behalf."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from campaigns import senders
from xsender.errors import NotFound

PAGE = "campaigns/sender_confirm.html"


class SenderConfirmView(View):
    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            sender = senders.pending_sender(token)
        except (NotFound, senders.LinkExpired) as exc:
            return _refused(request, exc)
        return render(request, PAGE, {"sender": sender})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            sender = senders.confirm_sender(token=token)
        except (NotFound, senders.LinkExpired) as exc:
            return _refused(request, exc)
        return render(request, PAGE, {"sender": sender, "confirmed": True})


def _refused(request: HttpRequest, exc: NotFound | senders.LinkExpired) -> HttpResponse:
    return render(request, PAGE, {"error": exc.message}, status=410 if isinstance(exc, senders.LinkExpired) else 404)
