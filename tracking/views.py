"""The one receiver of provider webhooks under /api/webhook/: bound the request, find the gateways it may speak
for, let their backend verify and parse it, and hand the events to tracking.services. No provider logic here.

Answers (the XSender envelope): 200 with counts (duplicates and unknown messages included, so that providers
stop retrying), 401 when no gateway's secret verifies the request, 404 for an unknown gateway, 400 for a body
that cannot be read, 413 past XSENDER_WEBHOOK_MAX_BODY_BYTES, 429 past the per-address rate.
"""

from __future__ import annotations

import json
import logging
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tracking import selectors, services
from xsender.api import WEBHOOKS, envelope
from xsender.middleware import client_ip
from xsender.parsers import depth_exceeds
from xsender.throttling import hit

logger = logging.getLogger(__name__)
UNVERIFIED = "The request's signature or credentials do not verify for this webhook."


def _refusal(request: HttpRequest) -> JsonResponse | None:
    """Bounds every webhook request before any secret is touched: per-address rate, body size, JSON depth."""
    state = hit(f"ip:webhook:{client_ip(request.META)}", settings.XSENDER_WEBHOOK_IP_RATE_LIMIT)
    if state.exceeded:
        response = WEBHOOKS.error_response("Too many requests.", 429)
        response["Retry-After"] = str(state.retry_after)
        return response
    limit = settings.XSENDER_WEBHOOK_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = limit + 1
    if length > limit or len(request.body) > limit:
        return WEBHOOKS.error_response(f"Request body too large (limit {limit} bytes).", 413)
    if request.body[:1] in (b"{", b"["):
        try:
            too_deep = depth_exceeds(json.loads(request.body))
        except (ValueError, RecursionError):
            return WEBHOOKS.error_response("The body is not valid JSON.", 400)
        if too_deep:
            return WEBHOOKS.error_response("The body nests too deeply.", 400)
    return None


@csrf_exempt
def receive(request: HttpRequest, kind: str, provider: str, gateway_uid: uuid.UUID | None = None) -> HttpResponse:
    """POST: events; GET: the provider's verification challenge; HEAD: a provider checking the URL exists."""
    if request.method == "HEAD":
        return HttpResponse()
    if request.method not in ("GET", "POST"):
        return WEBHOOKS.error_response("Method not allowed.", 405)
    refused = _refusal(request)
    if refused is not None:
        return refused
    target = selectors.webhook_target(kind=kind, provider=provider, gateway_uid=gateway_uid)
    if target is None:
        return WEBHOOKS.error_response("Not found.", 404)
    if request.method == "GET":
        answer = target.challenge(request)
        return HttpResponse(answer, content_type="text/plain") if answer is not None else HttpResponse(status=403)
    try:
        verified = target.verify(request)
    except (ValueError, TypeError, OverflowError) as exc:  # a credential no verifier can read (a lone surrogate …)
        logger.info("Unverifiable %s/%s webhook (%s).", kind, provider, type(exc).__name__)
        verified = None
    if verified is None:
        return WEBHOOKS.error_response(UNVERIFIED, 401)
    try:
        events = target.parse(request)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:  # OverflowError: a time past 9999
        logger.info("Unreadable %s/%s webhook body (%s).", kind, provider, type(exc).__name__)
        return WEBHOOKS.error_response("The body cannot be read as this provider's events.", 400)
    outcome = services.receive_events(scope=target.scope, home=target.home, gateways=verified, events=events)
    return JsonResponse(envelope("Events received.", outcome.as_dict()))
