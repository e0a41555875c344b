"""The admin pages staff work in: assessments, a patient's timeline, the referrals board, the webhook inbox."""

import json
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils import timezone

from audit.models import AuditEvent
from notifications.models import Escalation
from referrals import actions as referral_actions
from referrals.models import PartnerWebhookEvent, Referral, WebhookOutcome
from tests.factories import EMERGENCY, ROUTINE, URGENT, PatientFactory, answers
from tests.referrals.conftest import signed_headers
from triage.actions import assessment_submit

from .conftest import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, desk):
    client.force_login(desk)
    return client


# --------------------------------------------------------------------------- assessments

def test_the_assessment_page_shows_the_questions_asked_and_readable_answers(signed_in, triaged, patient):
    assessment = triaged(patient, answers(urinary_retention=True, days_since_onset=2, known_conditions=["diabetes"]))

    page = signed_in.get(f"/admin/triage/assessment/{assessment.pk}/change/").content.decode()

    assert "Are you unable to pass urine, or is it much harder than usual?" in page
    assert '<tr class="positive"><td>Are you unable to pass urine' in page
    assert "Which foot is weak: left, right or both?</td><td class=\"value\">Left" in page
    assert "Diabetes" in page and '"urinary_retention"' not in page


def test_the_assessment_page_shows_the_rules_that_fired_with_their_sources(signed_in, triaged, patient):
    assessment = triaged(patient, EMERGENCY)

    page = signed_in.get(f"/admin/triage/assessment/{assessment.pk}/change/").content.decode()

    assert "Bladder, bowel or saddle symptoms (cauda equina warning signs)" in page
    assert "seed 003, NICE CKS red flags" in page
    assert 'class="badge badge-emergency">Emergency' in page
    assert f"/admin/triage/assessment/{assessment.pk}/override/" in page


def test_the_list_shows_urgency_badges_and_filters_on_red_flags(signed_in, triaged, clinic):
    emergency = triaged(PatientFactory(clinic=clinic, last_name="Flagged"), EMERGENCY)
    routine = triaged(PatientFactory(clinic=clinic, last_name="Calm"), ROUTINE)

    page = signed_in.get("/admin/triage/assessment/").content.decode()
    assert 'class="badge badge-emergency">Emergency</span>' in page and 'badge-routine">Routine</span>' in page

    flagged = signed_in.get("/admin/triage/assessment/?red_flag=cauda_equina").content.decode()
    assert "Flagged" in flagged and "Calm" not in flagged
    none = signed_in.get("/admin/triage/assessment/?red_flag=none").content.decode()
    assert "Calm" in none and "Flagged" not in none
    any_flag = signed_in.get("/admin/triage/assessment/?red_flag=any&urgency__exact=emergency&status__exact=triaged")
    assert str(emergency.pk) in any_flag.content.decode() and str(routine.pk) not in any_flag.content.decode()


def test_assessments_are_found_by_patient_name_or_external_id(signed_in, triaged, clinic):
    triaged(PatientFactory(clinic=clinic, first_name="Lucía", last_name="Moreno", external_id="HC-4411"))
    triaged(PatientFactory(clinic=clinic, first_name="Pablo", last_name="Ruiz"))

    by_name = signed_in.get("/admin/triage/assessment/?q=Lucía Moreno").content.decode()
    by_id = signed_in.get("/admin/triage/assessment/?q=HC-4411").content.decode()

    assert "Lucía Moreno" in by_name and "Pablo Ruiz" not in by_name
    assert "Lucía Moreno" in by_id and "Pablo Ruiz" not in by_id


def test_overriding_from_the_admin_calls_the_action_and_keeps_the_computed_result(signed_in, desk, triaged, patient):
    assessment = triaged(patient, URGENT)
    url = f"/admin/triage/assessment/{assessment.pk}/override/"
    assert signed_in.get(url).status_code == 200

    refused = signed_in.post(url, {"urgency": "emergency", "reason": "   "})
    assert refused.status_code == 200 and assessment.current_evaluation.__class__.objects.get(
        pk=assessment.current_evaluation_id).override_urgency == ""

    response = signed_in.post(url, {"urgency": "emergency", "reason": "Saddle numbness found on examination."})

    assert response.status_code == 302
    assessment.refresh_from_db()
    evaluation = assessment.current_evaluation
    assert (assessment.urgency, evaluation.urgency, evaluation.overridden_by) == ("emergency", "urgent", desk)
    assert Escalation.objects.filter(assessment=assessment).exists(), "an emergency pages"
    assert AuditEvent.objects.filter(actor=desk, action="update", object_type="triage.evaluation").exists()


