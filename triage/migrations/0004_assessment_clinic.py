from django.db import migrations, models

from common.migration_operations import AddIndexWithoutLocking, RemoveIndexWithoutLocking, clinic_column_added


class Migration(migrations.Migration):
    """Each assessment carries its patient's clinic: a clinic's lists are scoped by one indexed column.

    Before, the scope was "the patient is one of the clinic's", a join to every patient the clinic has
    (40,000 in bench/scale: 10-20 ms on each count and deep page). The column is added empty, filled
    from the patients, and required by the next migration; the list indexes carry the clinic instead of
    the patient. The indexes are built beside the old ones, then the old ones dropped, without locking
    the table on PostgreSQL. History rows written before keep an empty clinic.
    """

    atomic = False

    dependencies = [
        ("accounts", "0003_clinical_groups"),
        ("patients", "0002_patient_clinic_covering_index"),
        ("triage", "0003_assessment_list_order_index_covering"),
    ]

    operations = [
        *clinic_column_added("triage.Assessment", via="patient_id", source="patients.Patient"),
        AddIndexWithoutLocking(
            model_name="assessment",
            index=models.Index(fields=["-submitted_at"], include=("clinic", "urgency", "id"),
                               name="assessment_order_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="assessment",
            index=models.Index(fields=["urgency", "-submitted_at"], include=("clinic",),
                               name="assessment_by_urgency_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="assessment",
            index=models.Index(fields=["status", "-submitted_at"], include=("clinic",),
                               name="assessment_by_status_idx"),
        ),
        RemoveIndexWithoutLocking(model_name="assessment", name="assessment_list_order_idx"),
        RemoveIndexWithoutLocking(model_name="assessment", name="assessment_urgency_idx"),
        RemoveIndexWithoutLocking(model_name="assessment", name="assessment_status_idx"),
    ]
