from django.conf import settings
from django.db import migrations


def create_default_clinic(apps, schema_editor):
    Clinic = apps.get_model("accounts", "Clinic")
    Clinic.objects.get_or_create(slug=settings.DEFAULT_CLINIC_SLUG, defaults={"name": "Main clinic"})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_default_clinic, migrations.RunPython.noop)]
