from django.db import migrations, models

from common.migration_operations import AddIndexWithoutLocking, RemoveIndexWithoutLocking


class Migration(migrations.Migration):
    """The list-order index carries the patient, the urgency and the id: daily counts and deep pages read it alone.

    Built beside the old one, then the old one dropped, both without locking the table on PostgreSQL.
    """

    atomic = False

    dependencies = [
        ("triage", "0002_assessment_list_indexes"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="assessment",
            index=models.Index(
                fields=["-submitted_at"], include=("patient", "urgency", "id"), name="assessment_list_order_idx"
            ),
        ),
        RemoveIndexWithoutLocking(model_name="assessment", name="assessment_submitted_at_idx"),
    ]
