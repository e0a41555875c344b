"""Faults injected into real parts: a private Redis, a private PostgreSQL cluster, a worker killed with SIGKILL,
and the network-edge fakes of tests/notifications (Twilio over HTTP, an aiosmtpd SMTP server) misbehaving.

Each test writes the figures docs/reliability.md quotes to var/test-logs/faults-<name>.json.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.notifications.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    FakeTwilio,
    SmtpSink,
)
from tests.worker import WorkerProcess, purge_broker

FIGURES_DIR = Path(__file__).resolve().parents[2] / "var" / "test-logs"
# Long enough that the escalation clock never moves on its own during a test; the tests that
# need the next tier drive it by calling the sweep with a moved `now`.
ACK_TIMEOUT_SECONDS = 3600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def record_figures(name: str, figures: dict) -> None:
    """Keep what a fault test measured, for docs/reliability.md (one file per test, rewritten each run)."""
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    suffix = f"-{os.environ['PYTEST_XDIST_WORKER']}" if "PYTEST_XDIST_WORKER" in os.environ else ""
    (FIGURES_DIR / f"faults-{name}{suffix}.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(f"\n{name}: {json.dumps(figures, default=str)}")


CASE_CODE = re.compile(r"\b(?:Case|[Cc]aso) (\d+)\b")


def case_code_in(text: str) -> str | None:
    """The case a page or alert names ("Case 4821", "Caso 4821"), read where the message says it.

    Not `code in text`: the acknowledge link's token (a notification id in hex) holds digits too, and
    now and then another case's four of them.
    """
    found = CASE_CODE.search(text)
    return found.group(1) if found else None


def duplicates(keys) -> int:
    """How many messages beyond the first went out for the same (recipient, case)."""
    return sum(count - 1 for count in Counter(keys).values())


@contextmanager
def celery_broker(url: str):
    """Point this process's Celery app (publishing, control) at another broker, then back."""
    from services.celery_app import app

    saved = app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_read_url

    def repoint(broker_url: str, write_url: str, read_url: str) -> None:
        app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_read_url = broker_url, write_url, read_url
        app._pool = None
        app.amqp._producer_pool = None

    repoint(url, url, url)
    try:
        yield
    finally:
        repoint(*saved)


# --------------------------------------------------------------------------- the network edge


@pytest.fixture(scope="session")
def fake_twilio_server():
    server = FakeTwilio()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="session")
def smtp_server():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def fake_twilio(fake_twilio_server):
    fake_twilio_server.reset()
    yield fake_twilio_server
    fake_twilio_server.reset()


@pytest.fixture
def smtp_sink(smtp_server):
    smtp_server.start()
    smtp_server.reset()
    yield smtp_server
    smtp_server.start()


def delivery_environment(twilio: FakeTwilio, smtp: SmtpSink, **overrides: str) -> dict[str, str]:
    """What a worker subprocess needs to send through the fakes."""
    return {
        "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": twilio.url, "TWILIO_READ_TIMEOUT_SECONDS": "5",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "EMAIL_TIMEOUT": "3", "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "ESCALATION_ACK_TIMEOUT_SECONDS": str(ACK_TIMEOUT_SECONDS), "NOTIFICATION_RETRY_BACKOFF_SECONDS": "1",
        "NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS": "2",
        **overrides,
    }


@pytest.fixture
def delivery_settings(settings, fake_twilio_server, smtp_server):
    """This process (the sweeps it runs) renders and sends as the worker does."""
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_API_BASE_URL = fake_twilio_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_TIMEOUT = 3
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.ESCALATION_ACK_TIMEOUT_SECONDS = ACK_TIMEOUT_SECONDS
    settings.NOTIFICATION_RETRY_BACKOFF_SECONDS = 1
    settings.NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS = 2
    settings.ESCALATION_ALERT_EMAILS = []
    return settings


# --------------------------------------------------------------------------- the worker


@pytest.fixture(scope="module")
def celery_worker(request, django_db_setup, django_db_blocker, worker_env):
    """tests/conftest.py's module worker, logging to a file of its own (var/test-logs/faults-<module>.log)."""
    with django_db_blocker.unblock():
        purge_broker()
        worker = WorkerProcess(env=worker_env, log_name=f"faults-{request.module.__name__.rpartition('.')[2]}")
    try:
        with django_db_blocker.unblock():
            worker.start()
        yield worker
    finally:
        worker.stop()
