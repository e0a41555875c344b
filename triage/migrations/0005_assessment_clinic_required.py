import django.db.models.deletion
from django.db import migrations, models

from common.migration_operations import RequireWithoutScanLock, clinic_copier


class Migration(migrations.Migration):
    """Every assessment has its clinic: the rows stored before 0004 set its trigger are filled, then required.

    The database fills the clinic of any row inserted without one since then (an older release's),
    so nothing can arrive empty between the copy and the constraint. NOT NULL is proven from a
    validated check: reads and writes go on while the table is checked, on PostgreSQL.
    """

    atomic = False

    dependencies = [
        ("triage", "0004_assessment_clinic"),
    ]

    operations = [
        migrations.RunPython(
            clinic_copier("triage.Assessment", via="patient_id", source="patients.Patient"), migrations.RunPython.noop
        ),
        RequireWithoutScanLock(
            model_name="assessment",
            name="clinic",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="accounts.clinic"),
        ),
    ]
