"""Structured JSON logs that never carry personal data.

Values under personal keys are replaced, and phone numbers and e-mail
addresses are masked wherever they appear in a message, so that a careless
log call cannot leak a patient's contact details.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

PERSONAL_KEYS = frozenset(
    {
        "first_name", "last_name", "name", "phone", "email", "date_of_birth", "answers",
        "password", "token", "access", "refresh", "secret", "webhook_secret", "body", "to",
        "recipient", "authorization",
    }
)
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE_PATTERN = re.compile(r"\+\d[\d ]{7,16}\d")
REDACTED = "[redacted]"
STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def redact_text(text: str) -> str:
    return PHONE_PATTERN.sub(REDACTED, EMAIL_PATTERN.sub(REDACTED, text))


def redact(value: object, key: str | None = None) -> object:
    if key is not None and key.lower() in PERSONAL_KEYS:
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = redact(value, key)
        if record.exc_info:
            entry["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)
