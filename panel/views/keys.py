"""API keys: the tenant's keys (name, prefix, created, last used, scope), create (the secret shown once, on the
answer page, with a ready curl), rename, revoke (the key answers 401 from its next request)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import services
from accounts.models import ApiKey
from accounts.selectors import api_key_of, api_keys_of
from panel.access import tenant_required
from panel.account_forms import KeyNameForm
from xsender.errors import NotFound, ValidationFailed


def _own_key(request: HttpRequest, prefix: str) -> ApiKey:
    try:
        return api_key_of(user=request.user, prefix=prefix)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _list(request: HttpRequest, form: KeyNameForm, status: int = 200) -> HttpResponse:
    context = {"keys": api_keys_of(request.user), "form": form}
    return render(request, "panel/api_keys.html", context, status=status)


@tenant_required
def api_key_list(request: HttpRequest) -> HttpResponse:
    return _list(request, KeyNameForm())


@tenant_required
@require_POST
def create_api_key(request: HttpRequest) -> HttpResponse:
    """Answers with the page that shows the secret once (never a flash message, never stored)."""
    form = KeyNameForm(request.POST)
    if form.is_valid():
        try:
            key, secret = services.issue_api_key(user=request.user, name=form.cleaned_data["name"])
        except ValidationFailed as exc:
            form.add_domain_errors(exc)
        else:
            context = {"key": key, "secret": secret, "base_url": settings.XSENDER_BASE_URL.rstrip("/")}
            response = render(request, "panel/api_key_created.html", context)
            response["Cache-Control"] = "no-store"  # the page holds the secret: no browser or proxy keeps a copy
            return response
    return _list(request, form, status=400)


@tenant_required
def rename_api_key(request: HttpRequest, prefix: str) -> HttpResponse:
    key = _own_key(request, prefix)
    form = KeyNameForm(request.POST or None, initial={"name": key.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.rename_api_key(key=key, name=form.cleaned_data["name"])
        except ValidationFailed as exc:
            form.add_domain_errors(exc)
        else:
            messages.success(request, f"Key {key.prefix}… renamed to “{key.name}”.")
            return redirect("panel:api-keys")
    return render(request, "panel/api_key_rename.html", {"key": key, "form": form})


@tenant_required
@require_POST
def revoke_api_key(request: HttpRequest, prefix: str) -> HttpResponse:
    key = services.revoke_api_key(key=_own_key(request, prefix))
    messages.success(request, f"Key {key.prefix}… ({key.name}) revoked: it is refused from its next request.")
    return redirect("panel:api-keys")
