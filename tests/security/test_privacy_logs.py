"""No name, phone, e-mail, date of birth or answer reaches a log line, whatever the log level."""

import json
import logging
import re

import pytest
from django.db import connection
from rest_framework.test import APIClient

from common.logging import JsonFormatter
from tests.factories import URGENT
from triage.models import Assessment
from triage.tasks import triage_assessment

pytestmark = pytest.mark.django_db

REGISTERING = {
    "username": "wzq1961",
    "password": "Lentil-Harbour-42",
    "first_name": "Wilhelmina",
    "last_name": "Zabrowski",
    "date_of_birth": "1961-07-23",
    "phone": "+34611223344",
    "email": "wilhelmina.zq@example.org",
    "language": "es",
}
CREATED = {
    "first_name": "Bartholomew",
    "last_name": "Okonkwo",
    "date_of_birth": "1949-11-02",
    "phone": "+34622334455",
    "email": "bart.okonkwo@example.net",
    "language": "en",
    "external_id": "MRN-77",
}
ANSWER = 29417  # days since onset: a value no timestamp or id contains as a whole number
PERSONAL_VALUES = [
    REGISTERING["first_name"],
    REGISTERING["last_name"],
    REGISTERING["email"],
    REGISTERING["phone"],
    REGISTERING["phone"].lstrip("+"),
    REGISTERING["date_of_birth"],
    REGISTERING["password"],
    CREATED["first_name"],
    CREATED["last_name"],
    CREATED["email"],
    CREATED["phone"],
    CREATED["phone"].lstrip("+"),
    CREATED["date_of_birth"],
]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines():
    """Every record of every logger at DEBUG, SQL included, formatted as in production."""
    handler = Lines()
    root = logging.getLogger()
    loud = [
        "django",
        "django.request",
        "django.db.backends",
        "django.security",
        "axes",
        "celery",
        "triage",
        "patients",
        "notifications",
        "referrals",
        "audit",
    ]
    levels = {name: logging.getLogger(name).level for name in loud}
    root_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in loud:
        logging.getLogger(name).setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        yield handler.lines
    finally:
        connection.force_debug_cursor = False
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        root.setLevel(root_level)
        root.removeHandler(handler)


def leaks(lines: list[str]) -> list[tuple[str, str]]:
    found = [(value, line) for line in lines for value in PERSONAL_VALUES if value in line]
    found += [(str(ANSWER), line) for line in lines if re.search(rf"\b{ANSWER}\b", line)]
    return found


def test_registration_patient_creation_and_assessments_log_no_personal_data(log_lines, api_as, staff):
    anonymous = APIClient()
    registered = anonymous.post("/api/v1/auth/register/", REGISTERING, format="json")
    refused_registration = anonymous.post(
        "/api/v1/auth/register/", {**REGISTERING, "phone": "611 22 33 44"}, format="json"
    )
    client = api_as(staff)
    created = client.post("/api/v1/patients/", CREATED, format="json")
    duplicate = client.post("/api/v1/patients/", {**CREATED, "phone": "+34622334466"}, format="json")
    answers = {**URGENT, "age": 90, "days_since_onset": ANSWER}
    submitted = client.post(
        "/api/v1/assessments/", {"patient": created.json()["id"], "answers": answers}, format="json"
    )
    refused_answers = client.post(
        "/api/v1/assessments/", {"patient": created.json()["id"], "answers": {**answers, "age": "90"}}, format="json"
    )
    triage_assessment.apply(args=[submitted.json()["id"]])

    assert [
        registered.status_code,
        refused_registration.status_code,
        created.status_code,
        duplicate.status_code,
        submitted.status_code,
        refused_answers.status_code,
    ] == [201, 400, 201, 400, 202, 400]
    assert Assessment.objects.get().status == "triaged"
    assert leaks(log_lines) == []
    entries = [json.loads(line) for line in log_lines]
    loggers = {entry["logger"] for entry in entries}
    assert {"django.db.backends", "django.request"} <= loggers, "the capture saw the SQL and the refused requests"
    assert sum(entry["message"] == "database query" for entry in entries) > 20
    assert any(entry.get("request") == "POST /api/v1/assessments/" for entry in entries)


def test_a_careless_log_call_is_redacted(log_lines):
    logging.getLogger("triage").warning(
        "could not reach %s at %s",
        CREATED["email"],
        CREATED["phone"],
        extra={
            "first_name": CREATED["first_name"],
            "patient": {"phone": CREATED["phone"], "date_of_birth": CREATED["date_of_birth"]},
            "answers": {"days_since_onset": ANSWER},
        },
    )

    [line] = log_lines
    assert leaks(log_lines) == []
    entry = json.loads(line)
    assert entry["message"] == "could not reach [redacted] at [redacted]"
    assert entry["first_name"] == entry["answers"] == "[redacted]"
    assert entry["patient"] == {"phone": "[redacted]", "date_of_birth": "[redacted]"}
    assert {"time", "level", "logger"} <= set(entry)


def test_an_exception_traceback_is_redacted(log_lines):
    try:
        raise ValueError(f"no route to {CREATED['email']} or {CREATED['phone']}")
    except ValueError:
        logging.getLogger("notifications").exception("delivery failed")

    assert leaks(log_lines) == []
    assert "ValueError: no route to [redacted] or [redacted]" in json.loads(log_lines[0])["exception"]


def test_structlog_loggers_share_the_format_and_the_redaction(log_lines):
    from common.logging import get_logger

    get_logger("triage").info("patient contacted", email=CREATED["email"], note=f"rang {CREATED['phone']}")

    [entry] = [json.loads(line) for line in log_lines]
    assert entry["message"] == "patient contacted" and entry["logger"] == "triage"
    assert entry["email"] == "[redacted]" and entry["note"] == "rang [redacted]"
