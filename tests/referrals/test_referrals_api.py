"""Referrals through the API: send, cancel, re-send, who may see and do what, and the schema."""

import uuid

import pytest

from accounts.models import Role
from referrals import actions
from referrals.models import Referral, WebhookDelivery
from tests.factories import ClinicFactory, PatientFactory, UserFactory

from .conftest import error_fields

pytestmark = pytest.mark.django_db


def test_a_clinician_sends_a_proposed_referral_to_a_partner(api_as, clinician, referral, partner):
    response = api_as(clinician).post(f"/api/v1/referrals/{referral.pk}/send/", {"partner": partner.slug},
                                      format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["partner"], body["sla_clock"]) == ("sent", partner.slug, "acceptance")
    last = body["history"][-1]
    assert (last["status"], last["from_status"], last["by"], last["source"]) == (
        "sent", "proposed", clinician.username, "api")
    assert partner.partner.name in last["note"]


@pytest.mark.parametrize("why", ["unknown", "inactive", "wrong_specialty", "missing", "not_a_string"])
def test_sending_to_a_partner_that_cannot_take_it_is_a_400_naming_partner(api_as, staff, referral, make_partner,
                                                                           why):
    body = {
        "unknown": {"partner": "nowhere"},
        "inactive": {"partner": make_partner("closed", active=False).slug},
        "wrong_specialty": {"partner": make_partner("eyes", specialties=["general_surgery"]).slug},
        "missing": {},
        "not_a_string": {"partner": 7},
    }[why]

    response = api_as(staff).post(f"/api/v1/referrals/{referral.pk}/send/", body, format="json")

    assert response.status_code == 400
    assert error_fields(response) == {"partner"}
    assert Referral.objects.get(pk=referral.pk).status == "proposed"


def test_an_unknown_field_in_a_send_is_a_400(api_as, staff, referral, partner):
    response = api_as(staff).post(f"/api/v1/referrals/{referral.pk}/send/", {"partner": partner.slug, "x": 1},
                                  format="json")

    assert response.status_code == 400 and "x" in error_fields(response)


def test_cancelling_needs_a_reason(api_as, staff, referral):
    missing = api_as(staff).post(f"/api/v1/referrals/{referral.pk}/cancel/", {}, format="json")
    blank = api_as(staff).post(f"/api/v1/referrals/{referral.pk}/cancel/", {"reason": "  "}, format="json")
    done = api_as(staff).post(f"/api/v1/referrals/{referral.pk}/cancel/", {"reason": "Seen privately"},
                              format="json")

    assert missing.status_code == 400 and error_fields(missing) == {"reason"}
    assert blank.status_code == 400 and error_fields(blank) == {"reason"}
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    assert done.json()["history"][-1]["note"] == "Cancelled: Seen privately"


def test_a_partner_with_a_webhook_url_is_told_of_a_send_and_a_cancel(api_as, staff, referral, make_partner):
    hooked = make_partner("hooked", webhook_url="https://hooked.example.org/events")
    client = api_as(staff)

    client.post(f"/api/v1/referrals/{referral.pk}/send/", {"partner": hooked.slug}, format="json")
    client.post(f"/api/v1/referrals/{referral.pk}/cancel/", {"reason": "Patient better"}, format="json")

    assert list(WebhookDelivery.objects.order_by("created_at").values_list("event_type", flat=True)) == [
        "referral.created", "referral.cancelled"]


def test_a_declined_referral_is_resent_elsewhere_as_a_new_referral(api_as, staff, sent_referral, other_partner):
    actions.referral_decline(referral=sent_referral, reason="No capacity", reason_code="no_capacity", by=None,
                             source="webhook")
    client = api_as(staff)
    worklist = client.get("/api/v1/referrals/?needs_attention=true").json()["results"]
    assert str(sent_referral.pk) in [item["id"] for item in worklist]

    response = client.post(f"/api/v1/referrals/{sent_referral.pk}/resend/", {"partner": other_partner.slug},
                           format="json")

    assert response.status_code == 201, response.content
    fresh = response.json()
    assert fresh["id"] != str(sent_referral.pk) and fresh["resent_from"] == str(sent_referral.pk)
    assert (fresh["status"], fresh["partner"], fresh["specialty"], fresh["priority"]) == (
        "sent", other_partner.slug, sent_referral.specialty, sent_referral.priority)
    assert fresh["clock_started_at"] == client.get(f"/api/v1/referrals/{sent_referral.pk}/").json()[
        "clock_started_at"]
    assert [entry["status"] for entry in fresh["history"]] == ["proposed", "sent"]
    original = client.get(f"/api/v1/referrals/{sent_referral.pk}/").json()
    assert (original["status"], original["needs_resend"]) == ("declined", False)
    worklist = client.get("/api/v1/referrals/?needs_attention=true").json()["results"]
    assert str(sent_referral.pk) not in [item["id"] for item in worklist]
    again = client.post(f"/api/v1/referrals/{sent_referral.pk}/resend/", {"partner": other_partner.slug},
                        format="json")
    assert again.status_code == 409


