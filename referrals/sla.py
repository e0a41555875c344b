"""Service-level clocks of a referral, per priority, from settings (see README)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings


def acceptance_due_by(*, priority: str, start: datetime) -> datetime:
    return start + timedelta(seconds=settings.REFERRAL_SLA[priority]["accept_seconds"])
