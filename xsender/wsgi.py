import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xsender.settings")
application = get_wsgi_application()

from xsender.startup import settle  # noqa: E402 — needs the app set up

settle()
