"""Writes of the referrals domain: proposals, the moves of the status machine, partners, the SLA sweep.

Every move goes through `_moving`: the referral is locked, the move checked
against the one table in `referrals.state`, and a ReferralEvent written in the
same transaction. The API, the admin, partner webhooks and workers all call
these functions, each saying who moved the referral and from where.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.actions import audit_history_create_bulk
from common.errors import ApplicationError, Conflict, TransitionNotAllowed
from triage.models import Assessment

from . import crypto
from .models import (
    ChangeSource,
    DeclineReason,
    Partner,
    PartnerWebhookEvent,
    Referral,
    ReferralEvent,
    ReferralStatus,
    Specialty,
)
from .selectors import referrals_newly_overdue, referrals_overdue_unnotified
from .sla import acceptance_due_by, due_by_for
from .state import ensure_move_allowed
from .webhooks.outbound import webhook_delivery_create

logger = logging.getLogger(__name__)

S = ReferralStatus


# --------------------------------------------------------------------------- proposals (called by triage)

def referral_targets(recommended_specialties: list[str]) -> list[str]:
    """Contract §8: the primary specialty and physiotherapy, or the next one when physiotherapy is primary."""
    primary = recommended_specialties[:1]
    if primary == [Specialty.PHYSIOTHERAPY]:
        return primary + recommended_specialties[1:2]
    return [*primary, Specialty.PHYSIOTHERAPY]


# Called inside the triage transaction: no savepoint of its own, and a few bulk inserts whatever the
# number of referrals (each round trip is a worker's, once per assessment).
@transaction.atomic(savepoint=False)
def referrals_propose(
    *, assessment: Assessment, recommended_specialties: list[str], priority: str,
    by: User | None = None, source: str = ChangeSource.WORKER, first_result: bool = False,
) -> list[Referral]:
    """Propose the referrals a triage calls for; a specialty already referred and still open is kept.

    `first_result`: the assessment is getting its first result, so it has no
    referral yet (only triage proposes them) and there is nothing to look up.
    """
    now = timezone.now()
    open_specialties = set() if first_result else set(
        assessment.referrals.exclude(status__in=[S.CANCELLED, S.DECLINED, S.COMPLETED]).values_list(
            "specialty", flat=True
        )
    )
    created = Referral.objects.bulk_create([
        Referral(
            assessment=assessment, patient_id=assessment.patient_id, clinic_id=assessment.clinic_id,
            specialty=specialty, priority=priority,
            status=S.PROPOSED, clock_started_at=now, due_by=acceptance_due_by(priority=priority, start=now),
        )
        for specialty in referral_targets(recommended_specialties)
        if specialty not in open_specialties
    ])
    audit_history_create_bulk(objects=created, by=by)
    ReferralEvent.objects.bulk_create([
        ReferralEvent(referral=referral, to_status=S.PROPOSED, at=now, by=by, source=source,
                      note=f"Proposed by triage ({priority}).")
        for referral in created
    ])
    return created


@transaction.atomic(savepoint=False)
def referrals_reprioritise(*, assessment: Assessment, priority: str) -> int:
    """A changed effective urgency re-prioritises the referrals not yet sent; their clocks restart now."""
    now = timezone.now()
    proposed = assessment.referrals.filter(status=S.PROPOSED).exclude(priority=priority)
    return proposed.update(
        priority=priority, clock_started_at=now, due_by=acceptance_due_by(priority=priority, start=now),
        overdue_since=None, overdue_notified_at=None, updated_at=now,
    )


# --------------------------------------------------------------------------- the moves

@dataclass
class Move:
    referral: Referral  # locked for the rest of the transaction
    from_status: str
    note: str = ""


@contextmanager
def _moving(
    referral: Referral, to_status: str, *, by: User | None, source: str,
    webhook_event: PartnerWebhookEvent | None = None,
) -> Iterator[Move]:
    """Lock, check the move against the table, let the caller set fields and a note, then save and record it.

    An exception raised in the body rolls everything back: the referral is left as it was.
    """
    with transaction.atomic():
        locked = Referral.objects.select_for_update().get(pk=referral.pk)
        ensure_move_allowed(locked.status, to_status)
        move = Move(referral=locked, from_status=locked.status)
        yield move
        now = timezone.now()
        locked.status = to_status
        due_by = due_by_for(priority=locked.priority, status=to_status, clock_started_at=locked.clock_started_at)
        if due_by is not None and due_by != locked.due_by:
            # Another clock now runs: a breach of the earlier one is not this one's.
            locked.due_by, locked.overdue_since, locked.overdue_notified_at = due_by, None, None
        locked.save()
        ReferralEvent.objects.create(
            referral=locked, from_status=move.from_status, to_status=to_status, at=now, by=by, source=source,
            note=move.note, webhook_event=webhook_event,
        )


def _with_note(text: str, note: str) -> str:
    note = (note or "").strip()
    return f"{text} {note}" if note else text


def partner_for_referral(*, specialty: str, partner: Partner | str | None) -> Partner:
    """The partner a referral may go to: known, active and taking the specialty (else a 400 naming `partner`)."""
    if not isinstance(partner, Partner):
        found = Partner.objects.filter(slug=partner).first() if isinstance(partner, str) and partner else None
        if found is None:
            raise ApplicationError(f"Unknown partner {partner!r}.", code="unknown_partner", field="partner")
        partner = found
    if not partner.active:
        raise ApplicationError(f"Partner {partner.slug!r} is not active.", code="partner_inactive", field="partner")
    if not partner.takes(specialty):
        raise ApplicationError(
            f"Partner {partner.slug!r} does not take {specialty} referrals.", code="partner_specialty",
            field="partner",
        )
    return partner


def referral_send(
    *, referral: Referral, partner: Partner | str, by: User | None, source: str, note: str = ""
) -> Referral:
    """proposed -> sent, to an active partner that takes the specialty; the partner is told by webhook."""
    partner = partner_for_referral(specialty=referral.specialty, partner=partner)
    with transaction.atomic():
        with _moving(referral, S.SENT, by=by, source=source) as move:
            move.referral.partner = partner
            move.referral.sent_at = timezone.now()
            move.note = _with_note(f"Sent to {partner.name} ({partner.slug}).", note)
        webhook_delivery_create(referral=move.referral, event_type="referral.created")
    return move.referral


def referral_accept(
    *, referral: Referral, by: User | None, source: str, partner_reference: str = "", note: str = "",
    webhook_event: PartnerWebhookEvent | None = None,
) -> Referral:
    """sent -> accepted: from now on the clock is the one for being seen."""
    with _moving(referral, S.ACCEPTED, by=by, source=source, webhook_event=webhook_event) as move:
        move.referral.partner_reference = partner_reference or move.referral.partner_reference
        reference = f" (their reference {partner_reference})" if partner_reference else ""
        move.note = _with_note(f"Accepted by {_partner_name(move.referral)}{reference}.", note)
    return move.referral


def referral_decline(
    *, referral: Referral, reason: str, by: User | None, source: str,
    reason_code: str = DeclineReason.OTHER, note: str = "", webhook_event: PartnerWebhookEvent | None = None,
) -> Referral:
    """sent/accepted -> declined, with a reason; the referral goes on staff's worklist to re-send elsewhere."""
    if reason_code not in DeclineReason.values:
        raise ApplicationError(
            f"Unknown decline reason code {reason_code!r}; one of {', '.join(DeclineReason.values)}.",
            field="reason_code",
        )
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why the referral is declined.", field="reason")
    with _moving(referral, S.DECLINED, by=by, source=source, webhook_event=webhook_event) as move:
        move.referral.decline_reason_code = reason_code
        move.referral.decline_reason = reason
        move.referral.needs_resend = True
        move.note = _with_note(f"Declined by {_partner_name(move.referral)} ({reason_code}): {reason}", note)
    return move.referral