def test_only_a_declined_referral_is_resent(api_as, staff, sent_referral, other_partner):
    response = api_as(staff).post(f"/api/v1/referrals/{sent_referral.pk}/resend/", {"partner": other_partner.slug},
                                  format="json")

    assert response.status_code == 409


def test_a_partner_login_reads_the_referrals_sent_to_its_hospital_and_nothing_else(
    api_as, partner_user, sent_referral, make_referrals, patient, partner
):
    other = make_referrals(patient)[1]  # proposed, not sent anywhere
    client = api_as(partner_user)

    listed = client.get("/api/v1/referrals/").json()

    assert [item["id"] for item in listed["results"]] == [str(sent_referral.pk)]
    assert client.get(f"/api/v1/referrals/{sent_referral.pk}/").status_code == 200
    assert client.get(f"/api/v1/referrals/{sent_referral.pk}/fhir/").status_code == 200
    assert client.get(f"/api/v1/referrals/{other.pk}/").status_code == 404
    assert client.post(f"/api/v1/referrals/{sent_referral.pk}/cancel/", {"reason": "x"},
                       format="json").status_code == 403
    assert client.post(f"/api/v1/referrals/{other.pk}/send/", {"partner": partner.slug},
                       format="json").status_code == 403


def test_a_patient_reads_their_own_referrals_but_does_not_send_them(api_as, patient_user, make_referrals, partner):
    own = make_referrals(patient_user.patient)[0]
    someone_elses = make_referrals(PatientFactory(clinic=patient_user.clinic))[0]
    client = api_as(patient_user)

    assert client.get(f"/api/v1/referrals/{own.pk}/").status_code == 200
    assert client.get(f"/api/v1/referrals/{someone_elses.pk}/").status_code == 404
    assert client.post(f"/api/v1/referrals/{own.pk}/send/", {"partner": partner.slug}, format="json"
                       ).status_code == 403


def test_a_referral_of_another_clinic_or_an_unknown_id_is_a_404(api_as, referral, partner):
    elsewhere = UserFactory(role=Role.CLINICIAN, clinic=ClinicFactory())
    client = api_as(elsewhere)

    for path in (f"/api/v1/referrals/{referral.pk}/", f"/api/v1/referrals/{uuid.uuid4()}/",
                 f"/api/v1/referrals/{referral.pk}/fhir/"):
        assert client.get(path).status_code == 404
    assert client.post(f"/api/v1/referrals/{referral.pk}/send/", {"partner": partner.slug},
                       format="json").status_code == 404
    assert Referral.objects.get(pk=referral.pk).status == "proposed"


def test_lists_filter_by_status_specialty_priority_and_partner(api_as, staff, sent_referral, partner):
    client = api_as(staff)

    by_status = client.get("/api/v1/referrals/?status=sent").json()["results"]
    by_partner = client.get(f"/api/v1/referrals/?partner={partner.slug}").json()["results"]
    by_specialty = client.get(f"/api/v1/referrals/?specialty={sent_referral.specialty}&priority=urgent").json()

    assert [item["id"] for item in by_status] == [str(sent_referral.pk)]
    assert [item["id"] for item in by_partner] == [str(sent_referral.pk)]
    assert str(sent_referral.pk) in [item["id"] for item in by_specialty["results"]]
    assert client.get("/api/v1/referrals/?status=lost").status_code == 400


def test_the_openapi_schema_describes_every_referrals_endpoint(api_as, staff):
    response = api_as(staff).get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/v1/referrals/{id}/send/", "/api/v1/referrals/{id}/cancel/", "/api/v1/referrals/{id}/resend/",
                 "/api/v1/referrals/{id}/fhir/", "/api/v1/partners/", "/api/v1/partners/{lookup}/rotate-secret/",
                 "/api/v1/webhooks/partners/{slug}/", "/api/v1/partner-webhook-events/",
                 "/api/v1/partner-webhook-events/{id}/replay/"):
        assert path in text, path
