from celery import shared_task
from django.conf import settings

from . import actions


@shared_task(acks_late=True)
def triage_assessment(assessment_id: str) -> None:
    # An emergency's first SMS leaves from here as soon as its result commits: no broker hop before the page.
    actions.assessment_triage(assessment_id=assessment_id, send_sms_here=True)


@shared_task
def requeue_pending_assessments() -> int:
    return actions.assessments_requeue_pending(older_than_seconds=settings.TRIAGE_PENDING_GRACE_SECONDS)