def referral_schedule(
    *, referral: Referral, appointment_at: datetime, by: User | None, source: str, note: str = "",
    webhook_event: PartnerWebhookEvent | None = None,
) -> Referral:
    """accepted/no_show -> scheduled, or a scheduled referral to a new time."""
    if not isinstance(appointment_at, datetime) or timezone.is_naive(appointment_at):
        raise ApplicationError("The appointment time needs a date, a time and a zone.", field="appointment_at")
    with _moving(referral, S.SCHEDULED, by=by, source=source, webhook_event=webhook_event) as move:
        previous = move.referral.appointment_at
        if move.from_status == S.SCHEDULED and previous == appointment_at:
            raise TransitionNotAllowed("The referral is already scheduled for that time.", field="appointment_at")
        move.referral.appointment_at = appointment_at
        when = appointment_at.isoformat()
        if move.from_status == S.SCHEDULED:
            text = f"Rescheduled from {previous.isoformat()} to {when}."
        elif move.from_status == S.NO_SHOW:
            text = f"Rebooked after a missed appointment, for {when}."
        else:
            text = f"Appointment scheduled for {when}."
        move.note = _with_note(text, note)
    return move.referral


def referral_complete(
    *, referral: Referral, by: User | None, source: str, outcome: str = "", note: str = "",
    webhook_event: PartnerWebhookEvent | None = None,
) -> Referral:
    """scheduled -> completed: the patient was seen."""
    outcome = (outcome or "").strip()
    with _moving(referral, S.COMPLETED, by=by, source=source, webhook_event=webhook_event) as move:
        move.referral.outcome = outcome
        text = f"Seen; referral completed. Outcome: {outcome}" if outcome else "Seen; referral completed."
        move.note = _with_note(text, note)
    return move.referral


