from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_sender"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="track_opens_clicks",
            field=models.BooleanField(
                db_default=True,
                default=True,
                help_text="Email: our own open pixel and click redirects in the HTML (docs/campaigns.md, own tracking).",
            ),
        ),
    ]
