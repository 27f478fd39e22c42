"""Who may use the tenant panel's pages: signed-in tenants. Staff sign in at /admin/ (with a second factor) and are
refused at the panel's sign-in; a staff session opened in the admin does not reach these pages either — a
superuser's API key would be admin-scope, so keys, gateways and credits are managed from the admin for them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

View = Callable[..., HttpResponse]


def tenant_required(view: View) -> View:
    """login_required, and a staff session is sent to the admin."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_staff or request.user.is_superuser:
            return redirect("admin:index")
        return view(request, *args, **kwargs)

    return login_required(wrapped)
