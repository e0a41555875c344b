"""Writes of the notifications domain: escalations, their pages, and the delivery of every message.

The escalation clock is `Escalation.next_tier_due_at`; every move of an
escalation or a notification is a compare-and-swap on its current state, so
that two workers, a retried task or a sweep racing a task never page twice.
Messages are rows before they are requests: a page is written in the same
transaction as the tier move that calls for it, and sent once that commits.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Role, User
from triage.models import Assessment

from .links import InvalidLink, ack_url, notification_id_from_token
from .messages import page_message, staff_alert_message
from .models import (
    AttemptOutcome,
    Channel,
    DeliveryAttempt,
    Escalation,
    EscalationEvent,
    EscalationEventKind,
    EscalationStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
    OnCallContact,
)
from .transports import DeliveryFailure, Sent, TemporaryFailure
from .transports.email import get_email_transport
from .transports.sms import get_sms_transport

logger = logging.getLogger(__name__)

CASE_CODE_ATTEMPTS = 20
UNACKNOWLEDGED = [EscalationStatus.OPEN, EscalationStatus.EXHAUSTED]


def _new_case_code() -> str:
    return f"{secrets.randbelow(9000) + 1000}"


# --------------------------------------------------------------------------- on-call contacts


def oncall_contact_create(*, name: str, phone, email: str, tier: int, active: bool = True,
                          language: str = "en") -> OnCallContact:
    return OnCallContact.objects.create(
        name=name, phone=phone, email=email, tier=tier, active=active, language=language
    )


CONTACT_FIELDS = frozenset({"name", "phone", "email", "tier", "active", "language"})


def oncall_contact_update(*, contact: OnCallContact, **changes) -> OnCallContact:
    """Change some fields; pages already written keep the recipient they were written for."""
    unknown = set(changes) - CONTACT_FIELDS
    if unknown:
        raise ValueError(f"Not contact fields: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(contact, field, value)
    contact.save(update_fields=[*changes, "updated_at"])
    return contact


def oncall_contact_delete(*, contact: OnCallContact) -> None:
    """Its past pages stay, with their recipient; the history table keeps the contact."""
    contact.delete()


# --------------------------------------------------------------------------- escalations


def escalation_open(*, assessment: Assessment, send_sms_here: bool = False) -> Escalation:
    """Open the escalation of an emergency assessment, once, and page its first tier.

    Called inside the transaction that stores the emergency result, or, by the
    triage worker, in one that stores only the urgency, the result being
    another worker's task (see `triage.actions.assessment_triage_paging_first`):
    the escalation and the tier-1 notifications commit with it, and the
    notifications are handed to workers as soon as it commits. This is the
    hot path of every emergency, so it costs few queries: the escalation is
    created in the state its first move leaves it in.

    `send_sms_here`: the caller is a worker, free to spend the time of the SMS
    requests; once the transaction commits it sends the tier-1 SMS itself
    (after handing the emails to other workers) instead of queueing them
    behind a broker hop. A web request must leave it off.
    """
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        contacts = _next_tier_contacts(after=0)
        if not contacts:  # nobody to page: open at tier 0, due now; the next sweep exhausts it and alerts staff
            escalation, created = _escalation_create(assessment=assessment, now=now, next_tier_due_at=now)
            if created:
                EscalationEvent.objects.create(escalation=escalation, kind=EscalationEventKind.OPENED, at=now,
                                               tier=0, note="No active on-call contact.")
            return escalation
        escalation, created = _escalation_create(assessment=assessment, now=now, **_next_state(contacts[0].tier, now))
        if created:
            opened = EscalationEvent(escalation=escalation, kind=EscalationEventKind.OPENED, at=now, tier=0)
            _write_move(escalation=escalation, contacts=contacts, from_tier=0, now=now, events=[opened],
                        send_sms_here=send_sms_here)
    return escalation


def _escalation_create(*, assessment: Assessment, now: datetime, **state) -> tuple[Escalation, bool]:
    for _ in range(CASE_CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                escalation = Escalation.objects.create(
                    assessment=assessment, clinic_id=assessment.clinic_id, opened_at=now, case_code=_new_case_code(),
                    **state,
                )
                return escalation, True
        except IntegrityError:  # this assessment's escalation exists already, or the case code is taken
            existing = Escalation.objects.filter(assessment=assessment).first()
            if existing is not None:
                return existing, False
    raise RuntimeError("Could not find a free escalation case code.")


def _next_state(tier: int, now: datetime) -> dict:
    """Where a move leaves an escalation: `tier` paged and its clock running, or (tier 0: nobody left) exhausted."""
    if tier:
        return {"tier": tier, "next_tier_due_at": now + timedelta(seconds=settings.ESCALATION_ACK_TIMEOUT_SECONDS)}
    return {"status": EscalationStatus.EXHAUSTED, "exhausted_at": now, "next_tier_due_at": None}


def escalation_advance(*, escalation: Escalation, from_tier: int, now: datetime | None = None) -> bool:
    """Page the next tier with active contacts after `from_tier`, or mark the escalation exhausted.

    A compare-and-swap on (status open, tier = from_tier): of any number of
    concurrent callers, one moves the escalation and writes its notifications;
    the others change nothing and return False.
    """
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        contacts = _next_tier_contacts(after=from_tier)
        state = _next_state(contacts[0].tier if contacts else 0, now)
        moved = Escalation.objects.filter(pk=escalation.pk, status=EscalationStatus.OPEN, tier=from_tier).update(
            **state, updated_at=now
        )
        if not moved:
            return False
        for field, value in state.items():
            setattr(escalation, field, value)
        _write_move(escalation=escalation, contacts=contacts, from_tier=from_tier, now=now, events=[])
    return True


def _write_move(*, escalation: Escalation, contacts: list[OnCallContact], from_tier: int, now: datetime,
                events: list[EscalationEvent], send_sms_here: bool = False) -> None:
    """The rows a move calls for: the next tier's pages, or the staff alerts of an exhausted escalation."""
    if contacts:
        notifications = _page(escalation=escalation, contacts=contacts, tier=escalation.tier, now=now)
        events.append(EscalationEvent(escalation=escalation, kind=EscalationEventKind.TIER_PAGED, at=now,
                                      tier=escalation.tier, note=f"{len(contacts)} contact(s) paged by SMS and email."))
    else:
        notifications = _staff_alerts(escalation=escalation, kind=NotificationKind.EXHAUSTED_ALERT, tier=from_tier,
                                      now=now)
        events.append(EscalationEvent(
            escalation=escalation, kind=EscalationEventKind.EXHAUSTED, at=now, tier=from_tier,
            note=f"No tier after {from_tier} has an active contact; {len(notifications)} staff alert(s).",
        ))
    EscalationEvent.objects.bulk_create(events)
    _send_on_commit(notifications, send_sms_here=send_sms_here)


