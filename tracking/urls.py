from django.urls import path

from tracking import views

# The public provider webhooks (docs/webhooks.md, "Inbound"): a site-wide URL per provider for the admin's
# gateways, and one per gateway, checked against that gateway's own secrets.
urlpatterns = [
    path("api/webhook/email/<str:provider>", views.receive, {"kind": "email"}, name="webhook-email"),
    path(
        "api/webhook/email/<str:provider>/<uuid:gateway_uid>",
        views.receive,
        {"kind": "email"},
        name="webhook-email-gateway",
    ),
    path("api/webhook/sms/twilio", views.receive, {"kind": "sms", "provider": "twilio"}, name="webhook-twilio"),
    path(
        "api/webhook/sms/twilio/<uuid:gateway_uid>",
        views.receive,
        {"kind": "sms", "provider": "twilio"},
        name="webhook-twilio-gateway",
    ),
    path(
        "api/webhook/whatsapp/cloud",
        views.receive,
        {"kind": "whatsapp", "provider": "cloud"},
        name="webhook-whatsapp-cloud",
    ),
    path(
        "api/webhook/whatsapp/cloud/<uuid:gateway_uid>",
        views.receive,
        {"kind": "whatsapp", "provider": "cloud"},
        name="webhook-whatsapp-cloud-gateway",
    ),
    path(
        "api/webhook/whatsapp/web/<uuid:gateway_uid>",
        views.receive,
        {"kind": "whatsapp", "provider": "web"},
        name="webhook-whatsapp-web-gateway",
    ),
]
