from django.db import migrations

from common.migration_operations import clinic_column_required


class Migration(migrations.Migration):
    """Every assessment has its clinic: the rows stored before 0004 set its trigger are filled, then required.

    The database fills the clinic of any row inserted without one since then (an older release's),
    so nothing can arrive empty between the copy and the constraint. NOT NULL is proven from a
    validated check: reads and writes go on while the table is checked, on PostgreSQL.
    """

    atomic = False

    dependencies = [
        ("triage", "0004_assessment_clinic"),
    ]

    operations = clinic_column_required("triage.Assessment", via="patient_id", source="patients.Patient")
