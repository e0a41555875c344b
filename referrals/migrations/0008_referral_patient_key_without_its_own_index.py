import django.db.models.deletion
from django.db import migrations, models

from common.migration_operations import ForeignKeyIndexDropped


class Migration(migrations.Migration):
    """The patient key's own index goes: the (patient, -created_at) index serves every look-up by patient.

    One index fewer for each referral stored. The foreign key constraint stays as it is; the index is
    dropped without locking the table on PostgreSQL.
    """

    atomic = False

    dependencies = [
        ("patients", "0002_patient_clinic_covering_index"),
        ("referrals", "0007_referral_clinic_order_index"),
    ]

    operations = [
        ForeignKeyIndexDropped(
            model_name="referral",
            name="patient",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="referrals", to="patients.patient"),
        ),
    ]
