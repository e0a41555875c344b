from django.db import migrations, models

from common.migration_operations import AddIndexWithoutLocking

OPEN_STATUSES = ("proposed", "sent", "accepted", "scheduled", "no_show")


class Migration(migrations.Migration):
    """Staff's worklist for one clinic (needs_attention) reads the clinic's part of two partial indexes.

    Built without locking the table on PostgreSQL.
    """

    atomic = False

    dependencies = [
        ("referrals", "0008_referral_patient_key_without_its_own_index"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="referral",
            index=models.Index(fields=["clinic", "due_by"], name="referral_clinic_open_due_idx",
                               condition=models.Q(status__in=OPEN_STATUSES)),
        ),
        AddIndexWithoutLocking(
            model_name="referral",
            index=models.Index(fields=["clinic"], name="referral_clinic_resend_idx",
                               condition=models.Q(needs_resend=True)),
        ),
    ]
