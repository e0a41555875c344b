from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Clinic
from common.history import HistoricalRecords
from common.models import BaseModel
from patients.models import Patient
from triage.models import Assessment, Urgency

from .state import OPEN_STATUSES, ReferralStatus, clock_for

__all__ = [
    "ChangeSource", "DeclineReason", "DeliveryStatus", "Partner", "PartnerWebhookEvent", "Referral",
    "ReferralEvent", "ReferralStatus", "Specialty", "WebhookDelivery", "WebhookDeliveryAttempt", "WebhookOutcome",
]


class Specialty(models.TextChoices):
    NEUROSURGERY = "neurosurgery", "Neurosurgery"
    NEUROLOGY = "neurology", "Neurology"
    ORTHOPEDICS = "orthopedics", "Orthopedics"
    GENERAL_SURGERY = "general_surgery", "General surgery"
    PAIN_MANAGEMENT = "pain_management", "Pain management"
    PHYSIOTHERAPY = "physiotherapy", "Physiotherapy"


class ChangeSource(models.TextChoices):
    API = "api", "API"
    ADMIN = "admin", "Admin"
    WEBHOOK = "webhook", "Partner webhook"
    WORKER = "worker", "Worker"


class DeclineReason(models.TextChoices):
    SERVICE_INAPPROPRIATE = "service_inappropriate", "Service inappropriate"
    NO_CAPACITY = "no_capacity", "No capacity"
    INCOMPLETE_INFORMATION = "incomplete_information", "Incomplete information"
    PATIENT_DECLINED = "patient_declined", "Patient declined"
    OTHER = "other", "Other"


SECRET_FIELDS = ["webhook_secret_encrypted", "previous_webhook_secret_encrypted"]


class Partner(BaseModel):
    """A partner hospital that receives referrals and reports on them by signed webhooks.

    Its Standard Webhooks secret is stored only encrypted (referrals.crypto) and
    shown once, when made or rotated. After a rotation the previous secret still
    verifies inbound events until `previous_secret_valid_until`.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    specialties = models.JSONField(default=list)
    webhook_url = models.URLField(blank=True, default="", help_text="Where referral.* events are delivered.")
    active = models.BooleanField(default=True, help_text="Only active partners receive new referrals.")
    accounts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="partners",
        help_text="Partner-hospital logins that may read the referrals sent to this partner.",
    )
    webhook_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_webhook_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=SECRET_FIELDS)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def takes(self, specialty: str) -> bool:
        return specialty in (self.specialties or [])


class Referral(BaseModel):
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="referrals")
    # No index of its own: the (patient, -created_at) index serves every look-up by patient.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals", db_index=False)
    # The patient's clinic (the assessment's copy of it): a clinic's lists are scoped by this column.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+", db_index=False)
    specialty = models.CharField(max_length=32, choices=Specialty.choices)
    priority = models.CharField(max_length=16, choices=Urgency.choices)
    status = models.CharField(max_length=16, choices=ReferralStatus.choices, default=ReferralStatus.PROPOSED)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals")
    # SLA: both clocks count from the decision to refer at this priority (referrals.sla);
    # due_by is the deadline of the clock that runs in the current status.
    clock_started_at = models.DateTimeField()
    due_by = models.DateTimeField(null=True, blank=True)
    overdue_since = models.DateTimeField(null=True, blank=True, help_text="When the sweep found this clock breached.")
    overdue_notified_at = models.DateTimeField(null=True, blank=True, help_text="When staff were told of the breach.")
    appointment_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    partner_reference = models.CharField(max_length=100, blank=True, default="")
    decline_reason_code = models.CharField(max_length=32, choices=DeclineReason.choices, blank=True, default="")
    decline_reason = models.TextField(blank=True, default="")
    outcome = models.TextField(blank=True, default="", help_text="What the partner reported on completion.")
    cancel_reason = models.TextField(blank=True, default="")
    needs_resend = models.BooleanField(
        default=False, help_text="Declined: on staff's worklist until re-sent elsewhere or dismissed."
    )
    resent_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="resends",
        help_text="The declined referral this one re-sends.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The list's order, newest first, for everyone's list (the superuser's), with the id: the keys of a
            # deep page (common/pagination.py) read the index alone. (Its clinic is left from before the index
            # below: not worth rebuilding the index to drop.)
            models.Index(fields=["-created_at"], include=["clinic", "id"], name="referral_order_idx"),
            # A clinic's list in its order: its count and its pages' keys, unfiltered or filtered by status,
            # specialty or priority, read its own part of the index alone, costing what the clinic holds, not
            # what the region holds.
            models.Index(fields=["clinic", "-created_at", "-id"], include=["status", "specialty", "priority"],
                         name="referral_clinic_order_idx"),
            # A filter over every clinic (the superuser's), and a rare value in a big clinic: a range of the value.
            models.Index(fields=["status", "-created_at"], include=["clinic"], name="referral_by_status_idx"),
            models.Index(fields=["specialty", "-created_at"], include=["clinic"], name="referral_by_specialty_idx"),
            models.Index(fields=["priority", "-created_at"], include=["clinic"], name="referral_by_priority_idx"),
            models.Index(fields=["patient", "-created_at"]),
            # The overdue sweep and ?overdue=true: a range on due_by over open referrals only, so their cost
            # follows the number of overdue referrals, not all referrals; a clinic's count reads the index alone.
            models.Index(fields=["due_by"], include=["clinic"], name="referral_open_due_idx",
                         condition=Q(status__in=OPEN_STATUSES)),
            models.Index(fields=["-updated_at"], name="referral_needs_resend_idx", condition=Q(needs_resend=True)),
            # Staff's worklist (?needs_attention=true: declined and not re-sent, or overdue) for one clinic: the
            # clinic first, so its bitmap scans keep only the clinic's rows and its count reads their pages, not
            # every clinic's (the largest clinic of bench/scale: 3,204 pages read, 4.5 ms -> 1,840 pages, 2.5 ms).
            models.Index(fields=["clinic", "due_by"], name="referral_clinic_open_due_idx",
                         condition=Q(status__in=OPEN_STATUSES)),
            models.Index(fields=["clinic"], name="referral_clinic_resend_idx", condition=Q(needs_resend=True)),
        ]

    def __str__(self) -> str:
        return f"{self.get_specialty_display()} referral ({self.priority}, {self.status})"

    @property
    def sla_clock(self) -> str | None:
        return clock_for(self.status)


class ReferralEvent(BaseModel):
    """One move of a referral's status: who, when, from where, and why."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=ReferralStatus.choices, blank=True, default="")
    to_status = models.CharField(max_length=16, choices=ReferralStatus.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=16, choices=ChangeSource.choices)
    note = models.TextField(blank=True, default="")
    webhook_event = models.ForeignKey(
        "PartnerWebhookEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The partner event that made (or, replayed, re-made) this move.",
    )

    class Meta:
        ordering = ["at", "created_at"]


