from django.conf import settings

from .models import Clinic


def clinic_default() -> Clinic:
    """Where self-registered patients and unassigned records belong (made by a migration)."""
    clinic, _ = Clinic.objects.get_or_create(
        slug=settings.DEFAULT_CLINIC_SLUG, defaults={"name": "Main clinic"}
    )
    return clinic
