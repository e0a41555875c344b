import django.db.models.deletion
from django.db import migrations, models

from common.migration_operations import clinic_copier


class Migration(migrations.Migration):
    """Every escalation has its clinic: the rows written while 0004_escalation_clinic ran are filled, then the column required.

    One transaction: on PostgreSQL the table is held against writes first (reads go on), so no row of
    an older release can arrive without a clinic between the copy and the constraint.
    """

    dependencies = [
        ("notifications", "0004_escalation_clinic"),
    ]

    operations = [
        migrations.RunPython(
            clinic_copier("notifications.Escalation", via="assessment_id", source="triage.Assessment", lock=True), migrations.RunPython.noop
        ),
        migrations.AlterField(
            model_name="escalation",
            name="clinic",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="accounts.clinic"),
        ),
    ]
