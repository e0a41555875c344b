from django.db.models import QuerySet

from accounts.models import Role, User
from patients.selectors import patients_visible_to

from .models import Referral


def referrals_visible_to(*, user: User) -> QuerySet[Referral]:
    """Patients see their own; clinicians and staff their clinic's; a partner those sent to it."""
    referrals = Referral.objects.all()
    if user.is_superuser:
        return referrals
    if user.role == Role.PARTNER:
        return referrals.filter(partner__accounts=user)
    if user.role in (Role.PATIENT, Role.CLINICIAN, Role.STAFF):
        return referrals.filter(patient__in=patients_visible_to(user=user))
    return referrals.none()
