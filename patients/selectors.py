from django.db.models import QuerySet

from accounts.models import Role, User

from .models import Patient


def patients_visible_to(*, user: User) -> QuerySet[Patient]:
    """A patient sees their own record; clinicians and staff their clinic's; a superuser all; anyone else none."""
    patients = Patient.objects.all()
    if not user.is_authenticated:
        return patients.none()
    if user.is_superuser:
        return patients
    if user.role == Role.PATIENT:
        return patients.filter(user=user)
    if user.is_clinical and user.clinic_id:
        return patients.filter(clinic_id=user.clinic_id)
    return patients.none()


def patient_of_user(*, user: User) -> Patient | None:
    return Patient.objects.filter(user=user).first()
