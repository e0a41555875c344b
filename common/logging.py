"""Structured JSON logs that never carry personal data.

Every record, from the standard library's `logging` (Django, Celery, our
`logging.getLogger(__name__)` calls) or from structlog, is rendered by one
structlog `ProcessorFormatter` into one JSON line: time, level, logger,
message and the record's `extra` fields. On the way:

* values under personal keys are replaced, however deeply nested;
* phone numbers and e-mail addresses are masked wherever they appear in text
  (messages, extra values, tracebacks);
* `django.db.backends` records lose their SQL, which carries the query's
  values inlined (names, dates of birth, answers): only the timing is kept;
* a request attached by Django (`django.request`, `django.server`) becomes its
  method and path, without the query string.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import structlog

PERSONAL_KEYS = frozenset(
    {
        "first_name",
        "last_name",
        "full_name",
        "patient_name",
        "phone",
        "email",
        "date_of_birth",
        "answers",
        "password",
        "token",
        "access",
        "refresh",
        "secret",
        "webhook_secret",
        "body",
        "to",
        "recipient",
        "authorization",
    }
)
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE_PATTERN = re.compile(r"\+\d[\d ]{7,16}\d")
REDACTED = "[redacted]"
QUERY_LOGGER = "django.db.backends"
QUERY_FIELDS = ("sql", "params", "args")


def redact_text(text: str) -> str:
    return PHONE_PATTERN.sub(REDACTED, EMAIL_PATTERN.sub(REDACTED, text))


def redact(value: object, key: str | None = None) -> object:
    if key is not None and key.lower() in PERSONAL_KEYS:
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


def drop_query_text(logger, method_name: str, event_dict: dict) -> dict:
    record = event_dict.get("_record")
    if record is not None and record.name.startswith(QUERY_LOGGER):
        for field in QUERY_FIELDS:
            event_dict.pop(field, None)
        event_dict["event"] = "database query"
    return event_dict


def describe_request(logger, method_name: str, event_dict: dict) -> dict:
    request = event_dict.get("request")
    if request is not None and hasattr(request, "method") and hasattr(request, "path"):
        event_dict["request"] = f"{request.method} {request.path}"
    return event_dict


def add_time(logger, method_name: str, event_dict: dict) -> dict:
    """When the record was made (not when it was formatted)."""
    record = event_dict.get("_record")
    created = datetime.fromtimestamp(record.created, UTC) if record is not None else datetime.now(UTC)
    event_dict["time"] = created.isoformat()
    return event_dict


def redact_event(logger, method_name: str, event_dict: dict) -> dict:
    return {key: value if key.startswith("_") else redact(value, key) for key, value in event_dict.items()}


# Run on records from the standard library before the shared chain: their `extra`.
FOREIGN_PRE_CHAIN = [structlog.stdlib.ExtraAdder()]


def configure_structlog() -> None:
    """structlog's own loggers (`get_logger`) hand their event dicts to the same formatter."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """The `logging` formatter of every handler (settings LOGGING["formatters"]["json"])."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(
            *args,
            foreign_pre_chain=FOREIGN_PRE_CHAIN,
            processors=[
                drop_query_text,
                describe_request,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                add_time,
                structlog.processors.format_exc_info,
                redact_event,
                structlog.processors.EventRenamer("message"),
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(default=str),
            ],
            **kwargs,
        )


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger: `get_logger(__name__).info("sent", notification_id=...)`."""
    return structlog.stdlib.get_logger(name)
