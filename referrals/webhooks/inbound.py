"""Events partners post to us: verify the signature, store the event first, act on it once.

    unknown partner slug                         404, nothing stored
    bad signature, stale or future timestamp     401, nothing stored (logged)
    a webhook-id this partner already sent       2xx, no effect (the first row counts the redelivery)
    body not JSON, unknown type, bad data        400, stored as rejected_malformed
    a referral unknown or not this partner's     404, stored as rejected_unknown_referral
    a move the state machine refuses             409, stored as kept_for_review (staff replay or dismiss it)
    the event's effect is already in place       2xx, stored as duplicate
    otherwise                                    2xx, stored as applied, the move recorded with the event

Idempotency is the UNIQUE (partner, webhook_id) constraint: the event row is
inserted before anything is done, in the same transaction as the move, so of two
concurrent deliveries of one webhook-id one inserts and acts, the other fails the
insert once the first commits and answers "already processed". Only events with a
valid signature are stored, so nobody can take a webhook-id before its partner.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import User
from common.errors import ApplicationError, Conflict, NotFound, TransitionNotAllowed
from common.serializers import StrictCharField

from ..crypto import SecretUnreadable
from ..models import ChangeSource, DeclineReason, Partner, PartnerWebhookEvent, Referral, ReferralStatus, WebhookOutcome
from ..selectors import partner_referral, partner_verification_secrets

logger = logging.getLogger(__name__)

KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "content-type", "content-length", "user-agent")
MAX_WEBHOOK_ID = 255


class SignatureRejected(ApplicationError):
    status_code = 401
    default_code = "invalid_signature"


class Malformed(ApplicationError):
    default_code = "malformed_event"


# --------------------------------------------------------------------------- the events partners send

class _EventData(serializers.Serializer):
    """data of every event; fields we do not know are ignored (partners may send more)."""

    referral_id = StrictCharField(max_length=64)

    def validate_referral_id(self, value: str) -> uuid.UUID:
        try:
            return uuid.UUID(value)
        except ValueError as error:
            raise serializers.ValidationError("Not a referral id.") from error


class AcceptedData(_EventData):
    partner_reference = StrictCharField(max_length=100, required=False, allow_blank=True, default="")


class DeclinedData(_EventData):
    reason = StrictCharField(max_length=2000)
    reason_code = serializers.ChoiceField(choices=DeclineReason.choices, required=False, default=DeclineReason.OTHER)


class ScheduledData(_EventData):
    appointment_at = StrictCharField(max_length=64, help_text="ISO 8601 with a zone.")

    def validate_appointment_at(self, value: str) -> datetime:
        try:
            when = parse_datetime(value)
        except ValueError:
            when = None
        if when is None or timezone.is_naive(when):
            raise serializers.ValidationError("An ISO 8601 date and time with a zone, e.g. 2026-12-01T09:30:00+01:00.")
        return when


class CompletedData(_EventData):
    outcome = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class NoShowData(_EventData):
    pass


@dataclass(frozen=True)
class EventKind:
    data: type[_EventData]
    target: str
    already_in_effect: Callable[[Referral, dict], bool]


EVENT_KINDS: dict[str, EventKind] = {
    "referral.accepted": EventKind(AcceptedData, ReferralStatus.ACCEPTED,
                                   lambda r, d: r.status == ReferralStatus.ACCEPTED),
    "referral.declined": EventKind(DeclinedData, ReferralStatus.DECLINED,
                                   lambda r, d: r.status == ReferralStatus.DECLINED),
    "appointment.scheduled": EventKind(
        ScheduledData, ReferralStatus.SCHEDULED,
        lambda r, d: r.status == ReferralStatus.SCHEDULED and r.appointment_at == d["appointment_at"],
    ),
    "appointment.completed": EventKind(CompletedData, ReferralStatus.COMPLETED,
                                       lambda r, d: r.status == ReferralStatus.COMPLETED),
    "appointment.no_show": EventKind(NoShowData, ReferralStatus.NO_SHOW,
                                     lambda r, d: r.status == ReferralStatus.NO_SHOW),
}


@dataclass(frozen=True)
class PartnerEvent:
    type: str
    referral_id: uuid.UUID
    data: dict


def parse_event(text: str) -> PartnerEvent:
    """`{"type": ..., "data": {"referral_id": ..., ...}}`, or Malformed naming what is wrong."""
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise Malformed("The body is not valid JSON.", field="body") from error
    if not isinstance(payload, dict):
        raise Malformed("The body must be a JSON object with `type` and `data`.", field="body")
    kind = EVENT_KINDS.get(payload.get("type")) if isinstance(payload.get("type"), str) else None
    if kind is None:
        raise Malformed(f"Unknown event type; one of {', '.join(EVENT_KINDS)}.", field="type")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise Malformed("`data` must be a JSON object.", field="data")
    fields = kind.data(data=data)
    if not fields.is_valid():
        details = {name: " ".join(str(message) for message in messages) for name, messages in fields.errors.items()}
        raise Malformed("The event's data is not valid.", field="data", details=details)
    return PartnerEvent(type=payload["type"], referral_id=fields.validated_data["referral_id"],
                        data=dict(fields.validated_data))


# --------------------------------------------------------------------------- receiving

@dataclass
class Receipt:
    event: PartnerWebhookEvent
    redelivery: bool = False
    error: ApplicationError | None = None


def partner_webhook_receive(*, slug: str, body: bytes, headers: Mapping[str, str]) -> Receipt:
    """Verify, store (insert-first), act. A rejection is returned in the receipt, after the event is stored."""
    partner = Partner.objects.filter(slug=slug).first()
    if partner is None:
        raise NotFound("Unknown partner.", field="slug")
    now = timezone.now()
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = _verified_webhook_id(partner=partner, body=body, headers=lowered, now=now)
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = PartnerWebhookEvent.objects.create(
                    partner=partner, webhook_id=webhook_id, received_at=now, body=body.decode("utf-8"),
                    headers={name: value for name, value in lowered.items() if name in KEPT_HEADERS},
                )
        except IntegrityError:
            first = PartnerWebhookEvent.objects.get(partner=partner, webhook_id=webhook_id)
            PartnerWebhookEvent.objects.filter(pk=first.pk).update(
                redeliveries=F("redeliveries") + 1, last_redelivered_at=now
            )
            return Receipt(event=first, redelivery=True)
        error = _act(event, by=None, source=ChangeSource.WEBHOOK)
        event.save()
    if error is not None:
        logger.info("partner webhook rejected", extra={"partner": partner.slug, "outcome": event.outcome,
                                                       "status_code": event.status_code})
    return Receipt(event=event, error=error)


def _verified_webhook_id(*, partner: Partner, body: bytes, headers: Mapping[str, str], now: datetime) -> str:
    try:
        secrets = partner_verification_secrets(partner=partner, now=now)
    except SecretUnreadable:
        logger.error("a partner's webhook secret cannot be decrypted: check FIELD_ENCRYPTION_KEY",
                     extra={"partner": partner.slug})
        secrets = []
    for secret in secrets:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except (WebhookVerificationError, ValueError, TypeError):
            # A malformed signature header raises ValueError / binascii.Error rather than the library's own error.
            continue
        webhook_id = headers["webhook-id"]
        if len(webhook_id) > MAX_WEBHOOK_ID:
            raise Malformed(f"webhook-id is longer than {MAX_WEBHOOK_ID} characters.", field="webhook-id")
        return webhook_id
    logger.warning("partner webhook with a bad signature or timestamp", extra={"partner": partner.slug})
    raise SignatureRejected(
        "The signature does not verify, or the timestamp is more than 5 minutes off.", field="webhook-signature"
    )


def _act(event: PartnerWebhookEvent, *, by: User | None, source: str, note: str = "") -> ApplicationError | None:
    """Act on a stored event; record the outcome on it (unsaved). The referral changes only when applied."""
    try:
        parsed = parse_event(event.body)
    except Malformed as error:
        return _reject(event, WebhookOutcome.REJECTED_MALFORMED, error)
    event.event_type = parsed.type
    event.referral_ref = str(parsed.referral_id)
    referral = partner_referral(partner=event.partner, referral_id=parsed.referral_id)
    if referral is None:
        return _reject(event, WebhookOutcome.REJECTED_UNKNOWN_REFERRAL,
                       NotFound("No referral with this id was sent to this partner.", field="referral_id"))
    event.referral = referral
    kind = EVENT_KINDS[parsed.type]
    try:
        with transaction.atomic():
            locked = Referral.objects.select_for_update().get(pk=referral.pk)
            if kind.already_in_effect(locked, parsed.data):
                outcome = WebhookOutcome.DUPLICATE
            else:
                _apply(parsed, locked, event=event, by=by, source=source, note=note)
                outcome = WebhookOutcome.APPLIED
    except TransitionNotAllowed as error:
        return _reject(event, WebhookOutcome.KEPT_FOR_REVIEW, TransitionNotAllowed(
            f"{error.message} The event is kept for staff to review.", field="type"))
    except ApplicationError as error:
        return _reject(event, WebhookOutcome.REJECTED_MALFORMED, error)
    event.outcome, event.status_code, event.detail = outcome, 200, ""
    return None


def _apply(parsed: PartnerEvent, referral: Referral, *, event: PartnerWebhookEvent, by: User | None, source: str,
           note: str) -> None:
    from .. import actions

    data, common = parsed.data, {"referral": referral, "by": by, "source": source, "webhook_event": event}
    if parsed.type == "referral.accepted":
        actions.referral_accept(partner_reference=data["partner_reference"], note=note, **common)
    elif parsed.type == "referral.declined":
        actions.referral_decline(reason=data["reason"], reason_code=data["reason_code"], note=note, **common)
    elif parsed.type == "appointment.scheduled":
        actions.referral_schedule(appointment_at=data["appointment_at"], note=note, **common)
    elif parsed.type == "appointment.completed":
        actions.referral_complete(outcome=data["outcome"], note=note, **common)
    elif parsed.type == "appointment.no_show":
        actions.referral_mark_no_show(note=note, **common)


def _reject(event: PartnerWebhookEvent, outcome: str, error: ApplicationError) -> ApplicationError:
    event.outcome, event.status_code, event.detail = outcome, error.status_code, error.message
    return error


# --------------------------------------------------------------------------- staff review

def partner_webhook_event_replay(*, event: PartnerWebhookEvent, by: User, source: str) -> PartnerWebhookEvent:
    """Apply an event kept for review now (e.g. once the event it came before has arrived)."""
    with transaction.atomic():
        locked = PartnerWebhookEvent.objects.select_for_update().select_related("partner").get(pk=event.pk)
        if locked.outcome != WebhookOutcome.KEPT_FOR_REVIEW:
            raise Conflict(f"Only an event kept for review can be replayed; this one is {locked.outcome}.",
                           field="outcome")
        error = _act(locked, by=by, source=source, note=f"(Partner event {locked.webhook_id}, replayed after review.)")
        if error is None:
            locked.reviewed_by, locked.reviewed_at = by, timezone.now()
            locked.review_note = "Replayed."
            locked.save()
    if error is not None:
        raise error
    return locked


def partner_webhook_event_dismiss(*, event: PartnerWebhookEvent, by: User, note: str) -> PartnerWebhookEvent:
    """Close an event kept for review without acting on it."""
    note = (note or "").strip() if isinstance(note, str) else ""
    if not note:
        raise ApplicationError("Say why the event is dismissed.", field="note")
    with transaction.atomic():
        locked = PartnerWebhookEvent.objects.select_for_update().get(pk=event.pk)
        if locked.outcome != WebhookOutcome.KEPT_FOR_REVIEW:
            raise Conflict(f"Only an event kept for review can be dismissed; this one is {locked.outcome}.",
                           field="outcome")
        locked.outcome = WebhookOutcome.DISMISSED
        locked.reviewed_by, locked.reviewed_at, locked.review_note = by, timezone.now(), note
        locked.save()
    return locked
