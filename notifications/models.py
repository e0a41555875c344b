from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models import Clinic
from common.history import HistoricalRecords
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
    # The assessment's clinic, copied when the escalation opens: a clinic's list is scoped by this column.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(max_length=16, choices=EscalationStatus.choices, default=EscalationStatus.OPEN)
    tier = models.PositiveSmallIntegerField(default=0, help_text="The highest tier paged so far.")
    opened_at = models.DateTimeField()
    next_tier_due_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_by_contact = models.ForeignKey(
        OnCallContact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The on-call contact who acknowledged by signed link or SMS reply.",
    )
    acknowledged_via = models.CharField(max_length=16, blank=True, default="")
    exhausted_at = models.DateTimeField(null=True, blank=True)
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
            # The list's order for everyone's list (the superuser's), with the id: a deep page's keys read it
            # alone. (Its clinic is left from before the index below: not worth rebuilding the index to drop.)
            models.Index(fields=["-opened_at"], include=["clinic", "id"], name="escalation_order_idx"),
            # A clinic's list in its order: its count and its pages' keys read its own part of the index alone,
            # costing what the clinic holds, not what the region holds.
            models.Index(fields=["clinic", "-opened_at", "-id"], include=["status"],
                         name="escalation_clinic_order_idx"),
            # The dashboard's median time to acknowledge, over the last days' acknowledgements.
            models.Index(fields=["acknowledged_at"], name="escalation_acknowledged_at_idx"),
            models.Index(fields=["status", "-opened_at"], include=["clinic"], name="escalation_by_status_idx"),
            models.Index(
                fields=["next_tier_due_at"], name="escalation_due_idx", condition=models.Q(status="open")
            ),
        ]

    def __str__(self) -> str:
        return f"Escalation {self.case_code} ({self.status})"


class EscalationEventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    TIER_PAGED = "tier_paged", "Tier paged"
    EXHAUSTED = "exhausted", "Exhausted"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    DELIVERY_FAILED = "delivery_failed", "Delivery failed"


class EscalationEvent(BaseModel):
    """One step of an escalation: the history is data, written by the move it records."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EscalationEventKind.choices)
    at = models.DateTimeField()
    tier = models.PositiveSmallIntegerField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    contact = models.ForeignKey(OnCallContact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    via = models.CharField(max_length=16, blank=True, default="")
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M:%S}"


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"


class NotificationKind(models.TextChoices):
    PAGE = "page", "Page to an on-call contact"
    EXHAUSTED_ALERT = "exhausted_alert", "Staff alert: no tier acknowledged"
    FAILURE_ALERT = "failure_alert", "Staff alert: a page could not be delivered"


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Notification(BaseModel):
    """One message to one recipient on one channel: written before it is sent, the outbox row.

    Moves: queued -> sending (a worker claims it) -> sent -> delivered (provider callback);
    sending -> queued (temporary failure, or the claim's lease expired); sending or sent -> failed.
    """

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices, default=NotificationKind.PAGE)
    contact = models.ForeignKey(
        OnCallContact, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    tier = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.CharField(max_length=254, help_text="E.164 phone number or email address.")
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField()
    status = models.CharField(max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(help_text="When the next attempt is due; the outbox sweep's clock.")
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker claimed the current attempt.")
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=128, blank=True, default="", help_text="Twilio SID or Message-ID.")
    provider_status = models.CharField(max_length=32, blank=True, default="")
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["queued_at", "tier", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "contact", "channel", "tier"], condition=models.Q(kind="page"),
                name="notification_page_once",
            ),
            models.UniqueConstraint(
                fields=["escalation", "kind", "tier", "recipient"], condition=~models.Q(kind="page"),
                name="notification_staff_alert_once",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_outbox_idx"),
            models.Index(fields=["provider_id"], name="notification_provider_idx", condition=~models.Q(provider_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.get_kind_display().lower()} (tier {self.tier}, {self.status})"


class AttemptOutcome(models.TextChoices):
    SENT = "sent", "Sent"
    TEMPORARY_FAILURE = "temporary", "Temporary failure (retried)"
    PERMANENT_FAILURE = "permanent", "Permanent failure"
    INTERRUPTED = "interrupted", "Interrupted (worker lost mid-send)"


class DeliveryAttempt(BaseModel):
    """One try at sending a notification: what the provider answered and how long it took."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    provider_id = models.CharField(max_length=128, blank=True, default="")
    response = models.TextField(blank=True, default="", help_text="The provider's answer, truncated.")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["notification", "number", "started_at"]

    def __str__(self) -> str:
        return f"Attempt {self.number}: {self.outcome}"
