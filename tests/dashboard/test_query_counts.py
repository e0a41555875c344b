"""No N+1: every list page, the home page and the board cost the same number of queries for 10 rows or 100."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Escalation
from referrals.models import PartnerWebhookEvent, Referral, WebhookOutcome
from tests.factories import EMERGENCY, PatientFactory

from .conftest import exhaust, send

pytestmark = pytest.mark.django_db

# One bound per page, the same whatever the number of rows shown (list_per_page is 100).
PAGES = {
    "/admin/": 12,
    "/admin/patients/patient/": 9,
    "/admin/triage/assessment/": 10,
    "/admin/referrals/referral/": 11,
    "/admin/referrals/referral/board/": 9,
    "/admin/referrals/partnerwebhookevent/": 11,
    "/admin/notifications/escalation/": 11,  # + the audit trail's one insert for the rows shown
    "/admin/notifications/notification/": 10,
}


@pytest.fixture
def cases(desk, triaged, oncall, partner, clinic):
    """cases(n): n emergencies with their escalation, pages, referrals (one sent, one overdue), a partner event."""

    def make(n: int) -> None:
        for index in range(n):
            assessment = triaged(PatientFactory(clinic=clinic, last_name=f"Case {index}"), EMERGENCY)
            first, second = Referral.objects.filter(assessment=assessment).order_by("created_at")
            send(first, partner, desk)
            Referral.objects.filter(pk=second.pk).update(due_by=timezone.now() - timedelta(minutes=index + 1))
            PartnerWebhookEvent.objects.create(
                partner=partner, webhook_id=f"msg_{index}", received_at=timezone.now(),
                event_type="appointment.no_show", referral_ref=str(first.pk), referral=first, body="{}",
                outcome=WebhookOutcome.KEPT_FOR_REVIEW, status_code=409,
            )
        for escalation in Escalation.objects.order_by("opened_at")[: n // 2]:
            exhaust(escalation)

    return make


@pytest.mark.parametrize("rows", [10, 100])
def test_list_pages_home_and_board_cost_a_bounded_number_of_queries(
        client, desk, cases, rows, django_assert_max_num_queries):
    cases(rows)
    client.force_login(desk)

    for url, bound in PAGES.items():
        with django_assert_max_num_queries(bound, info=url):
            response = client.get(url)
        assert response.status_code == 200, url
    assert client.get("/admin/triage/assessment/").content.decode().count('class="badge badge-emergency"') == rows


@pytest.mark.parametrize("assessments", [1, 8])
def test_the_patient_page_with_its_timeline_costs_a_bounded_number_of_queries(
        client, desk, triaged, oncall, partner, patient, assessments, django_assert_max_num_queries):
    for _ in range(assessments):
        first = Referral.objects.filter(assessment=triaged(patient, EMERGENCY)).first()
        send(first, partner, desk)
    client.force_login(desk)

    with django_assert_max_num_queries(16):
        response = client.get(f"/admin/patients/patient/{patient.pk}/change/")

    assert response.status_code == 200
