from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from triage.models import Assessment

from .models import ChangeSource, Referral, ReferralEvent, ReferralStatus, Specialty
from .sla import acceptance_due_by


def referral_targets(recommended_specialties: list[str]) -> list[str]:
    """Contract §8: the primary specialty and physiotherapy, or the next one when physiotherapy is primary."""
    primary = recommended_specialties[:1]
    if primary == [Specialty.PHYSIOTHERAPY]:
        return primary + recommended_specialties[1:2]
    return primary + [Specialty.PHYSIOTHERAPY]


@transaction.atomic
def referrals_propose(
    *, assessment: Assessment, recommended_specialties: list[str], priority: str,
    by: User | None = None, source: str = ChangeSource.WORKER,
) -> list[Referral]:
    """Propose the referrals a triage calls for; a specialty already referred and still open is kept."""
    now = timezone.now()
    open_specialties = set(
        assessment.referrals.exclude(
            status__in=[ReferralStatus.CANCELLED, ReferralStatus.DECLINED, ReferralStatus.COMPLETED]
        ).values_list("specialty", flat=True)
    )
    created = []
    for specialty in referral_targets(recommended_specialties):
        if specialty in open_specialties:
            continue
        referral = Referral.objects.create(
            assessment=assessment, patient_id=assessment.patient_id, specialty=specialty, priority=priority,
            status=ReferralStatus.PROPOSED, due_by=acceptance_due_by(priority=priority, start=now),
        )
        ReferralEvent.objects.create(
            referral=referral, to_status=ReferralStatus.PROPOSED, at=now, by=by, source=source,
            note=f"Proposed by triage ({priority}).",
        )
        created.append(referral)
    return created


@transaction.atomic
def referrals_reprioritise(*, assessment: Assessment, priority: str) -> int:
    """A changed effective urgency re-prioritises the referrals not yet sent."""
    now = timezone.now()
    proposed = assessment.referrals.filter(status=ReferralStatus.PROPOSED).exclude(priority=priority)
    return proposed.update(priority=priority, due_by=acceptance_due_by(priority=priority, start=now), updated_at=now)
