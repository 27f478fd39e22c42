from django.urls import path

from messaging.api import views as api

urlpatterns = [
    path("api/email/send", api.EmailSendView.as_view(), name="api-email-send"),
    path("api/sms/send", api.SmsSendView.as_view(), name="api-sms-send"),
    path("api/whatsapp/send", api.WhatsAppSendView.as_view(), name="api-whatsapp-send"),
    path("api/get/<str:channel>/<str:uid>", api.StatusView.as_view(), name="api-message-status"),
]
