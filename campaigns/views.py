"""Public pages of campaigns. A sender's confirmation link: GET shows the address and a button, POST confirms. A GET
never confirms, so a mail scanner that fetches the link does not verify an address on anyone's behalf. And the
links in campaign messages (campaigns.links): unsubscribe (GET asks, POST does — also RFC 8058 one-click), the
open pixel and click redirects."""

from __future__ import annotations

import base64
import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from campaigns import engagement, links, senders
from xsender.errors import NotFound

logger = logging.getLogger(__name__)
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


# ---------------------------------------------------------------- our own links in campaign messages

UNSUBSCRIBE_PAGE = "campaigns/unsubscribe.html"
# The smallest transparent GIF (1×1), served for every pixel request, known token or not.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    """GET shows the address (masked) and a button, changing nothing (mail scanners fetch links); POST — the
    button, or a mail provider's RFC 8058 one-click POST, which carries no CSRF token — unsubscribes. CSRF
    protection would add nothing: whoever can forge the POST already holds the signed URL."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            page = engagement.unsubscribe_page(token=token)
        except NotFound as exc:
            return render(request, UNSUBSCRIBE_PAGE, {"error": exc.message}, status=404)
        return render(request, UNSUBSCRIBE_PAGE, {"page": page})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        try:
            page = engagement.unsubscribe(token=token, one_click=one_click)
        except NotFound as exc:
            return render(request, UNSUBSCRIBE_PAGE, {"error": exc.message}, status=404)
        return render(request, UNSUBSCRIBE_PAGE, {"page": page})


@never_cache
@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The open pixel: always the GIF (an image request that fails shows a broken image in the reader's mail),
    never a 500; a known token records the open."""
    try:
        engagement.record_open(token=token)
    except NotFound:
        pass
    except Exception:  # noqa: BLE001 — the reader's mail must get its image whatever went wrong here
        logger.exception("open pixel: recording failed")
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_GET
def click(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link: 404 unless the token is ours and names an http(s) target; else the click is recorded and
    the reader is sent to exactly that target (taken from the signed token, never from the query)."""
    target = links.read_click_token(token)
    if target is None:
        raise Http404(engagement.GONE)
    try:
        engagement.record_click(token=token)
    except NotFound:
        pass  # the message is gone; the link is still one the tenant's own HTML held
    except Exception:  # noqa: BLE001 — the reader still gets where the link points
        logger.exception("click redirect: recording failed")
    return HttpResponseRedirect(target[1])
