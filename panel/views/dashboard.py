"""Dashboard: credits, counts per channel and status, the 30-day chart, failures, devices and gateways."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "panel/dashboard.html", {})
