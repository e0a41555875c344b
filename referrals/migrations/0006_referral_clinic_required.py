import django.db.models.deletion
from django.db import migrations, models

from common.migration_operations import clinic_copier


class Migration(migrations.Migration):
    """Every referral has its clinic: the rows written while 0005_referral_clinic ran are filled, then the column required.

    One transaction: on PostgreSQL the table is held against writes first (reads go on), so no row of
    an older release can arrive without a clinic between the copy and the constraint.
    """

    dependencies = [
        ("referrals", "0005_referral_clinic"),
    ]

    operations = [
        migrations.RunPython(
            clinic_copier("referrals.Referral", via="patient_id", source="patients.Patient", lock=True), migrations.RunPython.noop
        ),
        migrations.AlterField(
            model_name="referral",
            name="clinic",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="accounts.clinic"),
        ),
    ]
