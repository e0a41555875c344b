"""Reads of the clinic dashboard: the red-flag worklist, activity, the referrals board, a patient's timeline.

Every selector takes the user and returns only what the apps' own
`*_visible_to` selectors let them see (their clinic's rows), in a fixed
number of queries whatever the number of rows.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Case, Count, F, IntegerField, Prefetch, Q, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber, TruncDate
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from common.expressions import InSubquery
from common.kept import kept
from notifications.models import Escalation, EscalationEvent, EscalationStatus, Notification
from notifications.selectors import escalations_visible_to
from patients.models import Patient
from referrals.models import PartnerWebhookEvent, Referral, ReferralEvent, ReferralStatus, WebhookOutcome
from referrals.selectors import referrals_overdue, referrals_visible_to
from referrals.state import OPEN_STATUSES
from triage.models import Assessment, Evaluation, Urgency
from triage.rules import FINDINGS_BY_CODE, get_ruleset
from triage.rules.catalogue import BOOLEAN, INTEGER, MULTI_CHOICE
from triage.selectors import assessments_visible_to

WORKLIST_LIMIT = 100
ACTIVITY_DAYS = 14
# The home page refreshes every minute, in every open browser of the clinic: its two weeks' activity is
# computed once a minute for each scope, the worklists above it on every request.
ACTIVITY_KEPT_SECONDS = 60
BOARD_COLUMN_LIMIT = 50
TIMELINE_LIMIT = 500
URGENCIES = [Urgency.EMERGENCY, Urgency.URGENT, Urgency.ROUTINE]


# --------------------------------------------------------------------------- small readable values

def duration_text(length: timedelta) -> str:
    """'45 min', '3 h 05 min', '2 d 4 h': how long, for people in a hurry."""
    minutes = max(int(length.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


LABELS = {
    "mri_lumbar_spine": "MRI of the lumbar spine", "mri_brain": "MRI of the brain",
    "emg_ncs": "EMG and nerve conduction studies", "xray": "X-ray", "als": "ALS",
}


def code_label(code: str) -> str:
    """'cauda_equina' -> 'Cauda equina'; acronyms as people write them."""
    return LABELS.get(code) or str(code).replace("_", " ").capitalize()


@dataclass(frozen=True)
class RedFlag:
    code: str
    label: str
    title: str  # the rule's title: what the flag means


def red_flags_of(evaluation: Evaluation | None) -> list[RedFlag]:
    if evaluation is None:
        return []
    try:
        ruleset = get_ruleset(evaluation.ruleset_version)
    except KeyError:
        ruleset = None
    flags = []
    for code in evaluation.red_flags or []:
        try:
            title = ruleset.rule(code).title if ruleset else ""
        except KeyError:
            title = ""
        flags.append(RedFlag(code=code, label=code_label(code), title=title))
    return flags


@dataclass(frozen=True)
class Answer:
    code: str
    question: str
    value: str
    reported: bool


def answers_as_questions(answers: dict | None) -> list[Answer]:
    """The answers in the catalogue's order, as the English questions asked and readable values."""
    answers = answers or {}
    shown = []
    for code, finding in FINDINGS_BY_CODE.items():
        if code not in answers:
            continue
        shown.append(Answer(code=code, question=finding.question["en"], value=_readable(finding, answers[code]),
                            reported=answers[code] is not None))
    for code in answers.keys() - FINDINGS_BY_CODE.keys():  # a code from an older catalogue
        shown.append(Answer(code=code, question=code_label(code), value=str(answers[code]), reported=True))
    return shown


def _readable(finding, value) -> str:
    if value is None:
        return "Not reported"
    if finding.type == BOOLEAN:
        return "Yes" if value else "No"
    if finding.type == INTEGER:
        return str(value)
    if finding.type == MULTI_CHOICE:
        return ", ".join(code_label(item) for item in value) if value else "None"
    return code_label(value)


# --------------------------------------------------------------------------- the home page

