"""Public pages of the campaigns app, included at the site's root (xsender/urls.py)."""

from __future__ import annotations

from django.urls import path

from campaigns.views import SenderConfirmView, UnsubscribeView, click, open_pixel

app_name = "campaigns"

urlpatterns = [
    path("senders/confirm/<str:token>/", SenderConfirmView.as_view(), name="sender-confirm"),
    # Links in campaign messages, named by signed tokens (campaigns.links); no sign-in.
    path("u/<str:token>/", UnsubscribeView.as_view(), name="unsubscribe"),
    path("o/<str:token>/", open_pixel, name="open"),
    path("c/<str:token>/", click, name="click"),
]
