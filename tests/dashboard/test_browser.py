"""Clinic staff in a real browser (Playwright + Debian's Chromium) against the live server.

Each test signs in as a member of the clinic staff and does one job end to end;
nothing may load from outside the server. The home page, an assessment and a
patient's timeline are saved to docs/screenshots/ for the README.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.actions import escalation_acknowledge
from notifications.models import Escalation
from referrals.models import PartnerWebhookEvent, Referral, WebhookOutcome
from tests.factories import EMERGENCY, PASSWORD, ROUTINE, URGENT, PatientFactory, answers
from triage.models import Assessment

from .browser import VIEWPORT, block_the_network, expect, screenshot
from .conftest import exhaust, send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POST_OPERATIVE = answers(age=67, days_since_onset=2, onset_speed="sudden", course="worsening_fast", foot_lift="cannot",
                         recent_surgery="hip_replacement", days_since_surgery=4, pain_score=6)


@pytest.fixture
def scene(desk, triaged, oncall, partner, clinic):
    """A morning at the clinic: two red flags nobody owns yet, an overdue referral, two weeks of triage."""
    now = timezone.now()
    ana = PatientFactory(clinic=clinic, first_name="Ana", last_name="García López", external_id="HC-20931",
                         language="es")
    tomas = PatientFactory(clinic=clinic, first_name="Tomás", last_name="Ibáñez", external_id="HC-20874")
    for days_ago, case in [(1, URGENT), (2, ROUTINE), (3, URGENT), (3, ROUTINE), (5, ROUTINE), (6, URGENT),
                           (8, ROUTINE), (9, URGENT), (11, ROUTINE), (12, ROUTINE), (13, URGENT), (0, ROUTINE)]:
        assessment = triaged(PatientFactory(clinic=clinic), case)
        Assessment.objects.filter(pk=assessment.pk).update(submitted_at=now - timedelta(days=days_ago, hours=2))
    for minutes, days_ago in [(3, 2), (7, 6), (4, 10)]:
        past = Escalation.objects.get(assessment=triaged(PatientFactory(clinic=clinic), EMERGENCY))
        escalation_acknowledge(escalation=past, by=desk, via="admin")
        acknowledged_at = now - timedelta(days=days_ago)
        Escalation.objects.filter(pk=past.pk).update(acknowledged_at=acknowledged_at,
                                                      opened_at=acknowledged_at - timedelta(minutes=minutes))
        Assessment.objects.filter(pk=past.assessment_id).update(submitted_at=acknowledged_at - timedelta(minutes=9))

    exhausted = Escalation.objects.get(assessment=triaged(tomas, POST_OPERATIVE))
    exhaust(exhausted)
    Escalation.objects.filter(pk=exhausted.pk).update(opened_at=now - timedelta(minutes=19))
    urgent = triaged(PatientFactory(clinic=clinic, first_name="Mary", last_name="O'Neill"), URGENT)
    overdue = Referral.objects.filter(assessment=urgent).order_by("created_at").first()
    Referral.objects.filter(pk=overdue.pk).update(due_by=now - timedelta(hours=3, minutes=20))

    open_case = Escalation.objects.get(assessment=triaged(ana, EMERGENCY))
    Escalation.objects.filter(pk=open_case.pk).update(opened_at=now - timedelta(minutes=6))
    sent, proposed = Referral.objects.filter(assessment=open_case.assessment).order_by("created_at")
    send(sent, partner, desk)
    PartnerWebhookEvent.objects.create(
        partner=partner, webhook_id="msg_2Yh8", received_at=timezone.now(), event_type="appointment.no_show",
        referral_ref=str(sent.pk), referral=sent, body="{}", outcome=WebhookOutcome.KEPT_FOR_REVIEW, status_code=409,
        detail="A referral cannot move from sent to no_show.",
    )
    return {"ana": ana, "open": open_case, "exhausted": exhausted, "proposed": proposed, "partner": partner}


@pytest.fixture
def staff_page(chromium, live_server, desk):
    """A browser tab signed in as clinic staff; every request outside the live server is refused and recorded."""
    context = chromium.new_context(viewport=VIEWPORT, color_scheme="light", locale="en-GB", timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(10_000)
    refused = block_the_network(page, live_server.url)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", desk.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.base = live_server.url
    yield page
    context.close()
    assert refused == [], f"the admin tried to load from outside: {refused}"


def test_staff_see_an_open_escalation_on_the_home_page_and_acknowledge_it(staff_page, scene, desk):
    page = staff_page
    page.goto(f"{page.base}/admin/")
    row = page.locator(f'tr[data-escalation="{scene["open"].pk}"]')
    assert "Ana García López" in row.inner_text() and "Cauda equina" in row.inner_text()
    assert "6 min" in row.inner_text() and "Tier 1" in row.inner_text()
    expect(page.locator(f'tr.exhausted[data-escalation="{scene["exhausted"].pk}"]')).to_be_visible()
    expect(page.locator("#overdue-referrals").get_by_text("Overdue by 3 h")).to_be_visible()
    screenshot(page, "home")

    row.get_by_role("button", name="Acknowledge: I own this case").click()

    page.wait_for_url(f"{page.base}/admin/")
    expect(page.locator(".messagelist")).to_contain_text("acknowledged: it is yours")
    assert page.locator(f'tr[data-escalation="{scene["open"].pk}"]').count() == 0
    escalation = Escalation.objects.get(pk=scene["open"].pk)
    assert (escalation.status, escalation.acknowledged_by, escalation.acknowledged_via) == (
        "acknowledged", desk, "admin")


def test_staff_find_a_patient_and_read_their_timeline_and_assessment(staff_page, scene):
    page = staff_page
    page.goto(f"{page.base}/admin/patients/patient/")
    page.fill("#searchbar", "García")
    page.press("#searchbar", "Enter")
    page.get_by_role("link", name="García López").click()

    timeline = page.locator("#timeline")
    expect(timeline).to_be_visible()
    text = timeline.inner_text()
    for expected in ("Assessment submitted", "Triaged under ruleset", "SMS page to an on-call contact to Dr Tier One",
                     "referral: Proposed → Sent", "Partner event appointment.no_show", "Kept for review"):
        assert expected in text, expected
    assert text.index("Partner event") < text.index("Assessment submitted"), "newest first"
    screenshot(page, "patient-timeline")

    timeline.get_by_role("link", name="Assessment submitted").click()
    rule = "Bladder, bowel or saddle symptoms (cauda equina warning signs)"
    expect(page.get_by_text(rule, exact=True)).to_be_visible()
    expect(page.get_by_text("Are you unable to pass urine, or is it much harder than usual?")).to_be_visible()
    screenshot(page, "assessment")


def test_staff_move_a_referral_on_the_board(staff_page, scene, desk):
    page = staff_page
    page.get_by_role("link", name="Referrals board").first.click()
    card = page.locator(f'[data-column="proposed"] [data-referral="{scene["proposed"].pk}"]')
    card.locator("select[name=partner]").select_option(label=scene["partner"].name)
    screenshot(page, "referrals-board")

    card.get_by_role("button", name="Send").click()

    page.wait_for_url(f"{page.base}/admin/referrals/referral/board/")
    expect(page.locator(f'[data-column="sent"] [data-referral="{scene["proposed"].pk}"]')).to_be_visible()
    expect(page.locator(".messagelist")).to_contain_text("is now sent")
    referral = Referral.objects.get(pk=scene["proposed"].pk)
    last = referral.events.last()
    assert (referral.status, referral.partner, last.source, last.by) == ("sent", scene["partner"], "admin", desk)
