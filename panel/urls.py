from django.contrib.auth import views as auth_views
from django.urls import path

from panel import views
from panel.forms import PanelLoginForm

app_name = "panel"
urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="panel/login.html", authentication_form=PanelLoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="panel:login"), name="logout"),
    path("gateway/android/devices/", views.devices, name="devices"),
    path("gateway/android/devices/add/", views.add_device, name="add-device"),
    path("gateway/android/devices/<uuid:uid>/revoke/", views.revoke_device, name="revoke-device"),
    path("gateway/android/devices/<uuid:uid>/profile/", views.device_profile, name="device-profile"),
]