def test_retriage_is_offered_to_those_who_may_change_evaluations(signed_in, triaged, patient):
    assessment = triaged(patient)

    response = signed_in.post("/admin/triage/assessment/", {"action": "retriage_under_current_ruleset",
                                                           ACTION_CHECKBOX_NAME: [assessment.pk]}, follow=True)

    assert "Re-triaged 0; 1 already had a result under this ruleset; 0 not triaged yet." in response.content.decode()


def test_a_pending_assessment_is_left_to_the_worker_by_the_retriage_action(signed_in, desk, patient):
    pending = assessment_submit(submitted_by=desk, patient=patient, answers=URGENT)

    response = signed_in.post("/admin/triage/assessment/", {"action": "retriage_under_current_ruleset",
                                                           ACTION_CHECKBOX_NAME: [pending.pk]}, follow=True)

    assert "Re-triaged 0; 0 already had a result under this ruleset; 1 not triaged yet." in response.content.decode()
    assert not pending.evaluations.exists()


def test_staff_see_only_their_clinics_assessments(signed_in, triaged, elsewhere):
    theirs = triaged(elsewhere)

    assert "Elsewhere" not in signed_in.get("/admin/triage/assessment/").content.decode()
    assert signed_in.get(f"/admin/triage/assessment/{theirs.pk}/change/").status_code == 302  # "does not exist"
    assert signed_in.get(f"/admin/triage/assessment/{theirs.pk}/override/").status_code == 404


# --------------------------------------------------------------------------- patients

def test_the_patient_page_shows_one_timeline_newest_first(signed_in, desk, emergency, partner, patient):
    escalation = emergency(patient)
    referral = Referral.objects.filter(assessment=escalation.assessment).order_by("created_at").first()
    send(referral, partner, desk)
    signed_in.post(f"/admin/dashboard/escalations/{escalation.pk}/acknowledge/")

    page = signed_in.get(f"/admin/patients/patient/{patient.pk}/change/").content.decode()

    timeline = page[page.index('id="timeline"'):page.index("patient-details-title")]
    expected = ["Acknowledged", f"{referral.get_specialty_display()} referral: Proposed → Sent",
                "SMS page to an on-call contact to Dr Tier One (tier 1)", "Triaged under ruleset",
                "Assessment submitted"]
    positions = [timeline.index(text) for text in expected]
    assert positions == sorted(positions), "newest first"
    assert 'badge-queued">Queued' in timeline and 'badge-emergency">Emergency' in timeline


def test_patients_are_found_by_name_and_only_in_ones_clinic(signed_in, clinic, elsewhere):
    PatientFactory(clinic=clinic, first_name="Inés", last_name="Navarro")

    found = signed_in.get("/admin/patients/patient/?q=Navarro").content.decode()
    everyone = signed_in.get("/admin/patients/patient/").content.decode()

    assert "Navarro" in found and "Elsewhere" not in everyone
    assert signed_in.get(f"/admin/patients/patient/{elsewhere.pk}/change/").status_code == 302
    assert signed_in.get(f"/admin/patients/patient/{elsewhere.pk}/history/").status_code == 403


# --------------------------------------------------------------------------- the referrals board

def test_the_board_shows_columns_by_status_with_the_sla_clock_and_partner_events(
        signed_in, desk, triaged, partner, anonymous_api, patient):
    first, second = Referral.objects.filter(assessment=triaged(patient)).order_by("created_at")
    send(second, partner, desk)
    Referral.objects.filter(pk=first.pk).update(due_by=timezone.now() - timedelta(hours=3))
    _post_event(anonymous_api, partner, {"type": "appointment.no_show", "data": {"referral_id": str(second.pk)}})

    page = signed_in.get("/admin/referrals/referral/board/").content.decode()

    proposed = page[page.index('data-column="proposed"'):page.index('data-column="sent"')]
    sent = page[page.index('data-column="sent"'):page.index('data-column="accepted"')]
    assert f'data-referral="{first.pk}"' in proposed and 'class="card overdue"' in proposed
    assert "Overdue by 3 h" in proposed and 'value="send"' in proposed
    assert f'data-referral="{second.pk}"' in sent and 'value="accept"' in sent and "Kept for review" in sent


def test_each_card_offers_the_partners_taking_its_specialty_and_the_decline_reasons(
        signed_in, desk, triaged, partner, patient):
    first, second = Referral.objects.filter(assessment=triaged(patient)).order_by("created_at")
    only_first, _ = referral_actions.partner_create(name="Clínica <Sur> & Co", slug="sur",
                                                    specialties=[first.specialty])

    def card(referral):
        page = signed_in.get("/admin/referrals/referral/board/").content.decode()
        start = page.index(f'data-referral="{referral.pk}"')
        return page[start:page.index("</article>", start)]

    assert f'<option value="{only_first.pk}">Clínica &lt;Sur&gt; &amp; Co</option>' in card(first)
    assert f'<option value="{partner.pk}">Hospital Norte</option>' in card(first)
    assert f'<option value="{partner.pk}">Hospital Norte</option>' in card(second)
    assert f'value="{only_first.pk}"' not in card(second)  # it does not take the second's specialty
    assert 'name="reason_code"' not in card(first)  # a proposed referral has not been declined by anyone

    send(second, partner, desk)

    assert '<option value="other" selected>Other</option>' in card(second)
    assert '<option value="no_capacity">No capacity</option>' in card(second)


