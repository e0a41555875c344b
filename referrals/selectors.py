from __future__ import annotations

from datetime import datetime

from django.db.models import F, Prefetch, Q, QuerySet

from accounts.models import Role, User
from common.expressions import InSubquery
from patients.selectors import patients_visible_to

from . import crypto
from .models import Partner, PartnerWebhookEvent, Referral, ReferralEvent, WebhookOutcome
from .state import OPEN_STATUSES


def referrals_visible_to(*, user: User) -> QuerySet[Referral]:
    """Patients see their own; clinicians and staff their clinic's; a partner those sent to it."""
    referrals = Referral.objects.all()
    if user.is_superuser:
        return referrals
    if user.role == Role.PARTNER:
        return referrals.filter(partner__accounts=user)
    if user.role == Role.PATIENT:
        return referrals.filter(patient__in=patients_visible_to(user=user))
    if user.is_clinical and user.clinic_id:
        # The clinic copied from the patient when the referral was proposed: one indexed column, no join.
        return referrals.filter(clinic_id=user.clinic_id)
    return referrals.none()


def referrals_for_api(*, user: User) -> QuerySet[Referral]:
    # A history entry shows who moved the referral: the user's name, or the partner's slug for a webhook. Only
    # those are read: the webhook's stored body and headers and the user's other columns stay in the database.
    history = ReferralEvent.objects.select_related("by", "webhook_event__partner").only(
        "referral_id", "from_status", "to_status", "at", "source", "note", "by__username",
        "webhook_event__partner__slug",
    )
    return referrals_visible_to(user=user).select_related("partner").prefetch_related(
        Prefetch("events", queryset=history)
    )


def overdue_q(*, now: datetime) -> Q:
    """Open and past its deadline: the predicate the partial index `referral_open_due_idx` serves."""
    return Q(status__in=OPEN_STATUSES, due_by__lt=now)


def referrals_overdue(queryset: QuerySet[Referral] | None = None, *, now: datetime) -> QuerySet[Referral]:
    return (Referral.objects.all() if queryset is None else queryset).filter(overdue_q(now=now))


def referrals_newly_overdue(*, now: datetime) -> QuerySet[Referral]:
    """Breached clocks the sweep has not marked yet."""
    return referrals_overdue(now=now).filter(overdue_since__isnull=True).order_by("due_by")


def referrals_overdue_unnotified(*, now: datetime) -> QuerySet[Referral]:
    """Marked breaches whose staff email has not gone (yet, or it failed)."""
    return referrals_overdue(now=now).filter(overdue_since__isnull=False, overdue_notified_at__isnull=True).order_by(
        "due_by"
    )


def referrals_needing_attention(queryset: QuerySet[Referral], *, now: datetime) -> QuerySet[Referral]:
    """Staff's worklist: declined and not re-sent, overdue, or with a partner event kept for review.

    Each of the three is an index condition (`referral_needs_resend_idx`, `referral_open_due_idx`, and
    the primary key for the referrals with a kept event: `common.expressions.InSubquery`), so PostgreSQL ORs
    three small bitmap scans; an EXISTS per referral would read every referral instead.
    """
    with_kept_event = (
        PartnerWebhookEvent.objects.filter(outcome=WebhookOutcome.KEPT_FOR_REVIEW, referral__isnull=False)
        .values("referral_id").order_by()
    )
    return queryset.filter(Q(needs_resend=True) | overdue_q(now=now) | Q(InSubquery(F("pk"), with_kept_event)))



def partner_referral(*, partner: Partner, referral_id) -> Referral | None:
    """A referral sent to this partner (None for an unknown one or another partner's)."""
    return Referral.objects.filter(pk=referral_id, partner=partner).first()


def partner_verification_secrets(*, partner: Partner, now: datetime) -> list[str]:
    """The secrets an inbound event may be signed with: the current one, and the previous during its grace."""
    secrets = []
    if partner.webhook_secret_encrypted:
        secrets.append(crypto.secret_decrypt(partner.webhook_secret_encrypted))
    if (
        partner.previous_webhook_secret_encrypted
        and partner.previous_secret_valid_until is not None
        and now < partner.previous_secret_valid_until
    ):
        secrets.append(crypto.secret_decrypt(partner.previous_webhook_secret_encrypted))
    return secrets


def partner_webhook_events(*, outcome: str | None = None) -> QuerySet[PartnerWebhookEvent]:
    events = PartnerWebhookEvent.objects.select_related("partner", "referral", "reviewed_by")
    return events.filter(outcome=outcome) if outcome else events
