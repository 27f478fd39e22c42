"""The two page shapes the audience, segment and template pages share: an edit form saved through a service, and a
delete that asks first. The service call is the caller's; these only choose what is rendered and where to go."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from panel.contact_forms import add_domain_errors
from xsender.errors import DomainError


def edit_page(
    request: HttpRequest, form: forms.Form, *, save: Callable[[], str], title: str, back: str
) -> HttpResponse:
    """On a valid POST, `save()` (a service call; returns the flash) and back to `back` (a URL); a domain error is
    shown at the field it names and nothing changes. Otherwise the form, in panel/audience_form.html."""
    if request.method == "POST" and form.is_valid():
        try:
            done = save()
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(back)
    context = {"form": form, "title": title, "back": back}
    return render(request, "panel/audience_form.html", context, status=400 if form.errors else 200)


def delete_page(
    request: HttpRequest, *, delete: Callable[[], str], title: str, text: str, button: str, back: str, done: str,
    refused: str | None = None,
) -> HttpResponse:  # fmt: skip
    """GET asks first (panel/confirm_delete.html, "back" going to `back`); POST runs `delete()` (a service call;
    returns the flash) and goes to `done`. A domain error is a flash, and goes to `refused` (default `back`)."""
    if request.method != "POST":
        context = {"title": title, "text": text, "button": button, "back": back}
        return render(request, "panel/confirm_delete.html", context)
    try:
        flash = delete()
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(refused or back)
    messages.success(request, flash)
    return redirect(done)
