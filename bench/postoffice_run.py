"""Queues N emails with django-post-office, then times `send_queued_mail` (prints {"seconds": …})."""

import json
import sys
import time

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from post_office import mail  # noqa: E402
from post_office.models import Email  # noqa: E402

count = int(sys.argv[1])
Email.objects.all().delete()
mail.send_many(
    [
        {"sender": "noreply@example.com", "recipients": [f"r{i}@example.com"], "subject": "Hello", "message": "Hi"}
        for i in range(count)
    ]
)
started = time.perf_counter()
call_command("send_queued_mail", processes=1)
seconds = time.perf_counter() - started
sent = Email.objects.filter(status=0).count()
print(json.dumps({"seconds": seconds, "sent": sent}))
