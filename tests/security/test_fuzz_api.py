"""Schemathesis fuzzes every operation of /api/v1/schema/: no 5xx, and every response as documented.

Bounded and deterministic: MAX_EXAMPLES random cases per operation and
generation mode (valid and invalid data), derandomized, plus the coverage
phase's fixed boundary cases, so a run is repeatable and takes under a minute.
Nothing is excluded.
"""

import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Role
from tests.factories import ClinicFactory, PatientFactory, UserFactory

MAX_EXAMPLES = 15
# Under pytest-xdist each worker fuzzes a share of the operations and writes its own file.
SUMMARY = (
    Path(__file__).resolve().parents[2]
    / "var"
    / "test-logs"
    / (
        f"fuzz-summary-{os.environ['PYTEST_XDIST_WORKER']}.json"
        if "PYTEST_XDIST_WORKER" in os.environ
        else "fuzz-summary.json"
    )
)
# No 5xx; status codes, content types and bodies as documented; and an operation that
# declares authentication refuses the same request without a token or with a forged one.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]


def load_schema(phases: list[str]):
    loaded = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
    loaded.config.generation.update(
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        with_security_parameters=False,
        database="none",
    )
    loaded.config.phases.update(phases=phases)
    return loaded


# The superuser reaches every operation's code: explicit examples, the coverage phase's
# boundary values and random fuzzing. The patient run, mostly refusals, skips coverage.
schema = load_schema(["examples", "coverage", "fuzzing"])
patient_schema = load_schema(["examples", "fuzzing"])

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# role -> operation -> status codes of the responses seen
SEEN: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))


@pytest.fixture(scope="module", autouse=True)
def fuzz_summary():
    """The figures of the run (docs/security.md quotes them), in var/test-logs/fuzz-summary.json."""
    yield
    summary = {
        role: {
            "operations": len(operations),
            "cases": sum(sum(codes.values()) for codes in operations.values()),
            "status_codes": dict(sorted(sum(operations.values(), Counter()).items())),
            "server_errors": sum(n for codes in operations.values() for code, n in codes.items() if code >= 500),
        }
        for role, operations in SEEN.items()
    }
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(summary, indent=2) + "\n")


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """As Django's test client does: the request cycle must not close the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


@pytest.fixture
def superuser_headers(db, clinic):
    PatientFactory(clinic=clinic)
    return bearer(UserFactory(role=Role.STAFF, clinic=clinic, is_superuser=True, is_staff=True))


@pytest.fixture
def patient_headers(db, clinic):
    user = UserFactory(role=Role.PATIENT, clinic=clinic)
    PatientFactory(clinic=clinic, user=user)
    PatientFactory(clinic=ClinicFactory())
    return bearer(user)


@schema.parametrize()
@FUZZ_SETTINGS
def test_the_api_as_a_superuser(case, superuser_headers):
    response = case.call_and_validate(headers=superuser_headers, checks=CHECKS)
    SEEN["superuser"][case.operation.label][response.status_code] += 1


@patient_schema.parametrize()
@FUZZ_SETTINGS
def test_the_api_as_a_patient(case, patient_headers):
    response = case.call_and_validate(headers=patient_headers, checks=CHECKS)
    SEEN["patient"][case.operation.label][response.status_code] += 1
