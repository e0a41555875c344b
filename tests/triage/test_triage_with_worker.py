"""The triage path end to end: API, on-commit enqueue, Redis, a real worker, PostgreSQL."""

import pytest

from tests.factories import EMERGENCY, ROUTINE, URGENT
from tests.worker import wait_until
from triage.models import Assessment

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def triaged(client, assessment_id):
    def check():
        body = client.get(f"/api/v1/assessments/{assessment_id}/").json()
        return body if body["status"] == "triaged" else None

    return wait_until(check, message=f"assessment {assessment_id} to be triaged")


@pytest.mark.parametrize(
    ("answers", "urgency"), [(ROUTINE, "routine"), (URGENT, "urgent"), (EMERGENCY, "emergency")]
)
def test_a_worker_triages_a_submitted_assessment(celery_worker, api_as, staff, patient, answers, urgency):
    client = api_as(staff)
    response = client.post("/api/v1/assessments/", {"patient": str(patient.id), "answers": answers}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"

    body = triaged(client, response.json()["id"])

    assert body["triage"]["urgency"] == urgency
    assert body["triage"]["ruleset_version"] == "1"
    assert (body["escalation"] is not None) == (urgency == "emergency")
    assert {referral["priority"] for referral in body["referrals"]} == {urgency}


def test_a_pending_assessment_whose_task_was_lost_is_triaged_by_the_sweep(celery_worker, staff, patient):
    from django.utils import timezone

    from triage.actions import assessments_requeue_pending

    long_ago = timezone.now() - timezone.timedelta(minutes=5)
    lost = Assessment.objects.create(
        patient=patient, submitted_by=staff, submitted_at=long_ago, last_enqueued_at=long_ago, answers=URGENT
    )

    assert assessments_requeue_pending(older_than_seconds=30) == 1

    wait_until(lambda: Assessment.objects.get(pk=lost.pk).status == "triaged", message="the sweep's triage")
