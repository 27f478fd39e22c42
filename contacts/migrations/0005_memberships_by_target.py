"""A list's (a tag's) members in order: an index on (contactlist_id, contact_id) of the list memberships and on
(tag_id, contact_id) of the taggings replaces the plain index of the list (tag) column. A segment counts a list's or
a tag's members from it alone (an index-only scan), and a segment of a tag and other rules walks the tag's contacts
by id instead of reading every contact of the tenant; a membership still updates as many indexes as before. Built
and dropped concurrently, so the memberships stay writable meanwhile."""

from django.db import migrations

# table, target column, new index
INDEXES = [
    ("contacts_contact_lists", "contactlist_id", "contact_lists_by_list"),
    ("contacts_contact_tags", "tag_id", "contact_tags_by_tag"),
]


def _single_column_indexes(schema_editor, table, column):
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]
    ]


def by_target(apps, schema_editor):
    for table, column, name in INDEXES:
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} ({column}, contact_id)")
        for old in _single_column_indexes(schema_editor, table, column):  # whatever name Django gave it
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(old)}")


def by_target_column(apps, schema_editor):
    for table, column, name in INDEXES:
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {table}_{column}_idx ON {table} ({column})")
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("contacts", "0004_contact_time_zone"),
    ]

    operations = [migrations.RunPython(by_target, by_target_column)]
