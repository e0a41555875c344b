from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from common.models import BaseModel
from patients.models import Language
from triage.models import Assessment


class OnCallContact(BaseModel):
    name = models.CharField(max_length=200)
    phone = PhoneNumberField()
    email = models.EmailField()
    tier = models.PositiveSmallIntegerField(default=1)
    active = models.BooleanField(default=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    history = HistoricalRecords()

    class Meta:
        ordering = ["tier", "name"]
        indexes = [models.Index(fields=["tier", "active"])]

    def __str__(self) -> str:
        return f"{self.name} (tier {self.tier})"


class EscalationStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    EXHAUSTED = "exhausted", "Exhausted"


class Escalation(BaseModel):
    """An emergency triage that someone must own. The clock lives here, not in a countdown."""

    assessment = models.OneToOneField(Assessment, on_delete=models.PROTECT, related_name="escalation")
    status = models.CharField(max_length=16, choices=EscalationStatus.choices, default=EscalationStatus.OPEN)
    tier = models.PositiveSmallIntegerField(default=0, help_text="The highest tier paged so far.")
    opened_at = models.DateTimeField()
    next_tier_due_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_via = models.CharField(max_length=16, blank=True, default="")
    case_code = models.CharField(max_length=8, help_text="Short code a clinician replies with: ACK <code>.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # Codes are short so that they can be typed in an SMS reply; they need
            # only be unique among the escalations a reply may still acknowledge.
            models.UniqueConstraint(
                fields=["case_code"], condition=models.Q(status__in=["open", "exhausted"]),
                name="unacknowledged_escalation_case_code_unique",
            )
        ]
        indexes = [
            models.Index(fields=["status", "-opened_at"]),
            models.Index(
                fields=["next_tier_due_at"], name="escalation_due_idx", condition=models.Q(status="open")
            ),
        ]

    def __str__(self) -> str:
        return f"Escalation {self.case_code} ({self.status})"