@dataclass(frozen=True)
class EscalationRow:
    escalation: Escalation
    assessment: Assessment
    patient: Patient
    red_flags: list[RedFlag]
    open_for: timedelta

    @property
    def exhausted(self) -> bool:
        return self.escalation.status == EscalationStatus.EXHAUSTED

    @property
    def open_for_minutes(self) -> int:
        return int(self.open_for.total_seconds() // 60)

    @property
    def open_for_text(self) -> str:
        return duration_text(self.open_for)


# What the worklists and the board never show, left unread: a patient's phone number is parsed as it is
# read, and a result's findings and an assessment's answers are JSON decoded, for every row of the page.
PATIENT_UNSHOWN = ("phone", "email", "date_of_birth")
EVALUATION_UNSHOWN = ("likely_origin", "recommended_specialties", "recommended_tests", "rules_fired", "advice")


def _unshown(relation: str, fields: tuple[str, ...]) -> list[str]:
    return [f"{relation}__{field}" for field in fields]


def escalations_unacknowledged(*, user: User, now: datetime, limit: int = WORKLIST_LIMIT) -> list[EscalationRow]:
    """Escalations nobody owns yet: exhausted ones (every tier was paged) first, then the oldest open."""
    escalations = (
        escalations_visible_to(user=user)
        .filter(status__in=[EscalationStatus.OPEN, EscalationStatus.EXHAUSTED])
        .select_related("assessment__patient", "assessment__current_evaluation")
        .defer("assessment__answers", *_unshown("assessment__patient", PATIENT_UNSHOWN),
               *_unshown("assessment__current_evaluation", EVALUATION_UNSHOWN))
        .order_by(Case(When(status=EscalationStatus.EXHAUSTED, then=Value(0)), default=Value(1),
                       output_field=IntegerField()), "opened_at")[:limit]
    )
    return [
        EscalationRow(
            escalation=escalation, assessment=escalation.assessment, patient=escalation.assessment.patient,
            red_flags=red_flags_of(escalation.assessment.current_evaluation), open_for=now - escalation.opened_at,
        )
        for escalation in escalations
    ]


def referrals_overdue_for(*, user: User, now: datetime, limit: int = WORKLIST_LIMIT) -> list[Referral]:
    """Open referrals past their SLA deadline, the longest overdue first."""
    overdue = referrals_overdue(referrals_visible_to(user=user), now=now)
    return list(overdue.select_related("patient", "partner").defer(*_unshown("patient", PATIENT_UNSHOWN))
                .order_by("due_by")[:limit])


def assessments_urgent_today(*, user: User, now: datetime, limit: int = WORKLIST_LIMIT) -> list[Assessment]:
    """Today's (local day) emergency and urgent assessments, emergencies first, newest first."""
    start = _start_of_day(now)
    assessments = (
        assessments_visible_to(user=user)
        .filter(submitted_at__gte=start, urgency__in=[Urgency.EMERGENCY, Urgency.URGENT])
        .select_related("patient", "current_evaluation")
        .defer("answers", *_unshown("patient", PATIENT_UNSHOWN), *_unshown("current_evaluation", EVALUATION_UNSHOWN))
        .order_by(Case(When(urgency=Urgency.EMERGENCY, then=Value(0)), default=Value(1),
                       output_field=IntegerField()), "-submitted_at")[:limit]
    )
    for assessment in assessments:
        assessment.red_flag_list = red_flags_of(assessment.current_evaluation)
    return list(assessments)


@dataclass
class DayCounts:
    day: date
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Activity:
    days: list[DayCounts]
    totals: dict[str, int]
    median_to_acknowledge: timedelta | None
    acknowledged: int

    @property
    def busiest_day(self) -> int:
        return max((day.total for day in self.days), default=0)

    @property
    def median_to_acknowledge_text(self) -> str:
        return duration_text(self.median_to_acknowledge) if self.median_to_acknowledge is not None else "—"


def activity_last_days_kept(*, user: User, now: datetime) -> Activity:
    """`activity_last_days` as computed at most `ACTIVITY_KEPT_SECONDS` ago for the same scope and day.

    The scope is what the user may see (everything for a superuser; else their
    clinic, for their role), so a kept figure is never shown to anyone who
    could not see it computed. With the cache down, it is computed afresh.
    """
    scope = "all" if user.is_superuser else f"{user.role}:{user.clinic_id}"
    return kept(f"dashboard-activity:{scope}:{timezone.localdate(now).isoformat()}",
                seconds=ACTIVITY_KEPT_SECONDS, compute=lambda: activity_last_days(user=user, now=now))


def activity_last_days(*, user: User, now: datetime, days: int = ACTIVITY_DAYS) -> Activity:
    """Triaged assessments per day and urgency, and the median time to acknowledge, over the last `days` days."""
    first_day = timezone.localdate(now) - timedelta(days=days - 1)
    start = _start_of_day(now) - timedelta(days=days - 1)
    rows = (
        assessments_visible_to(user=user)
        .filter(submitted_at__gte=start)
        .exclude(urgency="")
        .annotate(day=TruncDate("submitted_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "urgency")
        .annotate(n=Count("*"))  # rows, not ids: nothing to read but the index
        .order_by()
    )
    by_day = {first_day + timedelta(days=offset): DayCounts(first_day + timedelta(days=offset),
                                                               dict.fromkeys(URGENCIES, 0))
              for offset in range(days)}
    totals: Counter = Counter(dict.fromkeys(URGENCIES, 0))
    for row in rows:
        if row["day"] in by_day:
            by_day[row["day"]].counts[row["urgency"]] += row["n"]
            totals[row["urgency"]] += row["n"]
    acknowledged = escalations_visible_to(user=user).filter(acknowledged_at__gte=start, acknowledged_at__isnull=False)
    count, median = _median_wait(acknowledged)
    return Activity(
        days=[by_day[day] for day in sorted(by_day)], totals=dict(totals), median_to_acknowledge=median,
        acknowledged=count,
    )


def _median_wait(acknowledged: QuerySet[Escalation]) -> tuple[int, timedelta | None]:
    """How many were acknowledged, and their median time to acknowledge, in one query.

    The database sorts the waits and hands back the middle one or two, each
    with the number of rows: a busy clinic acknowledges thousands in the
    window, and reading them all to take a median cost the dashboard more than
    the rest of its queries.
    """
    middle = list(
        acknowledged.annotate(
            wait=F("acknowledged_at") - F("opened_at"),
            rows=Window(Count("pk")),
            position=Window(RowNumber(), order_by=[F("wait").asc(), F("pk").asc()]),
        )
        # Integer halves: one middle row when the count is odd, two when it is even.
        .filter(Q(position=(F("rows") + 1) / 2) | Q(position=F("rows") / 2 + 1))
        .values_list("rows", "wait")
    )
    if not middle:
        return 0, None
    return middle[0][0], statistics.median(wait for _, wait in middle)


def webhook_events_visible_to(*, user: User) -> QuerySet[PartnerWebhookEvent]:
    """Partner events about the user's clinic's referrals, and those about no known referral."""
    events = PartnerWebhookEvent.objects.all()
    if user.is_superuser:
        return events
    return events.filter(Q(referral__in=referrals_visible_to(user=user)) | Q(referral__isnull=True))


@dataclass(frozen=True)
class WorklistCounts:
    events_kept_for_review: int
    referrals_to_resend: int


def worklist_counts(*, user: User) -> WorklistCounts:
    return WorklistCounts(
        events_kept_for_review=webhook_events_visible_to(user=user)
        .filter(outcome=WebhookOutcome.KEPT_FOR_REVIEW).count(),
        referrals_to_resend=referrals_visible_to(user=user).filter(needs_resend=True).count(),
    )


def _start_of_day(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# --------------------------------------------------------------------------- the referrals board

RESEND = "resend"
BOARD_COLUMNS: list[tuple[str, str]] = [
    (ReferralStatus.PROPOSED, "Proposed: to send"),
    (ReferralStatus.SENT, "Sent: awaiting the partner"),
    (ReferralStatus.ACCEPTED, "Accepted: to book"),
    (ReferralStatus.SCHEDULED, "Scheduled"),
    (ReferralStatus.NO_SHOW, "Did not attend: to rebook"),
    (RESEND, "Declined: to re-send"),
]


@dataclass(frozen=True)
class SlaClock:
    due_by: datetime | None
    left: timedelta | None  # negative once overdue

    @property
    def overdue(self) -> bool:
        return self.left is not None and self.left < timedelta(0)

    @property
    def text(self) -> str:
        if self.left is None:
            return "No clock"
        if self.overdue:
            return f"Overdue by {duration_text(-self.left)}"
        return f"{duration_text(self.left)} left"


def sla_clock(referral: Referral, *, now: datetime) -> SlaClock:
    if referral.sla_clock is None or referral.due_by is None:
        return SlaClock(due_by=None, left=None)
    return SlaClock(due_by=referral.due_by, left=referral.due_by - now)


@dataclass
class BoardColumn:
    key: str
    title: str
    total: int
    referrals: list[Referral]

    @property
    def hidden(self) -> int:
        return self.total - len(self.referrals)

    @property
    def overdue(self) -> int:
        return sum(referral.clock.overdue for referral in self.referrals)


def referrals_board(*, user: User, now: datetime, per_column: int = BOARD_COLUMN_LIMIT) -> list[BoardColumn]:
    """Open referrals (and declined ones to re-send) by column, the nearest deadline first.

    Each referral carries `clock` (SlaClock) and `partner_events`, its partner's events, newest first.
    """
    column = Case(When(needs_resend=True, then=Value(RESEND)), default=F("status"))
    on_board = referrals_visible_to(user=user).filter(Q(status__in=OPEN_STATUSES) | Q(needs_resend=True))
    totals = dict(on_board.annotate(column=column).values("column").annotate(n=Count("id")).values_list("column", "n")
                  .order_by())
    # The first `per_column` of each column are ranked on the narrow rows (ids, status, deadline), then only
    # those are read whole: ranking whole rows with their patient and partner sorted every card on the board.
    first_of_each_column = (
        on_board.annotate(column=column, place=Window(
            RowNumber(), partition_by=[column], order_by=[F("due_by").asc(nulls_last=True), F("created_at").asc()],
        ))
        .filter(place__lte=per_column)
        .values("pk")
    )
    shown = (
        # On PostgreSQL `pk = ANY(ARRAY(...))`: the planner reads those few by primary key (with `IN`, it
        # guesses a third of the board and hashes every referral).
        Referral.objects.filter(InSubquery(F("pk"), first_of_each_column))
        .annotate(column=column)
        .select_related("patient", "partner")
        .defer(*_unshown("patient", PATIENT_UNSHOWN))
        .prefetch_related(Prefetch("webhook_events", queryset=PartnerWebhookEvent.objects.order_by("-received_at"),
                                   to_attr="partner_events"))
        .order_by(F("due_by").asc(nulls_last=True), "created_at")
    )
    cards: dict[str, list[Referral]] = {key: [] for key, _ in BOARD_COLUMNS}
    for referral in shown:
        referral.clock = sla_clock(referral, now=now)
        cards[referral.column].append(referral)
    return [BoardColumn(key=key, title=title, total=totals.get(key, 0), referrals=cards[key])
            for key, title in BOARD_COLUMNS]


# --------------------------------------------------------------------------- a patient's timeline

KIND_ORDER = {"assessment": 0, "triage": 1, "override": 2, "referral": 3, "escalation": 4, "notification": 5,
              "partner_event": 6}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # assessment, triage, override, escalation, notification, referral, partner_event
    title: str
    detail: str = ""
    badge: str = ""  # a code that picks the badge's colour (an urgency or a status)
    badge_text: str = ""
    url: str = ""


def patient_timeline(*, patient: Patient, limit: int = TIMELINE_LIMIT) -> list[TimelineEntry]:
    """Assessments, triage results, escalations, notifications, referrals and their history: newest first.

    Seven queries whatever the patient's history holds.
    """
    entries: list[TimelineEntry] = []
    assessments = Assessment.objects.filter(patient=patient).prefetch_related(
        Prefetch("evaluations", queryset=Evaluation.objects.select_related("overridden_by").order_by("evaluated_at"))
    )
    for assessment in assessments:
        entries.extend(_assessment_entries(assessment))
    escalations = Escalation.objects.filter(assessment__patient=patient).prefetch_related(
        Prefetch("events", queryset=EscalationEvent.objects.select_related("by", "contact")),
        Prefetch("notifications", queryset=Notification.objects.select_related("contact")),
    )
    for escalation in escalations:
        entries.extend(_escalation_entries(escalation))
    referral_events = ReferralEvent.objects.filter(referral__patient=patient).select_related("referral", "by")
    entries.extend(_referral_entry(event) for event in referral_events)
    partner_events = PartnerWebhookEvent.objects.filter(referral__patient=patient).select_related("partner", "referral")
    entries.extend(_partner_event_entry(event) for event in partner_events)
    # Newest first; what one transaction wrote at the same instant, in reverse causal order.
    ranked = sorted(enumerate(entries), key=lambda item: (item[1].at, KIND_ORDER[item[1].kind], item[0]),
                    reverse=True)
    return [entry for _, entry in ranked[:limit]]


def _admin_url(name: str, pk) -> str:
    return reverse(f"admin:{name}_change", args=[pk])


def _assessment_entries(assessment: Assessment) -> list[TimelineEntry]:
    url = _admin_url("triage_assessment", assessment.pk)
    entries = [TimelineEntry(at=assessment.submitted_at, kind="assessment", title="Assessment submitted",
                             detail="Waiting for triage." if assessment.status == "pending" else "", url=url)]
    for evaluation in assessment.evaluations.all():
        flags = ", ".join(flag.label for flag in red_flags_of(evaluation))
        entries.append(TimelineEntry(
            at=evaluation.evaluated_at, kind="triage", title=f"Triaged under ruleset {evaluation.ruleset_version}",
            detail=f"Red flags: {flags}." if flags else "No red flag.", badge=evaluation.urgency,
            badge_text=evaluation.get_urgency_display(), url=url,
        ))
        if evaluation.override_urgency and evaluation.overridden_at:
            who = evaluation.overridden_by.get_username() if evaluation.overridden_by else "someone"
            entries.append(TimelineEntry(
                at=evaluation.overridden_at, kind="override", title=f"Urgency overridden by {who}",
                detail=evaluation.override_reason, badge=evaluation.override_urgency,
                badge_text=evaluation.get_override_urgency_display(), url=url,
            ))
    return entries


def _escalation_entries(escalation: Escalation) -> list[TimelineEntry]:
    url = _admin_url("notifications_escalation", escalation.pk)
    entries = []
    for event in escalation.events.all():
        who = event.by.get_username() if event.by else (event.contact.name if event.contact else "")
        via = f" via {event.via}" if event.via else ""
        tier = f" (tier {event.tier})" if event.tier else ""
        detail = " ".join(part for part in [f"By {who}{via}." if who or via else "", event.note] if part)
        entries.append(TimelineEntry(
            at=event.at, kind="escalation",
            title=f"Escalation {escalation.case_code}: {event.get_kind_display()}{tier}",
            detail=detail, badge="emergency" if event.kind in ("exhausted", "delivery_failed") else "",
            badge_text="Needs a person" if event.kind == "exhausted" else "", url=url,
        ))
    for notification in escalation.notifications.all():
        to = notification.contact.name if notification.contact else notification.recipient
        when = notification.delivered_at or notification.sent_at or notification.failed_at
        detail = (f"{notification.attempts} attempt(s)" + (f", last {when:%Y-%m-%d %H:%M}" if when else "")
                  if notification.attempts else "Not sent yet.")
        if notification.last_error:
            detail += f"; {notification.last_error[:120]}"
        entries.append(TimelineEntry(
            at=notification.queued_at, kind="notification",
            title=f"{notification.get_channel_display()} {notification.get_kind_display().lower()} to {to} "
                  f"(tier {notification.tier})",
            detail=detail, badge=notification.status, badge_text=notification.get_status_display(),
            url=_admin_url("notifications_notification", notification.pk),
        ))
    return entries


def _referral_entry(event: ReferralEvent) -> TimelineEntry:
    referral = event.referral
    move = (f"{event.get_from_status_display()} → {event.get_to_status_display()}" if event.from_status
            else event.get_to_status_display())
    who = event.by.get_username() if event.by else "the system"
    return TimelineEntry(
        at=event.at, kind="referral", title=f"{referral.get_specialty_display()} referral: {move}",
        detail=f"{event.note} (by {who}, {event.get_source_display().lower()})".strip(),
        badge=event.to_status, badge_text=event.get_to_status_display(),
        url=_admin_url("referrals_referral", referral.pk),
    )


def _partner_event_entry(event: PartnerWebhookEvent) -> TimelineEntry:
    return TimelineEntry(
        at=event.received_at, kind="partner_event",
        title=f"Partner event {event.event_type or '(unreadable)'} from {event.partner.name}",
        detail=event.detail, badge=event.outcome, badge_text=event.get_outcome_display(),
        url=_admin_url("referrals_partnerwebhookevent", event.pk),
    )

