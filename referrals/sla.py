"""Service-level clocks of a referral, per priority, from settings.REFERRAL_SLA.

Two clocks, both counted from the decision to refer at the referral's priority
(`Referral.clock_started_at`): by when a partner must accept it (while it is
proposed or sent) and by when the patient must be seen (once accepted). A
duration is written "<n>h" (hours), "<n>d" (calendar days), "<n>w" (weeks) or
"<n>wd" (working days: the clock stops on Saturdays and Sundays, in TIME_ZONE).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from .state import clock_for

ACCEPTANCE = "acceptance"
SEEN = "seen"
_SETTING_KEY = {ACCEPTANCE: "accept", SEEN: "seen"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|d|w|wd)\s*$")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1), "wd": timedelta(days=1)}


@dataclass(frozen=True)
class SlaDuration:
    length: timedelta
    working_days_only: bool = False

    def after(self, start: datetime) -> datetime:
        return add_working_time(start, self.length) if self.working_days_only else start + self.length


def parse_duration(text: str) -> SlaDuration:
    """'1h', '24h', '5d', '6w' or '1wd' (one working day)."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 1h, 5d, 6w or 1wd")
    amount, unit = float(match.group(1)), match.group(2)
    return SlaDuration(length=amount * _UNIT[unit], working_days_only=unit == "wd")


def add_working_time(start: datetime, length: timedelta) -> datetime:
    """`start` plus `length` of weekday time: the clock does not run on Saturdays and Sundays.

    Counted on the wall clock of TIME_ZONE, so that Friday 15:00 plus one
    working day is Monday 15:00, and Saturday 10:00 plus one is Tuesday 00:00.
    """
    zone = ZoneInfo(settings.TIME_ZONE)
    cursor = start.astimezone(zone).replace(tzinfo=None)
    remaining = length
    while True:
        if cursor.weekday() >= 5:  # Saturday or Sunday: skip to Monday 00:00
            cursor = datetime.combine(cursor.date() + timedelta(days=7 - cursor.weekday()), time.min)
            continue
        midnight = datetime.combine(cursor.date() + timedelta(days=1), time.min)
        if remaining <= midnight - cursor:
            return (cursor + remaining).replace(tzinfo=zone)
        remaining -= midnight - cursor
        cursor = midnight


def sla_duration(*, priority: str, clock: str) -> SlaDuration:
    return parse_duration(settings.REFERRAL_SLA[priority][_SETTING_KEY[clock]])


def acceptance_due_by(*, priority: str, start: datetime) -> datetime:
    return sla_duration(priority=priority, clock=ACCEPTANCE).after(start)


def seen_due_by(*, priority: str, start: datetime) -> datetime:
    return sla_duration(priority=priority, clock=SEEN).after(start)


def due_by_for(*, priority: str, status: str, clock_started_at: datetime) -> datetime | None:
    """The deadline of the clock that runs in `status`; None once the referral is final."""
    clock = clock_for(status)
    if clock is None:
        return None
    return sla_duration(priority=priority, clock=clock).after(clock_started_at)


def sla_setting_problems(value: object) -> list[str]:
    """What is wrong with a REFERRAL_SLA setting (checked at start-up)."""
    from triage.models import Urgency

    if not isinstance(value, dict):
        return ["REFERRAL_SLA must be a dict of priority -> {'accept': duration, 'seen': duration}"]
    problems = []
    for priority in Urgency.values:
        clocks = value.get(priority)
        if not isinstance(clocks, dict):
            problems.append(f"REFERRAL_SLA[{priority!r}] is missing")
            continue
        for key in _SETTING_KEY.values():
            try:
                parse_duration(clocks.get(key))
            except ValueError as error:
                problems.append(f"REFERRAL_SLA[{priority!r}][{key!r}]: {error}")
    return problems