def escalations_advance_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """The escalation clock: advance every open escalation whose next tier is due. Safe to run anywhere, any time."""
    now = now or timezone.now()
    due = (
        Escalation.objects.filter(status=EscalationStatus.OPEN, next_tier_due_at__lte=now)
        .select_related("assessment__patient")
        .order_by("next_tier_due_at")[:limit]
    )
    return sum(escalation_advance(escalation=escalation, from_tier=escalation.tier, now=now) for escalation in due)


def _next_tier_contacts(*, after: int) -> list[OnCallContact]:
    contacts = list(OnCallContact.objects.filter(active=True, tier__gt=after).order_by("tier", "name"))
    return [contact for contact in contacts if contact.tier == contacts[0].tier] if contacts else []


def _page(*, escalation: Escalation, contacts: list[OnCallContact], tier: int, now: datetime) -> list[Notification]:
    """One SMS and one email per contact, SMS first: the rows are the outbox."""
    patient = escalation.assessment.patient
    rows = []
    for channel in (Channel.SMS, Channel.EMAIL):
        for contact in contacts:
            notification_id = uuid.uuid4()
            message = page_message(
                channel=channel, language=contact.language, patient=patient, case_code=escalation.case_code,
                ack_url=ack_url(notification_id),
            )
            rows.append(Notification(
                id=notification_id, escalation=escalation, kind=NotificationKind.PAGE, contact=contact, tier=tier,
                channel=channel, recipient=contact.phone.as_e164 if channel == Channel.SMS else contact.email,
                language=contact.language, subject=message.subject, body=message.body, queued_at=now,
                next_attempt_at=now,
            ))
    return Notification.objects.bulk_create(rows)


def _staff_alert_recipients(*, escalation: Escalation) -> list[str]:
    staff = User.objects.filter(
        role=Role.STAFF, clinic_id=escalation.clinic_id, is_active=True
    ).exclude(email="").order_by("pk").values_list("email", flat=True)
    recipients: dict[str, str] = {}
    for address in [*staff, *settings.ESCALATION_ALERT_EMAILS]:
        recipients.setdefault(address.lower(), address)
    return list(recipients.values())


