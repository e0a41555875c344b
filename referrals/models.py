from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from common.models import BaseModel
from patients.models import Patient
from triage.models import Assessment, Urgency


class Specialty(models.TextChoices):
    NEUROSURGERY = "neurosurgery", "Neurosurgery"
    NEUROLOGY = "neurology", "Neurology"
    ORTHOPEDICS = "orthopedics", "Orthopedics"
    GENERAL_SURGERY = "general_surgery", "General surgery"
    PAIN_MANAGEMENT = "pain_management", "Pain management"
    PHYSIOTHERAPY = "physiotherapy", "Physiotherapy"


class ReferralStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    DECLINED = "declined", "Declined"
    NO_SHOW = "no_show", "No show"
    CANCELLED = "cancelled", "Cancelled"


class ChangeSource(models.TextChoices):
    API = "api", "API"
    ADMIN = "admin", "Admin"
    WEBHOOK = "webhook", "Partner webhook"
    WORKER = "worker", "Worker"


class Partner(BaseModel):
    """A partner hospital that receives referrals and reports on them by signed webhooks."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    specialties = models.JSONField(default=list)
    webhook_url = models.URLField(blank=True, default="")
    active = models.BooleanField(default=True)
    accounts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="partners",
        help_text="Partner-hospital logins that may read the referrals sent to this partner.",
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name


class Referral(BaseModel):
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="referrals")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    specialty = models.CharField(max_length=32, choices=Specialty.choices)
    priority = models.CharField(max_length=16, choices=Urgency.choices)
    status = models.CharField(max_length=16, choices=ReferralStatus.choices, default=ReferralStatus.PROPOSED)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals")
    due_by = models.DateTimeField(null=True, blank=True)
    appointment_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["patient", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_specialty_display()} referral ({self.priority}, {self.status})"


class ReferralEvent(BaseModel):
    """One move of a referral's status: who, when, from where, and why."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=ReferralStatus.choices, blank=True, default="")
    to_status = models.CharField(max_length=16, choices=ReferralStatus.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=16, choices=ChangeSource.choices)
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "created_at"]
