"""Events we deliver to partners: a delivery row before any request, then one row per attempt.

A delivery is written in the transaction that made the event and handed to a
worker on commit. Each attempt claims the row (compare-and-swap), signs the
body with the Standard Webhooks scheme (the same webhook-id on every attempt),
POSTs it and records the answer. 2xx: done. 408, 429, 5xx and network errors:
retried with capped exponential backoff and jitter, up to a maximum number of
attempts. Any other answer (3xx, 4xx): failed for good. A periodic sweep
re-enqueues deliveries whose task was lost and frees claims of dead workers.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from ..fhir import referral_service_request
from ..models import DeliveryStatus, Partner, Referral, WebhookDelivery, WebhookDeliveryAttempt
from .transport import HttpReply, http_post

logger = logging.getLogger(__name__)

USER_AGENT = "footdrop-triage-webhooks/1"
Attempt = WebhookDeliveryAttempt.Outcome


def webhook_delivery_create(*, referral: Referral, event_type: str) -> WebhookDelivery | None:
    """Record an event for the referral's partner (if it has a webhook URL); a worker sends it after commit."""
    partner = referral.partner
    if partner is None or not partner.webhook_url:
        return None
    now = timezone.now()
    body = {"type": event_type, "timestamp": now.isoformat(), "data": _event_data(referral, event_type)}
    delivery = WebhookDelivery.objects.create(
        partner=partner, referral=referral, event_type=event_type, webhook_id=f"msg_{uuid.uuid4().hex}",
        payload=json.dumps(body, separators=(",", ":"), ensure_ascii=False), next_attempt_at=now,
    )
    transaction.on_commit(lambda: enqueue_delivery(delivery_id=delivery.pk))
    return delivery


def _event_data(referral: Referral, event_type: str) -> dict:
    data = {
        "referral_id": str(referral.id), "specialty": referral.specialty, "priority": referral.priority,
        "status": referral.status, "due_by": referral.due_by.isoformat() if referral.due_by else None,
    }
    if event_type == "referral.created":
        patient = referral.patient
        # What the partner needs to book the patient; more is in the ServiceRequest and the referral API.
        data["patient"] = {
            "id": str(patient.id), "first_name": patient.first_name, "last_name": patient.last_name,
            "date_of_birth": patient.date_of_birth.isoformat(), "phone": str(patient.phone),
            "email": patient.email, "language": patient.language,
        }
        data["service_request"] = referral_service_request(referral)
    elif event_type == "referral.cancelled":
        data["reason"] = referral.cancel_reason
    return data


def enqueue_delivery(*, delivery_id, countdown: float | None = None) -> bool:
    """Hand a delivery to a worker; if the broker is down the delivery sweep will."""
    from ..tasks import deliver_partner_webhook

    try:
        deliver_partner_webhook.apply_async(args=[str(delivery_id)], countdown=countdown)
    except Exception:  # any broker error: the delivery row stays pending and the sweep re-enqueues it
        logger.warning("webhook delivery not enqueued; the sweep will retry", extra={"delivery_id": str(delivery_id)})
        return False
    return True


def signed_headers(*, partner: Partner, webhook_id: str, payload: str, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; during a secret rotation's grace, one signature per live secret."""
    from ..selectors import partner_verification_secrets

    signatures = [
        Webhook(secret).sign(webhook_id, at.astimezone(UTC), payload)
        for secret in partner_verification_secrets(partner=partner, now=at)
    ]
    return {
        "webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures), "content-type": "application/json", "user-agent": USER_AGENT,
    }


def backoff_seconds(attempt: int) -> float:
    """base * 2**(attempt-1), capped, with 'equal jitter': somewhere in the upper half of that."""
    exponential = settings.PARTNER_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1)
    ceiling = min(settings.PARTNER_WEBHOOK_BACKOFF_MAX_SECONDS, exponential)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def classify(reply: HttpReply, attempt: int) -> str:
    """succeeded, retry (temporary failure with attempts left) or failed (permanent, or attempts exhausted)."""
    code = reply.status_code
    if code is not None and 200 <= code < 300:
        return Attempt.SUCCEEDED
    temporary = code is None or code >= 500 or code in (408, 429)
    if temporary and attempt < settings.PARTNER_WEBHOOK_MAX_ATTEMPTS:
        return Attempt.RETRY
    return Attempt.FAILED


