"""Reads of the notifications domain, scoped to what the user may see."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import User

from .links import notification_id_from_token
from .models import Escalation, Notification, NotificationKind, OnCallContact


def escalations_visible_to(*, user: User) -> QuerySet[Escalation]:
    """Clinicians and staff see their clinic's escalations; a superuser all."""
    escalations = Escalation.objects.all()
    if user.is_superuser:
        return escalations
    if user.is_clinical and user.clinic_id:
        return escalations.filter(clinic_id=user.clinic_id)
    return escalations.none()


# What an escalation's representation shows of each notification (notifications.api.serializers). The texts
# sent, the provider's ids and the outbox's clocks stay in the database: a page holds hundreds of notifications.
NOTIFICATION_SHOWN = ("escalation_id", "kind", "channel", "tier", "recipient", "status", "attempts", "queued_at",
                      "sent_at", "delivered_at", "failed_at", "last_error")


def escalations_for_api(*, user: User) -> QuerySet[Escalation]:
    """Everything an escalation's representation needs, in a fixed number of queries."""
    notifications = Notification.objects.order_by("queued_at", "tier", "channel", "recipient").only(*NOTIFICATION_SHOWN)
    return (
        escalations_visible_to(user=user)
        # The assessment for its patient, whom the audit trail names; its answers are not shown.
        .select_related("assessment", "acknowledged_by", "acknowledged_by_contact")
        .defer("assessment__answers")
        .prefetch_related(Prefetch("notifications", queryset=notifications))
    )


def oncall_contacts() -> QuerySet[OnCallContact]:
    return OnCallContact.objects.order_by("tier", "name")


def notification_for_ack_link(*, token: str) -> Notification | None:
    """The page a signed link came in; raises `links.InvalidLink` for a bad token."""
    return (
        Notification.objects.select_related("escalation__assessment__patient")
        .filter(pk=notification_id_from_token(token), kind=NotificationKind.PAGE)
        .first()
    )
