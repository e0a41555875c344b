"""Partner events signed by the real standardwebhooks library, against the contract's replies (§9)."""

import base64
import json
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from referrals.models import PartnerWebhookEvent, Referral, ReferralEvent, WebhookOutcome

from .conftest import error_fields, event, post_event, signed_headers

pytestmark = pytest.mark.django_db


def state(referral) -> tuple[str, int]:
    referral.refresh_from_db()
    return referral.status, referral.events.count()


def test_a_signed_referral_accepted_moves_the_referral_and_records_who_and_how(
    anonymous_api, partner, sent_referral
):
    response = post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk,
                                                        partner_reference="GH-1"))

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "applied"
    sent_referral.refresh_from_db()
    assert sent_referral.status == "accepted" and sent_referral.partner_reference == "GH-1"
    move = sent_referral.events.last()
    assert (move.from_status, move.to_status, move.source, move.by) == ("sent", "accepted", "webhook", None)
    assert move.webhook_event.outcome == WebhookOutcome.APPLIED
    stored = PartnerWebhookEvent.objects.get()
    assert stored.event_type == "referral.accepted" and stored.referral == sent_referral
    assert "webhook-signature" not in stored.headers and stored.headers["webhook-id"] == stored.webhook_id


def test_the_whole_partner_journey_ends_completed_with_the_appointment_time(anonymous_api, partner, sent_referral):
    when = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    for kind, data in [("referral.accepted", {}), ("appointment.scheduled", {"appointment_at": when.isoformat()}),
                       ("appointment.no_show", {}),
                       ("appointment.scheduled", {"appointment_at": (when + timedelta(days=1)).isoformat()}),
                       ("appointment.completed", {"outcome": "seen, physiotherapy started"})]:
        assert post_event(anonymous_api, partner, event(kind, sent_referral.pk, **data)).status_code == 200

    sent_referral.refresh_from_db()
    assert sent_referral.status == "completed"
    assert sent_referral.appointment_at == when + timedelta(days=1)
    assert [e.to_status for e in sent_referral.events.all()] == [
        "proposed", "sent", "accepted", "scheduled", "no_show", "scheduled", "completed"]


def test_a_bad_signature_is_a_401_and_nothing_is_stored(anonymous_api, partner, sent_referral):
    wrong = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    before = state(sent_referral)

    response = post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk), secret=wrong)

    assert response.status_code == 401
    assert state(sent_referral) == before and not PartnerWebhookEvent.objects.exists()


def test_another_partners_secret_does_not_verify(anonymous_api, partner, other_partner, sent_referral):
    response = post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk),
                          secret=other_partner.secret)

    assert response.status_code == 401


@pytest.mark.parametrize("minutes", [-10, 10])
def test_a_timestamp_more_than_five_minutes_off_is_a_401(anonymous_api, partner, sent_referral, minutes):
    before = state(sent_referral)

    response = post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk),
                          ts=int(time.time()) + minutes * 60)

    assert response.status_code == 401 and state(sent_referral) == before


@pytest.mark.parametrize("signature", ["garbage", "v1,not-base64!!", "v1", "", "v1,"])
def test_a_malformed_signature_header_is_a_401_not_a_500(anonymous_api, partner, sent_referral, signature):
    body = json.dumps(event("referral.accepted", sent_referral.pk))
    headers = {**signed_headers(partner.secret, body), "webhook-signature": signature}

    response = post_event(anonymous_api, partner, raw=body, headers=headers)

    assert response.status_code == 401


def test_missing_signature_headers_are_a_401(anonymous_api, partner, sent_referral):
    response = post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk), headers={})

    assert response.status_code == 401


def test_an_unknown_partner_slug_is_a_404(anonymous_api, partner, sent_referral):
    body = json.dumps(event("referral.accepted", sent_referral.pk))
    response = anonymous_api.post("/api/v1/webhooks/partners/nobody/", data=body, content_type="application/json",
                                  headers=signed_headers(partner.secret, body))

    assert response.status_code == 404


def test_a_replayed_webhook_id_is_a_2xx_without_a_second_history_entry(anonymous_api, partner, sent_referral):
    accepted = event("referral.accepted", sent_referral.pk)
    msg_id, ts = f"msg_{uuid.uuid4().hex}", int(time.time())
    assert post_event(anonymous_api, partner, accepted, msg_id=msg_id, ts=ts).status_code == 200
    after_first = state(sent_referral)

    replay = post_event(anonymous_api, partner, accepted, msg_id=msg_id, ts=ts)

    assert replay.status_code == 200 and replay.json()["outcome"] == "already_processed"
    assert state(sent_referral) == after_first
    stored = PartnerWebhookEvent.objects.get()
    assert stored.redeliveries == 1 and stored.outcome == WebhookOutcome.APPLIED


