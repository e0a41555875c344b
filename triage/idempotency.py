"""`Idempotency-Key` on POST: the same key and body get the first response, and create nothing more.

A record is claimed (inserted, under a unique constraint) before the work, so
that a retry arriving while the first request is still in flight is told so
(409) instead of creating a second assessment.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from common.errors import Conflict, Unprocessable

from .models import IdempotencyRecord


@dataclass(frozen=True)
class Replay:
    status: int
    body: object


def request_fingerprint(*, method: str, path: str, body: object) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_claim(*, user: User, key: str, fingerprint: str) -> IdempotencyRecord | Replay:
    """Claim the key for this request, or return the first response to replay."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(user=user, key=key, request_fingerprint=fingerprint)
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(user=user, key=key)
    if record.request_fingerprint != fingerprint:
        raise Unprocessable("This Idempotency-Key was used with another request body.", field="Idempotency-Key")
    if record.state == IdempotencyRecord.State.DONE:
        return Replay(status=record.response_status, body=record.response_body)
    abandoned_before = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS)
    taken_over = IdempotencyRecord.objects.filter(
        pk=record.pk, state=IdempotencyRecord.State.IN_FLIGHT, updated_at__lt=abandoned_before
    ).update(updated_at=timezone.now())
    if taken_over:
        return record
    raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly.",
                   code="request_in_flight", field="Idempotency-Key")


def idempotency_complete(*, record: IdempotencyRecord, status: int, body: object) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.DONE, response_status=status, response_body=body, updated_at=timezone.now()
    )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """The request failed before creating anything: the key may be used again."""
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_FLIGHT).delete()
