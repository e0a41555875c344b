from django.db import migrations, models
from django.db.models import F


def start_clocks_at_creation(apps, schema_editor):
    """Referrals made before SLA clocks had a start: their clock started when they were proposed."""
    for name in ("Referral", "HistoricalReferral"):
        apps.get_model("referrals", name).objects.filter(clock_started_at__isnull=True).update(
            clock_started_at=F("created_at")
        )


class Migration(migrations.Migration):

    dependencies = [
        ("referrals", "0002_lifecycle_sla_partners_webhooks"),
    ]

    operations = [
        migrations.RunPython(start_clocks_at_creation, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="historicalreferral",
            name="clock_started_at",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="referral",
            name="clock_started_at",
            field=models.DateTimeField(),
        ),
    ]
