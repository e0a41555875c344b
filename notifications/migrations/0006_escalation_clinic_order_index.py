from django.db import migrations, models

from common.migration_operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    """A clinic's escalations in their order, the clinic first: its count reads its own part of the index.

    Built without locking the table on PostgreSQL.
    """

    atomic = False

    dependencies = [
        ("notifications", "0005_escalation_clinic_required"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="escalation",
            index=models.Index(fields=["clinic", "-opened_at", "-id"], include=("status",),
                               name="escalation_clinic_order_idx"),
        ),
    ]
