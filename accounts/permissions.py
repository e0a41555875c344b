"""Permission classes by role, reused by every app's API. A superuser passes all."""

from rest_framework.permissions import BasePermission

from .models import Role


def _has_role(request, *roles: str) -> bool:
    user = request.user
    if not (user and user.is_authenticated):
        return False
    return user.is_superuser or user.role in roles


class IsPatient(BasePermission):
    def has_permission(self, request, view) -> bool:
        return _has_role(request, Role.PATIENT)


class IsClinicalUser(BasePermission):
    """Clinicians and clinic staff."""

    def has_permission(self, request, view) -> bool:
        return _has_role(request, Role.CLINICIAN, Role.STAFF)


class IsStaff(BasePermission):
    """Clinic staff (who also run the admin dashboard)."""

    def has_permission(self, request, view) -> bool:
        return _has_role(request, Role.STAFF)


class IsPatientOrClinicalUser(BasePermission):
    def has_permission(self, request, view) -> bool:
        return _has_role(request, Role.PATIENT, Role.CLINICIAN, Role.STAFF)
