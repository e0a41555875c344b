from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from triage.models import Assessment

from .models import Escalation, EscalationStatus

CASE_CODE_ATTEMPTS = 20


def _new_case_code() -> str:
    return f"{secrets.randbelow(9000) + 1000}"


def escalation_open(*, assessment: Assessment) -> Escalation:
    """Open the escalation of an emergency assessment, once; its first tier is due at once."""
    existing = Escalation.objects.filter(assessment=assessment).first()
    if existing is not None:
        return existing
    now = timezone.now()
    for _ in range(CASE_CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return Escalation.objects.create(
                    assessment=assessment, opened_at=now, next_tier_due_at=now, case_code=_new_case_code()
                )
        except IntegrityError:
            existing = Escalation.objects.filter(assessment=assessment).first()
            if existing is not None:
                return existing
    raise RuntimeError("Could not find a free escalation case code.")


def escalation_acknowledge(*, escalation: Escalation, by, via: str) -> Escalation:
    """Someone owns the case now. Acknowledging twice changes nothing."""
    now = timezone.now()
    Escalation.objects.filter(
        pk=escalation.pk, status__in=[EscalationStatus.OPEN, EscalationStatus.EXHAUSTED]
    ).update(
        status=EscalationStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by, acknowledged_via=via,
        next_tier_due_at=None, updated_at=now,
    )
    escalation.refresh_from_db()
    return escalation


def escalation_acknowledge_by_override(*, assessment: Assessment, by) -> None:
    escalation = Escalation.objects.filter(assessment=assessment).first()
    if escalation is not None:
        escalation_acknowledge(escalation=escalation, by=by, via="override")
