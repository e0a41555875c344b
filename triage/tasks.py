from celery import shared_task
from django.conf import settings

from . import actions


@shared_task(acks_late=True)
def triage_assessment(assessment_id: str) -> None:
    # An emergency's first SMS leaves from here as soon as its escalation commits: no broker hop before the page.
    actions.assessment_triage_paging_first(assessment_id=assessment_id)


@shared_task(acks_late=True)
def write_triage_result(assessment_id: str, ruleset_version: str | None = None) -> None:
    # An emergency paged by `triage_assessment`: its result, under the ruleset that paged it.
    actions.assessment_triage(assessment_id=assessment_id, ruleset_version=ruleset_version, escalation_opened=True)


@shared_task
def requeue_pending_assessments() -> int:
    return actions.assessments_requeue_pending(older_than_seconds=settings.TRIAGE_PENDING_GRACE_SECONDS)


@shared_task
def requeue_pending_emergencies() -> int:
    return actions.emergencies_requeue_pending(older_than_seconds=settings.TRIAGE_PENDING_GRACE_SECONDS)
