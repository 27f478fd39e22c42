"""The panel's history and failures: (user, channel, created_at) gains the id that breaks ties (keyset pages
within a bulk send, whose messages share one created_at), and failed messages get a partial index of their own.
Built and dropped concurrently, so a large table stays writable meanwhile."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0006_daily_counts"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(fields=["user", "channel", "created_at", "id"], name="msg_user_history"),
        ),
        RemoveIndexConcurrently(model_name="message", name="messaging_m_user_id_5a568e_idx"),
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(
                condition=models.Q(status="Failed"), fields=["user", "created_at", "id"], name="msg_user_failed"
            ),
        ),
    ]
