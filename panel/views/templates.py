"""Templates: the tenant's reusable content per channel — list, create (the channel first), edit with a preview
rendered for one of their contacts (or sample data), delete after a confirmation, and a test send of one message.

Every change goes through campaigns.services (their ValidationFailed shown at the fields they name, nothing saved);
every template is looked up by its public id through campaigns.selectors (another tenant's is a 404). The preview's
HTML is shown in an `<iframe sandbox>` without allow-scripts or allow-same-origin, loaded from its own URL
(template_preview_html, with a policy that lets the email's inline styles and images render), so a template's HTML
never runs in the panel's origin. A test send is one `accept_messages(source="panel")` call: checked and charged as any.
"""

from __future__ import annotations

import uuid
from typing import Any

from csp.decorators import csp
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from campaigns import services
from campaigns.models import Template
from campaigns.selectors import template_of, templates_of
from messaging.models import Message, Source
from messaging.services import accept_messages
from panel.access import tenant_required
from panel.pages import delete_page
from panel.template_forms import CHANNEL_HINTS, CHANNELS, PreviewWithForm, TemplateForm, TestSendForm, contact_choices
from panel.template_preview import Preview, preview_data, saved_preview, stashed_html, test_item, typed_preview
from xsender.errors import DomainError, NotFound


def _own(owner: User, public_id: str) -> Template:
    try:
        return template_of(user=owner, public_id=public_id)
    except NotFound as exc:
        raise Http404(exc.message) from None


@tenant_required
def template_list(request: HttpRequest) -> HttpResponse:
    """The tenant's templates by name: one query whatever their number."""
    rows = list(templates_of(request.user).only("public_id", "name", "channel", "updated_at"))
    return render(request, "panel/templates.html", {"templates": rows})


@tenant_required
def add_template(request: HttpRequest) -> HttpResponse:
    """`?channel=` chooses the channel first; then the channel's form."""
    channel = request.GET.get("channel", "")
    if channel not in CHANNELS:
        choices = [(key, label, CHANNEL_HINTS[key]) for key, label in CHANNELS.items()]
        return render(request, "panel/template_channel.html", {"channels": choices})
    return _editor(request, channel, None)


@tenant_required
def edit_template(request: HttpRequest, public_id: str) -> HttpResponse:
    return _editor(request, None, _own(request.user, public_id))


def _editor(request: HttpRequest, channel: str | None, template: Template | None) -> HttpResponse:
    """GET shows the form (and a saved template's preview); POST with action=preview previews the typed content
    without saving (the no-JavaScript path); any other POST saves through the services."""
    channel = template.channel if template else str(channel)
    form = TemplateForm(request.POST or None, channel=channel, template=template)
    choices = contact_choices(request.user)
    with_form = PreviewWithForm(request.POST or request.GET or None, choices=choices)
    if request.method == "POST" and request.POST.get("action") != "preview" and form.is_valid():
        saved = _save(request, form, template)
        if saved is not None:
            messages.success(request, f"Template “{saved.name}” saved.")
            return redirect("panel:edit-template", public_id=saved.public_id)
    preview = _preview(request, form, with_form, channel, template)
    test_form = TestSendForm(owner=request.user, channel=channel, choices=choices, prefix="test") if template else None
    context = _context(request, channel, template, form, with_form, preview, test_form)
    return render(request, "panel/template_form.html", context, status=400 if form.errors else 200)


def _save(request: HttpRequest, form: TemplateForm, template: Template | None) -> Template | None:
    name, content = form.cleaned_data.get("name", ""), form.content()
    try:
        if template is None:
            return services.create_template(owner=request.user, channel=form.channel, name=name, **content)
        return services.update_template(template=template, name=name, **content)
    except DomainError as exc:
        form.show_errors(exc)
        return None


def _preview(
    request: HttpRequest, form: TemplateForm, with_form: PreviewWithForm, channel: str, template: Template | None
) -> Preview | None:
    """A POST previews what was typed; a GET a saved template's content; a new, empty form nothing yet."""
    if request.method != "POST":
        return saved_preview(template, *preview_data(request.user, with_form.chosen())) if template else None
    data, whose = preview_data(request.user, with_form.chosen())
    if not form.is_valid():
        return Preview(errors=[{"field": f, "message": " ".join(e)} for f, e in form.errors.items()], contact=whose)
    return typed_preview(request.user, channel, form.content(), data, whose, template)


