"""Intake, reading, overrides and re-triage through the API (the worker's part is called directly)."""

import dataclasses
import json
from pathlib import Path

import pytest

from accounts.models import Role
from notifications.models import Escalation
from referrals.models import Referral
from tests.factories import EMERGENCY, ROUTINE, URGENT, ClinicFactory, PatientFactory, UserFactory, answers
from triage.actions import assessment_triage, assessment_triage_paging_first
from triage.models import Assessment, Evaluation, IdempotencyRecord
from triage.rules import CURRENT_RULESET, RULESETS

pytestmark = pytest.mark.django_db

VIGNETTES = Path(__file__).resolve().parents[2].parent / "shared" / "vignettes" / "public.json"


def submit(client, patient, body_answers, **headers):
    return client.post("/api/v1/assessments/", {"patient": str(patient.id), "answers": body_answers},
                       format="json", headers=headers)


def error_fields(response) -> set[str]:
    return {error["attr"] for error in response.json()["errors"]}


def submitted_and_triaged(client, patient, body_answers) -> Assessment:
    assessment_id = submit(client, patient, body_answers).json()["id"]
    assessment_triage(assessment_id=assessment_id)
    return Assessment.objects.get(pk=assessment_id)


def test_a_valid_assessment_is_stored_pending_with_who_and_when(api_as, staff, patient):
    response = submit(api_as(staff), patient, URGENT)

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["triage"] is None and body["escalation"] is None
    stored = Assessment.objects.get(pk=body["id"])
    assert stored.submitted_by == staff and stored.patient == patient and stored.answers == URGENT


def invalid_vignettes():
    if not VIGNETTES.exists():
        return []
    cases = json.loads(VIGNETTES.read_text())["invalid"]
    return [pytest.param(case["answers"], case["expect_field"], id=case["id"]) for case in cases]


@pytest.mark.skipif(not VIGNETTES.exists(), reason="shared/vignettes/public.json is not beside the repository")
@pytest.mark.parametrize(("body_answers", "field"), invalid_vignettes())
def test_invalid_answers_are_a_400_naming_the_code_and_nothing_is_stored(api_as, staff, patient, body_answers, field):
    response = submit(api_as(staff), patient, body_answers)

    assert response.status_code == 400
    fields = [field] if isinstance(field, str) else field
    assert {f"answers.{name}" for name in fields} <= error_fields(response)
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answers": ROUTINE, "colour": "blue"}, "colour"),
        ({"answers": "not an object"}, "answers"),
        ({"answers": [1, 2]}, "answers"),
        ({}, "answers"),
        ({"answers": ROUTINE, "patient": "not-a-uuid"}, "patient"),
        ({"answers": ROUTINE}, "patient"),
    ],
)
def test_a_malformed_body_is_a_400_naming_the_field(api_as, staff, patient, body, field):
    response = api_as(staff).post("/api/v1/assessments/", body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)
    assert not Assessment.objects.exists()


def test_every_offending_code_is_named_at_once(api_as, staff, patient):
    response = submit(api_as(staff), patient, answers(age=True, pain_score=11, tingling="no"))

    assert {"answers.age", "answers.pain_score", "answers.tingling"} <= error_fields(response)


def test_staff_cannot_submit_for_another_clinics_patient(api_as, staff):
    elsewhere = PatientFactory(clinic=ClinicFactory())

    response = submit(api_as(staff), elsewhere, ROUTINE)

    assert response.status_code == 400
    assert "patient" in error_fields(response)
    assert not Assessment.objects.exists()


def test_a_patient_submits_for_themself_without_naming_the_patient(api_as, patient_user):
    response = api_as(patient_user).post("/api/v1/assessments/", {"answers": ROUTINE}, format="json")

    assert response.status_code == 202
    assert response.json()["patient"] == str(patient_user.patient.id)


def test_a_partner_account_may_not_submit(api_as, patient):
    partner = UserFactory(role=Role.PARTNER, clinic=None)

    assert submit(api_as(partner), patient, ROUTINE).status_code == 403


