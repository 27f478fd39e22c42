from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0008_reply_to"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="list_unsubscribe",
            field=models.CharField(blank=True, db_default="", default="", max_length=2048),
        ),
    ]
