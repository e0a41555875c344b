from django.conf import settings
from django.db import models

from accounts.models import Clinic
from common.history import HistoricalRecords
from common.models import BaseModel
from patients.models import Patient


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"
    EMERGENCY = "emergency", "Emergency"


class AssessmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    TRIAGED = "triaged", "Triaged"


class Assessment(BaseModel):
    """One submission of answers about one patient's foot drop."""

    # No index of its own: `assessment_patient_idx` (patient, -submitted_at) serves every look-up by patient.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assessments", db_index=False)
    # The patient's clinic, copied when the assessment is stored: a clinic's lists are scoped by this column,
    # read from their indexes, instead of by a join to every patient it has. A patient never changes clinic
    # (no action moves one; the admin shows it read-only once the patient exists).
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+", db_index=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    answers = models.JSONField()
    status = models.CharField(max_length=16, choices=AssessmentStatus.choices, default=AssessmentStatus.PENDING)
    triaged_at = models.DateTimeField(null=True, blank=True)
    # Denormalised from the current evaluation so that lists filter and sort on an index.
    urgency = models.CharField(max_length=16, choices=Urgency.choices, blank=True, default="")
    current_evaluation = models.OneToOneField(
        "Evaluation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    enqueue_attempts = models.PositiveIntegerField(default=0)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    # A default in the database too: the release still serving during a deploy inserts without the column.
    queued_with_red_flags = models.BooleanField(
        default=False, db_default=False,
        help_text="The ruleset at submission called the answers an emergency, or could not evaluate them: the "
                  "triage was queued with the red flags', ahead of the rest.",
    )
    history = HistoricalRecords(excluded_fields=["answers", "queued_with_red_flags"])

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [
            # The list's order, newest first, for everyone's list (the superuser's): a page is the first rows
            # of this index, the filters checked on the way (and MIN/MAX for the admin's date hierarchy). With
            # the id, the keys of a deep page (common/pagination.py) read the index alone; with the urgency, so
            # do the superuser's dashboard counts per day. (Its clinic is left from before the index below: not
            # worth rebuilding the index to drop.)
            models.Index(fields=["-submitted_at"], include=["clinic", "urgency", "id"], name="assessment_order_idx"),
            # A clinic's list in its order: its count, its pages' keys and the dashboard's counts per day of
            # its last two weeks read its own part of the index alone, so they cost what the clinic holds, not
            # what the region holds (in bench/scale, the 10 % clinic's count: 70 ms before this index, 11 ms
            # after). With the urgency and the status, the filters of a clinic's list: its filtered counts too.
            models.Index(fields=["clinic", "-submitted_at", "-id"], include=["urgency", "status"],
                         name="assessment_clinic_order_idx"),
            # A patient's assessments (their own list, ?patient=), newest first.
            models.Index(fields=["patient", "-submitted_at"], include=["id"], name="assessment_patient_idx"),
            # A filter over every clinic (the superuser's), and a rare value in a big clinic: a range of the value.
            models.Index(fields=["urgency", "-submitted_at"], include=["clinic"], name="assessment_by_urgency_idx"),
            models.Index(fields=["status", "-submitted_at"], include=["clinic"], name="assessment_by_status_idx"),
            models.Index(
                fields=["submitted_at"], name="assessment_pending_idx", condition=models.Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"Assessment {str(self.id)[:8]} of {self.patient}"


class Evaluation(BaseModel):
    """The rules engine's result for one assessment under one ruleset version.

    Results are never rewritten: a newer ruleset adds an evaluation beside the
    earlier one. A clinician's override sits beside the computed urgency.
    """

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="evaluations")
    ruleset_version = models.CharField(max_length=32)
    evaluated_at = models.DateTimeField()
    urgency = models.CharField(max_length=16, choices=Urgency.choices)
    red_flags = models.JSONField(default=list)
    likely_origin = models.JSONField(default=list)
    recommended_specialties = models.JSONField(default=list)
    recommended_tests = models.JSONField(default=list)
    rules_fired = models.JSONField(default=list)
    advice = models.TextField()
    language = models.CharField(max_length=2)
    override_urgency = models.CharField(max_length=16, choices=Urgency.choices, blank=True, default="")
    override_reason = models.TextField(blank=True, default="")
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-evaluated_at"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "ruleset_version"], name="one_evaluation_per_ruleset")
        ]

    def __str__(self) -> str:
        return f"{self.urgency} (ruleset {self.ruleset_version})"

    @property
    def effective_urgency(self) -> str:
        return self.override_urgency or self.urgency

    @property
    def rule_ids(self) -> list[str]:
        return [rule["id"] for rule in self.rules_fired]


class IdempotencyRecord(BaseModel):
    """The first response to a POST carrying an `Idempotency-Key`, per user and key."""

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        DONE = "done", "Done"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]