def _context(
    request: HttpRequest, channel: str, template: Template | None, form: TemplateForm, with_form: PreviewWithForm,
    preview: Preview | None, test_form: TestSendForm | None,
) -> dict[str, Any]:  # fmt: skip
    sent = request.GET.get("sent", "")
    try:
        sent_uid = uuid.UUID(sent) if sent else None
    except ValueError:
        sent_uid = None
    title = f"Template “{template.name}”" if template else f"New {CHANNELS[channel]} template"
    return {"form": form, "with_form": with_form, "preview": preview, "test_form": test_form, "template": template,
            "channel": channel, "channel_label": CHANNELS[channel], "title": title, "sent_uid": sent_uid}  # fmt: skip


# The preview's HTML part, in its sandboxed iframe: the email's own inline styles and images render (the panel's
# policy allows neither), and still no script, no form, no plugin, no frame outside the panel.
PREVIEW_POLICY = {
    "default-src": ["'none'"], "style-src": ["'unsafe-inline'", "https:"], "img-src": ["https:", "http:", "data:"],
    "font-src": ["https:", "data:"], "frame-ancestors": ["'self'"], "base-uri": ["'none'"], "form-action": ["'none'"],
    "sandbox": [True],
}  # fmt: skip


@tenant_required
@require_GET
@xframe_options_sameorigin
@csp(PREVIEW_POLICY)
def template_preview_html(request: HttpRequest, token: str) -> HttpResponse:
    """The HTML part of a preview this tenant just made (panel.template_preview.stash_html), for its iframe; 404
    once it has expired or for anyone else's."""
    html = stashed_html(request.user.pk, token)
    if html is None:
        return HttpResponse("This preview has expired: preview again.", status=404, content_type="text/plain")
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store, private"
    return response


@tenant_required
@require_POST
def template_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the preview of the editor's content as typed (nothing saved); the page's Preview button without it."""
    channel = request.POST.get("channel", "")
    if channel not in CHANNELS:
        return HttpResponseBadRequest("Unknown channel.")
    form = TemplateForm(request.POST, channel=channel)
    with_form = PreviewWithForm(request.POST, choices=contact_choices(request.user))
    preview = _preview(request, form, with_form, channel, None)
    return render(request, "panel/_template_preview.html", {"preview": preview, "channel": channel})


@tenant_required
def delete_template(request: HttpRequest, public_id: str) -> HttpResponse:
    """GET asks for the confirmation; POST deletes (refused while a campaign uses the template)."""
    template = _own(request.user, public_id)

    def delete() -> str:
        services.delete_template(template=template)
        return f"Template “{template.name}” deleted."

    return delete_page(
        request, delete=delete, title=f"Delete template “{template.name}”", button="Delete template",
        text="The template goes. Messages already sent with it stay in History.",
        back=reverse("panel:edit-template", kwargs={"public_id": template.public_id}), done=reverse("panel:templates"),
    )  # fmt: skip


@tenant_required
@require_POST
def test_template(request: HttpRequest, public_id: str) -> HttpResponse:
    """One message of the saved template, rendered with the chosen data, to the typed recipient."""
    template = _own(request.user, public_id)
    choices = contact_choices(request.user)
    test_form = TestSendForm(request.POST, owner=request.user, channel=template.channel, choices=choices, prefix="test")
    if test_form.is_valid() and (sent := _send_test(request, test_form, template)) is not None:
        messages.success(request, f"Test message {sent.uid} accepted ({sent.cost} credit{'s' * (sent.cost != 1)}).")
        return redirect(reverse("panel:edit-template", kwargs={"public_id": template.public_id}) + f"?sent={sent.uid}")
    form, with_form = TemplateForm(channel=template.channel, template=template), PreviewWithForm(choices=choices)
    data, whose = preview_data(request.user, with_form.chosen())
    preview = saved_preview(template, data, whose)
    context = _context(request, template.channel, template, form, with_form, preview, test_form)
    return render(request, "panel/template_form.html", context, status=400)


def _send_test(request: HttpRequest, form: TestSendForm, template: Template) -> Message | None:
    data, _ = preview_data(request.user, form.chosen())
    rendered = services.preview_template(template=template, data=data)
    try:
        item = test_item(rendered, form.cleaned_data["recipient"].strip(), form.cleaned_data["gateway"])
        sent = accept_messages(principal=request.user, channel=template.channel, items=[item], source=Source.PANEL)
    except DomainError as exc:
        form.show_error(exc)
        return None
    return sent[0]
