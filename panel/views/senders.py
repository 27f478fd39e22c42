"""Senders: the from-addresses the tenant may name on email campaigns — listed with their state (verified, or
waiting for the confirmation link mailed at a given time) and the campaigns that name them; added (the link is
mailed to the address), the link sent again (at most once a minute), removed (refused while a campaign names it).

Every change goes through campaigns.senders; the service's errors are shown at the form's fields or as a flash, and
every sender is looked up by its public id through campaigns.selectors (another tenant's is a 404)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User
from campaigns import senders as service
from campaigns.models import Sender
from campaigns.selectors import sender_of, senders_with_campaigns
from panel.access import tenant_required
from panel.contact_forms import add_domain_errors
from panel.sender_forms import SenderForm
from xsender.errors import DomainError, NotFound


def _own(owner: User, public_id: str) -> Sender:
    try:
        return sender_of(user=owner, public_id=public_id)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _page(request: HttpRequest, form: SenderForm) -> HttpResponse:
    """The list and the add form; a link sent before `expired_before` is shown as expired."""
    expired_before = timezone.now() - timedelta(hours=service.CONFIRM_HOURS)
    context = {"senders": senders_with_campaigns(request.user), "form": form, "expired_before": expired_before}
    return render(request, "panel/senders.html", context, status=400 if form.errors else 200)


@tenant_required
def sender_list(request: HttpRequest) -> HttpResponse:
    return _page(request, SenderForm())


@tenant_required
@require_POST
def add_sender(request: HttpRequest) -> HttpResponse:
    """Adds the sender and mails its link; the service's refusals at their fields, nothing added."""
    form = SenderForm(request.POST)
    if form.is_valid():
        try:
            sender = service.add_sender(owner=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _sent_text(sender))
            return redirect("panel:senders")
    return _page(request, form)


def _sent_text(sender: Sender) -> str:
    return (
        f"We sent a link to {sender.email}: open it and press “Confirm” to verify this sender. "
        f"It works once, for {service.CONFIRM_HOURS} hours."
    )


@tenant_required
@require_POST
def resend_sender_link(request: HttpRequest, public_id: str) -> HttpResponse:
    sender = _own(request.user, public_id)
    try:
        sender = service.resend_confirmation(sender=sender)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _sent_text(sender) + " The previous link no longer works.")
    return redirect("panel:senders")


@tenant_required
@require_POST
def remove_sender(request: HttpRequest, public_id: str) -> HttpResponse:
    sender = _own(request.user, public_id)
    try:
        service.remove_sender(sender=sender)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Sender {sender.email} removed.")
    return redirect("panel:senders")
