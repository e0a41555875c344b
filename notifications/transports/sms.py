"""SMS transports: Twilio's REST API over plain HTTP, and a console transport that logs."""

from __future__ import annotations

import logging
import os
import uuid
from typing import Protocol

import requests
from django.conf import settings

from . import PermanentFailure, Sent, TemporaryFailure, excerpt

logger = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/api/v1/webhooks/twilio/status/"


class SmsTransport(Protocol):
    def send(self, *, to: str, body: str, reference: str) -> Sent: ...


class ConsoleSmsTransport:
    """Development transport: logs that a message went out, never its recipient or text."""

    def send(self, *, to: str, body: str, reference: str) -> Sent:
        provider_id = f"console-{uuid.uuid4().hex}"
        logger.info(
            "SMS written to the console transport",
            extra={"notification_id": reference, "provider_id": provider_id, "characters": len(body)},
        )
        return Sent(provider_id=provider_id)


class TwilioSmsTransport:
    """`POST {base}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth and short timeouts.

    5xx, 429, timeouts and refused connections are temporary; any other 4xx
    (an invalid or unreachable number, bad credentials) is permanent.
    """

    def __init__(
        self, *, account_sid: str, auth_token: str, from_number: str, api_base_url: str,
        status_callback_url: str, timeout: tuple[float, float],
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.url = f"{api_base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.status_callback_url = status_callback_url
        self.timeout = timeout

    def send(self, *, to: str, body: str, reference: str) -> Sent:
        form = {"To": to, "From": self.from_number, "Body": body, "StatusCallback": self.status_callback_url}
        try:
            response = _session().post(
                self.url, data=form, auth=(self.account_sid, self.auth_token), timeout=self.timeout
            )
        except requests.Timeout as error:
            raise TemporaryFailure(f"Twilio timed out: {type(error).__name__}") from error
        except requests.RequestException as error:
            raise TemporaryFailure(f"Twilio unreachable: {type(error).__name__}") from error
        text = excerpt(response.text)
        if response.status_code in (200, 201):
            try:
                sid = response.json()["sid"]
            except (ValueError, KeyError, TypeError) as error:
                # Accepted, by the status code, but unreadable: do not send it again.
                raise PermanentFailure(
                    "Twilio accepted the message but its answer has no sid", status_code=response.status_code,
                    response=text,
                ) from error
            return Sent(provider_id=str(sid), status_code=response.status_code, response=text)
        error = f"Twilio HTTP {response.status_code}: {_twilio_error(response)}"
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporaryFailure(error, status_code=response.status_code, response=text)
        raise PermanentFailure(error, status_code=response.status_code, response=text)


def _twilio_error(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return excerpt(response.text, 200) or response.reason or ""
    if isinstance(data, dict):
        return f"{data.get('code', '')} {data.get('message', '')}".strip()
    return excerpt(response.text, 200)


_sessions: dict[int, requests.Session] = {}


def _session() -> requests.Session:
    """One keep-alive session per process (prefork children must not share sockets)."""
    pid = os.getpid()
    if pid not in _sessions:
        _sessions.clear()
        _sessions[pid] = requests.Session()
    return _sessions[pid]


def get_sms_transport() -> SmsTransport:
    backend = settings.SMS_BACKEND
    if backend == "console":
        return ConsoleSmsTransport()
    if backend == "twilio":
        return TwilioSmsTransport(
            account_sid=settings.TWILIO_ACCOUNT_SID, auth_token=settings.TWILIO_AUTH_TOKEN,
            from_number=settings.TWILIO_FROM_NUMBER, api_base_url=settings.TWILIO_API_BASE_URL,
            status_callback_url=f"{settings.PUBLIC_BASE_URL}{STATUS_CALLBACK_PATH}",
            timeout=(settings.TWILIO_CONNECT_TIMEOUT_SECONDS, settings.TWILIO_READ_TIMEOUT_SECONDS),
        )
    raise ValueError(f"Unknown SMS_BACKEND {backend!r}: use 'console' or 'twilio'.")
