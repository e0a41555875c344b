from django.db import migrations, models
from django.db.models import Q

from common.migration_operations import AddIndexWithoutLocking, RemoveIndexWithoutLocking, clinic_column_added

OPEN_STATUSES = ("proposed", "sent", "accepted", "scheduled", "no_show")


class Migration(migrations.Migration):
    """Each referral carries its patient's clinic: a clinic's lists are scoped by one indexed column.

    As triage 0004 for assessments: added empty, filled from the patients, and required by the next
    migration; the list, filter and overdue indexes carry the clinic instead of the patient, built
    beside the old ones and the old ones dropped, without locking the table on PostgreSQL.
    """

    atomic = False

    dependencies = [
        ("accounts", "0003_clinical_groups"),
        ("patients", "0002_patient_clinic_covering_index"),
        ("referrals", "0004_referral_list_filter_indexes"),
    ]

    operations = [
        *clinic_column_added("referrals.Referral", via="patient_id", source="patients.Patient"),
        AddIndexWithoutLocking(
            model_name="referral",
            index=models.Index(fields=["-created_at"], include=("clinic", "id"), name="referral_order_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="referral",
            index=models.Index(fields=["status", "-created_at"], include=("clinic",), name="referral_by_status_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="referral",
            index=models.Index(fields=["specialty", "-created_at"], include=("clinic",),
                               name="referral_by_specialty_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="referral",
            index=models.Index(fields=["priority", "-created_at"], include=("clinic",),
                               name="referral_by_priority_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="referral",
            index=models.Index(fields=["due_by"], include=("clinic",), name="referral_open_due_idx",
                               condition=Q(status__in=OPEN_STATUSES)),
        ),
        RemoveIndexWithoutLocking(model_name="referral", name="referral_status_idx"),
        RemoveIndexWithoutLocking(model_name="referral", name="referral_specialty_idx"),
        RemoveIndexWithoutLocking(model_name="referral", name="referral_priority_idx"),
        RemoveIndexWithoutLocking(model_name="referral", name="referral_open_due_by_idx"),
    ]
