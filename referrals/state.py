"""The referral status machine: the one place that says which moves are allowed.

    proposed -> sent -> accepted -> scheduled -> completed
    sent, accepted -> declined
    scheduled -> no_show -> scheduled (rebooked)
    scheduled -> scheduled (the appointment moved to a new time)
    any state not final -> cancelled
    completed, declined, cancelled: final

Every allowed move is written as a ReferralEvent (who, when, from where, note)
by `referrals.actions`; any other move is refused with TransitionNotAllowed (409).
"""

from __future__ import annotations

from django.db import models

from common.errors import TransitionNotAllowed


class ReferralStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    DECLINED = "declined", "Declined"
    NO_SHOW = "no_show", "No show"
    CANCELLED = "cancelled", "Cancelled"


S = ReferralStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PROPOSED: frozenset({S.SENT, S.CANCELLED}),
    S.SENT: frozenset({S.ACCEPTED, S.DECLINED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.SCHEDULED, S.DECLINED, S.CANCELLED}),
    # scheduled -> scheduled is a new appointment time for the same referral.
    S.SCHEDULED: frozenset({S.SCHEDULED, S.COMPLETED, S.NO_SHOW, S.CANCELLED}),
    S.NO_SHOW: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.DECLINED: frozenset(),
    S.CANCELLED: frozenset(),
}

FINAL_STATUSES: frozenset[str] = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
OPEN_STATUSES: tuple[str, ...] = tuple(status for status in S.values if status not in FINAL_STATUSES)

# Which SLA clock runs in each open status (referrals.sla).
ACCEPTANCE_CLOCK_STATUSES: frozenset[str] = frozenset({S.PROPOSED, S.SENT})
SEEN_CLOCK_STATUSES: frozenset[str] = frozenset({S.ACCEPTED, S.SCHEDULED, S.NO_SHOW})

assert set(OPEN_STATUSES) == ACCEPTANCE_CLOCK_STATUSES | SEEN_CLOCK_STATUSES


def move_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def ensure_move_allowed(from_status: str, to_status: str) -> None:
    if not move_allowed(from_status, to_status):
        allowed = ", ".join(sorted(TRANSITIONS.get(from_status, ()))) or "none: the referral is closed"
        raise TransitionNotAllowed(
            f"A referral cannot move from {from_status} to {to_status} (allowed from {from_status}: {allowed}).",
            field="status",
        )


def clock_for(status: str) -> str | None:
    """'acceptance' while proposed or sent, 'seen' once accepted, None once final."""
    if status in ACCEPTANCE_CLOCK_STATUSES:
        return "acceptance"
    if status in SEEN_CLOCK_STATUSES:
        return "seen"
    return None
