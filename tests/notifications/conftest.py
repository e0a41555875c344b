"""Fakes at the network edge only: Twilio's REST API over real HTTP, a real SMTP server.

Both run on loopback for the whole session; each test starts them clean. The
module-scoped Celery worker is configured (through `worker_env`) to talk to
them, and so is this process (through `delivery_settings`).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections import deque
from contextlib import contextmanager
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from twilio.request_validator import RequestValidator

from notifications.models import OnCallContact

ACCOUNT_SID = "ACtest"
AUTH_TOKEN = "secret"
FROM_NUMBER = "+15005550006"
PUBLIC_BASE_URL = "http://testserver"
ACK_TIMEOUT_SECONDS = 2


class FakeTwilio:
    """Twilio's Messages endpoint: records every request; answers 201 unless told otherwise."""

    ROUTE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.requests: list[dict] = []  # every POST that reached us, accepted or not
        self.plan: deque = deque()  # what to answer next: ("status", code) or ("hold", event)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # or a delayed ACK holds each reply's body ~40 ms
            def do_POST(self) -> None:
                fake.handle(self)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # -- what the tests tell it
    def reset(self) -> None:
        with self.cond:
            self.requests.clear()
            for kind, arg in self.plan:
                if kind == "hold":
                    arg.set()
            self.plan.clear()

    def fail(self, status: int, times: int = 1) -> None:
        with self.cond:
            self.plan.extend([("status", status)] * times)

    def hold(self) -> threading.Event:
        """The next request waits (the connection stays open) until the returned event is set."""
        release = threading.Event()
        with self.cond:
            self.plan.append(("hold", release))
        return release

    # -- what the tests read
    def sent_to(self, phone: str) -> list[dict]:
        with self.cond:
            return [r for r in self.requests if r["to"] == phone and r["answer"] == 201]

    def requests_to(self, phone: str) -> list[dict]:
        with self.cond:
            return [r for r in self.requests if r["to"] == phone]

    def wait(self, predicate, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not (found := [r for r in self.requests if predicate(r)]):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake Twilio: no matching request within {timeout} s: {self.requests}")
                self.cond.wait(min(left, 0.2))
        return found

    # -- the server side
    def handle(self, request: BaseHTTPRequestHandler) -> None:
        payload = request.rfile.read(int(request.headers.get("Content-Length") or 0)).decode()
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(payload, keep_blank_values=True).items()}
        expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        route = self.ROUTE.match(request.path)
        if not route or request.headers.get("Authorization") != expected_auth:
            return self.reply(request, 401, {"code": 20003, "message": "Authenticate", "status": 401})
        with self.cond:
            kind, arg = self.plan.popleft() if self.plan else ("status", 201)
            record = {"t": time.monotonic(), "to": form.get("To"), "from": form.get("From"), "body": form.get("Body"),
                      "callback": form.get("StatusCallback"), "answer": None, "sid": None}
            self.requests.append(record)
            self.cond.notify_all()
        if kind == "hold":
            arg.wait(30)
            kind, arg = "status", 201
        with self.cond:
            record["answer"] = arg
            if arg == 201:
                record["sid"] = "SM" + secrets.token_hex(16)
            self.cond.notify_all()
        if arg == 201:
            return self.reply(request, 201, {"sid": record["sid"], "status": "queued", "to": record["to"]})
        message = "The 'To' number is not a valid phone number." if arg == 400 else "Internal error"
        self.reply(request, arg, {"code": 21211 if arg == 400 else 20500, "message": message, "status": arg})

    @staticmethod
    def reply(request: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except OSError:  # the client went away (a killed worker)
            pass


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives; stop() and start() it at will."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.cond = threading.Condition()
        self.messages: list[dict] = []
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        parsed = message_from_bytes(envelope.content)
        with self.cond:
            self.messages.append({
                "t": time.monotonic(), "rcpt": [r.lower() for r in envelope.rcpt_tos], "subject": parsed["Subject"],
                "body": parsed.get_payload(decode=True).decode(), "headers": dict(parsed.items()),
            })
            self.cond.notify_all()
        return "250 OK"

    def start(self) -> None:
        if self.controller is None:
            self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
            self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def reset(self) -> None:
        with self.cond:
            self.messages.clear()

    def to(self, address: str) -> list[dict]:
        with self.cond:
            return [m for m in self.messages if address.lower() in m["rcpt"]]

    def wait(self, address: str, timeout: float = 15, count: int = 1) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(found := [m for m in self.messages if address.lower() in m["rcpt"]]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"SMTP sink: {len(found)} message(s) to {address} within {timeout} s")
                self.cond.wait(min(left, 0.2))
        return found


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


def delivery_environment(twilio: FakeTwilio, smtp: SmtpSink) -> dict[str, str]:
    return {
        "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": twilio.url, "TWILIO_READ_TIMEOUT_SECONDS": "5",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "EMAIL_TIMEOUT": "3", "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "ESCALATION_ACK_TIMEOUT_SECONDS": str(ACK_TIMEOUT_SECONDS), "NOTIFICATION_RETRY_BACKOFF_SECONDS": "1",
        "NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS": "2",
    }


@pytest.fixture(scope="module")
def worker_env(fake_twilio_server, smtp_server):
    """The module's Celery worker sends through the fakes."""
    return delivery_environment(fake_twilio_server, smtp_server)


@pytest.fixture(autouse=True)
def delivery_settings(settings, fake_twilio_server, smtp_server):
    """This process sends, signs and renders as the worker does."""
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_API_BASE_URL = fake_twilio_server.url
    settings.TWILIO_READ_TIMEOUT_SECONDS = 2
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


def twilio_signature(path: str, params: dict) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)


@contextmanager
def broker_down():
    """Point this process's Celery app at a port where no broker listens, then back."""
    from services.celery_app import app

    saved = app.conf.broker_url, app.conf.broker_write_url

    def repoint(url: str, write_url: str) -> None:
        # Publishing uses broker_write_url (derived from broker_url once read) and pooled connections.
        app.conf.broker_url, app.conf.broker_write_url = url, write_url
        app._pool = None
        app.amqp._producer_pool = None

    repoint("redis://127.0.0.1:1/0", "redis://127.0.0.1:1/0")
    try:
        yield
    finally:
        repoint(*saved)


_contacts = itertools.count(1)


def contact(tier: int = 1, *, active: bool = True, language: str = "en") -> OnCallContact:
    n = next(_contacts)
    return OnCallContact.objects.create(
        name=f"Dr Tier{tier} {n}", phone=f"+3466{secrets.randbelow(10**7):07d}",
        email=f"oncall{tier}-{n}-{secrets.token_hex(3)}@example.org", tier=tier, active=active, language=language,
    )


def emergency_assessment(patient, submitted_by):
    """An emergency assessment as the triage transaction leaves it, without the worker."""
    from django.utils import timezone

    from tests.factories import EMERGENCY
    from triage.models import Assessment

    return Assessment.objects.create(
        patient=patient, clinic=patient.clinic, submitted_by=submitted_by, submitted_at=timezone.now(),
        answers=EMERGENCY,
        status="triaged", urgency="emergency", triaged_at=timezone.now(),
    )
