import django.db.models.deletion
from django.db import migrations, models

from common.migration_operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    """A clinic's patients' ids from the index alone (the scope of clinic-wide reads); it replaces the FK's index."""

    atomic = False

    dependencies = [
        ("accounts", "0003_clinical_groups"),
        ("patients", "0001_initial"),
    ]

    operations = [
        # The new index first, without locking the table on PostgreSQL: the foreign key is never left without one.
        AddIndexWithoutLocking(
            model_name="patient",
            index=models.Index(fields=["clinic", "id"], name="patient_clinic_idx"),
        ),
        migrations.AlterField(
            model_name="patient",
            name="clinic",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="patients",
                to="accounts.clinic",
            ),
        ),
    ]