def _staff_alerts(*, escalation: Escalation, kind: str, tier: int, now: datetime) -> list[Notification]:
    """Email the clinic's staff (and ESCALATION_ALERT_EMAILS) once per escalation, kind and tier."""
    recipients = _staff_alert_recipients(escalation=escalation)
    if not recipients:
        logger.warning("no staff to alert", extra={"escalation_id": str(escalation.pk), "kind": kind})
        return []
    message = staff_alert_message(
        kind=kind, patient=escalation.assessment.patient, case_code=escalation.case_code, tier=tier,
        escalation_id=escalation.pk,
    )
    rows = [
        Notification(
            escalation=escalation, kind=kind, tier=tier, channel=Channel.EMAIL, recipient=recipient,
            subject=message.subject, body=message.body, queued_at=now, next_attempt_at=now,
        )
        for recipient in recipients
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return list(Notification.objects.filter(pk__in=[row.pk for row in rows]))


# --------------------------------------------------------------------------- acknowledgement


def escalation_acknowledge(
    *, escalation: Escalation, by: User | None, via: str, contact: OnCallContact | None = None, note: str = ""
) -> Escalation:
    """Someone owns the case now: the clock stops. Acknowledging twice changes nothing."""
    _acknowledge(escalation=escalation, by=by, via=via, contact=contact, note=note)
    escalation.refresh_from_db()
    return escalation


def _acknowledge(
    *, escalation: Escalation, by: User | None, via: str, contact: OnCallContact | None = None, note: str = ""
) -> bool:
    now = timezone.now()
    with transaction.atomic():
        changed = Escalation.objects.filter(pk=escalation.pk, status__in=UNACKNOWLEDGED).update(
            status=EscalationStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by,
            acknowledged_by_contact=contact, acknowledged_via=via, next_tier_due_at=None, updated_at=now,
        )
        if changed:
            EscalationEvent.objects.create(
                escalation=escalation, kind=EscalationEventKind.ACKNOWLEDGED, at=now,
                tier=Escalation.objects.values_list("tier", flat=True).get(pk=escalation.pk),
                by=by, contact=contact, via=via, note=note,
            )
    return bool(changed)


def escalation_acknowledge_by_override(*, assessment: Assessment, by) -> None:
    escalation = Escalation.objects.filter(assessment=assessment).first()
    if escalation is not None:
        escalation_acknowledge(escalation=escalation, by=by, via="override")


@dataclass(frozen=True)
class LinkAcknowledgement:
    escalation: Escalation
    language: str
    acknowledged_now: bool


def escalation_acknowledge_by_link(*, token: str) -> LinkAcknowledgement:
    """A signed link from a page: single use, in that once the case is owned it only says so.

    Raises `links.InvalidLink` for a forged, mangled or expired token.
    """
    notification = (
        Notification.objects.select_related("escalation", "contact")
        .filter(pk=notification_id_from_token(token), kind=NotificationKind.PAGE)
        .first()
    )
    if notification is None:
        raise InvalidLink("unknown")
    changed = _acknowledge(escalation=notification.escalation, by=None, via="link", contact=notification.contact)
    notification.escalation.refresh_from_db()
    return LinkAcknowledgement(notification.escalation, notification.language, changed)


ACK_REPLY = re.compile(r"^\W*ack\W*(\d{4,8})\b", re.IGNORECASE)


class SmsReply:
    ACKNOWLEDGED = "acknowledged"
    ALREADY = "already_acknowledged"
    UNKNOWN_CASE = "unknown_case"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True)
class SmsAcknowledgement:
    outcome: str
    case_code: str = ""
    language: str = "en"


