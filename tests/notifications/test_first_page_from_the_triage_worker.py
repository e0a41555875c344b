"""The first SMS of an emergency leaves from the worker that triaged it, as soon as its escalation commits.

No broker hop between the emergency and its page: the triage worker commits
the escalation and its pages (with the assessment's urgency), hands the result
(evaluation, referrals) and the emails to other workers, and then sends the
tier-1 SMS itself. Whatever it cannot send at once is a task's or the outbox
sweep's, as for any notification. Until the result commits, the assessment is
pending: a result lost on the way is the pending sweep's.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError

import notifications.actions
from notifications.actions import notification_deliver, notification_deliver_written
from notifications.models import Escalation, Notification, NotificationKind
from notifications.tasks import send_notification
from referrals.models import Referral
from tests.factories import EMERGENCY, URGENT
from triage.actions import (
    assessment_submit,
    assessment_triage,
    assessment_triage_paging_first,
    assessments_requeue_pending,
    evaluation_override,
)
from triage.models import Assessment
from triage.rules import CURRENT_RULESET
from triage.tasks import triage_assessment, write_triage_result

from .conftest import contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    """What would have been published to the broker: (notification id, countdown)."""
    published = []
    monkeypatch.setattr(
        send_notification, "apply_async",
        lambda args, countdown=None, **options: published.append((args[0], countdown)),
    )
    return published


@pytest.fixture
def results_enqueued(monkeypatch):
    """The results handed to another worker (published to the broker): (assessment id, ruleset version)."""
    published = []
    monkeypatch.setattr(write_triage_result, "apply_async", lambda args, **options: published.append(tuple(args)))
    return published


@pytest.fixture
def pending_emergency(patient, staff):
    return Assessment.objects.create(
        patient=patient, clinic=patient.clinic, submitted_by=staff, submitted_at=timezone.now(), answers=EMERGENCY,
        last_enqueued_at=timezone.now(), enqueue_attempts=1,
    )


def pages(channel):
    return Notification.objects.filter(kind=NotificationKind.PAGE, tier=1, channel=channel)


def test_the_triage_worker_sends_the_tier_1_sms_itself_once_the_escalation_commits(
    pending_emergency, fake_twilio, enqueued, results_enqueued, django_capture_on_commit_callbacks
):
    first, second = contact(1), contact(1)
    contact(2)

    with django_capture_on_commit_callbacks(execute=False) as on_commit:
        assessment_triage_paging_first(assessment_id=pending_emergency.pk)
    assert not fake_twilio.requests, "nothing leaves before the escalation is committed"

    for callback in on_commit:
        callback()

    assert {request["to"] for request in fake_twilio.requests} == {first.phone.as_e164, second.phone.as_e164}
    assert set(pages("sms").values_list("status", "attempts")) == {("sent", 1)}
    assert sorted(notification_id for notification_id, _ in enqueued) == sorted(
        str(pk) for pk in pages("email").values_list("pk", flat=True)
    ), "only the emails go to other workers"
    assert set(pages("email").values_list("status", flat=True)) == {"queued"}
    assert results_enqueued == [(str(pending_emergency.pk), CURRENT_RULESET.version)], "another worker's"


def test_an_escalation_opened_by_a_clinician_s_override_sends_every_page_through_the_broker(
    patient, staff, fake_twilio, enqueued, django_capture_on_commit_callbacks
):
    contact(1)
    urgent = assessment_submit(submitted_by=staff, patient=patient, answers=URGENT)
    evaluation = assessment_triage(assessment_id=urgent.pk)

    with django_capture_on_commit_callbacks(execute=True):
        evaluation_override(evaluation=evaluation, urgency="emergency", reason="Cannot walk on heels now.", by=staff)

    assert not fake_twilio.requests, "a web request never waits on Twilio"
    assert len(enqueued) == 2
    assert set(Notification.objects.values_list("status", flat=True)) == {"queued"}


def test_an_sms_the_worker_could_not_send_goes_to_a_task_after_its_backoff(
    pending_emergency, fake_twilio, enqueued, results_enqueued, django_capture_on_commit_callbacks
):
    paged = contact(1)
    fake_twilio.fail(503)

    with django_capture_on_commit_callbacks(execute=True):
        assessment_triage_paging_first(assessment_id=pending_emergency.pk)

    sms = pages("sms").get()
    assert len(fake_twilio.requests_to(paged.phone.as_e164)) == 1
    assert (sms.status, sms.attempts) == ("queued", 1)
    assert "503" in sms.last_error
    retry = [countdown for notification_id, countdown in enqueued if notification_id == str(sms.pk)]
    assert len(retry) == 1 and retry[0] is not None
    assert sms.next_attempt_at == pytest.approx(sms.updated_at + timezone.timedelta(seconds=retry[0]),
                                                abs=timezone.timedelta(seconds=1))


def test_a_page_someone_else_claimed_first_is_not_sent_again_from_the_worker(
    pending_emergency, fake_twilio, enqueued, django_capture_on_commit_callbacks
):
    paged = contact(1)
    with django_capture_on_commit_callbacks(execute=False):
        assessment_triage_paging_first(assessment_id=pending_emergency.pk)
    written = pages("sms").get()  # as the triage worker holds it: queued, no attempt yet

    assert notification_deliver(notification_id=written.pk).status == "sent"  # a task got there first
    assert notification_deliver_written(notification=written).status == "skipped"

    assert len(fake_twilio.requests_to(paged.phone.as_e164)) == 1
    assert pages("sms").get().attempts == 1


def the_triage_as_it_stands(assessment_id) -> tuple[str, str, bool, bool, bool]:
    """(status, urgency, has a result, has referrals, has an escalation), as committed."""
    assessment = Assessment.objects.get(pk=assessment_id)
    return (assessment.status, assessment.urgency, assessment.evaluations.exists(),
            Referral.objects.filter(assessment=assessment).exists(),
            Escalation.objects.filter(assessment=assessment).exists())


@pytest.mark.django_db(transaction=True)
def test_the_sms_leaves_once_the_escalation_commits_and_the_result_goes_to_another_worker_first(
    pending_emergency, fake_twilio, enqueued, results_enqueued, monkeypatch
):
    paged = contact(1)
    seen_while_sending = []
    send = notifications.actions._transport_send

    def send_and_look(notification):
        seen_while_sending.append((*the_triage_as_it_stands(pending_emergency.pk), list(results_enqueued)))
        return send(notification)

    monkeypatch.setattr(notifications.actions, "_transport_send", send_and_look)

    assert assessment_triage_paging_first(assessment_id=pending_emergency.pk) is None

    assert seen_while_sending == [
        ("pending", "emergency", False, False, True, [(str(pending_emergency.pk), CURRENT_RULESET.version)])
    ]
    assert len(fake_twilio.sent_to(paged.phone.as_e164)) == 1

    with CaptureQueriesContext(connection) as result_queries:
        write_triage_result(*results_enqueued[0])  # the other worker's task, run here

    assert the_triage_as_it_stands(pending_emergency.pk) == ("triaged", "emergency", True, True, True)
    assert not [q for q in result_queries if "notifications_escalation" in q["sql"]], "open already: not looked up"
    assert Notification.objects.count() == 2 and len(fake_twilio.requests) == 1, "nobody paged again"


@pytest.mark.django_db(transaction=True)
def test_a_result_the_broker_would_not_take_is_written_by_the_pending_sweep_s_run_without_paging_again(
    pending_emergency, fake_twilio, enqueued, monkeypatch
):
    paged = contact(1)

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as down:
        down.setattr(write_triage_result, "apply_async", broker_down)
        triage_assessment(str(pending_emergency.pk))  # the task, run here
    assert len(fake_twilio.sent_to(paged.phone.as_e164)) == 1, "the SMS went all the same"
    assert the_triage_as_it_stands(pending_emergency.pk) == ("pending", "emergency", False, False, True)

    swept, handed_over = [], []
    monkeypatch.setattr(triage_assessment, "apply_async", lambda args, **options: swept.append((args, options)))
    monkeypatch.setattr(write_triage_result, "apply_async", lambda args, **options: handed_over.append(tuple(args)))
    assert assessments_requeue_pending(older_than_seconds=0) == 1
    [(args, options)] = swept
    assert options["queue"] == "red_flags", "still an emergency: back in the red flags' queue"
    triage_assessment(*args)
    assert handed_over == [(str(pending_emergency.pk), CURRENT_RULESET.version)]
    write_triage_result(*handed_over[0])

    assert the_triage_as_it_stands(pending_emergency.pk) == ("triaged", "emergency", True, True, True)
    assert len(fake_twilio.requests_to(paged.phone.as_e164)) == 1, "paged once"
    assert Notification.objects.count() == 2 and Escalation.objects.count() == 1
    assert list(Assessment.history.filter(id=pending_emergency.pk).values_list("status", "urgency")) == [
        ("triaged", "emergency"), ("pending", "emergency"), ("pending", "emergency"), ("pending", ""),
    ], "the urgency recorded when it was set, and at each hand-over of the result"


def test_an_urgent_case_triaged_by_the_worker_is_written_at_once_and_pages_nobody(
    patient, staff, fake_twilio, enqueued, results_enqueued, django_capture_on_commit_callbacks
):
    urgent = Assessment.objects.create(
        patient=patient, clinic=patient.clinic, submitted_by=staff, submitted_at=timezone.now(), answers=URGENT,
        last_enqueued_at=timezone.now(), enqueue_attempts=1,
    )
    contact(1)

    with django_capture_on_commit_callbacks(execute=True):
        evaluation = assessment_triage_paging_first(assessment_id=urgent.pk)

    assert evaluation.urgency == "urgent"
    assert the_triage_as_it_stands(urgent.pk) == ("triaged", "urgent", True, True, False)
    assert not fake_twilio.requests and not enqueued and not results_enqueued
