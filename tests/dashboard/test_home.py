"""The home page: red flags first, acknowledged with one button; overdue referrals; today's urgent assessments."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from notifications.models import Escalation
from referrals.models import Referral
from tests.factories import PatientFactory

from .conftest import exhaust

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, desk):
    client.force_login(desk)
    return client


def ack_url(escalation) -> str:
    return f"/admin/dashboard/escalations/{escalation.pk}/acknowledge/"


def test_the_home_page_shows_open_escalations_first_with_patient_flags_minutes_and_tier(signed_in, emergency, patient):
    escalation = emergency(patient)
    Escalation.objects.filter(pk=escalation.pk).update(opened_at=timezone.now() - timedelta(minutes=7))

    page = signed_in.get("/admin/").content.decode()

    red_flags = page.index('id="red-flags"')
    assert red_flags < page.index('id="overdue-referrals"') < page.index('id="apps-title"')
    row = page[page.index(f'data-escalation="{escalation.pk}"'):]
    assert patient.full_name in row and "Cauda equina" in row and "7 min" in row and "Tier 1" in row
    assert ack_url(escalation) in row and "csrfmiddlewaretoken" in row


def test_exhausted_escalations_come_first_and_are_highlighted(signed_in, emergency, clinic):
    older = emergency(PatientFactory(clinic=clinic, last_name="Older"))
    exhausted = exhaust(emergency(PatientFactory(clinic=clinic, last_name="Exhausted")))

    page = signed_in.get("/admin/").content.decode()

    assert page.index(f'data-escalation="{exhausted.pk}"') < page.index(f'data-escalation="{older.pk}"')
    assert 'class="escalation-row exhausted"' in page and "Exhausted: no tier answered" in page


def test_acknowledging_from_the_home_page_makes_the_case_mine_via_the_admin(signed_in, desk, emergency, patient):
    escalation = emergency(patient)

    response = signed_in.post(ack_url(escalation))

    assert response.status_code == 302 and response["Location"] == "/admin/"
    escalation.refresh_from_db()
    assert (escalation.status, escalation.acknowledged_by, escalation.acknowledged_via) == (
        "acknowledged", desk, "admin")
    assert escalation.events.filter(kind="acknowledged", by=desk, via="admin").count() == 1
    assert LogEntry.objects.filter(user=desk, object_id=str(escalation.pk)).exists()
    home = signed_in.get("/admin/", follow=True).content.decode()
    assert "acknowledged: it is yours" in home and f'data-escalation="{escalation.pk}"' not in home


def test_a_second_acknowledgement_changes_nothing(signed_in, desk, doctor, emergency, patient):
    escalation = emergency(patient)
    other = Client()
    other.force_login(doctor)
    other.post(ack_url(escalation))

    response = signed_in.post(ack_url(escalation), follow=True)

    escalation.refresh_from_db()
    assert escalation.acknowledged_by == doctor
    assert "already acknowledged" in response.content.decode()


def test_acknowledging_needs_a_post_with_a_csrf_token(desk, emergency, patient):
    escalation = emergency(patient)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(desk)

    assert browser.get(ack_url(escalation)).status_code == 405
    assert browser.post(ack_url(escalation)).status_code == 403
    assert Escalation.objects.get(pk=escalation.pk).status == "open"


def test_another_clinics_escalation_is_neither_shown_nor_acknowledged(signed_in, emergency, elsewhere):
    theirs = emergency(elsewhere)

    assert f'data-escalation="{theirs.pk}"' not in signed_in.get("/admin/").content.decode()
    assert signed_in.post(ack_url(theirs)).status_code == 404
    assert Escalation.objects.get(pk=theirs.pk).status == "open"


def test_overdue_referrals_and_todays_urgent_assessments_are_listed(signed_in, triaged, patient):
    assessment = triaged(patient)
    referral = Referral.objects.filter(assessment=assessment).first()
    Referral.objects.filter(pk=referral.pk).update(due_by=timezone.now() - timedelta(hours=2, minutes=5))

    page = signed_in.get("/admin/").content.decode()

    overdue = page[page.index('id="overdue-referrals"'):page.index('id="urgent-today"')]
    assert referral.get_specialty_display() in overdue and "Overdue by 2 h 0" in overdue
    today = page[page.index('id="urgent-today"'):page.index('id="activity"')]
    assert patient.full_name in today and "badge-urgent" in today


def test_the_chart_counts_urgencies_and_shows_the_median_time_to_acknowledge(signed_in, emergency, triaged, clinic):
    escalation = emergency(PatientFactory(clinic=clinic))
    triaged(PatientFactory(clinic=clinic))
    signed_in.post(ack_url(escalation))
    acknowledged_at = Escalation.objects.get(pk=escalation.pk).acknowledged_at
    Escalation.objects.filter(pk=escalation.pk).update(opened_at=acknowledged_at - timedelta(minutes=4, seconds=30))

    page = signed_in.get("/admin/").content.decode()

    activity = page[page.index('id="activity"'):]
    assert "<svg" in activity and "Emergency 1" in activity and "Urgent 1" in activity
    assert "4 min" in activity[activity.index('id="median-ack"'):]


def test_the_home_page_loads_nothing_from_elsewhere_and_links_the_worklists(signed_in):
    page = signed_in.get("/admin/").content.decode()

    assert "https://" not in page and "http://" not in page.replace("http://www.w3.org", "")
    for link in ("/admin/referrals/referral/board/", "/admin/notifications/oncallcontact/", "/admin/referrals/partner/",
                 "/admin/referrals/partnerwebhookevent/?outcome__exact=kept_for_review"):
        assert link in page, link


def test_reading_the_home_page_is_in_the_audit_trail(signed_in, desk, emergency, patient):
    emergency(patient)

    signed_in.get("/admin/")

    assert AuditEvent.objects.filter(actor=desk, action="read", patient_id=patient.pk, source="admin").exists()


def test_a_clinician_sees_the_worklist_but_not_the_staff_settings(client, doctor, emergency, patient):
    escalation = emergency(patient)
    client.force_login(doctor)

    page = client.get("/admin/").content.decode()

    assert f'data-escalation="{escalation.pk}"' in page
    assert "/admin/notifications/oncallcontact/" not in page and "/admin/referrals/partner/" not in page
    assert client.get("/admin/notifications/oncallcontact/").status_code == 403