def escalation_acknowledge_by_sms(*, from_number: str, body: str) -> SmsAcknowledgement:
    """A reply such as `ACK 4821` from a number that was paged for case 4821."""
    language = (
        Notification.objects.filter(kind=NotificationKind.PAGE, channel=Channel.SMS, recipient=from_number)
        .order_by("-queued_at").values_list("language", flat=True).first()
    ) or "en"
    match = ACK_REPLY.match(body or "")
    if match is None:
        return SmsAcknowledgement(SmsReply.NOT_UNDERSTOOD, language=language)
    code = match.group(1)
    paged = list(
        Notification.objects.select_related("escalation", "contact")
        .filter(kind=NotificationKind.PAGE, channel=Channel.SMS, recipient=from_number, escalation__case_code=code)
        .order_by("-queued_at")
    )
    if not paged:
        return SmsAcknowledgement(SmsReply.UNKNOWN_CASE, code, language)
    notification = next((n for n in paged if n.escalation.status in UNACKNOWLEDGED), paged[0])
    changed = _acknowledge(escalation=notification.escalation, by=None, via="sms", contact=notification.contact)
    return SmsAcknowledgement(SmsReply.ACKNOWLEDGED if changed else SmsReply.ALREADY, code, notification.language)


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # "sent", "retry", "failed" or "skipped" (not ours to send: gone, sent, or claimed)
    retry_in: int | None = None


def notifications_enqueue(*, notification_ids: Iterable[uuid.UUID], countdown: float | None = None) -> int:
    """Hand notifications to workers; if the broker is down, the outbox sweep will."""
    from .tasks import send_notification

    enqueued = 0
    for notification_id in notification_ids:
        try:
            send_notification.apply_async((str(notification_id),), countdown=countdown)
        except Exception:  # any broker error: the rows are stored and the sweep re-dispatches them
            logger.warning("notification not enqueued; the outbox sweep will send it",
                           extra={"notification_id": str(notification_id)})
            break
        enqueued += 1
    return enqueued


def _send_on_commit(notifications: list[Notification], *, send_sms_here: bool = False) -> None:
    here = [notification for notification in notifications if send_sms_here and notification.channel == Channel.SMS]
    elsewhere = [notification.pk for notification in notifications if notification not in here]
    if notifications:
        transaction.on_commit(lambda: _dispatch(here=here, elsewhere=elsewhere))


def _dispatch(*, here: list[Notification], elsewhere: list[uuid.UUID]) -> None:
    """Queue what others send before sending our own, so that a slow provider here delays no email."""
    notifications_enqueue(notification_ids=elsewhere)
    for notification in here:
        notification_deliver_written(notification=notification)


def notification_deliver_written(*, notification: Notification) -> DeliveryOutcome:
    """Send a notification this process has just written, here; what is left to retry goes to a task.

    The claim also compares `attempts` with the row in hand, so nothing needs
    reading back: if anyone else touched the row first, this sends nothing.
    Never raises: the caller's transaction has committed already, and a row
    this could not send is still the outbox sweep's to find.
    """
    try:
        now = timezone.now()
        claimed = Notification.objects.filter(
            pk=notification.pk, status=NotificationStatus.QUEUED, attempts=notification.attempts
        ).update(status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now)
        if not claimed:
            return DeliveryOutcome("skipped")
        notification.status, notification.claimed_at = NotificationStatus.SENDING, now
        notification.attempts += 1
        outcome = _deliver_claimed(notification, claimed_at=now)
    except Exception:  # the database went away between commit and claim, say: the sweep sends it
        logger.exception("could not send in place; the outbox sweep will",
                         extra={"notification_id": str(notification.pk)})
        return DeliveryOutcome("skipped")
    if outcome.retry_in is not None:
        notifications_enqueue(notification_ids=[notification.pk], countdown=outcome.retry_in)
    return outcome


