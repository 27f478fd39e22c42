"""Public pages of the campaigns app, included at the site's root (xsender/urls.py)."""

from __future__ import annotations

from django.urls import path

from campaigns.views import SenderConfirmView

app_name = "campaigns"

urlpatterns = [
    path("senders/confirm/<str:token>/", SenderConfirmView.as_view(), name="sender-confirm"),
]