def referral_mark_no_show(
    *, referral: Referral, by: User | None, source: str, note: str = "",
    webhook_event: PartnerWebhookEvent | None = None,
) -> Referral:
    """scheduled -> no_show: the patient did not attend; rebooking moves it back to scheduled."""
    with _moving(referral, S.NO_SHOW, by=by, source=source, webhook_event=webhook_event) as move:
        move.note = _with_note("The patient did not attend the appointment.", note)
    return move.referral


def referral_cancel(*, referral: Referral, reason: str, by: User | None, source: str) -> Referral:
    """Any state that is not final -> cancelled; a partner that had it is told by webhook."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ApplicationError("Say why the referral is cancelled.", field="reason")
    with transaction.atomic():
        with _moving(referral, S.CANCELLED, by=by, source=source) as move:
            move.referral.cancel_reason = reason
            move.referral.needs_resend = False
            move.note = f"Cancelled: {reason}"
        if move.from_status != S.PROPOSED:
            webhook_delivery_create(referral=move.referral, event_type="referral.cancelled")
    return move.referral


def referral_resend(*, referral: Referral, partner: Partner | str, by: User | None, source: str) -> Referral:
    """Re-send a declined referral elsewhere: a NEW referral, same specialty and priority, sent to `partner`.

    The declined one stays as it was (final, with its history) and leaves the
    worklist; the new one keeps its SLA clock, since the patient's wait did not
    restart when a partner declined.
    """
    partner = partner_for_referral(specialty=referral.specialty, partner=partner)
    with transaction.atomic():
        original = Referral.objects.select_for_update(of=("self",)).select_related("partner").get(pk=referral.pk)
        if original.status != S.DECLINED:
            raise TransitionNotAllowed(
                f"Only a declined referral is re-sent; this one is {original.status}.", field="status"
            )
        if not original.needs_resend:
            raise Conflict("This declined referral was already re-sent or taken off the worklist.", field="status")
        now = timezone.now()
        fresh = Referral.objects.create(
            assessment_id=original.assessment_id, patient_id=original.patient_id, clinic_id=original.clinic_id,
            specialty=original.specialty,
            priority=original.priority, status=S.PROPOSED, clock_started_at=original.clock_started_at,
            due_by=acceptance_due_by(priority=original.priority, start=original.clock_started_at),
            resent_from=original,
        )
        ReferralEvent.objects.create(
            referral=fresh, to_status=S.PROPOSED, at=now, by=by, source=source,
            note=f"Re-send of referral {original.id}, declined by {_partner_name(original)} "
                 f"({original.decline_reason_code}).",
        )
        original.needs_resend = False
        original.save(update_fields=["needs_resend", "updated_at"])
        return referral_send(referral=fresh, partner=partner, by=by, source=source)


def referral_resend_dismiss(*, referral: Referral, by: User | None) -> Referral:
    """Take a declined referral off the worklist without re-sending it."""
    with transaction.atomic():
        locked = Referral.objects.select_for_update().get(pk=referral.pk)
        if not locked.needs_resend:
            return locked
        locked.needs_resend = False
        locked._change_reason = f"Taken off the re-send worklist by {by.username if by else 'system'}"
        locked.save(update_fields=["needs_resend", "updated_at"])
    return locked


def _partner_name(referral: Referral) -> str:
    return referral.partner.name if referral.partner_id else "the partner"


# --------------------------------------------------------------------------- partners

def _validated_specialties(specialties: object) -> list[str]:
    if not isinstance(specialties, list) or not specialties:
        raise ApplicationError("A non-empty list of specialties.", field="specialties")
    unknown = [s for s in specialties if s not in Specialty.values]
    if unknown:
        raise ApplicationError(
            f"Unknown specialties {unknown}; known: {', '.join(Specialty.values)}.", field="specialties"
        )
    if len(set(specialties)) != len(specialties):
        raise ApplicationError("A specialty is listed twice.", field="specialties")
    return list(specialties)


def partner_create(
    *, name: str, slug: str, specialties: list[str], webhook_url: str = "", active: bool = True
) -> tuple[Partner, str]:
    """A partner and its webhook secret: the secret is returned here once and stored only encrypted."""
    specialties = _validated_specialties(specialties)
    if Partner.objects.filter(slug=slug).exists():
        raise ApplicationError(f"A partner with slug {slug!r} exists.", code="unique", field="slug")
    secret = crypto.webhook_secret_generate()
    try:
        with transaction.atomic():
            partner = Partner.objects.create(
                name=name, slug=slug, specialties=specialties, webhook_url=webhook_url, active=active,
                webhook_secret_encrypted=crypto.secret_encrypt(secret),
            )
    except IntegrityError as error:  # a concurrent create took the slug
        raise ApplicationError(f"A partner with slug {slug!r} exists.", code="unique", field="slug") from error
    return partner, secret


def partner_update(*, partner: Partner, **fields) -> Partner:
    """Change name, specialties, webhook_url or active (never the slug: partners sign with it in the URL)."""
    allowed = {"name", "specialties", "webhook_url", "active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ApplicationError(f"Cannot change {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    if "specialties" in fields:
        fields["specialties"] = _validated_specialties(fields["specialties"])
    with transaction.atomic():
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save()
    return locked


def partner_rotate_secret(*, partner: Partner) -> str:
    """A new secret, returned once; the previous one still verifies inbound events for a grace period."""
    secret = crypto.webhook_secret_generate()
    now = timezone.now()
    with transaction.atomic():
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        if locked.webhook_secret_encrypted:
            locked.previous_webhook_secret_encrypted = locked.webhook_secret_encrypted
            locked.previous_secret_valid_until = now + timedelta(
                seconds=settings.PARTNER_SECRET_ROTATION_GRACE_SECONDS
            )
        locked.webhook_secret_encrypted = crypto.secret_encrypt(secret)
        locked.secret_rotated_at = now
        locked.save()
    return secret


def partners_reencrypt_secrets() -> int:
    """Re-encrypt every stored secret under the first FIELD_ENCRYPTION_KEY (after adding a new key)."""
    count = 0
    for partner_id in Partner.objects.values_list("pk", flat=True):
        with transaction.atomic():
            partner = Partner.objects.select_for_update().get(pk=partner_id)
            for field in ("webhook_secret_encrypted", "previous_webhook_secret_encrypted"):
                if getattr(partner, field):
                    setattr(partner, field, crypto.secret_reencrypt(getattr(partner, field)))
            partner.save(update_fields=["webhook_secret_encrypted", "previous_webhook_secret_encrypted"])
            count += 1
    return count


# --------------------------------------------------------------------------- the SLA sweep

def referrals_mark_overdue(*, now: datetime | None = None, limit: int = 500) -> int:
    """Mark the referrals whose clock has run out, then tell staff, once per breach.

    A breach is one clock of one referral: when another clock starts (accepted)
    or the priority changes, the marks are cleared and a later breach is told again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        breached = list(
            referrals_newly_overdue(now=now).select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
        )
        Referral.objects.filter(pk__in=breached).update(overdue_since=now, updated_at=now)
    referrals_notify_overdue(now=now, limit=limit)
    return len(breached)


