"""The ledger read per account, newest first (the panel's Credits page): an index on (account, created_at, id)
replaces the plain index of the account column, so an entry (written by every send) still updates one index. Built
and dropped concurrently, so a large ledger stays writable meanwhile."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
import django.db.models.deletion


def drop_account_index(apps, schema_editor):
    """The old index on account_id alone, whatever name Django gave it."""
    table = apps.get_model("accounts", "CreditEntry")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    for name, info in constraints.items():
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == ["account_id"]:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


def restore_account_index(apps, schema_editor):
    table = apps.get_model("accounts", "CreditEntry")._meta.db_table
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {table}_account_id_idx ON {table} (account_id)")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0005_credit_low"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="creditentry",
            index=models.Index(fields=["account", "created_at", "id"], name="ledger_by_account"),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_account_index, restore_account_index)],
            state_operations=[
                migrations.AlterField(
                    model_name="creditentry",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="accounts.creditaccount",
                    ),
                ),
            ],
        ),
    ]