def test_the_same_webhook_id_from_two_partners_is_two_events(anonymous_api, partner, other_partner, make_referrals,
                                                              patient, staff):
    from referrals.actions import referral_send

    first, second = make_referrals(patient)
    referral_send(referral=first, partner=partner.partner, by=staff, source="api")
    referral_send(referral=second, partner=other_partner.partner, by=staff, source="api")

    assert post_event(anonymous_api, partner, event("referral.accepted", first.pk), msg_id="msg_1").status_code == 200
    assert post_event(anonymous_api, other_partner, event("referral.accepted", second.pk),
                      msg_id="msg_1").json()["outcome"] == "applied"


@pytest.mark.parametrize(("raw", "field"), [
    ('{"type": "referral.accepted", "data": {"referral_id": ', "body"),
    ('["referral.accepted"]', "body"),
    ('{"type": "referral.exploded", "data": {"referral_id": "REF"}}', "type"),
    ('{"data": {"referral_id": "REF"}}', "type"),
    ('{"type": "referral.accepted", "data": "REF"}', "data"),
    ('{"type": "referral.accepted", "data": {}}', "data.referral_id"),
    ('{"type": "referral.accepted", "data": {"referral_id": "not-a-uuid"}}', "data.referral_id"),
    ('{"type": "referral.accepted", "data": {"referral_id": 12}}', "data.referral_id"),
    ('{"type": "referral.declined", "data": {"referral_id": "REF"}}', "data.reason"),
    ('{"type": "referral.declined", "data": {"referral_id": "REF", "reason": "x", "reason_code": "bored"}}',
     "data.reason_code"),
    ('{"type": "appointment.scheduled", "data": {"referral_id": "REF"}}', "data.appointment_at"),
    ('{"type": "appointment.scheduled", "data": {"referral_id": "REF", "appointment_at": "2026-12-01T09:30:00"}}',
     "data.appointment_at"),
    ('{"type": "appointment.scheduled", "data": {"referral_id": "REF", "appointment_at": "next tuesday"}}',
     "data.appointment_at"),
])
def test_a_malformed_event_with_a_valid_signature_is_a_400_naming_the_field_and_changes_nothing(
    anonymous_api, partner, sent_referral, raw, field
):
    before = state(sent_referral)

    response = post_event(anonymous_api, partner, raw=raw.replace("REF", str(sent_referral.pk)))

    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert state(sent_referral) == before
    assert PartnerWebhookEvent.objects.get().outcome == WebhookOutcome.REJECTED_MALFORMED


def test_an_event_for_another_partners_referral_is_a_404_and_changes_nothing(
    anonymous_api, partner, other_partner, sent_referral
):
    before = state(sent_referral)

    response = post_event(anonymous_api, other_partner, event("referral.accepted", sent_referral.pk))

    assert response.status_code == 404
    assert state(sent_referral) == before
    assert PartnerWebhookEvent.objects.get().outcome == WebhookOutcome.REJECTED_UNKNOWN_REFERRAL


def test_an_event_for_an_unknown_referral_is_a_404(anonymous_api, partner, sent_referral):
    response = post_event(anonymous_api, partner, event("referral.accepted", uuid.uuid4()))

    assert response.status_code == 404


def test_an_out_of_order_event_is_a_409_kept_for_review_and_changes_nothing(
    anonymous_api, partner, sent_referral, api_as, staff
):
    before = state(sent_referral)

    response = post_event(anonymous_api, partner, event("appointment.completed", sent_referral.pk))

    assert response.status_code == 409
    assert state(sent_referral) == before
    kept = PartnerWebhookEvent.objects.get()
    assert kept.outcome == WebhookOutcome.KEPT_FOR_REVIEW and kept.referral == sent_referral
    inbox = api_as(staff).get("/api/v1/partner-webhook-events/?outcome=kept_for_review").json()
    assert [item["id"] for item in inbox["results"]] == [str(kept.pk)]
    worklist = api_as(staff).get("/api/v1/referrals/?needs_attention=true").json()
    assert str(sent_referral.pk) in [item["id"] for item in worklist["results"]]


