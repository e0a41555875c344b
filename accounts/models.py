from django.contrib.auth.models import AbstractUser
from django.db import models

from common.history import HistoricalRecords
from common.models import BaseModel


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    CLINICIAN = "clinician", "Clinician"
    STAFF = "staff", "Clinic staff"
    PARTNER = "partner", "Partner hospital"


class Clinic(BaseModel):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person or system that signs in. What they may see follows from `role` and `clinic`."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="members")
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    @property
    def is_clinical(self) -> bool:
        """Clinicians and clinic staff: they work on their clinic's patients."""
        return self.role in (Role.CLINICIAN, Role.STAFF)
