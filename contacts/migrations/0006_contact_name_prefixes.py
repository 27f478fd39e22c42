"""A search by name (`istartswith` on first or last name, `UPPER(name) LIKE UPPER('text%')`) reads an index of the
owner and the upper-cased name instead of walking every contact of the tenant newest first until a page is found:
a name matching a few of 1,000,000 contacts took 350 ms to 2 s, now about 5 ms. Built concurrently, so the
contacts stay writable meanwhile. The SQL is written out: Django renders an operator class on an expression
correctly only with django.contrib.postgres installed, which XSender does not need otherwise."""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.db import migrations, models

NAMES = ("first_name", "last_name")


def _index(name: str) -> models.Index:
    return models.Index(
        models.F("owner"),
        django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper(name), name="text_pattern_ops"),
        name=f"contact_{name}_prefix",
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("contacts", "0005_memberships_by_target"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_{name}_prefix "
                    f"ON contacts_contact (owner_id, (upper({name}::text)) text_pattern_ops)",
                    f"DROP INDEX CONCURRENTLY IF EXISTS contact_{name}_prefix",
                )
                for name in NAMES
            ]
            # The planner's statistics of the indexed expressions, which only ANALYZE gathers: without them it keeps
            # walking the tenant's contacts (measured: 340–530 ms before, 5 ms after, on 1,000,000 contacts).
            + [migrations.RunSQL("ANALYZE contacts_contact", migrations.RunSQL.noop)],
            state_operations=[migrations.AddIndex(model_name="contact", index=_index(name)) for name in NAMES],
        )
    ]
