"""The site's URLs with the campaigns app's public pages included (as xsender/urls.py will include them)."""

from django.urls import include, path

from xsender.urls import urlpatterns as site

urlpatterns = [path("", include("campaigns.urls")), *site]
