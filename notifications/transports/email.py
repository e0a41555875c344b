"""Email through Django's mail framework, configured from `EMAIL_URL`."""

from __future__ import annotations

import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from . import PermanentFailure, Sent, TemporaryFailure


class EmailTransport:
    """Sends one message per call. A 5xx refusal is permanent; anything else that fails is retried."""

    def send(self, *, to: str, subject: str, body: str, reference: str) -> Sent:
        message_id = make_msgid(domain=settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost")
        message = EmailMessage(
            subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to],
            headers={"Message-ID": message_id, "X-Notification-Id": reference},
            connection=get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT),
        )
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise _by_code(min(codes, default=550), f"SMTP refused the recipient ({codes})") from error
        except smtplib.SMTPResponseException as error:  # sender refused, data refused, auth...
            raise _by_code(error.smtp_code, f"SMTP {error.smtp_code}: {_text(error.smtp_error)}") from error
        except (smtplib.SMTPException, OSError) as error:  # refused connection, timeout, disconnect
            raise TemporaryFailure(f"SMTP unavailable: {type(error).__name__}: {error}") from error
        return Sent(provider_id=message_id)


def _by_code(code: int, error: str):
    if 500 <= code < 600 and code not in (530, 535):  # 530/535: our credentials, fixable: retry
        return PermanentFailure(error, status_code=code)
    return TemporaryFailure(error, status_code=code)


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def get_email_transport() -> EmailTransport:
    return EmailTransport()
