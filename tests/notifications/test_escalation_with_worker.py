"""Escalation end to end: API, on-commit enqueue, Redis, a real worker, a fake Twilio over HTTP, real SMTP.

The clock is driven by calling the advance action with a moved `now`, as the
beat would a few seconds later; nothing here sleeps for a timeout.
"""

import re
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from notifications.actions import escalations_advance_due, notifications_redispatch_stuck
from notifications.models import Escalation, Notification, NotificationKind
from tests.factories import EMERGENCY, UserFactory
from tests.worker import wait_until
from triage.actions import assessment_triage
from triage.models import Assessment

from .conftest import ACK_TIMEOUT_SECONDS, broker_down, contact, twilio_signature

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alerted_staff(clinic):
    return UserFactory(role=Role.STAFF, clinic=clinic, email="duty-staff@example.org")


@pytest.fixture
def client(api_as, alerted_staff):
    return api_as(alerted_staff)


def emergency(client, patient) -> Escalation:
    """Submit an emergency through the API; the worker triages it and opens the escalation."""
    response = client.post("/api/v1/assessments/", {"patient": str(patient.id), "answers": EMERGENCY}, format="json")
    assert response.status_code == 202
    return wait_until(lambda: Escalation.objects.filter(assessment_id=response.json()["id"]).first(),
                      message="the escalation to open")


def settled(escalation, count=None):
    """Wait until no notification of the escalation is queued or sending."""
    def check():
        rows = list(Notification.objects.filter(escalation=escalation))
        done = all(n.status not in ("queued", "sending") for n in rows) and (count is None or len(rows) == count)
        return rows if done else None

    return wait_until(check, message="the notifications to settle")


def ack_path(text: str) -> str:
    return urlsplit(re.search(r"https?://\S+/escalations/ack/\S+?/", text).group(0)).path


def test_an_emergency_pages_every_active_tier_1_contact_by_sms_and_email(
    celery_worker, client, patient, fake_twilio, smtp_sink
):
    first, second = contact(1), contact(1)
    idle, later = contact(1, active=False), contact(2)

    escalation = emergency(client, patient)

    for person in (first, second):
        [sms] = fake_twilio.wait(lambda r, p=person: r["to"] == p.phone.as_e164)
        assert escalation.case_code in sms["body"] and "/escalations/ack/" in sms["body"]
        [mail] = smtp_sink.wait(person.email)
        assert escalation.case_code in mail["subject"]
    body = client.get(f"/api/v1/escalations/{escalation.pk}/").json()
    assert (body["status"], body["tier"]) == ("open", 1)
    settled(escalation, count=4)
    body = client.get(f"/api/v1/escalations/{escalation.pk}/").json()
    assert sorted((n["channel"], n["status"], n["attempts"]) for n in body["notifications"]) == [
        ("email", "sent", 1), ("email", "sent", 1), ("sms", "sent", 1), ("sms", "sent", 1),
    ]
    sids = set(Notification.objects.filter(channel="sms").values_list("provider_id", flat=True))
    assert sids == {r["sid"] for r in fake_twilio.requests}
    for nobody in (idle, later):
        assert not fake_twilio.requests_to(nobody.phone.as_e164) and not smtp_sink.to(nobody.email)


