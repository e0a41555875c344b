from django.db import migrations, models

from common.migration_operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    """A clinic's referrals in their order, the clinic first: its counts read its own part of the index.

    With the filters' columns, a clinic's filtered count reads it too. Built without locking the table
    on PostgreSQL.
    """

    atomic = False

    dependencies = [
        ("referrals", "0006_referral_clinic_required"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="referral",
            index=models.Index(fields=["clinic", "-created_at", "-id"], include=("status", "specialty", "priority"),
                               name="referral_clinic_order_idx"),
        ),
    ]