def test_a_move_on_the_board_goes_through_the_action_recorded_as_admin_and_comes_back(
        signed_in, desk, triaged, partner, patient):
    referral = Referral.objects.filter(assessment=triaged(patient)).first()

    response = signed_in.post(f"/admin/referrals/referral/{referral.pk}/move/", {
        "move": "send", "partner": partner.pk, "next": "/admin/referrals/referral/board/"})

    assert response.status_code == 302 and response["Location"] == "/admin/referrals/referral/board/"
    referral.refresh_from_db()
    last = referral.events.last()
    assert (referral.status, last.source, last.by) == ("sent", "admin", desk)
    assert AuditEvent.objects.filter(actor=desk, action="update", object_type="referrals.referral").exists()


def test_a_move_never_redirects_off_site(signed_in, triaged, partner, patient):
    referral = Referral.objects.filter(assessment=triaged(patient)).first()

    response = signed_in.post(f"/admin/referrals/referral/{referral.pk}/move/", {
        "move": "send", "partner": partner.pk, "next": "https://evil.example/"})

    assert response["Location"] == f"/admin/referrals/referral/{referral.pk}/change/"


def test_staff_cannot_move_another_clinics_referral(signed_in, triaged, partner, elsewhere):
    theirs = Referral.objects.filter(assessment=triaged(elsewhere)).first()

    assert str(theirs.pk) not in signed_in.get("/admin/referrals/referral/board/").content.decode()
    response = signed_in.post(f"/admin/referrals/referral/{theirs.pk}/move/", {"move": "send", "partner": partner.pk})
    assert response.status_code == 403
    assert Referral.objects.get(pk=theirs.pk).status == "proposed"


# --------------------------------------------------------------------------- the webhook inbox

def _post_event(api, partner_obj, body: dict):
    from referrals.models import Partner

    secret = _secret_of(Partner.objects.get(pk=partner_obj.pk))
    raw = json.dumps(body)
    return api.post(f"/api/v1/webhooks/partners/{partner_obj.slug}/", data=raw.encode(),
                    content_type="application/json", headers=signed_headers(secret, raw))


def _secret_of(partner_obj) -> str:
    from referrals import crypto

    return crypto.secret_decrypt(partner_obj.webhook_secret_encrypted)


def test_an_event_kept_for_review_is_replayed_from_the_inbox_once_it_applies(
        signed_in, desk, triaged, partner, anonymous_api, patient):
    referral = send(Referral.objects.filter(assessment=triaged(patient)).first(), partner, desk)
    when = (timezone.now() + timedelta(days=3)).replace(microsecond=0).isoformat()
    early = _post_event(anonymous_api, partner, {"type": "appointment.scheduled",
                                                 "data": {"referral_id": str(referral.pk), "appointment_at": when}})
    assert early.status_code == 409
    kept = PartnerWebhookEvent.objects.get(outcome=WebhookOutcome.KEPT_FOR_REVIEW)
    inbox = signed_in.get("/admin/referrals/partnerwebhookevent/?outcome__exact=kept_for_review").content.decode()
    assert kept.webhook_id in inbox
    signed_in.post(f"/admin/referrals/referral/{referral.pk}/move/", {"move": "accept"})

    signed_in.post("/admin/referrals/partnerwebhookevent/", {"action": "replay_selected",
                                                            ACTION_CHECKBOX_NAME: [kept.pk]})

    kept.refresh_from_db()
    referral.refresh_from_db()
    assert (kept.outcome, kept.reviewed_by, referral.status) == (WebhookOutcome.APPLIED, desk, "scheduled")
    assert referral.events.last().source == "admin"


def test_staff_reach_partners_rotation_and_on_call_contacts(signed_in, partner):
    assert signed_in.get("/admin/notifications/oncallcontact/").status_code == 200
    assert signed_in.get("/admin/notifications/oncallcontact/add/").status_code == 200
    assert signed_in.get("/admin/referrals/partner/").status_code == 200
    assert signed_in.get(f"/admin/referrals/partner/{partner.pk}/rotate-secret/").status_code == 200
    assert signed_in.get("/admin/referrals/webhookdelivery/").status_code == 200