class WebhookOutcome(models.TextChoices):
    RECEIVED = "received", "Received"  # only inside the receiving transaction
    APPLIED = "applied", "Applied"
    DUPLICATE = "duplicate", "Duplicate: already in effect"
    REJECTED_MALFORMED = "rejected_malformed", "Rejected: malformed"
    REJECTED_UNKNOWN_REFERRAL = "rejected_unknown_referral", "Rejected: unknown referral"
    KEPT_FOR_REVIEW = "kept_for_review", "Kept for review"
    DISMISSED = "dismissed", "Dismissed after review"


class PartnerWebhookEvent(BaseModel):
    """An authenticated event from a partner, kept whatever became of it.

    The unique (partner, webhook_id) is the idempotency key: the row is
    inserted before the event is acted on, so a redelivery (or a concurrent
    duplicate) fails the insert and has no effect.
    """

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="webhook_events")
    webhook_id = models.CharField(max_length=255)
    received_at = models.DateTimeField()
    event_type = models.CharField(max_length=64, blank=True, default="")
    referral_ref = models.CharField(max_length=64, blank=True, default="", help_text="data.referral_id as sent.")
    referral = models.ForeignKey(
        Referral, on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_events"
    )
    body = models.TextField()
    headers = models.JSONField(default=dict, help_text="Headers as received, without credentials or signature.")
    outcome = models.CharField(max_length=32, choices=WebhookOutcome.choices, default=WebhookOutcome.RECEIVED)
    status_code = models.PositiveSmallIntegerField(default=200)
    detail = models.TextField(blank=True, default="")
    redeliveries = models.PositiveIntegerField(default=0)
    last_redelivered_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "webhook_id"], name="partner_webhook_id_unique"),
        ]
        indexes = [
            models.Index(fields=["outcome", "-received_at"]),
            models.Index(fields=["referral", "-received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'event'} {self.webhook_id} from {self.partner_id} ({self.outcome})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(BaseModel):
    """One event for a partner, written before it is sent; each try is a WebhookDeliveryAttempt."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="deliveries")
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="deliveries")
    event_type = models.CharField(max_length=64)
    webhook_id = models.CharField(max_length=64, unique=True)
    payload = models.TextField(help_text="The JSON body exactly as signed and sent.")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="webhook_delivery_due_idx",
                condition=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.partner_id} ({self.status})"


class WebhookDeliveryAttempt(BaseModel):
    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        RETRY = "retry", "Failed, will retry"
        FAILED = "failed", "Failed for good"

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    url = models.URLField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True, default="", help_text="The start of the reply, truncated.")
    error = models.TextField(blank=True, default="")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="one_row_per_delivery_attempt"),
        ]
