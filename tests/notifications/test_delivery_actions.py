"""Delivery of one notification: claim, send, record; retries, failures, the outbox sweep, callbacks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.actions import (
    escalation_open,
    notification_deliver,
    notification_provider_status,
    notification_resend,
    notifications_redispatch_stuck,
)
from notifications.models import Escalation, Notification, NotificationKind

from .conftest import contact, emergency_assessment

pytestmark = pytest.mark.django_db


@pytest.fixture
def escalation(patient, staff):
    """Tier 1 paged: one contact, one SMS and one email queued. Tier 2 waits."""
    contact(1)
    contact(2)
    return escalation_open(assessment=emergency_assessment(patient, staff))


def page(escalation, channel):
    return Notification.objects.get(escalation=escalation, kind=NotificationKind.PAGE, tier=1, channel=channel)


def test_a_queued_sms_is_sent_once_and_the_attempt_recorded(escalation, fake_twilio):
    sms = page(escalation, "sms")

    assert notification_deliver(notification_id=sms.pk).status == "sent"
    assert notification_deliver(notification_id=sms.pk).status == "skipped"

    sms.refresh_from_db()
    [request] = fake_twilio.requests
    assert (sms.status, sms.attempts, sms.provider_id, sms.last_error) == ("sent", 1, request["sid"], "")
    assert sms.sent_at is not None
    [attempt] = sms.delivery_attempts.all()
    assert (attempt.number, attempt.outcome, attempt.status_code) == (1, "sent", 201)
    assert attempt.provider_id == sms.provider_id
    assert attempt.duration_ms is not None


def test_an_email_is_sent_through_smtp(escalation, smtp_sink):
    email = page(escalation, "email")

    notification_deliver(notification_id=email.pk)

    email.refresh_from_db()
    assert email.status == "sent"
    [message] = smtp_sink.to(email.recipient)
    assert message["subject"] == email.subject


def test_a_temporary_failure_requeues_with_a_capped_jittered_backoff(escalation, fake_twilio, settings):
    fake_twilio.fail(500)
    sms = page(escalation, "sms")
    before = timezone.now()

    outcome = notification_deliver(notification_id=sms.pk)

    sms.refresh_from_db()
    assert outcome.status == "retry"
    assert 0 <= outcome.retry_in <= settings.NOTIFICATION_RETRY_BACKOFF_SECONDS
    assert (sms.status, sms.attempts) == ("queued", 1)
    assert "HTTP 500" in sms.last_error
    assert before <= sms.next_attempt_at <= timezone.now() + timedelta(seconds=outcome.retry_in)
    assert sms.delivery_attempts.get().outcome == "temporary"


def test_attempts_are_capped_then_the_page_fails_and_staff_are_alerted(escalation, fake_twilio, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    fake_twilio.fail(503, times=3)
    sms = page(escalation, "sms")

    outcomes = [notification_deliver(notification_id=sms.pk).status for _ in range(4)]

    assert outcomes == ["retry", "retry", "failed", "skipped"]
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("failed", 3)
    assert len(fake_twilio.requests) == 3
    assert Notification.objects.filter(escalation=escalation, kind=NotificationKind.FAILURE_ALERT).exists()


def test_a_permanent_failure_is_not_retried_and_the_email_is_untouched(escalation, fake_twilio, staff):
    fake_twilio.fail(400)
    sms, email = page(escalation, "sms"), page(escalation, "email")

    assert notification_deliver(notification_id=sms.pk).status == "failed"

    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("failed", 1)
    assert "HTTP 400" in sms.last_error and "21211" in sms.last_error
    assert Notification.objects.get(pk=email.pk).status == "queued"
    alert = Notification.objects.get(escalation=escalation, kind=NotificationKind.FAILURE_ALERT)
    assert (alert.channel, alert.recipient, alert.tier) == ("email", staff.email, 1)
    assert escalation.events.filter(kind="delivery_failed", tier=1).exists()
    assert Escalation.objects.get(pk=escalation.pk).next_tier_due_at > timezone.now(), "the email may still reach"


def test_when_every_page_of_a_tier_has_failed_the_next_tier_is_due_at_once(escalation, fake_twilio, smtp_sink):
    fake_twilio.fail(400)
    smtp_sink.stop()
    sms, email = page(escalation, "sms"), page(escalation, "email")
    Notification.objects.filter(pk=email.pk).update(attempts=5)  # its last attempt

    notification_deliver(notification_id=sms.pk)
    notification_deliver(notification_id=email.pk)

    assert Notification.objects.get(pk=email.pk).status == "failed"
    assert Escalation.objects.get(pk=escalation.pk).next_tier_due_at <= timezone.now()


def test_a_failure_alert_is_written_once_per_tier_and_recipient(escalation, fake_twilio, smtp_sink):
    fake_twilio.fail(400)
    smtp_sink.stop()
    Notification.objects.filter(pk=page(escalation, "email").pk).update(attempts=5)

    notification_deliver(notification_id=page(escalation, "sms").pk)
    notification_deliver(notification_id=page(escalation, "email").pk)

    assert Notification.objects.filter(escalation=escalation, kind=NotificationKind.FAILURE_ALERT).count() == 1


def test_the_sweep_redispatches_a_queued_notification_whose_task_was_lost(escalation):
    sms = page(escalation, "sms")
    later = timezone.now() + timedelta(seconds=11)

    assert notifications_redispatch_stuck(queued_grace_seconds=30, sending_lease_seconds=45, now=later) == 0
    assert notifications_redispatch_stuck(queued_grace_seconds=10, sending_lease_seconds=45, now=later) == 2
    assert Notification.objects.get(pk=sms.pk).next_attempt_at == later
    assert notifications_redispatch_stuck(queued_grace_seconds=10, sending_lease_seconds=45, now=later) == 0


def test_the_sweep_takes_back_a_claim_whose_worker_died_and_says_it_may_have_been_sent(escalation):
    sms = page(escalation, "sms")
    claimed = timezone.now() - timedelta(seconds=60)
    Notification.objects.filter(pk=sms.pk).update(status="sending", attempts=1, claimed_at=claimed)

    assert notifications_redispatch_stuck(queued_grace_seconds=3600, sending_lease_seconds=45) == 1

    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("queued", 1)
    assert "may or may not" in sms.last_error
    assert sms.delivery_attempts.get().outcome == "interrupted"


def test_a_claim_within_its_lease_is_left_alone(escalation):
    sms = page(escalation, "sms")
    Notification.objects.filter(pk=sms.pk).update(status="sending", attempts=1, claimed_at=timezone.now())

    assert notifications_redispatch_stuck(queued_grace_seconds=3600, sending_lease_seconds=45) == 0
    assert Notification.objects.get(pk=sms.pk).status == "sending"


def test_a_late_success_of_a_taken_back_claim_is_recorded_so_it_is_not_sent_again(escalation, fake_twilio):
    sms = page(escalation, "sms")
    # A worker claims and sends; meanwhile the sweep decided it was dead and queued it again.
    Notification.objects.filter(pk=sms.pk).update(status="sending", attempts=1, claimed_at=timezone.now())
    from notifications.actions import _delivery_succeeded
    from notifications.transports import Sent

    Notification.objects.filter(pk=sms.pk).update(status="queued")
    _delivery_succeeded(Notification.objects.get(pk=sms.pk), Sent("SMlate"), started_at=timezone.now(), duration=0.1)

    assert notification_deliver(notification_id=sms.pk).status == "skipped"
    assert Notification.objects.get(pk=sms.pk).provider_id == "SMlate"
    assert fake_twilio.requests == []


def test_twilio_status_callbacks_move_a_sent_sms_forward_only(escalation, fake_twilio):
    sms = page(escalation, "sms")
    notification_deliver(notification_id=sms.pk)
    sid = Notification.objects.get(pk=sms.pk).provider_id

    assert notification_provider_status(provider_id=sid, status="sent") is True
    assert notification_provider_status(provider_id=sid, status="delivered") is True
    assert notification_provider_status(provider_id=sid, status="failed", error_code="30003") is True

    sms.refresh_from_db()
    assert (sms.status, sms.provider_status) == ("delivered", "delivered")
    assert sms.delivered_at is not None
    assert notification_provider_status(provider_id="SMunknown", status="delivered") is False


def test_an_undelivered_callback_fails_the_page_and_alerts_staff(escalation, fake_twilio):
    sms = page(escalation, "sms")
    notification_deliver(notification_id=sms.pk)
    sid = Notification.objects.get(pk=sms.pk).provider_id

    notification_provider_status(provider_id=sid, status="undelivered", error_code="30005")

    sms.refresh_from_db()
    assert sms.status == "failed"
    assert "undelivered" in sms.last_error and "30005" in sms.last_error
    assert Notification.objects.filter(escalation=escalation, kind=NotificationKind.FAILURE_ALERT).exists()


def test_staff_can_send_a_failed_notification_again(escalation, fake_twilio, staff):
    fake_twilio.fail(400)
    sms = page(escalation, "sms")
    notification_deliver(notification_id=sms.pk)

    assert notification_resend(notification=Notification.objects.get(pk=sms.pk), by=staff) is True
    assert notification_deliver(notification_id=sms.pk).status == "sent"
    assert notification_resend(notification=Notification.objects.get(pk=sms.pk), by=staff) is False
