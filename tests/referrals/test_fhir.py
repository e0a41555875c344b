"""The FHIR export: an R4 ServiceRequest that fhir.resources (R4B) validates, mapped from our referral."""

from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from referrals import actions
from referrals.fhir import referral_service_request
from referrals.models import Referral, ReferralStatus, Specialty
from tests.factories import EMERGENCY, ROUTINE, URGENT

pytestmark = pytest.mark.django_db

EXPECTED_STATUS = {
    "proposed": "draft", "sent": "active", "accepted": "active", "scheduled": "active", "no_show": "on-hold",
    "completed": "completed", "declined": "revoked", "cancelled": "revoked",
}


def fhir_of(client, referral) -> dict:
    response = client.get(f"/api/v1/referrals/{referral.pk}/fhir/")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    return response.json()


@pytest.mark.parametrize(("answers", "priority"), [(EMERGENCY, "stat"), (URGENT, "urgent"), (ROUTINE, "routine")])
def test_the_export_is_a_valid_r4_service_request_with_the_priority_mapped(
    api_as, staff, make_referrals, patient, answers, priority
):
    referral = make_referrals(patient, answers)[0]

    resource = fhir_of(api_as(staff), referral)

    ServiceRequest.model_validate(resource)
    assert resource["resourceType"] == "ServiceRequest" and resource["id"] == str(referral.pk)
    assert resource["priority"] == priority
    assert (resource["status"], resource["intent"]) == ("draft", "proposal")
    assert resource["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert resource["category"][0]["coding"][0]["code"] == "3457005"
    assert datetime.fromisoformat(resource["authoredOn"]) == referral.created_at
    assert resource["note"][0]["text"].startswith(f"Triage urgency: {referral.priority}")


def test_an_emergency_carries_its_red_flags_and_likely_origin_as_reasons(api_as, staff, make_referrals, patient):
    referral = make_referrals(patient, EMERGENCY)[0]
    evaluation = referral.assessment.current_evaluation

    resource = fhir_of(api_as(staff), referral)

    codes = {coding["code"] for reason in resource["reasonCode"] for coding in reason["coding"]}
    assert set(evaluation.red_flags) and set(evaluation.red_flags) <= codes
    assert set(evaluation.likely_origin) <= codes
    assert any(reason["text"].startswith("Red flag:") for reason in resource["reasonCode"])


@pytest.mark.parametrize("status", ReferralStatus.values)
def test_every_status_maps_to_a_fhir_request_status_and_validates(referral, partner, status):
    Referral.objects.filter(pk=referral.pk).update(
        status=status, partner=None if status == "proposed" else partner.partner,
        appointment_at=datetime(2030, 1, 2, 9, 0, tzinfo=UTC),
    )
    referral = Referral.objects.select_related("partner", "assessment__current_evaluation").get(pk=referral.pk)

    resource = referral_service_request(referral)

    ServiceRequest.model_validate(resource)
    assert resource["status"] == EXPECTED_STATUS[status]
    assert resource["intent"] == ("proposal" if status == "proposed" else "order")
    assert datetime.fromisoformat(resource["occurrenceDateTime"].replace("Z", "+00:00")) == datetime(
        2030, 1, 2, 9, 0, tzinfo=UTC)
    if status != "proposed":
        assert resource["performer"][0]["display"] == partner.partner.name


@pytest.mark.parametrize(("specialty", "code"), [
    (Specialty.NEUROSURGERY, "45544007"), (Specialty.NEUROLOGY, "56397003"), (Specialty.ORTHOPEDICS, "22731001"),
    (Specialty.GENERAL_SURGERY, "78703002"), (Specialty.PHYSIOTHERAPY, "36682004"), (Specialty.PAIN_MANAGEMENT, None),
])
def test_the_performer_type_is_the_specialty_with_snomed_where_known(referral, specialty, code):
    Referral.objects.filter(pk=referral.pk).update(specialty=specialty)
    referral.refresh_from_db()

    performer = referral_service_request(referral)["performerType"]

    assert performer["text"] == Specialty(specialty).label
    assert [c["code"] for c in performer.get("coding", [])] == ([code] if code else [])


def test_a_resent_referral_replaces_the_declined_one(sent_referral, other_partner, staff):
    actions.referral_decline(referral=sent_referral, reason="Full", by=None, source="webhook")
    fresh = actions.referral_resend(referral=sent_referral, partner=other_partner.partner, by=staff, source="api")

    resource = referral_service_request(fresh)

    assert resource["replaces"] == [{"reference": f"ServiceRequest/{sent_referral.pk}"}]
    assert referral_service_request(Referral.objects.get(pk=sent_referral.pk))["status"] == "revoked"