def referrals_notify_overdue(*, now: datetime, limit: int = 500) -> int:
    """Email each clinic's staff the breaches not told yet. Claimed first, so two sweeps never both send."""
    with transaction.atomic():
        claimed = list(
            referrals_overdue_unnotified(now=now).select_for_update(skip_locked=True).values_list("pk", flat=True)[
                :limit
            ]
        )
        Referral.objects.filter(pk__in=claimed).update(overdue_notified_at=now)
    by_clinic: dict[object, list[Referral]] = defaultdict(list)
    for referral in Referral.objects.filter(pk__in=claimed).select_related("partner").order_by("due_by"):
        by_clinic[referral.clinic_id].append(referral)
    told = 0
    for clinic_id, referrals in by_clinic.items():
        recipients = _overdue_recipients(clinic_id)
        try:
            if recipients:
                _send_overdue_email(referrals, recipients)
            else:
                logger.warning("overdue referrals but no staff email to tell", extra={"clinic_id": str(clinic_id)})
        except Exception:  # SMTP or backend failure: unclaim, the next sweep tries again
            logger.exception("overdue referral email failed", extra={"clinic_id": str(clinic_id)})
            Referral.objects.filter(pk__in=[r.pk for r in referrals], overdue_notified_at=now).update(
                overdue_notified_at=None
            )
            continue
        told += len(referrals)
    return told


def _overdue_recipients(clinic_id) -> list[str]:
    staff = User.objects.filter(role=Role.STAFF, clinic_id=clinic_id, is_active=True).exclude(email="")
    return sorted(set(staff.values_list("email", flat=True)) | set(settings.REFERRAL_OVERDUE_EXTRA_EMAILS))


def _send_overdue_email(referrals: list[Referral], recipients: list[str]) -> None:
    lines = []
    for referral in referrals:
        clock = "acceptance" if referral.status in (S.PROPOSED, S.SENT) else "being seen"
        partner = referral.partner.name if referral.partner_id else "no partner yet"
        lines.append(
            f"- {referral.get_specialty_display()} referral, {referral.priority}, {referral.status} ({partner}): "
            f"{clock} was due {referral.due_by.isoformat()}.\n"
            f"  {settings.PUBLIC_BASE_URL}/admin/referrals/referral/{referral.pk}/change/"
        )
    count = len(referrals)
    send_mail(
        subject=f"{count} referral{'s' if count != 1 else ''} overdue",
        message="These referrals have missed their service-level deadline:\n\n" + "\n".join(lines) + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=recipients, fail_silently=False,
    )
