"""Fewer index entries per message write: the provider-id index holds only messages a provider answered for,
and the pending-retries index (no longer read: drains and the scheduler use the pending-claims index) goes.
Built and dropped concurrently, so a large table stays writable meanwhile."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("gateways", "0002_gateway_connections"),
        ("messaging", "0004_suppression_idna"),
    ]

    operations = [
        RemoveIndexConcurrently(model_name="message", name="msg_provider_id"),
        RemoveIndexConcurrently(model_name="message", name="msg_pending_due"),
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(
                condition=~models.Q(provider_message_id=""),
                fields=["gateway", "provider_message_id"],
                name="msg_provider_id",
            ),
        ),
    ]
