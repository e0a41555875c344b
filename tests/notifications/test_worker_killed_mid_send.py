"""A worker killed while Twilio holds its request: the outbox sweep delivers, at most one duplicate."""

import pytest
from django.utils import timezone

from notifications.actions import notifications_redispatch_stuck
from notifications.models import Escalation, Notification
from tests.factories import EMERGENCY
from tests.worker import WorkerProcess, wait_until

from .conftest import contact

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# docs/escalation.md: a worker lost after the provider accepted a message but
# before we recorded it sends that message once more. Never more than once per crash.
SENDS_AFTER_ONE_CRASH_AT_MOST = 2


def test_a_send_interrupted_by_a_killed_worker_is_taken_over_by_the_sweep(
    celery_worker, worker_env, api_as, staff, patient, fake_twilio, smtp_sink
):
    paged = contact(1)
    release = fake_twilio.hold()
    response = api_as(staff).post("/api/v1/assessments/", {"patient": str(patient.id), "answers": EMERGENCY},
                                  format="json")
    fake_twilio.wait(lambda r: r["to"] == paged.phone.as_e164)
    escalation = Escalation.objects.get(assessment_id=response.json()["id"])
    wait_until(lambda: Notification.objects.filter(escalation=escalation, channel="email", status="sent").exists(),
               message="the email, sent by the other pool process")
    sms = Notification.objects.get(escalation=escalation, channel="sms")
    assert (sms.status, sms.attempts) == ("sending", 1)

    celery_worker.kill()  # SIGKILL while Twilio holds the request: did it go out? We cannot know.
    release.set()
    replacement = WorkerProcess(env=worker_env, log_name="worker-replacement").start()
    try:
        assert notifications_redispatch_stuck(queued_grace_seconds=3600, sending_lease_seconds=0,
                                              now=timezone.now()) == 1
        sms = wait_until(lambda: Notification.objects.filter(pk=sms.pk, status="sent").first(),
                         message="the replacement worker to send the SMS")
    finally:
        replacement.stop()

    accepted = fake_twilio.sent_to(paged.phone.as_e164)
    assert 1 <= len(accepted) <= SENDS_AFTER_ONE_CRASH_AT_MOST
    assert sms.attempts == 2
    assert list(sms.delivery_attempts.order_by("number").values_list("outcome", flat=True)) == [
        "interrupted", "sent"
    ]
    assert sms.provider_id == accepted[-1]["sid"]
