"""Campaigns: the tenant's campaigns (keyset pages, newest first), a new Draft (its channel, then a name and a
template or content written there), the wizard for a Draft or Scheduled campaign — audience (lists, tags, segments) →
content (a saved template or the content written here, with the template editor's fields and sandboxed preview) →
schedule → review (recipient count, cost against the balance, the content's preview, Start or Schedule) — and a
campaign's page (status, counts, pause / resume / cancel, the report with its timeline chart, CSV downloads).

Every change goes through campaigns.services (their errors at the fields they name or above the form; the services
are atomic, so nothing changes on error); every campaign is looked up by public id through campaigns.selectors
(another tenant's, or a malformed id, is a 404); the report is campaigns.reports'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from campaigns import reports, services
from campaigns.local_time import starts_at
from campaigns.models import Campaign, CampaignStatus
from campaigns.selectors import campaign_of, campaigns_of, template_of
from contacts.selectors import segments_of
from panel.access import tenant_required
from panel.audience import lists_of, tags_of
from panel.campaign_forms import INLINE, AudienceForm, ContentForm, ContentSourceForm, NewCampaignForm, ScheduleForm
from panel.campaign_pages import count_rows, estimate, rate_rows, timeline_chart
from panel.contact_forms import add_domain_errors
from panel.template_forms import CHANNEL_HINTS, CHANNELS, PreviewWithForm, contact_choices
from panel.template_preview import Preview, preview_data, saved_preview, typed_preview
from xsender.errors import DomainError, NotFound

PAGE_SIZE = 25
STEPS = (("audience", "Audience"), ("content", "Content"), ("schedule", "Schedule"), ("review", "Review"))
NEXT = {"audience": "content", "content": "schedule", "schedule": "review"}


def _own(request: HttpRequest, public_id: str) -> Campaign:
    try:
        return campaign_of(user=request.user, public_id=public_id)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _page_url(campaign: Campaign) -> str:
    return reverse("panel:campaign", kwargs={"public_id": campaign.public_id})


@tenant_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Newest first, PAGE_SIZE a page, keyset on the id (`?after=`): one query whatever their number."""
    after = request.GET.get("after", "")
    rows = campaigns_of(request.user).order_by("-id")
    if after.isdigit():
        rows = rows.filter(pk__lt=int(after))
    page = list(rows[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    context = {"campaigns": page[:PAGE_SIZE], "next_after": page[PAGE_SIZE - 1].pk if more else None,
               "first_page": not after}  # fmt: skip
    return render(request, "panel/campaigns.html", context)


@tenant_required
def add_campaign(request: HttpRequest) -> HttpResponse:
    """`?channel=` chooses the channel first (it never changes); then a name and a template make the Draft."""
    channel = request.GET.get("channel", "")
    if channel not in CHANNELS:
        return render(request, "panel/campaign_channel.html", {"channels": list(CHANNELS.items())})
    form = NewCampaignForm(request.POST or None, owner=request.user, channel=channel)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.create_campaign(owner=request.user, channel=channel, **form.values())
        except DomainError as exc:
            form.show_errors(exc)
        else:
            messages.success(request, f"Draft campaign “{campaign.name}” created: now choose its audience.")
            return redirect("panel:campaign-audience", public_id=campaign.public_id)
    no_templates = len(form.fields["template"].choices) == 1
    context = {"form": form, "channel": channel, "channel_label": CHANNELS[channel],
               "content_hint": CHANNEL_HINTS[channel], "no_templates": no_templates}  # fmt: skip
    return render(request, "panel/campaign_new.html", context, status=_status(form))


def _status(form: forms.Form) -> int:
    """400 when the form or, with the content written here chosen, that content has errors."""
    written = (
        isinstance(form, ContentSourceForm) and form.is_bound and form.chosen_source() == INLINE and form.inline.errors
    )
    return 400 if form.errors or written else 200


def _step(
    request: HttpRequest, public_id: str, step: str, make: Callable[[Any, Campaign], forms.Form],
    page: str = "panel/campaign_step.html", extra: Callable[[Campaign, Any], dict[str, Any]] | None = None,
) -> HttpResponse:  # fmt: skip
    """One wizard step: GET shows the campaign's values; POST saves them through update_campaign, then the next
    step (a POST with action=preview only previews: the content step without JavaScript). A campaign that has
    started is no longer edited here: its page instead."""
    campaign = _own(request, public_id)
    if campaign.status not in services.EDITABLE_STATUSES:
        messages.error(
            request, f"The campaign is {campaign.get_status_display().lower()}: it can no longer be changed."
        )
        return redirect(_page_url(campaign))
    form = make(request.POST or None, campaign)
    if request.method == "POST" and request.POST.get("action") != "preview" and form.is_valid():
        sourced = isinstance(form, ContentSourceForm)  # the content step: a saved template or written content
        try:
            services.update_campaign(campaign=campaign, **(form.values() if sourced else form.cleaned_data))
        except DomainError as exc:
            if sourced:
                form.show_errors(exc)
            else:
                add_domain_errors(form, exc)
        else:
            messages.success(request, f"{dict(STEPS)[step]} saved.")
            return redirect(f"panel:campaign-{NEXT[step]}", public_id=campaign.public_id)
    context = {"campaign": campaign, "form": form, "step": step, "steps": STEPS, "title": dict(STEPS)[step]}
    context |= extra(campaign, form) if extra else {}
    return render(request, page, context, status=_status(form))


@tenant_required
def campaign_audience(request: HttpRequest, public_id: str) -> HttpResponse:
    lists, tags, segments = lists_of(request.user), tags_of(request.user), segments_of(request.user)

    def make(data: Any, campaign: Campaign) -> forms.Form:
        return AudienceForm(data, lists=lists, tags=tags, segments=segments, campaign=campaign)

    return _step(request, public_id, "audience", make)


@tenant_required
def campaign_content(request: HttpRequest, public_id: str) -> HttpResponse:
    """A saved template or the content written here (the template editor's fields, previewed as it is typed),
    the sender and the gateway."""

    def extra(campaign: Campaign, form: ContentForm) -> dict[str, Any]:
        with_form = PreviewWithForm(request.POST or request.GET or None, choices=contact_choices(request.user))
        preview = _content_preview(request, campaign, form, *preview_data(request.user, with_form.chosen()))
        return {"with_form": with_form, "preview": preview, "channel": campaign.channel,
                "content_hint": CHANNEL_HINTS[campaign.channel]}  # fmt: skip

    def make(data: Any, campaign: Campaign) -> ContentForm:
        return ContentForm(data, campaign=campaign)

    return _step(request, public_id, "content", make, page="panel/campaign_content.html", extra=extra)


def _content_preview(
    request: HttpRequest, campaign: Campaign, form: ContentForm, data: dict[str, Any], whose: str
) -> Preview | None:
    """GET: the campaign's content as saved. POST: the content as written (checked as a save would be, nothing
    saved), or the chosen saved template; none for no choice."""
    if request.method != "POST":
        return saved_preview(campaign.template, data, whose)
    if form.chosen_source() == INLINE:
        if not form.inline.is_valid():
            return Preview(errors=[{"field": f, "message": " ".join(e)} for f, e in form.inline.errors.items()])
        return typed_preview(request.user, campaign.channel, form.inline.content(), data, whose, None)
    try:
        template = template_of(user=request.user, public_id=str(request.POST.get("template", "")))
    except NotFound:
        return None
    return saved_preview(template, data, whose)


@tenant_required
def campaign_schedule(request: HttpRequest, public_id: str) -> HttpResponse:
    return _step(request, public_id, "schedule", lambda data, c: ScheduleForm(data, campaign=c))


@tenant_required
def campaign_review(request: HttpRequest, public_id: str) -> HttpResponse:
    """The recipient count, the cost against the balance, and Start (or Schedule, for a time ahead): POST goes
    through schedule_campaign, which starts at once when no time ahead is set. On a refusal (not enough credit,
    with the shortfall; no audience; no gateway) nothing is started and the review shows why."""
    campaign = _own(request, public_id)
    if campaign.status not in services.EDITABLE_STATUSES:
        return redirect(_page_url(campaign))
    error = ""
    if request.method == "POST":
        try:
            campaign = services.schedule_campaign(campaign=campaign)
        except DomainError as exc:
            error = exc.message
        else:
            done = "scheduled" if campaign.status == CampaignStatus.SCHEDULED else "started"
            messages.success(request, f"Campaign “{campaign.name}” {done}.")
            return redirect(_page_url(campaign))
    starts = starts_at(campaign.schedule_at, campaign.contact_time_zone)  # in each contact's zone: the first's
    ahead = starts is not None and starts > timezone.now()
    preview = saved_preview(campaign.template, *preview_data(request.user, ""))  # sample data
    context = {"campaign": campaign, "estimate": estimate(campaign), "error": error, "step": "review",
               "steps": STEPS, "audience": _audience(campaign), "ahead": ahead, "starts": starts,
               "preview": preview, "channel": campaign.channel}  # fmt: skip
    return render(request, "panel/campaign_review.html", context, status=400 if error else 200)


def _audience(campaign: Campaign) -> dict[str, list[str]]:
    return {f: [str(o) for o in getattr(campaign, f).all()] for f in services.AUDIENCE_FIELDS}


@tenant_required
def campaign_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """Status, counters, actions, and once started the report (three queries, whatever the audience's size)."""
    campaign = _own(request, public_id)
    context: dict[str, Any] = {"campaign": campaign, "editable": campaign.status in services.EDITABLE_STATUSES}
    if campaign.started_at is not None:
        report = reports.campaign_report(owner=request.user, campaign=campaign)
        context |= {"report": report, "counts": count_rows(report), "rates": rate_rows(report),
                    "chart": timeline_chart(report)}  # fmt: skip
    return render(request, "panel/campaign.html", context)


def _act(request: HttpRequest, public_id: str, action: Callable[..., Campaign], done: str) -> HttpResponse:
    campaign = _own(request, public_id)
    try:
        campaign = action(campaign=campaign)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Campaign “{campaign.name}” {done}.")
    return redirect(_page_url(campaign))


@tenant_required
@require_POST
def pause_campaign(request: HttpRequest, public_id: str) -> HttpResponse:
    return _act(request, public_id, services.pause_campaign, "paused: its queued messages were withdrawn")


@tenant_required
@require_POST
def resume_campaign(request: HttpRequest, public_id: str) -> HttpResponse:
    return _act(request, public_id, services.resume_campaign, "resumed")


@tenant_required
def cancel_campaign(request: HttpRequest, public_id: str) -> HttpResponse:
    """GET asks for the confirmation; POST cancels (unsent messages withdrawn, their credit refunded)."""
    if request.method == "POST":
        return _act(request, public_id, services.cancel_campaign, "cancelled: unsent messages were refunded")
    campaign = _own(request, public_id)
    return _confirm(request, campaign, "Cancel campaign", "Cancel campaign",
                    "Messages not yet sent are withdrawn and their credit refunded. This cannot be undone.")  # fmt: skip


@tenant_required
def delete_campaign(request: HttpRequest, public_id: str) -> HttpResponse:
    """GET asks for the confirmation; POST deletes a campaign that never started (the services refuse others)."""
    campaign = _own(request, public_id)
    if request.method == "POST":
        try:
            services.delete_campaign(campaign=campaign)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(_page_url(campaign))
        messages.success(request, f"Campaign “{campaign.name}” deleted.")
        return redirect("panel:campaigns")
    return _confirm(request, campaign, "Delete campaign", "Delete campaign", "The draft goes; nothing was sent.")


def _confirm(request: HttpRequest, campaign: Campaign, title: str, button: str, text: str) -> HttpResponse:
    context = {"title": f"{title} “{campaign.name}”", "text": text, "button": button, "back": _page_url(campaign)}
    return render(request, "panel/confirm_delete.html", context)


@tenant_required
def campaign_report_csv(request: HttpRequest, public_id: str) -> HttpResponse:
    return reports.report_csv(owner=request.user, campaign=_own(request, public_id))


@tenant_required
def campaign_recipients_csv(request: HttpRequest, public_id: str) -> HttpResponse:
    return reports.recipients_csv(owner=request.user, campaign=_own(request, public_id))
