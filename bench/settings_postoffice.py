"""django-post-office beside XSender's settings, for the delivery comparison only (never used by the product)."""

import os

from xsender.settings import *  # noqa: F403
from xsender.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("BENCH_SMTP_PORT", "25"))
EMAIL_USE_TLS = False
POST_OFFICE = {"BATCH_SIZE": 1000, "LOG_LEVEL": 0, "THREADS_PER_PROCESS": 1, "MESSAGE_ID_ENABLED": True}
