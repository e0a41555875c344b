"""Twilio answering 500s and timing out, and SMTP down for a whole escalation: every page delivered, duplicates counted.

tests/notifications/test_escalation_with_worker.py has the single-fault cases (two 500s then 201, a 400
not retried, one SMTP outage during a tier-1 page, the broker down at commit). These put many pages
through several faults at once and count what reached the fakes.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from notifications.actions import escalations_advance_due, notifications_redispatch_stuck
from notifications.models import DeliveryAttempt, Escalation, Notification
from tests.factories import EMERGENCY
from tests.notifications.conftest import contact
from tests.worker import wait_until

from .conftest import case_code_in, delivery_environment, duplicates, record_figures

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("delivery_settings"),
]

# Twilio's read timeout for the worker: a held request times out after 1 s instead of 10.
READ_TIMEOUT_SECONDS = 1
# Enough attempts that no email runs out of them during the SMTP outage below (a few seconds, retried
# every 0 to 2 s). With the defaults an outage longer than the retry budget fails the page: docs/reliability.md.
MAX_ATTEMPTS = 20
SMTP_DOWN_AT_LEAST_SECONDS = 5


@pytest.fixture(scope="module")
def worker_env(fake_twilio_server, smtp_server):
    return delivery_environment(
        fake_twilio_server, smtp_server, TWILIO_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT_SECONDS),
        NOTIFICATION_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
    )


def submit_emergencies(client, patient, count: int) -> list[Escalation]:
    ids = []
    for _ in range(count):
        response = client.post("/api/v1/assessments/", {"patient": str(patient.id), "answers": EMERGENCY},
                               format="json")
        assert response.status_code == 202
        ids.append(response.json()["id"])
    return wait_until(lambda: (found := list(Escalation.objects.filter(assessment_id__in=ids))) and
                      len(found) == count and found, timeout=30, message="every escalation to open")


def settled(escalations, channel: str | None = None) -> list[Notification]:
    """Wait until every notification of the escalations (on one channel) is sent; return them."""
    rows = Notification.objects.filter(escalation__in=escalations)
    if channel:
        rows = rows.filter(channel=channel)

    def check():
        found = list(rows.all())
        return found if found and {n.status for n in found} == {"sent"} else None

    return wait_until(check, timeout=60, interval=0.25, message=f"every {channel or ''} notification to be sent")


def outcomes(notifications) -> Counter:
    return Counter(DeliveryAttempt.objects.filter(notification__in=notifications).values_list("outcome", flat=True))


def test_twilio_500s_and_timeouts_delay_pages_but_lose_none(
    celery_worker, api_as, staff, patient, fake_twilio, smtp_sink
):
    oncall = [contact(1), contact(1)]
    # The next requests to reach Twilio, in order: three server errors and two that hang past our timeout
    # (and which Twilio then accepts anyway, the worst case: we had given up and send again).
    fake_twilio.fail(500)
    stalls = [fake_twilio.hold()]
    fake_twilio.fail(503)
    fake_twilio.fail(500)
    stalls.append(fake_twilio.hold())
    faults = 5
    started = time.monotonic()

    escalations = submit_emergencies(api_as(staff), patient, count=6)

    sms = settled(escalations, "sms")
    paged_after = time.monotonic() - started
    for stall in stalls:
        stall.set()
    wait_until(lambda: all(r["answer"] is not None for r in fake_twilio.requests), message="the stalls to end")

    codes = {e.case_code for e in escalations}
    accepted = [(r["to"], code) for r in fake_twilio.requests
                if r["answer"] == 201 and (code := case_code_in(r["body"])) in codes]
    assert set(accepted) == {(c.phone.as_e164, code) for c in oncall for code in codes}, "no page lost"
    assert duplicates(accepted) == len(stalls), "one duplicate per request Twilio took after we gave up"
    assert len(fake_twilio.requests) == len(sms) + faults
    assert outcomes(sms) == {"sent": len(sms), "temporary": faults}
    timeouts = DeliveryAttempt.objects.filter(notification__in=sms, error__contains="timed out").count()
    assert timeouts == len(stalls)
    settled(escalations, "email")
    emails = [(m["rcpt"][0], code) for m in smtp_sink.messages if (code := case_code_in(m["subject"])) in codes]
    assert duplicates(emails) == 0

    record_figures("twilio-500s-and-timeouts", {
        "emergencies": len(escalations), "sms_pages": len(sms), "requests_to_twilio": len(fake_twilio.requests),
        "faults_injected": {"http_5xx": faults - len(stalls), "timeouts": len(stalls)},
        "lost": 0, "duplicate_sms": duplicates(accepted),
        "duplicates_why": "each timed-out request was accepted by the fake after our 1 s read timeout",
        "max_attempts_of_one_sms": max(n.attempts for n in sms), "all_sent_after_seconds": round(paged_after, 2),
    })


def test_email_pages_wait_out_an_smtp_outage_that_spans_a_whole_escalation(
    celery_worker, api_as, staff, patient, fake_twilio, smtp_sink
):
    first, second = contact(1), contact(2)
    smtp_sink.stop()
    stopped = time.monotonic()

    def emails_failing(tier: int | None = None) -> bool:
        rows = Notification.objects.filter(escalation__in=escalations, channel="email")
        rows = rows.filter(tier=tier) if tier else rows.exclude(kind="page")
        return rows.exists() and not rows.filter(attempts=0).exists() and not rows.exclude(status="queued").exists()

    # Tier 1 paged, then tier 2 after the (driven) timeout, then exhausted and staff alerted: all with SMTP down
    escalations = submit_emergencies(api_as(staff), patient, count=2)
    wait_until(lambda: emails_failing(tier=1), timeout=30, message="the tier-1 emails to fail once")
    assert escalations_advance_due(now=max(e.next_tier_due_at for e in escalations)) == len(escalations)
    wait_until(lambda: emails_failing(tier=2), timeout=30, message="the tier-2 emails to fail once")
    for escalation in escalations:
        escalation.refresh_from_db()
    assert escalations_advance_due(now=max(e.next_tier_due_at for e in escalations)) == len(escalations)
    wait_until(emails_failing, timeout=30, message="the staff alerts to fail once")
    assert {e.status for e in Escalation.objects.filter(pk__in=[e.pk for e in escalations])} == {"exhausted"}
    sms = settled(escalations, "sms")  # the other channel was never held up
    time.sleep(max(0.0, SMTP_DOWN_AT_LEAST_SECONDS - (time.monotonic() - stopped)))

    smtp_sink.start()
    outage = time.monotonic() - stopped
    emails = settled(escalations, "email")
    delivered_after = time.monotonic() - stopped - outage

    codes = {e.case_code for e in escalations}
    received = [(rcpt, code) for m in smtp_sink.messages if (code := case_code_in(m["subject"])) in codes
                for rcpt in m["rcpt"]]
    expected = {(person.email.lower(), code) for person in (first, second, staff) for code in codes}
    assert set(received) == expected, "no email lost"
    assert duplicates(received) == 0
    assert len(received) == len(emails) == 3 * len(escalations)
    assert {n.kind for n in emails} == {"page", "exhausted_alert"}
    refused = outcomes(emails)["temporary"]
    assert outcomes(emails) == {"sent": len(emails), "temporary": refused}
    assert notifications_redispatch_stuck(queued_grace_seconds=0, sending_lease_seconds=0) == 0

    record_figures("smtp-down", {
        "emergencies": len(escalations), "emails": len(emails), "sms": len(sms), "smtp_down_seconds": round(outage, 2),
        "faults_injected": {"refused_smtp_connections": refused},
        "max_attempts_of_one_email": max(n.attempts for n in emails),
        "all_delivered_after_smtp_back_seconds": round(delivered_after, 2), "lost": 0,
        "duplicate_emails": duplicates(received),
    })
