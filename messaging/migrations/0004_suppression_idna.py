"""Suppressed email addresses in one spelling: lower case with the domain in its ASCII (IDNA) form, as accept
now compares them (`bücher.example` and `xn--bcher-kva.example` are one domain)."""

from django.db import migrations


def normalise(apps, schema_editor):
    from messaging.validation import normalise_email

    Suppression = apps.get_model("messaging", "Suppression")
    for row in Suppression.objects.filter(channel="email").iterator():
        try:
            address = normalise_email(row.address)
        except ValueError:
            continue
        if address != row.address:
            if Suppression.objects.filter(user_id=row.user_id, channel="email", address=address).exists():
                row.delete()
            else:
                Suppression.objects.filter(pk=row.pk).update(address=address)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_device_claim_indexes")]
    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