def webhook_delivery_attempt(*, delivery_id) -> WebhookDeliveryAttempt | None:
    """One attempt, if the delivery is due and nobody else holds it; None otherwise (safe to run twice)."""
    claimed_at = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=claimed_at
    ).update(status=DeliveryStatus.SENDING, claimed_at=claimed_at, attempts=F("attempts") + 1, updated_at=claimed_at)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("partner").get(pk=delivery_id)
    partner, number = delivery.partner, delivery.attempts
    started_at = timezone.now()
    if partner.webhook_url:
        try:
            headers = signed_headers(partner=partner, webhook_id=delivery.webhook_id, payload=delivery.payload,
                                     at=started_at)
        except Exception as error:  # an unreadable secret (FIELD_ENCRYPTION_KEY changed): nothing will fix it here
            reply = HttpReply(None, "", 0, f"cannot sign: {type(error).__name__}")
            outcome = Attempt.FAILED
        else:
            reply = http_post(partner.webhook_url, delivery.payload.encode(), headers,
                              timeout=settings.PARTNER_WEBHOOK_TIMEOUT_SECONDS)
            outcome = classify(reply, number)
    else:
        reply, outcome = HttpReply(None, "", 0, "the partner has no webhook_url"), Attempt.FAILED
    return _record(delivery=delivery, claimed_at=claimed_at, number=number, started_at=started_at,
                   url=partner.webhook_url, reply=reply, outcome=outcome)


def _record(*, delivery: WebhookDelivery, claimed_at: datetime, number: int, started_at: datetime, url: str,
            reply: HttpReply, outcome: str) -> WebhookDeliveryAttempt:
    now = timezone.now()
    error = reply.error if outcome != Attempt.SUCCEEDED else ""
    updates: dict = {"claimed_at": None, "last_error": error, "updated_at": now}
    retry_in = None
    if outcome == Attempt.SUCCEEDED:
        updates.update(status=DeliveryStatus.SUCCEEDED, delivered_at=now)
    elif outcome == Attempt.RETRY:
        retry_in = backoff_seconds(number)
        updates.update(status=DeliveryStatus.PENDING, next_attempt_at=now + timedelta(seconds=retry_in))
    else:
        updates.update(status=DeliveryStatus.FAILED)
    with transaction.atomic():
        attempt = WebhookDeliveryAttempt.objects.create(
            delivery=delivery, number=number, started_at=started_at, url=url, status_code=reply.status_code,
            duration_ms=reply.duration_ms, response_body=reply.body, error=error, outcome=outcome,
        )
        # Only while our claim holds: a sweep that judged this worker dead has handed the delivery on.
        still_ours = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=claimed_at
        ).update(**updates)
        if still_ours and retry_in is not None:
            transaction.on_commit(lambda: enqueue_delivery(delivery_id=delivery.pk, countdown=retry_in))
    log = logger.info if outcome == Attempt.SUCCEEDED else logger.warning
    log("partner webhook attempt", extra={"delivery_id": str(delivery.pk), "attempt": number, "outcome": outcome,
                                          "status_code": reply.status_code, "duration_ms": reply.duration_ms})
    return attempt


def webhook_delivery_retry(*, delivery: WebhookDelivery) -> bool:
    """Staff: one more attempt of a failed delivery, now."""
    now = timezone.now()
    reopened = WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now, updated_at=now
    )
    if reopened:
        transaction.on_commit(lambda: enqueue_delivery(delivery_id=delivery.pk))
    return bool(reopened)


def webhook_deliveries_requeue(*, now: datetime | None = None, limit: int = 500) -> int:
    """Find deliveries whose task was lost (broker down, worker killed) and hand them to a worker again."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.PARTNER_WEBHOOK_GRACE_SECONDS)
    lease = timedelta(seconds=settings.PARTNER_WEBHOOK_TIMEOUT_SECONDS) + grace
    abandoned = WebhookDelivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=now - lease)
    interrupted = "the attempt was interrupted (its worker was lost)"
    abandoned.filter(attempts__gte=settings.PARTNER_WEBHOOK_MAX_ATTEMPTS).update(
        status=DeliveryStatus.FAILED, claimed_at=None, last_error=interrupted, updated_at=now
    )
    abandoned.update(status=DeliveryStatus.PENDING, claimed_at=None, next_attempt_at=now - grace,
                     last_error=interrupted, updated_at=now)
    lost = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - grace)
        .order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    )
    return sum(enqueue_delivery(delivery_id=delivery_id) for delivery_id in lost)
