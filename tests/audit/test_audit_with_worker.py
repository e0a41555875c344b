"""A real worker's writes are recorded as the worker's, on a database that truncates between tests."""

import pytest

from audit.models import AuditEvent
from tests.factories import ROUTINE
from tests.worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_worker_triage_is_recorded_with_the_worker_as_source(celery_worker, api_as, staff, patient):
    response = api_as(staff).post(
        "/api/v1/assessments/", {"patient": str(patient.id), "answers": ROUTINE}, format="json"
    )
    assert response.status_code == 202

    evaluation_created = wait_until(
        lambda: AuditEvent.objects.filter(object_type="triage.evaluation", action="create").first(),
        message="the worker's evaluation to be recorded",
    )

    assert (evaluation_created.source, evaluation_created.actor, evaluation_created.patient_id) == (
        "worker",
        None,
        patient.id,
    )
    submission = AuditEvent.objects.get(object_type="triage.assessment", action="create")
    assert (submission.source, submission.actor) == ("api", staff)