def test_acknowledged_by_api_the_next_tier_is_never_paged(celery_worker, client, patient, fake_twilio):
    contact(1)
    later = contact(2)
    escalation = emergency(client, patient)

    first = client.post(f"/api/v1/escalations/{escalation.pk}/acknowledge/", {}, format="json")
    second = client.post(f"/api/v1/escalations/{escalation.pk}/acknowledge/", {}, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["acknowledged_at"] == second.json()["acknowledged_at"]
    assert escalations_advance_due(now=timezone.now() + timedelta(hours=1)) == 0
    settled(escalation, count=2)
    assert not fake_twilio.requests_to(later.phone.as_e164)


def test_the_link_in_the_sms_acknowledges_once(celery_worker, client, patient, fake_twilio):
    paged = contact(1)
    escalation = emergency(client, patient)
    [sms] = fake_twilio.wait(lambda r: r["to"] == paged.phone.as_e164)
    browser = Client()

    assert "<form" in browser.get(ack_path(sms["body"])).content.decode()
    assert "you own case" in browser.post(ack_path(sms["body"])).content.decode()
    assert "already acknowledged" in browser.post(ack_path(sms["body"])).content.decode()

    body = client.get(f"/api/v1/escalations/{escalation.pk}/").json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == {"kind": "contact", "id": str(paged.pk), "name": paged.name}


def test_an_sms_reply_acknowledges_only_when_twilio_signed_it(celery_worker, client, patient, fake_twilio):
    paged = contact(1, language="es")
    escalation = emergency(client, patient)
    fake_twilio.wait(lambda r: r["to"] == paged.phone.as_e164)
    path = "/api/v1/webhooks/twilio/inbound/"
    reply = {"MessageSid": "SMreply", "From": paged.phone.as_e164, "Body": f"ack {escalation.case_code}"}

    def post(signature):
        return Client().post(path, urlencode(reply), content_type="application/x-www-form-urlencoded",
                             HTTP_X_TWILIO_SIGNATURE=signature)

    assert post("not-twilio").status_code == 403
    assert Escalation.objects.get(pk=escalation.pk).status == "open"
    answer = post(twilio_signature(path, reply))
    assert answer.status_code == 200
    assert f"<Message>Confirmado: el caso {escalation.case_code}" in answer.content.decode()
    assert Escalation.objects.get(pk=escalation.pk).acknowledged_via == "sms"


def test_unacknowledged_the_next_tiers_are_paged_then_staff_see_it_exhausted(
    celery_worker, client, patient, fake_twilio, smtp_sink, alerted_staff
):
    contact(1)
    second = contact(2)
    escalation = emergency(client, patient)
    escalation.refresh_from_db()
    assert escalation.next_tier_due_at == escalation.opened_at + timedelta(seconds=ACK_TIMEOUT_SECONDS)

    assert escalations_advance_due(now=escalation.next_tier_due_at - timedelta(milliseconds=1)) == 0
    assert escalations_advance_due(now=escalation.next_tier_due_at) == 1
    assert escalations_advance_due(now=escalation.next_tier_due_at) == 0, "a second sweep pages nobody twice"

    fake_twilio.wait(lambda r: r["to"] == second.phone.as_e164)
    smtp_sink.wait(second.email)
    assert client.get(f"/api/v1/escalations/{escalation.pk}/").json()["tier"] == 2

    escalation.refresh_from_db()
    assert escalations_advance_due(now=escalation.next_tier_due_at) == 1
    [alert] = smtp_sink.wait(alerted_staff.email)
    assert "EXHAUSTED" in alert["subject"] and escalation.case_code in alert["subject"]
    exhausted = client.get("/api/v1/escalations/?status=exhausted").json()["results"]
    assert [e["id"] for e in exhausted] == [str(escalation.pk)]
    settled(escalation)
    assert len(fake_twilio.requests_to(second.phone.as_e164)) == 1


def test_a_provider_500_is_retried_until_it_succeeds(celery_worker, client, patient, fake_twilio):
    paged = contact(1)
    fake_twilio.fail(500, times=2)

    escalation = emergency(client, patient)

    sms = wait_until(lambda: Notification.objects.filter(escalation=escalation, channel="sms", status="sent").first(),
                     message="the SMS to be sent after two 500s")
    assert sms.attempts == 3
    assert [r["answer"] for r in fake_twilio.requests_to(paged.phone.as_e164)] == [500, 500, 201]
    assert list(sms.delivery_attempts.values_list("outcome", flat=True)) == ["temporary", "temporary", "sent"]


def test_a_provider_400_fails_at_once_the_email_still_goes_and_staff_are_alerted(
    celery_worker, client, patient, fake_twilio, smtp_sink, alerted_staff
):
    paged = contact(1)
    fake_twilio.fail(400)

    escalation = emergency(client, patient)

    smtp_sink.wait(paged.email)
    [alert] = smtp_sink.wait(alerted_staff.email)
    assert "NOT DELIVERED" in alert["subject"]
    settled(escalation)
    assert len(fake_twilio.requests_to(paged.phone.as_e164)) == 1, "a 4xx is not retried"
    by_channel = {n["channel"]: n for n in client.get(f"/api/v1/escalations/{escalation.pk}/").json()["notifications"]
                  if n["kind"] == "page"}
    assert (by_channel["sms"]["status"], by_channel["sms"]["attempts"]) == ("failed", 1)
    assert "HTTP 400" in by_channel["sms"]["last_error"]
    assert by_channel["email"]["status"] == "sent"


def test_email_waits_out_an_smtp_outage(celery_worker, client, patient, smtp_sink):
    paged = contact(1)
    smtp_sink.stop()

    escalation = emergency(client, patient)

    wait_until(lambda: Notification.objects.filter(escalation=escalation, channel="email", attempts__gte=1,
                                                   status__in=["queued", "sending"]).exclude(last_error="").exists(),
               message="a failed SMTP attempt")
    smtp_sink.start()
    smtp_sink.wait(paged.email, timeout=20)
    email = wait_until(
        lambda: Notification.objects.filter(escalation=escalation, channel="email", status="sent").first(),
        message="the email to be recorded sent",
    )
    assert email.attempts >= 2
    assert email.delivery_attempts.filter(outcome="temporary").exists()


def test_with_the_broker_down_at_commit_nothing_is_lost_and_the_sweeps_deliver(
    celery_worker, client, staff, patient, fake_twilio, smtp_sink
):
    paged = contact(1)
    with broker_down():
        response = client.post("/api/v1/assessments/", {"patient": str(patient.id), "answers": EMERGENCY},
                               format="json")
        assert response.status_code == 202, "the assessment commits though the broker is down"
        # The triage sweep would run this; here it commits the escalation with the broker still down.
        assessment_triage(assessment_id=response.json()["id"])
    escalation = Escalation.objects.get(assessment_id=response.json()["id"])
    assert set(escalation.notifications.values_list("status", flat=True)) == {"queued"}
    assert Assessment.objects.get(pk=response.json()["id"]).status == "triaged"
    assert not fake_twilio.requests_to(paged.phone.as_e164)

    assert notifications_redispatch_stuck(queued_grace_seconds=0, sending_lease_seconds=45,
                                          now=timezone.now() + timedelta(seconds=1)) == 2

    fake_twilio.wait(lambda r: r["to"] == paged.phone.as_e164)
    smtp_sink.wait(paged.email)
    assert {n.status for n in settled(escalation, count=2)} == {"sent"}


def test_staff_alerts_are_notifications_too(celery_worker, client, patient, alerted_staff):
    contact(1)
    escalation = emergency(client, patient)
    Escalation.objects.filter(pk=escalation.pk).update(next_tier_due_at=timezone.now())

    escalations_advance_due()

    alert = wait_until(lambda: Notification.objects.filter(
        escalation=escalation, kind=NotificationKind.EXHAUSTED_ALERT, status="sent").first(),
        message="the staff alert to be sent")
    assert alert.recipient == alerted_staff.email
