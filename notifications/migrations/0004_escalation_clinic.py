from django.db import migrations, models

from common.migration_operations import AddIndexWithoutLocking, RemoveIndexWithoutLocking, clinic_column_added


class Migration(migrations.Migration):
    """Each escalation carries its assessment's clinic: a clinic's list is scoped by one indexed column.

    Before, the scope joined every escalation to its assessment and patient. As triage 0004: added
    empty, filled from the assessments, and required by the next migration; the list indexes carry the
    clinic, built beside the old ones and the old ones dropped, without locking the table on PostgreSQL.
    """

    atomic = False

    dependencies = [
        ("accounts", "0003_clinical_groups"),
        ("notifications", "0003_escalation_list_and_acknowledged_indexes"),
        ("triage", "0005_assessment_clinic_required"),
    ]

    operations = [
        *clinic_column_added("notifications.Escalation", via="assessment_id", source="triage.Assessment"),
        AddIndexWithoutLocking(
            model_name="escalation",
            index=models.Index(fields=["-opened_at"], include=("clinic", "id"), name="escalation_order_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="escalation",
            index=models.Index(fields=["status", "-opened_at"], include=("clinic",), name="escalation_by_status_idx"),
        ),
        RemoveIndexWithoutLocking(model_name="escalation", name="escalation_opened_at_idx"),
        RemoveIndexWithoutLocking(model_name="escalation", name="notificatio_status_6d7fd9_idx"),
    ]