def test_the_triage_result_is_stored_with_referrals_and_escalation_in_one_go(api_as, staff, patient):
    assessment = submitted_and_triaged(api_as(staff), patient, EMERGENCY)

    body = api_as(staff).get(f"/api/v1/assessments/{assessment.id}/").json()
    assert body["status"] == "triaged"
    assert body["triage"]["urgency"] == "emergency"
    assert "cauda_equina" in body["triage"]["red_flags"]
    assert body["triage"]["ruleset_version"] == CURRENT_RULESET.version
    assert body["triage"]["advice"]
    assert all(set(rule) >= {"id", "title", "level", "source"} for rule in body["triage"]["rules_fired"])
    assert body["escalation"]["status"] == "open"
    assert [(r["specialty"], r["priority"]) for r in body["referrals"]] == [
        ("neurosurgery", "emergency"), ("physiotherapy", "emergency")]


def test_advice_is_in_the_patients_language(api_as, staff, clinic):
    spanish = PatientFactory(clinic=clinic, language="es")

    assessment = submitted_and_triaged(api_as(staff), spanish, URGENT)

    assert assessment.current_evaluation.language == "es"
    assert "urgencias" in assessment.current_evaluation.advice.lower()


def test_triaging_twice_gives_the_same_single_result(api_as, staff, patient):
    assessment = submitted_and_triaged(api_as(staff), patient, EMERGENCY)

    again = assessment_triage(assessment_id=assessment.id)

    assert again == assessment.current_evaluation
    assert Evaluation.objects.count() == 1
    assert Referral.objects.count() == 2
    assert Escalation.objects.count() == 1


def test_the_list_is_newest_first_and_filters_by_urgency_status_and_patient(api_as, staff, patient, clinic):
    client = api_as(staff)
    other = PatientFactory(clinic=clinic)
    routine = submitted_and_triaged(client, patient, ROUTINE)
    urgent = submitted_and_triaged(client, other, URGENT)
    pending = submit(client, patient, ROUTINE).json()["id"]

    def ids(query):
        return [row["id"] for row in client.get(f"/api/v1/assessments/{query}").json()["results"]]

    assert ids("") == [pending, str(urgent.id), str(routine.id)]
    assert ids("?urgency=urgent") == [str(urgent.id)]
    assert ids("?status=pending") == [pending]
    assert ids(f"?patient={patient.id}") == [pending, str(routine.id)]


def test_an_unknown_filter_value_is_a_400_naming_it(api_as, staff):
    response = api_as(staff).get("/api/v1/assessments/?urgency=whenever")

    assert response.status_code == 400
    assert "urgency" in error_fields(response)


def test_staff_do_not_see_another_clinics_assessments(api_as, staff, clinician):
    elsewhere = PatientFactory(clinic=ClinicFactory())
    theirs = submitted_and_triaged(api_as(UserFactory(role=Role.STAFF, clinic=elsewhere.clinic)), elsewhere, ROUTINE)

    assert api_as(staff).get(f"/api/v1/assessments/{theirs.id}/").status_code == 404
    assert api_as(staff).get("/api/v1/assessments/").json()["count"] == 0


def test_the_findings_catalogue_lists_every_code_with_questions_in_english_and_spanish(anonymous_api):
    results = anonymous_api.get("/api/v1/findings/").json()["results"]

    codes = {finding["code"] for finding in results}
    assert {"age", "urinary_retention", "days_since_surgery", "known_conditions", "mri_severe_compression"} <= codes
    assert all(finding["question"]["en"] and finding["question"]["es"] for finding in results)
    age = next(finding for finding in results if finding["code"] == "age")
    assert (age["type"], age["required"], age["minimum"], age["maximum"]) == ("integer", True, 0, 120)


