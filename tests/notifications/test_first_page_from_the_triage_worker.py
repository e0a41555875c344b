"""The first SMS of an emergency leaves from the worker that triaged it, as soon as its escalation commits.

No broker hop between the emergency and its page: the triage worker sends
the tier-1 SMS itself and hands only the emails to other workers, first.
Whatever it cannot send at once is a task's or the outbox sweep's, as for any
notification. The escalation and its pages commit before the result and the
referrals, which follow the SMS; until they do, the assessment is pending.
"""

import pytest
from django.db import OperationalError
from django.utils import timezone

import notifications.actions
import triage.actions
from notifications.actions import notification_deliver, notification_deliver_written
from notifications.models import Escalation, Notification, NotificationKind
from notifications.tasks import send_notification
from referrals.models import Referral
from tests.factories import EMERGENCY, URGENT
from triage.actions import assessment_triage
from triage.models import Assessment

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
def pending_emergency(patient, staff):
    return Assessment.objects.create(
        patient=patient, clinic=patient.clinic, submitted_by=staff, submitted_at=timezone.now(), answers=EMERGENCY,
        last_enqueued_at=timezone.now(), enqueue_attempts=1,
    )


def pages(channel):
    return Notification.objects.filter(kind=NotificationKind.PAGE, tier=1, channel=channel)


def test_the_triage_worker_sends_the_tier_1_sms_itself_once_the_escalation_commits(
    pending_emergency, fake_twilio, enqueued, django_capture_on_commit_callbacks
):
    first, second = contact(1), contact(1)
    contact(2)

    with django_capture_on_commit_callbacks(execute=False) as on_commit:
        assessment_triage(assessment_id=pending_emergency.pk, send_sms_here=True)
    assert not fake_twilio.requests, "nothing leaves before the escalation is committed"

    for callback in on_commit:
        callback()

    assert {request["to"] for request in fake_twilio.requests} == {first.phone.as_e164, second.phone.as_e164}
    assert set(pages("sms").values_list("status", "attempts")) == {("sent", 1)}
    assert sorted(notification_id for notification_id, _ in enqueued) == sorted(
        str(pk) for pk in pages("email").values_list("pk", flat=True)
    ), "only the emails go to other workers"
    assert set(pages("email").values_list("status", flat=True)) == {"queued"}


def test_without_the_worker_s_say_so_every_page_goes_to_the_broker(
    pending_emergency, fake_twilio, enqueued, django_capture_on_commit_callbacks
):
    contact(1)

    with django_capture_on_commit_callbacks(execute=True):
        assessment_triage(assessment_id=pending_emergency.pk)

    assert not fake_twilio.requests
    assert len(enqueued) == 2
    assert set(Notification.objects.values_list("status", flat=True)) == {"queued"}


def test_an_sms_the_worker_could_not_send_goes_to_a_task_after_its_backoff(
    pending_emergency, fake_twilio, enqueued, django_capture_on_commit_callbacks
):
    paged = contact(1)
    fake_twilio.fail(503)

    with django_capture_on_commit_callbacks(execute=True):
        assessment_triage(assessment_id=pending_emergency.pk, send_sms_here=True)

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
        assessment_triage(assessment_id=pending_emergency.pk)
    written = pages("sms").get()  # as the triage worker holds it: queued, no attempt yet

    assert notification_deliver(notification_id=written.pk).status == "sent"  # a task got there first
    assert notification_deliver_written(notification=written).status == "skipped"

    assert len(fake_twilio.requests_to(paged.phone.as_e164)) == 1
    assert pages("sms").get().attempts == 1


def the_triage_as_it_stands(assessment_id) -> tuple[str, str | None, bool, bool, bool]:
    """(status, urgency, has a result, has referrals, has an escalation), as committed."""
    assessment = Assessment.objects.get(pk=assessment_id)
    return (assessment.status, assessment.urgency, assessment.evaluations.exists(),
            Referral.objects.filter(assessment=assessment).exists(),
            Escalation.objects.filter(assessment=assessment).exists())


@pytest.mark.django_db(transaction=True)
def test_the_sms_leaves_before_the_result_and_the_referrals_are_written(
    pending_emergency, fake_twilio, enqueued, monkeypatch
):
    paged = contact(1)
    seen_while_sending = []
    send = notifications.actions._transport_send

    def send_and_look(notification):
        seen_while_sending.append(the_triage_as_it_stands(pending_emergency.pk))
        return send(notification)

    monkeypatch.setattr(notifications.actions, "_transport_send", send_and_look)

    assessment_triage(assessment_id=pending_emergency.pk, send_sms_here=True)

    assert seen_while_sending == [("pending", "emergency", False, False, True)], "paged first, the result after"
    assert the_triage_as_it_stands(pending_emergency.pk) == ("triaged", "emergency", True, True, True)
    assert len(fake_twilio.sent_to(paged.phone.as_e164)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_triage_stopped_after_its_page_is_finished_by_the_next_run_without_paging_again(
    pending_emergency, fake_twilio, enqueued, monkeypatch
):
    paged = contact(1)

    def database_gone(**kwargs):
        raise OperationalError("the connection to the server was lost")

    with monkeypatch.context() as failing:
        failing.setattr(triage.actions, "referrals_propose", database_gone)
        with pytest.raises(OperationalError):
            assessment_triage(assessment_id=pending_emergency.pk, send_sms_here=True)
    assert the_triage_as_it_stands(pending_emergency.pk) == ("pending", "emergency", False, False, True), "the sweep's"

    evaluation = assessment_triage(assessment_id=pending_emergency.pk, send_sms_here=True)

    assert the_triage_as_it_stands(pending_emergency.pk) == ("triaged", "emergency", True, True, True)
    assert Assessment.objects.get(pk=pending_emergency.pk).current_evaluation == evaluation
    assert len(fake_twilio.requests_to(paged.phone.as_e164)) == 1, "paged once"
    assert Notification.objects.count() == 2 and Escalation.objects.count() == 1


def test_an_urgent_case_triaged_by_the_worker_pages_nobody(
    patient, staff, fake_twilio, enqueued
):
    urgent = Assessment.objects.create(
        patient=patient, clinic=patient.clinic, submitted_by=staff, submitted_at=timezone.now(), answers=URGENT,
        last_enqueued_at=timezone.now(), enqueue_attempts=1,
    )
    contact(1)

    assessment_triage(assessment_id=urgent.pk, send_sms_here=True)

    assert the_triage_as_it_stands(urgent.pk) == ("triaged", "urgent", True, True, False)
    assert not fake_twilio.requests and not enqueued
