"""Outbound delivery end to end: API send, enqueue on commit, Redis, a real worker, retries, a local partner."""

import pytest
from standardwebhooks.webhooks import Webhook

from referrals.models import DeliveryStatus, WebhookDelivery
from tests.worker import wait_until

from .partner_server import PartnerServer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker_env():
    return {"PARTNER_WEBHOOK_BACKOFF_SECONDS": "0.2", "PARTNER_WEBHOOK_BACKOFF_MAX_SECONDS": "1"}


def test_a_worker_delivers_a_sent_referral_retrying_after_a_500(celery_worker, api_as, staff, referral, make_partner):
    with PartnerServer(replies=[500, 200]) as server:
        hooked = make_partner("hooked", webhook_url=server.url)

        response = api_as(staff).post(f"/api/v1/referrals/{referral.pk}/send/", {"partner": hooked.slug},
                                      format="json")
        assert response.status_code == 200

        delivery = wait_until(
            lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).first(),
            timeout=20, message="the referral.created delivery to succeed",
        )

    assert delivery.attempts == 2
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [500, 200]
    got = server.received[-1]
    assert Webhook(hooked.secret).verify(got.body, got.headers)["data"]["referral_id"] == str(referral.pk)