class TestIdempotencyKey:
    def test_a_retry_with_the_same_key_and_body_returns_the_first_response(self, api_as, staff, patient):
        client = api_as(staff)
        first = submit(client, patient, ROUTINE, **{"Idempotency-Key": "k-1"})
        again = submit(client, patient, ROUTINE, **{"Idempotency-Key": "k-1"})

        assert (again.status_code, again.json()["id"]) == (first.status_code, first.json()["id"])
        assert Assessment.objects.count() == 1

    def test_the_same_key_with_another_body_is_a_422(self, api_as, staff, patient):
        client = api_as(staff)
        submit(client, patient, ROUTINE, **{"Idempotency-Key": "k-2"})

        other = submit(client, patient, answers(age=46), **{"Idempotency-Key": "k-2"})

        assert other.status_code == 422
        assert Assessment.objects.count() == 1

    def test_a_retry_while_the_first_is_in_flight_is_a_409(self, api_as, staff, patient):
        from triage.idempotency import request_fingerprint

        body = {"patient": str(patient.id), "answers": ROUTINE}
        IdempotencyRecord.objects.create(
            user=staff, key="k-3",
            request_fingerprint=request_fingerprint(method="POST", path="/api/v1/assessments/", body=body),
        )

        response = api_as(staff).post("/api/v1/assessments/", body, format="json", headers={"Idempotency-Key": "k-3"})

        assert response.status_code == 409
        assert not Assessment.objects.exists()

    def test_a_rejected_request_does_not_burn_the_key(self, api_as, staff, patient):
        client = api_as(staff)
        assert submit(client, patient, answers(age=130), **{"Idempotency-Key": "k-4"}).status_code == 400

        assert submit(client, patient, answers(age=130), **{"Idempotency-Key": "k-4"}).status_code == 400
        assert not IdempotencyRecord.objects.exists()

    def test_keys_belong_to_their_user(self, api_as, staff, clinician, patient):
        first = submit(api_as(staff), patient, ROUTINE, **{"Idempotency-Key": "shared"})
        second = submit(api_as(clinician), patient, ROUTINE, **{"Idempotency-Key": "shared"})

        assert first.json()["id"] != second.json()["id"]


class TestOverride:
    def test_a_clinician_raises_the_urgency_and_the_effective_urgency_drives_what_follows(
        self, api_as, clinician, patient
    ):
        client = api_as(clinician)
        assessment = submitted_and_triaged(client, patient, URGENT)

        response = client.post(f"/api/v1/assessments/{assessment.id}/override/",
                               {"urgency": "emergency", "reason": "Saddle numbness on examination."}, format="json")

        assert response.status_code == 200
        body = response.json()
        assert body["triage"]["urgency"] == "urgent", "the computed urgency stays"
        assert body["triage"]["effective_urgency"] == "emergency"
        assert body["triage"]["override"]["by"] == clinician.username
        assert body["triage"]["override"]["reason"] == "Saddle numbness on examination."
        assert body["urgency"] == "emergency"
        assert body["escalation"]["status"] == "open"
        assert {r["priority"] for r in body["referrals"]} == {"emergency"}

    def test_lowering_an_emergency_acknowledges_its_escalation_by_the_clinician(self, api_as, clinician, patient):
        client = api_as(clinician)
        assessment = submitted_and_triaged(client, patient, EMERGENCY)

        client.post(f"/api/v1/assessments/{assessment.id}/override/",
                    {"urgency": "urgent", "reason": "Chronic retention, known to urology."}, format="json")

        escalation = Escalation.objects.get(assessment=assessment)
        assert (escalation.status, escalation.acknowledged_by) == ("acknowledged", clinician)

    @pytest.mark.parametrize(("body", "field"), [({"urgency": "soon", "reason": "x"}, "urgency"),
                                                 ({"urgency": "urgent", "reason": "  "}, "reason"),
                                                 ({"urgency": "urgent"}, "reason")])
    def test_an_override_needs_a_known_urgency_and_a_reason(self, api_as, clinician, patient, body, field):
        client = api_as(clinician)
        assessment = submitted_and_triaged(client, patient, URGENT)

        response = client.post(f"/api/v1/assessments/{assessment.id}/override/", body, format="json")

        assert response.status_code == 400
        assert field in error_fields(response)
        assert not Evaluation.objects.get().override_urgency

    def test_a_patient_may_not_override(self, api_as, patient_user):
        client = api_as(patient_user)
        assessment = submitted_and_triaged(client, patient_user.patient, URGENT)

        response = client.post(f"/api/v1/assessments/{assessment.id}/override/",
                               {"urgency": "routine", "reason": "I feel fine"}, format="json")

        assert response.status_code == 403

    def test_overrides_are_reported_per_rule(self, api_as, clinician, patient):
        client = api_as(clinician)
        overridden = submitted_and_triaged(client, patient, URGENT)
        submitted_and_triaged(client, patient, URGENT)
        client.post(f"/api/v1/assessments/{overridden.id}/override/",
                    {"urgency": "routine", "reason": "Known, stable for years."}, format="json")

        report = {row["rule"]: row for row in client.get("/api/v1/triage/overrides-by-rule/").json()}

        assert report["new_foot_drop"]["fired"] == 2
        assert report["new_foot_drop"]["overridden"] == 1
        assert report["new_foot_drop"]["lowered"] == 1
        assert report["new_foot_drop"]["override_rate"] == 0.5


