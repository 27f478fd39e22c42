"""Template admin: every save checked and written by campaigns.services (placeholders, the channel's fields,
header line breaks), removal (one or "delete selected") through the service, and a preview with sample contact data.
A campaign's inline content (Template.campaign_only) is not listed here: it is shown on its campaign's page.

Campaign admin: every tenant's campaigns with their counters, read-only (campaigns are built through the services:
the panel's wizard, the API), and the actions start, pause, resume and cancel through the services. The change page
shows the campaign's report (campaigns.reports) with its CSV exports (the report, every recipient's outcome).

Sender admin: adding one emails its confirmation link (campaigns.senders.add_sender); removal through the service;
an action sends the link again."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from campaigns import reports, senders, services
from campaigns.models import Campaign, Sender, Template
from campaigns.rendering import PlaceholderError
from xsender.errors import Conflict, DomainError, ValidationFailed

FIXED = ("owner", "channel")  # update_template cannot change them: read-only once the template exists
SAMPLE_CONTACT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "+15555550123",
    "company": "Analytical Engines",
    "custom": {},
}


class TemplateForm(forms.ModelForm):
    class Meta:
        model = Template
        fields = [*FIXED, *services.EDITABLE]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        content = {f: data.get(f) for f in services.CONTENT_FIELDS}
        content = {f: v if v is not None or f == "whatsapp_template" else "" for f, v in content.items()}
        owner = data["owner"] if "owner" in data else self.instance.owner
        channel = data["channel"] if "channel" in data else self.instance.channel
        try:
            data["checked"] = services.check_template(
                owner=owner,
                channel=channel,
                name=data.get("name", ""),
                content=content,
                template=self.instance if self.instance.pk else None,
            )
        except ValidationFailed as exc:
            for error in exc.errors:
                name = str(error.get("field", "")).split(".")[0]
                self.add_error(name if name in self.fields else None, str(error.get("message", exc.message)))
        return data


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    list_display = ("name", "public_id", "channel", "owner", "updated_at")
    list_filter = ("channel", ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "public_id", "owner__email", "subject")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("public_id", "created_at", "updated_at", "preview")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Template]:
        return super().get_queryset(request).filter(campaign_only=False)  # inline content: on its campaign's page

    def get_readonly_fields(self, request: HttpRequest, obj: Template | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, *FIXED) if obj is not None else tuple(self.readonly_fields)

    @admin.display(description="Preview (sample contact Ada Lovelace)")
    def preview(self, obj: Template) -> str:
        if not obj.pk:
            return "-"
        try:
            shown = services.preview_template(template=obj, data=SAMPLE_CONTACT)
        except PlaceholderError as exc:  # a row written around the services
            return exc.message
        parts = [shown.subject, shown.text or shown.html, shown.body, str(shown.whatsapp_template or "")]
        return format_html("<pre>{}</pre>", "\n\n".join(p for p in parts if p))

    def save_model(self, request: HttpRequest, obj: Template, form: TemplateForm, change: bool) -> None:
        fields = form.cleaned_data["checked"]
        if change:
            services.update_template(template=obj, **fields)
            return
        created = services.create_template(owner=obj.owner, channel=obj.channel, **fields)
        obj.pk, obj.public_id = created.pk, created.public_id

    def delete_model(self, request: HttpRequest, obj: Template) -> None:
        try:
            services.delete_template(template=obj)
        except Conflict as exc:
            self.message_user(request, f"{obj}: {exc.message}", level=messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Template]) -> None:
        for template in queryset:
            self.delete_model(request, template)


CAMPAIGN_FIELDS = (
    "public_id",
    "owner",
    "name",
    "channel",
    "status",
    "last_error",
    "content",
    "gateway_identifier",
    "sender",
    "include_lists",
    "include_tags",
    "exclude_lists",
    "exclude_tags",
    "include_segments",
    "exclude_segments",
    "schedule_at",
    "contact_time_zone",
    "track_opens_clicks",
    "throttle",
    "recipients_count",
    "messages_count",
    "skipped_count",
    "cost",
    "reserved",
    "started_at",
    "fanned_out_at",
    "finished_at",
    "created_at",
    "updated_at",
)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "owner", "channel", "status", "recipients_count", "messages_count")
    list_filter = ("status", "channel", ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "public_id", "owner__email")
    list_select_related = ("owner",)
    fields = (*CAMPAIGN_FIELDS, "report", "clicked_links", "exports")
    readonly_fields = (*CAMPAIGN_FIELDS, "report", "clicked_links", "exports")
    actions = ("start", "pause", "resume", "cancel")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        return False  # a started campaign's recipients are the record of who got a message; cancel instead

    def _each(self, request: HttpRequest, queryset: QuerySet[Campaign], act: Any, done: str) -> None:
        changed = 0
        for campaign in queryset:
            try:
                act(campaign=campaign)
                changed += 1
            except DomainError as exc:
                self.message_user(request, f"{campaign}: {exc.message}", level=messages.ERROR)
        if changed:
            self.message_user(request, f"{changed} campaign(s) {done}.", level=messages.SUCCESS)

    @admin.action(description="Start selected campaigns now", permissions=["change"])
    def start(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._each(request, queryset, services.start_campaign, "started")

    @admin.action(description="Pause selected campaigns", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._each(request, queryset, services.pause_campaign, "paused")

    @admin.action(description="Resume selected campaigns", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._each(request, queryset, services.resume_campaign, "resumed")

    @admin.action(
        description="Cancel selected campaigns (queued messages withdrawn and refunded)", permissions=["change"]
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._each(request, queryset, services.cancel_campaign, "cancelled")

    @admin.display(description="Content")
    def content(self, obj: Campaign) -> str:
        """A saved template: a link to it. Inline content: its fields, as the campaign sends them."""
        if not obj.pk:
            return "-"
        template = obj.template
        if not template.campaign_only:
            url = reverse("admin:campaigns_template_change", args=[template.pk])
            return format_html('Template <a href="{}">{}</a>', url, template.name)
        values = ((f.replace("_", " "), getattr(template, f)) for f in services.CHANNEL_FIELDS[template.channel])
        rows = ((name, json.dumps(v, indent=2) if isinstance(v, dict) else v) for name, v in values if v)
        return format_html(
            "Written in the campaign<table><tbody>{}</tbody></table>",
            format_html_join("", "<tr><th>{}</th><td><pre>{}</pre></td></tr>", rows),
        )

    # ------------------------------------------------------------ the report (read-only fields and CSV exports)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/report.csv", view(self.report_csv), name="campaigns_campaign_report_csv"),
            path("<int:pk>/recipients.csv", view(self.recipients_csv), name="campaigns_campaign_recipients_csv"),
            *super().get_urls(),
        ]

    def _viewable(self, request: HttpRequest, pk: int) -> Campaign:
        campaign = get_object_or_404(Campaign.objects.select_related("owner"), pk=pk)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return campaign

    def report_csv(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        campaign = self._viewable(request, pk)
        return reports.report_csv(owner=campaign.owner, campaign=campaign)

    def recipients_csv(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        campaign = self._viewable(request, pk)
        return reports.recipients_csv(owner=campaign.owner, campaign=campaign)

    def _report(self, obj: Campaign) -> reports.CampaignReport:
        cached = getattr(obj, "_report_cache", None)  # the three read-only fields share one report
        if cached is None:
            cached = obj._report_cache = reports.campaign_report(owner=obj.owner, campaign=obj)  # type: ignore[attr-defined]
        return cached

    @admin.display(description="Report")
    def report(self, obj: Campaign) -> str:
        if not obj.pk:
            return "-"
        report = self._report(obj)
        counts = ((name.replace("_", " "), report.counts[name]) for name in reports.COUNTS)
        rates = (
            (name.replace("_", " "), "-" if rate is None else f"{rate:.1%}", " / ".join(reports.RATES[name]))
            for name, rate in report.rates.items()
        )
        return format_html(
            "<table><tbody>{}</tbody></table><table><tbody>{}</tbody></table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", counts),
            format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", rates),
        )

    @admin.display(description="Clicked links")
    def clicked_links(self, obj: Campaign) -> str:
        links = self._report(obj).links if obj.pk else []
        if not links:
            return "-"
        rows = ((link.url or "(not named)", link.unique, link.total) for link in links)
        return format_html(
            "<table><thead><tr><th>link</th><th>unique</th><th>total</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="Exports")
    def exports(self, obj: Campaign) -> str:
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}">Report (CSV)</a> · <a href="{}">Recipients\' outcomes (CSV)</a>',
            reverse("admin:campaigns_campaign_report_csv", args=[obj.pk]),
            reverse("admin:campaigns_campaign_recipients_csv", args=[obj.pk]),
        )


class SenderForm(forms.ModelForm):
    class Meta:
        model = Sender
        fields = ["owner", "email", "name"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            try:
                data["email"], data["name"] = senders.check_sender(email=data["email"], name=data.get("name", ""))
            except ValidationFailed as exc:
                for error in exc.errors:
                    self.add_error(str(error.get("field")), str(error.get("message")))
        return data


@admin.register(Sender)
class SenderAdmin(admin.ModelAdmin):
    form = SenderForm
    list_display = ("email", "name", "public_id", "owner", "verified_at", "created_at")
    list_filter = (("verified_at", admin.EmptyFieldListFilter), ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("email", "name", "public_id", "owner__email")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("public_id", "verified_at", "token_sent_at", "created_at")
    actions = ("resend",)

    def get_readonly_fields(self, request: HttpRequest, obj: Sender | None = None) -> tuple[str, ...]:
        fixed = ("owner", "email", "name") if obj is not None else ()  # a changed address would need a new proof
        return (*self.readonly_fields, *fixed)

    def save_model(self, request: HttpRequest, obj: Sender, form: SenderForm, change: bool) -> None:
        if change:
            return
        data = form.cleaned_data  # a duplicate address was refused by the form (the model's unique constraint)
        try:
            created = senders.add_sender(owner=data["owner"], email=data["email"], name=data["name"])
        except DomainError as exc:  # the link could not be mailed: nothing was added
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        obj.pk, obj.public_id = created.pk, created.public_id

    def response_add(self, request: HttpRequest, obj: Sender, post_url_continue: str | None = None) -> HttpResponse:
        if obj.pk is None:  # not added (save_model said why): back to the list, not to a page of nothing
            return HttpResponseRedirect(reverse("admin:campaigns_sender_changelist"))
        return super().response_add(request, obj, post_url_continue)

    def delete_model(self, request: HttpRequest, obj: Sender) -> None:
        try:
            senders.remove_sender(sender=obj)
        except Conflict as exc:
            self.message_user(request, exc.message, level=messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Sender]) -> None:
        for sender in queryset:
            self.delete_model(request, sender)

    @admin.action(description="Send the confirmation link again", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Sender]) -> None:
        for sender in queryset:
            try:
                senders.resend_confirmation(sender=sender)
            except DomainError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
