"""Outbound referral.created events against a real local HTTP server: signed, logged, retried or not."""

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from fhir.resources.R4B.servicerequest import ServiceRequest
from standardwebhooks.webhooks import Webhook

from referrals import actions
from referrals.models import DeliveryStatus, WebhookDelivery
from referrals.webhooks.outbound import backoff_seconds, webhook_deliveries_requeue, webhook_delivery_attempt

from .partner_server import PartnerServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def send_to(referral, make_partner, staff, django_capture_on_commit_callbacks):
    """send_to(url) -> the delivery row of referral.created for a partner listening at url."""

    def send(url: str) -> tuple[WebhookDelivery, object]:
        hooked = make_partner("hooked", webhook_url=url)
        with django_capture_on_commit_callbacks(execute=False) as enqueued:
            actions.referral_send(referral=referral, partner=hooked.partner, by=staff, source="api")
        assert len(enqueued) == 1  # handed to a worker only once committed
        return WebhookDelivery.objects.get(), hooked

    return send


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_500_is_retried_with_backoff_and_the_next_200_delivers_the_same_signed_event(send_to, referral):
    with PartnerServer(replies=[500, 200]) as server:
        delivery, hooked = send_to(server.url)

        first = webhook_delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert (first.status_code, first.outcome, delivery.status) == (500, "retry", DeliveryStatus.PENDING)
        assert delivery.next_attempt_at > timezone.now()
        assert webhook_delivery_attempt(delivery_id=delivery.pk) is None  # not due yet: nothing sent

        make_due(delivery)
        second = webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (second.status_code, second.outcome, delivery.status, delivery.attempts) == (
        200, "succeeded", DeliveryStatus.SUCCEEDED, 2)
    assert delivery.delivered_at is not None
    log = list(delivery.attempt_log.values_list("number", "status_code", "outcome"))
    assert log == [(1, 500, "retry"), (2, 200, "succeeded")]
    assert len(second.response_body) == 2000 and second.duration_ms >= 0
    assert [r.headers["webhook-id"] for r in server.received] == [delivery.webhook_id] * 2
    got = server.received[-1]
    payload = Webhook(hooked.secret).verify(got.body, got.headers)
    assert payload["type"] == "referral.created"
    assert payload["data"]["referral_id"] == str(referral.pk)
    ServiceRequest.model_validate(payload["data"]["service_request"])


def test_a_400_is_not_retried(send_to):
    with PartnerServer(replies=[400]) as server:
        delivery, _ = send_to(server.url)
        attempt = webhook_delivery_attempt(delivery_id=delivery.pk)
        make_due(delivery)
        assert webhook_delivery_attempt(delivery_id=delivery.pk) is None

    delivery.refresh_from_db()
    assert (attempt.status_code, attempt.outcome, delivery.status, delivery.attempts) == (
        400, "failed", DeliveryStatus.FAILED, 1)
    assert len(server.received) == 1


@pytest.mark.parametrize("status", [408, 429, 503])
def test_timeouts_rate_limits_and_server_errors_are_retried(send_to, status):
    with PartnerServer(replies=[status]) as server:
        delivery, _ = send_to(server.url)
        attempt = webhook_delivery_attempt(delivery_id=delivery.pk)

    assert attempt.outcome == "retry"


def test_a_partner_that_does_not_answer_is_retried_and_the_error_logged(send_to):
    with PartnerServer() as server:
        url = server.url
    delivery, _ = send_to(url)  # the server is gone: connection refused

    attempt = webhook_delivery_attempt(delivery_id=delivery.pk)

    assert attempt.status_code is None and attempt.outcome == "retry"
    assert "Connection refused" in attempt.error or "URLError" in attempt.error


@override_settings(PARTNER_WEBHOOK_MAX_ATTEMPTS=3)
def test_attempts_are_capped_then_the_delivery_fails(send_to):
    with PartnerServer(default=500) as server:
        delivery, _ = send_to(server.url)
        for _ in range(5):
            make_due(delivery)
            webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(server.received)) == (DeliveryStatus.FAILED, 3, 3)


@override_settings(PARTNER_WEBHOOK_BACKOFF_SECONDS=10, PARTNER_WEBHOOK_BACKOFF_MAX_SECONDS=300)
def test_backoff_grows_exponentially_with_jitter_up_to_a_cap():
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (5, 160), (6, 300), (20, 300)]:
        delays = [backoff_seconds(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1


def test_the_sweep_hands_on_deliveries_whose_task_was_lost_or_whose_worker_died(send_to):
    with PartnerServer() as server:
        lost, _ = send_to(server.url)
    long_ago = timezone.now() - timedelta(minutes=10)
    WebhookDelivery.objects.filter(pk=lost.pk).update(next_attempt_at=long_ago)

    assert webhook_deliveries_requeue() == 1

    WebhookDelivery.objects.filter(pk=lost.pk).update(status=DeliveryStatus.SENDING, claimed_at=long_ago, attempts=1)
    assert webhook_deliveries_requeue() == 1
    lost.refresh_from_db()
    assert (lost.status, lost.claimed_at) == (DeliveryStatus.PENDING, None)


def test_a_partner_without_a_webhook_url_gets_no_delivery(sent_referral):
    assert not WebhookDelivery.objects.exists()


def test_a_cancel_tells_the_partner_with_the_reason(send_to, referral, staff):
    with PartnerServer() as server:
        send_to(server.url)
        actions.referral_cancel(referral=referral, reason="Patient moved abroad", by=staff, source="api")
        cancelled = WebhookDelivery.objects.get(event_type="referral.cancelled")
        webhook_delivery_attempt(delivery_id=cancelled.pk)

    body = json.loads(server.received[-1].body)
    assert body["type"] == "referral.cancelled" and body["data"]["reason"] == "Patient moved abroad"
