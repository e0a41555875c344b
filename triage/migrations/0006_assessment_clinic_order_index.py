from django.db import migrations, models

from common.migration_operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    """A clinic's assessments in their order, the clinic first: its count reads its own part of the index.

    `assessment_order_idx` carries the clinic beside the order, so counting one clinic read every
    clinic's entries (1,000,000 in bench/scale, whatever the clinic's size). Built without locking the
    table on PostgreSQL.
    """

    atomic = False

    dependencies = [
        ("triage", "0005_assessment_clinic_required"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="assessment",
            index=models.Index(fields=["clinic", "-submitted_at", "-id"], include=("urgency", "status"),
                               name="assessment_clinic_order_idx"),
        ),
    ]
