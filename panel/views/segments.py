"""The tenant's segments: a list with each one's live count, a rule builder (a fixed number of rule rows, so it
works without JavaScript) to create and edit one, its live count before saving (the Count button, or htmx as the
rows change), and deletion after a confirmation. Every change goes through contacts.services; the rules' errors
(`rules.N.<key>`) are shown at their row and nothing is saved."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts import selectors, services
from contacts.models import Segment
from panel.access import tenant_required
from panel.audience import custom_fields_of, lists_of, own, segments_with_counts, tags_of
from panel.contact_forms import add_domain_errors
from panel.pages import delete_page
from panel.segment_forms import RULE_ROWS, SegmentForm
from xsender.errors import DomainError, ValidationFailed


@tenant_required
def segment_list(request: HttpRequest) -> HttpResponse:
    return render(request, "panel/segments.html", {"segments": segments_with_counts(request.user)})


def _form(request: HttpRequest, data: Any, segment: Segment | None) -> SegmentForm:
    owner = request.user
    return SegmentForm(
        data, fields=custom_fields_of(owner), lists=lists_of(owner), tags=tags_of(owner), segment=segment
    )


def _live_count(request: HttpRequest, form: SegmentForm) -> int | None:
    """The count of the form's rules as they are (not saved); None when they are not valid (errors added)."""
    rules, aliases = form.rules()
    try:
        return selectors.count_rules(owner=request.user, rules=rules, match=form.cleaned_data["match"])
    except ValidationFailed as exc:
        add_domain_errors(form, exc, aliases)
        return None


def _builder(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    form = _form(request, request.POST or None, segment)
    count: int | None = None
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "count":
            count = _live_count(request, form)
        elif segment is not None and len(segment.rules) > RULE_ROWS:
            form.add_error(None, f"This segment has {len(segment.rules)} rules; the panel edits at most {RULE_ROWS}.")
        else:
            rules, aliases = form.rules()
            aliases |= {"rules": "rule_0_field"}
            try:
                if segment is None:
                    segment = services.create_segment(owner=request.user, **form.changes())
                else:
                    services.update_segment(segment=segment, **form.changes())
            except DomainError as exc:
                add_domain_errors(form, exc, aliases)
            else:
                messages.success(request, f"Segment “{segment.name}” saved.")
                return redirect("panel:segments")
    elif segment is not None and request.method == "GET":
        count = selectors.segment_count(segment)
    title = "New segment" if segment is None else f"Edit segment “{segment.name}”"
    context = {"form": form, "title": title, "segment": segment, "count": count}
    return render(request, "panel/segment_form.html", context, status=400 if form.errors else 200)


@tenant_required
def add_segment(request: HttpRequest) -> HttpResponse:
    return _builder(request, None)


@tenant_required
def edit_segment(request: HttpRequest, public_id: str) -> HttpResponse:
    return _builder(request, own("segment", request.user, public_id))


@tenant_required
@require_POST
def segment_count(request: HttpRequest) -> HttpResponse:
    """htmx: the live count of the rule builder's rows as they are now (nothing saved)."""
    form = _form(request, request.POST, None)
    count = _live_count(request, form) if form.is_valid() else None
    errors = [str(e) for field in form.errors.values() for e in field]
    return render(request, "panel/_segment_count.html", {"count": count, "count_errors": errors})


@tenant_required
def delete_segment(request: HttpRequest, public_id: str) -> HttpResponse:
    segment = own("segment", request.user, public_id)

    def delete() -> str:
        services.delete_segment(segment=segment)
        return f"Segment “{segment.name}” deleted; its contacts stay."

    back = reverse("panel:segments")
    return delete_page(
        request, delete=delete, title=f"Delete segment “{segment.name}”", button="Delete segment", back=back,
        done=back, text="The segment's rules go; no contact is changed or deleted.",
    )  # fmt: skip
