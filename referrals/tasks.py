"""Thin tasks: take ids, call an action. Each is safe to run twice."""

from celery import shared_task
from django.conf import settings

from . import actions
from .webhooks import outbound

# Killed well before the delivery sweep would judge the attempt abandoned and hand it on.
DELIVERY_TIME_LIMIT = settings.PARTNER_WEBHOOK_TIMEOUT_SECONDS * 2 + 5


@shared_task(acks_late=True, time_limit=DELIVERY_TIME_LIMIT, soft_time_limit=DELIVERY_TIME_LIMIT - 2)
def deliver_partner_webhook(delivery_id: str) -> None:
    outbound.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task
def requeue_partner_webhook_deliveries() -> int:
    return outbound.webhook_deliveries_requeue()


@shared_task
def mark_overdue_referrals() -> int:
    return actions.referrals_mark_overdue()
