"""Thin tasks: they take ids, and the actions they call are safe to run twice."""

from celery import shared_task
from django.conf import settings

from . import actions

# The hard limit stays below the sending lease: no worker is still sending when
# the outbox sweep hands its notification to another.
SEND_TIME_LIMIT = max(settings.NOTIFICATION_SENDING_LEASE_SECONDS - 5, 10)


@shared_task(
    bind=True, acks_late=True, max_retries=settings.NOTIFICATION_MAX_ATTEMPTS,
    time_limit=SEND_TIME_LIMIT, soft_time_limit=SEND_TIME_LIMIT - 5,
)
def send_notification(self, notification_id: str) -> str:
    """Send one notification; on a temporary failure, Celery retries it after the recorded backoff."""
    outcome = actions.notification_deliver(notification_id=notification_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task
def advance_due_escalations() -> int:
    return actions.escalations_advance_due()


@shared_task
def sweep_notification_outbox() -> int:
    return actions.notifications_redispatch_stuck(
        queued_grace_seconds=settings.NOTIFICATION_QUEUED_GRACE_SECONDS,
        sending_lease_seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS,
    )
