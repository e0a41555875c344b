"""Signed acknowledgement links: a capability to acknowledge one escalation, named by one notification."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing

SALT = "notifications.escalation-acknowledge"
PATH = "/api/v1/escalations/ack/{token}/"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def ack_token(notification_id: uuid.UUID) -> str:
    return _signer().sign(notification_id.hex)


def ack_url(notification_id: uuid.UUID) -> str:
    return settings.PUBLIC_BASE_URL + PATH.format(token=ack_token(notification_id))


class InvalidLink(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def notification_id_from_token(token: str) -> uuid.UUID:
    """The notification a token names; `InvalidLink` when it is forged, mangled or too old."""
    try:
        value = _signer().unsign(token, max_age=settings.ESCALATION_ACK_LINK_MAX_AGE_SECONDS)
        return uuid.UUID(hex=value)
    except signing.SignatureExpired as error:
        raise InvalidLink("expired") from error
    except (signing.BadSignature, ValueError) as error:
        raise InvalidLink("invalid") from error
