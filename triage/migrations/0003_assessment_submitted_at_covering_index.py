from django.db import migrations, models


class Migration(migrations.Migration):
    """The list-order index carries the patient, the urgency and the id: daily counts and deep pages read it alone."""

    dependencies = [
        ("triage", "0002_assessment_list_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="assessment", name="assessment_submitted_at_idx"),
        migrations.AddIndex(
            model_name="assessment",
            index=models.Index(
                fields=["-submitted_at"], include=("patient", "urgency", "id"), name="assessment_submitted_at_idx"
            ),
        ),
    ]