def notification_deliver(*, notification_id: uuid.UUID | str) -> DeliveryOutcome:
    """Send one notification, once: claim it (queued -> sending), send outside any transaction, record.

    The claim bumps `attempts`, which then fences the outcome: only the claim
    that is still current may move the row on.
    """
    now = timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, status=NotificationStatus.QUEUED).update(
        status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        return DeliveryOutcome("skipped")
    return _deliver_claimed(Notification.objects.get(pk=notification_id), claimed_at=now)


def _deliver_claimed(notification: Notification, *, claimed_at: datetime) -> DeliveryOutcome:
    started = time.monotonic()
    try:
        sent = _transport_send(notification)
    except DeliveryFailure as failure:
        return _delivery_failed(notification, failure, started_at=claimed_at, duration=time.monotonic() - started)
    except Exception as error:  # a bug or a time limit must not strand the row in `sending`
        logger.exception("unexpected error while sending", extra={"notification_id": str(notification.pk)})
        failure = TemporaryFailure(f"Unexpected {type(error).__name__}: {error}")
        return _delivery_failed(notification, failure, started_at=claimed_at, duration=time.monotonic() - started)
    _delivery_succeeded(notification, sent, started_at=claimed_at, duration=time.monotonic() - started)
    return DeliveryOutcome("sent")


def _transport_send(notification: Notification) -> Sent:
    reference = str(notification.pk)
    if notification.channel == Channel.SMS:
        return get_sms_transport().send(to=notification.recipient, body=notification.body, reference=reference)
    return get_email_transport().send(
        to=notification.recipient, subject=notification.subject, body=notification.body, reference=reference
    )


def _delivery_succeeded(notification: Notification, sent: Sent, *, started_at: datetime, duration: float) -> None:
    now = timezone.now()
    with transaction.atomic():
        # The provider has it, whatever happened to our claim meanwhile (a sweep may have
        # re-queued it): recording that now keeps a re-queued row from being sent again.
        recorded = Notification.objects.filter(
            pk=notification.pk,
            status__in=[NotificationStatus.SENDING, NotificationStatus.QUEUED, NotificationStatus.FAILED],
        ).update(status=NotificationStatus.SENT, sent_at=now, provider_id=sent.provider_id, last_error="",
                 updated_at=now)
        _attempt_record(notification, started_at=started_at, duration=duration, outcome=AttemptOutcome.SENT,
                        status_code=sent.status_code, provider_id=sent.provider_id, response=sent.response)
    if not recorded:
        logger.warning("sent, but the notification had moved on meanwhile",
                       extra={"notification_id": str(notification.pk)})


def _delivery_failed(
    notification: Notification, failure: DeliveryFailure, *, started_at: datetime, duration: float
) -> DeliveryOutcome:
    now = timezone.now()
    attempt = notification.attempts
    final = failure.permanent or attempt >= settings.NOTIFICATION_MAX_ATTEMPTS
    current = Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING, attempts=attempt)
    with transaction.atomic():
        if final:
            moved = current.update(status=NotificationStatus.FAILED, failed_at=now, last_error=failure.error,
                                   updated_at=now)
            retry_in = None
        else:
            retry_in = get_exponential_backoff_interval(
                factor=settings.NOTIFICATION_RETRY_BACKOFF_SECONDS, retries=attempt - 1,
                maximum=settings.NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS, full_jitter=True,
            )
            moved = current.update(status=NotificationStatus.QUEUED, next_attempt_at=now + timedelta(seconds=retry_in),
                                   last_error=failure.error, updated_at=now)
        _attempt_record(
            notification, started_at=started_at, duration=duration,
            outcome=AttemptOutcome.PERMANENT_FAILURE if final else AttemptOutcome.TEMPORARY_FAILURE,
            status_code=failure.status_code, response=failure.response, error=failure.error,
        )
        if moved and final:
            _notification_failed(notification=notification, error=failure.error, now=now)
    logger.info("delivery attempt failed", extra={
        "notification_id": str(notification.pk), "channel": notification.channel, "attempt": attempt,
        "final": final, "status_code": failure.status_code,
    })
    if not moved:
        return DeliveryOutcome("skipped")
    return DeliveryOutcome("failed") if final else DeliveryOutcome("retry", retry_in=retry_in)


def _attempt_record(notification: Notification, *, started_at: datetime, duration: float | None, outcome: str,
                    status_code: int | None = None, provider_id: str = "", response: str = "",
                    error: str = "") -> None:
    DeliveryAttempt.objects.create(
        notification_id=notification.pk, number=notification.attempts, started_at=started_at,
        duration_ms=None if duration is None else round(duration * 1000), outcome=outcome,
        status_code=status_code, provider_id=provider_id, response=response, error=error,
    )


def _notification_failed(*, notification: Notification, error: str, now: datetime) -> None:
    """A page failed for good: say so in the history, alert staff, and if the whole tier is unreachable, move on."""
    if notification.kind != NotificationKind.PAGE:
        logger.error("a staff alert could not be delivered", extra={"notification_id": str(notification.pk)})
        return
    escalation = Escalation.objects.select_related("assessment__patient").get(pk=notification.escalation_id)
    EscalationEvent.objects.create(
        escalation=escalation, kind=EscalationEventKind.DELIVERY_FAILED, at=now, tier=notification.tier,
        contact_id=notification.contact_id, via=notification.channel, note=error[:1000],
    )
    _send_on_commit(_staff_alerts(
        escalation=escalation, kind=NotificationKind.FAILURE_ALERT, tier=notification.tier, now=now
    ))
    tier_unreachable = not escalation.notifications.filter(
        kind=NotificationKind.PAGE, tier=notification.tier
    ).exclude(status=NotificationStatus.FAILED).exists()
    if tier_unreachable:
        Escalation.objects.filter(
            pk=escalation.pk, status=EscalationStatus.OPEN, tier=notification.tier
        ).update(next_tier_due_at=now, updated_at=now)


