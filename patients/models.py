from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models import Clinic
from common.history import HistoricalRecords
from common.models import BaseModel


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Español"


class Patient(BaseModel):
    # Indexed below with the id: a clinic's list of patients comes from the index alone. Its assessments,
    # referrals and escalations carry a copy of it (triage.models.Assessment.clinic), so it never changes.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients", db_index=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="patient",
        help_text="The patient's own login, when they registered from the mobile app.",
    )
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    date_of_birth = models.DateField()
    phone = PhoneNumberField()
    email = models.EmailField()
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    external_id = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "external_id"],
                condition=~models.Q(external_id=""),
                name="patient_external_id_unique_per_clinic",
            )
        ]
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            models.Index(fields=["clinic", "id"], name="patient_clinic_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
