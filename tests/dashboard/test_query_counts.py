"""No N+1: every list page, the home page and the board cost the same number of queries for 10 rows or 100."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Max, Min, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.admin import with_indexed_date_hierarchy
from notifications.models import Escalation
from referrals.models import PartnerWebhookEvent, Referral, WebhookOutcome
from tests.factories import EMERGENCY, PatientFactory
from triage.models import Assessment

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


API_LISTS = [
    "/api/v1/assessments/",
    "/api/v1/assessments/?urgency=emergency",
    "/api/v1/referrals/",
    "/api/v1/referrals/?needs_attention=true",
    "/api/v1/referrals/?overdue=true",
    "/api/v1/escalations/",
    "/api/v1/patients/",
]


def test_api_list_pages_cost_the_same_queries_for_3_rows_or_30(desk, cases, api_as):
    """The assessments' referrals carry their partner's slug: selected with them, not fetched one by one."""
    cases(15)
    client = api_as(desk)

    for url in API_LISTS:
        counts = {}
        for size in (3, 30):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, {"page_size": size})
            assert response.status_code == 200, url
            assert len(response.json()["results"]) == min(size, response.json()["count"]), url
            counts[size] = len(queries.captured_queries)
        assert counts[3] == counts[30], f"{url}: {counts}"


def test_the_date_hierarchy_lists_the_years_and_months_that_hold_rows(client, desk, triaged, clinic):
    """Years from the index, as Django's own DISTINCT over every row would list them (two queries)."""
    long_ago, last_year = triaged(PatientFactory(clinic=clinic)), triaged(PatientFactory(clinic=clinic))
    triaged(PatientFactory(clinic=clinic))
    now = timezone.now()
    Assessment.objects.filter(pk=long_ago.pk).update(submitted_at=now.replace(year=now.year - 3, month=3, day=1))
    Assessment.objects.filter(pk=last_year.pk).update(submitted_at=now.replace(year=now.year - 1, month=5, day=1))
    client.force_login(desk)

    response = client.get("/admin/triage/assessment/")
    page = response.content.decode()
    assert response.context["cl"].result_count == 3
    for year in (now.year - 3, now.year - 1, now.year):
        assert f"submitted_at__year={year}" in page
    assert f"submitted_at__year={now.year - 2}" not in page
    in_year = client.get(f"/admin/triage/assessment/?submitted_at__year={now.year - 1}").content.decode()
    assert "submitted_at__month=5" in in_year
    assert "submitted_at__month=6" not in in_year


def test_the_index_served_bounds_answer_only_the_date_hierarchys_own_question(triaged, clinic):
    """A filtered MIN/MAX (not the date hierarchy's) is left to Django, filter and all."""
    emergency = triaged(PatientFactory(clinic=clinic), EMERGENCY)
    triaged(PatientFactory(clinic=clinic))
    Assessment.objects.filter(pk=emergency.pk).update(submitted_at=timezone.now() - timedelta(days=400))
    assessments = with_indexed_date_hierarchy(Assessment.objects.all())
    only_urgent = Q(urgency="urgent")

    bounds = assessments.aggregate(first=Min("submitted_at", filter=only_urgent),
                                   last=Max("submitted_at", filter=only_urgent))

    assert bounds == Assessment.objects.aggregate(first=Min("submitted_at", filter=only_urgent),
                                                  last=Max("submitted_at", filter=only_urgent))
    assert bounds["first"] > timezone.now() - timedelta(days=1)