def notification_provider_status(*, provider_id: str, status: str, error_code: str = "") -> bool:
    """Twilio's status callback. False for an id we never sent (the caller still answers 200)."""
    notification = Notification.objects.filter(channel=Channel.SMS, provider_id=provider_id).first()
    if notification is None:
        return False
    now = timezone.now()
    in_flight = Notification.objects.filter(
        pk=notification.pk, status__in=[NotificationStatus.SENDING, NotificationStatus.SENT]
    )
    if status == "delivered":
        in_flight.update(status=NotificationStatus.DELIVERED, delivered_at=now, provider_status=status, updated_at=now)
    elif status in ("failed", "undelivered"):
        error = f"Twilio reported the message {status}" + (f" (error {error_code})" if error_code else "")
        with transaction.atomic():
            if in_flight.update(status=NotificationStatus.FAILED, failed_at=now, provider_status=status,
                                last_error=error, updated_at=now):
                _notification_failed(notification=notification, error=error, now=now)
    else:
        in_flight.update(provider_status=status[:32], updated_at=now)
    return True


def notifications_redispatch_stuck(
    *, queued_grace_seconds: float, sending_lease_seconds: float, now: datetime | None = None, limit: int = 500
) -> int:
    """The outbox sweep: send again what a lost task or a dead worker left behind.

    `queued` past its due time by more than the grace: its task never ran
    (broker down at commit, message lost). `sending` for longer than the lease:
    its worker died mid-send. Such a notification may already have reached the
    provider, so re-sending it is at-least-once: see docs/escalation.md.
    """
    now = now or timezone.now()
    queued_cutoff = now - timedelta(seconds=queued_grace_seconds)
    ids = []
    for pk in (
        Notification.objects.filter(status=NotificationStatus.QUEUED, next_attempt_at__lt=queued_cutoff)
        .order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    ):
        if Notification.objects.filter(
            pk=pk, status=NotificationStatus.QUEUED, next_attempt_at__lt=queued_cutoff
        ).update(next_attempt_at=now, updated_at=now):
            ids.append(pk)
    lease_cutoff = now - timedelta(seconds=sending_lease_seconds)
    for notification in Notification.objects.filter(
        status=NotificationStatus.SENDING, claimed_at__lt=lease_cutoff
    ).order_by("claimed_at")[:limit]:
        if _lease_expired(notification=notification, now=now):
            ids.append(notification.pk)
    if ids:
        logger.info("outbox sweep re-dispatches notifications", extra={"count": len(ids)})
        notifications_enqueue(notification_ids=ids)
    return len(ids)


def _lease_expired(*, notification: Notification, now: datetime) -> bool:
    """Take back a claim whose worker is gone; True when the notification is queued again."""
    error = "The worker was lost mid-send; the message may or may not have reached the provider."
    final = notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    with transaction.atomic():
        current = Notification.objects.filter(
            pk=notification.pk, status=NotificationStatus.SENDING, attempts=notification.attempts
        )
        if final:
            moved = current.update(status=NotificationStatus.FAILED, failed_at=now, last_error=error, updated_at=now)
        else:
            moved = current.update(status=NotificationStatus.QUEUED, next_attempt_at=now, last_error=error,
                                   updated_at=now)
        if moved:
            _attempt_record(notification, started_at=notification.claimed_at, duration=None,
                            outcome=AttemptOutcome.INTERRUPTED, error=error)
            if final:
                _notification_failed(notification=notification, error=error, now=now)
    return bool(moved) and not final


def notification_resend(*, notification: Notification, by: User) -> bool:
    """Staff send a failed notification again, with a fresh budget of attempts."""
    now = timezone.now()
    with transaction.atomic():
        moved = Notification.objects.filter(pk=notification.pk, status=NotificationStatus.FAILED).update(
            status=NotificationStatus.QUEUED, attempts=0, next_attempt_at=now, failed_at=None, updated_at=now,
            last_error=f"{notification.last_error} [re-sent by {by.get_username()}]"[-2000:],
        )
        if moved:
            transaction.on_commit(lambda: notifications_enqueue(notification_ids=[notification.pk]))
    return bool(moved)