class TestRetriage:
    @pytest.fixture
    def newer_ruleset(self):
        newer = dataclasses.replace(CURRENT_RULESET, version="2-test")
        RULESETS[newer.version] = newer
        yield newer
        del RULESETS[newer.version]

    def test_retriage_under_a_newer_ruleset_keeps_the_earlier_result(self, api_as, clinician, patient, newer_ruleset):
        client = api_as(clinician)
        assessment = submitted_and_triaged(client, patient, URGENT)

        response = client.post(f"/api/v1/assessments/{assessment.id}/retriage/",
                               {"ruleset_version": newer_ruleset.version}, format="json")

        assert response.status_code == 201
        body = response.json()
        assert body["triage"]["ruleset_version"] == newer_ruleset.version
        assert [e["ruleset_version"] for e in body["evaluations"]] == [CURRENT_RULESET.version, newer_ruleset.version]
        assert Referral.objects.count() == 2, "open referrals for the same specialties are kept, not duplicated"

    def test_retriage_under_the_same_version_is_a_409(self, api_as, clinician, patient):
        client = api_as(clinician)
        assessment = submitted_and_triaged(client, patient, URGENT)

        response = client.post(f"/api/v1/assessments/{assessment.id}/retriage/", {}, format="json")

        assert response.status_code == 409
        assert Evaluation.objects.count() == 1

    def test_an_emergency_paged_before_its_result_is_pending_and_can_be_neither_retriaged_nor_overridden(
        self, api_as, clinician, patient, newer_ruleset, django_capture_on_commit_callbacks
    ):
        client = api_as(clinician)
        submitted = client.post("/api/v1/assessments/", {"patient": str(patient.id), "answers": EMERGENCY},
                                format="json").json()
        with django_capture_on_commit_callbacks(execute=False):  # the result's task is not run
            assessment_triage_paging_first(assessment_id=submitted["id"])

        retriage = client.post(f"/api/v1/assessments/{submitted['id']}/retriage/",
                               {"ruleset_version": newer_ruleset.version}, format="json")
        override = client.post(f"/api/v1/assessments/{submitted['id']}/override/",
                               {"urgency": "urgent", "reason": "Seen: walking on heels."}, format="json")
        shown = client.get(f"/api/v1/assessments/{submitted['id']}/").json()

        assert (retriage.status_code, error_fields(retriage)) == (409, {"assessment"})
        assert (override.status_code, error_fields(override)) == (400, {"assessment"})
        assert not Evaluation.objects.exists()
        assert (shown["status"], shown["urgency"], shown["triage"]) == ("pending", "emergency", None)
        assert shown["escalation"]["status"] == "open", "an escalation, beside an emergency"

    def test_retriage_under_an_unknown_version_is_a_400(self, api_as, clinician, patient):
        client = api_as(clinician)
        assessment = submitted_and_triaged(client, patient, URGENT)

        response = client.post(f"/api/v1/assessments/{assessment.id}/retriage/", {"ruleset_version": "99"},
                               format="json")

        assert response.status_code == 400
        assert "ruleset_version" in error_fields(response)