def test_an_event_kept_for_review_is_applied_by_a_staff_replay_once_it_fits(
    anonymous_api, partner, sent_referral, api_as, staff
):
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    scheduled = event("appointment.scheduled", sent_referral.pk, appointment_at=when.isoformat())
    post_event(anonymous_api, partner, scheduled)
    kept = PartnerWebhookEvent.objects.get()
    client = api_as(staff)
    assert client.post(f"/api/v1/partner-webhook-events/{kept.pk}/replay/").status_code == 409  # still not accepted

    post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk))
    replayed = client.post(f"/api/v1/partner-webhook-events/{kept.pk}/replay/")

    assert replayed.status_code == 200 and replayed.json()["outcome"] == "applied"
    sent_referral.refresh_from_db()
    assert sent_referral.status == "scheduled" and sent_referral.appointment_at == when
    move = sent_referral.events.last()
    assert (move.source, move.by, move.webhook_event_id) == ("api", staff, kept.pk)
    assert client.post(f"/api/v1/partner-webhook-events/{kept.pk}/replay/").status_code == 409


def test_staff_dismiss_an_event_kept_for_review_with_a_note(anonymous_api, partner, sent_referral, api_as, staff):
    post_event(anonymous_api, partner, event("appointment.no_show", sent_referral.pk))
    kept = PartnerWebhookEvent.objects.get()

    assert api_as(staff).post(f"/api/v1/partner-webhook-events/{kept.pk}/dismiss/", {}, format="json"
                              ).status_code == 400
    response = api_as(staff).post(f"/api/v1/partner-webhook-events/{kept.pk}/dismiss/",
                                  {"note": "Sent to the wrong referral, confirmed by phone"}, format="json")

    assert response.status_code == 200 and response.json()["outcome"] == "dismissed"


def test_an_event_whose_effect_is_already_in_place_is_a_2xx_duplicate(anonymous_api, partner, sent_referral):
    post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk))
    before = state(sent_referral)

    again = post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk))

    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert state(sent_referral) == before


def test_a_new_appointment_time_for_a_scheduled_referral_reschedules_it(anonymous_api, partner, sent_referral):
    first = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    for when in (first, first, first + timedelta(hours=3)):
        post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk))
        post_event(anonymous_api, partner, event("appointment.scheduled", sent_referral.pk,
                                                 appointment_at=when.isoformat()))

    sent_referral.refresh_from_db()
    assert sent_referral.appointment_at == first + timedelta(hours=3)
    assert [e.to_status for e in sent_referral.events.all()][-2:] == ["scheduled", "scheduled"]
    assert "Rescheduled" in sent_referral.events.last().note


def test_a_decline_carries_its_reason_and_puts_the_referral_on_the_resend_worklist(
    anonymous_api, partner, sent_referral, api_as, staff
):
    response = post_event(anonymous_api, partner, event("referral.declined", sent_referral.pk,
                                                        reason="No neurosurgeon this month", reason_code="no_capacity"))

    assert response.status_code == 200
    body = api_as(staff).get(f"/api/v1/referrals/{sent_referral.pk}/").json()
    assert body["status"] == "declined" and body["needs_resend"] is True
    assert (body["decline_reason_code"], body["decline_reason"]) == ("no_capacity", "No neurosurgeon this month")
    assert body["history"][-1]["by"] == f"partner:{partner.slug}"


def test_after_a_rotation_the_previous_secret_verifies_until_its_grace_ends(anonymous_api, partner, sent_referral):
    import time_machine

    from referrals.actions import partner_rotate_secret

    old = partner.secret
    new = partner_rotate_secret(partner=partner.partner)
    assert post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk), secret=old
                      ).status_code == 200
    assert post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk), secret=new
                      ).status_code == 200

    with time_machine.travel(datetime.now(UTC) + timedelta(days=2)):
        assert post_event(anonymous_api, partner, event("referral.accepted", sent_referral.pk), secret=old
                          ).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_of_one_webhook_id_apply_exactly_once(partner, sent_referral):
    from rest_framework.test import APIClient

    body = json.dumps(event("referral.accepted", sent_referral.pk))
    headers = signed_headers(partner.secret, body)
    start = threading.Barrier(2)
    statuses = []

    def deliver():
        try:
            start.wait()
            response = APIClient().post(f"/api/v1/webhooks/partners/{partner.slug}/", data=body,
                                        content_type="application/json", headers=headers)
            statuses.append((response.status_code, response.json()["outcome"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [(200, "already_processed"), (200, "applied")]
    assert Referral.objects.get(pk=sent_referral.pk).status == "accepted"
    assert ReferralEvent.objects.filter(referral=sent_referral, to_status="accepted").count() == 1
    assert PartnerWebhookEvent.objects.get().redeliveries == 1
