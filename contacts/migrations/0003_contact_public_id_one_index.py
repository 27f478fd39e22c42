"""Contact.public_id: unique by a named constraint instead of `unique=True`, which also kept a varchar_pattern_ops
index for LIKE that no query uses and every insert paid for (a random btree write: public ids are random). The
table's unique index is kept and renamed (no rebuild of a large index); only the LIKE index is dropped."""

import functools

from django.db import migrations, models

import xsender.public_ids


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0002_segments_imports"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="contact",
                    name="public_id",
                    field=models.CharField(
                        default=functools.partial(xsender.public_ids.new_public_id, *("contact",), **{}),
                        editable=False,
                        max_length=40,
                    ),
                ),
                migrations.AddConstraint(
                    model_name="contact",
                    constraint=models.UniqueConstraint(fields=("public_id",), name="contact_public_id_unique"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=[
                        'DROP INDEX IF EXISTS "contacts_contact_public_id_69b09c19_like"',
                        'ALTER TABLE "contacts_contact" RENAME CONSTRAINT "contacts_contact_public_id_key"'
                        ' TO "contact_public_id_unique"',
                    ],
                    reverse_sql=[
                        'ALTER TABLE "contacts_contact" RENAME CONSTRAINT "contact_public_id_unique"'
                        ' TO "contacts_contact_public_id_key"',
                        'CREATE INDEX "contacts_contact_public_id_69b09c19_like" ON "contacts_contact"'
                        ' ("public_id" varchar_pattern_ops)',
                    ],
                ),
            ],
        ),
    ]
