from django.urls import path

from devices import api

PREFIX = "api/gateway/sms/android/"
urlpatterns = [
    path(PREFIX + "register-session", api.RegisterSessionView.as_view(), name="device-register"),
    path(PREFIX + "logout", api.LogoutView.as_view(), name="device-logout"),
    path(PREFIX + "sim", api.SimListView.as_view(), name="device-sims"),
    path(PREFIX + "sim/update-status", api.SimStatusView.as_view(), name="device-sim-status"),
    path(PREFIX + "sim/<str:uid>", api.SimDetailView.as_view(), name="device-sim"),
    path("api/logs/sms/pending", api.PendingView.as_view(), name="device-pending"),
    path("api/logs/sms/update-statuses", api.UpdateStatusesView.as_view(), name="device-update-statuses"),
]
