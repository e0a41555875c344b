"""The dashboard's reads: what each worklist holds, in which order, and for whom."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Role
from dashboard import selectors
from notifications.actions import escalation_acknowledge
from notifications.models import Escalation
from referrals.models import Referral
from tests.factories import EMERGENCY, ROUTINE, URGENT, ClinicFactory, PatientFactory, UserFactory, answers
from triage.actions import assessment_submit, assessment_triage
from triage.models import Assessment

from .conftest import exhaust, send

pytestmark = pytest.mark.django_db


def test_unacknowledged_escalations_are_exhausted_first_then_oldest_first(desk, emergency, clinic):
    now = timezone.now()
    newer, older, exhausted, owned = (emergency(PatientFactory(clinic=clinic)) for _ in range(4))
    Escalation.objects.filter(pk=older.pk).update(opened_at=now - timedelta(minutes=30))
    Escalation.objects.filter(pk=newer.pk).update(opened_at=now - timedelta(minutes=5))
    exhaust(exhausted)
    escalation_acknowledge(escalation=owned, by=desk, via="admin")

    rows = selectors.escalations_unacknowledged(user=desk, now=now)

    assert [row.escalation.pk for row in rows] == [exhausted.pk, older.pk, newer.pk]
    assert rows[0].exhausted and not rows[1].exhausted
    assert rows[1].open_for_minutes == 30 and rows[1].open_for_text == "30 min"
    assert [flag.code for flag in rows[1].red_flags] == ["cauda_equina"]
    assert rows[1].red_flags[0].title.startswith("Bladder, bowel or saddle symptoms")


def test_every_worklist_holds_only_the_users_clinic(desk, emergency, triaged, elsewhere):
    emergency(elsewhere)
    referral = Referral.objects.filter(assessment__patient=elsewhere).first()
    Referral.objects.filter(pk=referral.pk).update(due_by=timezone.now() - timedelta(hours=1))
    now = timezone.now()

    assert selectors.escalations_unacknowledged(user=desk, now=now) == []
    assert selectors.referrals_overdue_for(user=desk, now=now) == []
    assert selectors.assessments_urgent_today(user=desk, now=now) == []
    assert selectors.activity_last_days(user=desk, now=now).totals == {"emergency": 0, "urgent": 0, "routine": 0}
    assert all(column.total == 0 for column in selectors.referrals_board(user=desk, now=now))


def test_overdue_referrals_are_open_past_their_deadline_longest_overdue_first(desk, triaged, patient):
    now = timezone.now()
    first, second = Referral.objects.filter(assessment=triaged(patient)).order_by("created_at")
    Referral.objects.filter(pk=first.pk).update(due_by=now - timedelta(minutes=10))
    Referral.objects.filter(pk=second.pk).update(due_by=now - timedelta(hours=5))

    overdue = selectors.referrals_overdue_for(user=desk, now=now)

    assert [referral.pk for referral in overdue] == [second.pk, first.pk]
    assert selectors.sla_clock(overdue[0], now=now).text == "Overdue by 5 h 00 min"


def test_todays_urgent_assessments_put_emergencies_first_and_leave_out_routine_and_yesterday(
        desk, triaged, oncall, clinic):
    urgent = triaged(PatientFactory(clinic=clinic), URGENT)
    emergency = triaged(PatientFactory(clinic=clinic), EMERGENCY)
    triaged(PatientFactory(clinic=clinic), ROUTINE)
    yesterday = triaged(PatientFactory(clinic=clinic), URGENT)
    Assessment.objects.filter(pk=yesterday.pk).update(submitted_at=timezone.now() - timedelta(days=1, hours=1))

    today = selectors.assessments_urgent_today(user=desk, now=timezone.now())

    assert [assessment.pk for assessment in today] == [emergency.pk, urgent.pk]


def test_activity_counts_urgencies_per_day_over_fourteen_days_and_the_median_wait(desk, triaged, emergency, clinic):
    now = timezone.now()
    for days_ago, case in [(0, URGENT), (0, ROUTINE), (3, URGENT), (20, URGENT)]:
        assessment = triaged(PatientFactory(clinic=clinic), case)
        Assessment.objects.filter(pk=assessment.pk).update(submitted_at=now - timedelta(days=days_ago))
    waits = [2, 4, 9]
    for minutes in waits:
        escalation = emergency(PatientFactory(clinic=clinic))
        escalation_acknowledge(escalation=escalation, by=desk, via="admin")
        acknowledged_at = Escalation.objects.get(pk=escalation.pk).acknowledged_at
        Escalation.objects.filter(pk=escalation.pk).update(opened_at=acknowledged_at - timedelta(minutes=minutes))

    activity = selectors.activity_last_days(user=desk, now=now)

    assert len(activity.days) == 14 and activity.days[-1].day == timezone.localdate(now)
    assert activity.totals == {"emergency": 3, "urgent": 2, "routine": 1}
    assert activity.days[-1].counts == {"emergency": 3, "urgent": 1, "routine": 1}
    assert activity.days[-4].counts["urgent"] == 1
    assert activity.median_to_acknowledge == timedelta(minutes=4) and activity.acknowledged == 3


def test_the_median_wait_of_an_even_number_of_acknowledgements_is_the_mean_of_the_middle_two(desk, emergency, clinic):
    for minutes in [1, 2, 6, 30]:
        escalation = emergency(PatientFactory(clinic=clinic))
        escalation_acknowledge(escalation=escalation, by=desk, via="admin")
        acknowledged_at = Escalation.objects.get(pk=escalation.pk).acknowledged_at
        Escalation.objects.filter(pk=escalation.pk).update(opened_at=acknowledged_at - timedelta(minutes=minutes))

    activity = selectors.activity_last_days(user=desk, now=timezone.now())

    assert activity.median_to_acknowledge == timedelta(minutes=4) and activity.acknowledged == 4


def test_no_acknowledgement_in_the_window_has_no_median_wait(desk, emergency, clinic):
    emergency(PatientFactory(clinic=clinic))

    activity = selectors.activity_last_days(user=desk, now=timezone.now())

    assert activity.median_to_acknowledge is None and activity.acknowledged == 0


def test_the_board_puts_each_open_referral_in_its_status_column_nearest_deadline_first(
        desk, triaged, partner, clinic):
    now = timezone.now()
    a_first, _ = Referral.objects.filter(assessment=triaged(PatientFactory(clinic=clinic))).order_by("created_at")
    b_first, _ = Referral.objects.filter(assessment=triaged(PatientFactory(clinic=clinic))).order_by("created_at")
    send(a_first, partner, desk)
    Referral.objects.filter(pk=b_first.pk).update(due_by=now - timedelta(hours=1))

    columns = {column.key: column for column in selectors.referrals_board(user=desk, now=now)}

    assert [r.pk for r in columns["sent"].referrals] == [a_first.pk]
    assert columns["proposed"].referrals[0].pk == b_first.pk
    assert columns["proposed"].total == 3 and columns["proposed"].overdue == 1
    assert columns["proposed"].referrals[0].clock.overdue


def test_the_board_shows_a_bounded_number_per_column_and_counts_the_rest(desk, triaged, clinic):
    for _ in range(3):
        triaged(PatientFactory(clinic=clinic))

    columns = {c.key: c for c in selectors.referrals_board(user=desk, now=timezone.now(), per_column=4)}

    assert (len(columns["proposed"].referrals), columns["proposed"].total, columns["proposed"].hidden) == (4, 6, 2)


def test_declined_referrals_to_resend_have_their_own_column(desk, triaged, partner, patient):
    from referrals.actions import referral_decline

    referral = send(Referral.objects.filter(assessment=triaged(patient)).first(), partner, desk)
    referral_decline(referral=referral, reason="No capacity", by=desk, source="admin", reason_code="no_capacity")

    columns = {c.key: c for c in selectors.referrals_board(user=desk, now=timezone.now())}

    assert [r.pk for r in columns["resend"].referrals] == [referral.pk]


def test_the_timeline_holds_every_kind_of_event_newest_first(desk, emergency, partner, patient):
    escalation = emergency(patient)
    referral = Referral.objects.filter(assessment=escalation.assessment).first()
    send(referral, partner, desk)
    escalation_acknowledge(escalation=escalation, by=desk, via="admin")

    entries = selectors.patient_timeline(patient=patient)

    kinds = {entry.kind for entry in entries}
    assert kinds == {"assessment", "triage", "escalation", "notification", "referral"}
    assert [entry.at for entry in entries] == sorted((entry.at for entry in entries), reverse=True)
    assert entries[-1].title == "Assessment submitted"
    assert any(entry.badge == "queued" and entry.kind == "notification" for entry in entries)


def test_the_timeline_costs_the_same_queries_for_one_assessment_or_many(
        desk, emergency, patient, django_assert_max_num_queries):
    emergency(patient)
    with django_assert_max_num_queries(7):
        selectors.patient_timeline(patient=patient)
    for _ in range(4):
        assessment = assessment_submit(submitted_by=desk, patient=patient, answers=EMERGENCY)
        assessment_triage(assessment_id=assessment.pk)
    with django_assert_max_num_queries(7):
        assert len(selectors.patient_timeline(patient=patient)) > 20


def test_answers_read_as_the_questions_asked():
    shown = {answer.code: answer for answer in selectors.answers_as_questions(
        answers(recent_surgery="hip_replacement", days_since_surgery=3, known_conditions=[], pain_score=None))}

    assert shown["age"].question == "How old are you, in years?" and shown["age"].value == "45"
    assert shown["urinary_retention"].value == "No"
    assert shown["recent_surgery"].value == "Hip replacement"
    assert shown["known_conditions"].value == "None"
    assert (shown["pain_score"].value, shown["pain_score"].reported) == ("Not reported", False)
    assert list(shown)[:3] == ["age", "affected_side", "days_since_onset"], "the catalogue's order"


def test_the_activity_is_kept_a_minute_for_its_scope_then_computed_afresh(desk, triaged, clinic):
    now = timezone.now()
    triaged(PatientFactory(clinic=clinic), URGENT)
    assert selectors.activity_last_days_kept(user=desk, now=now).totals["urgent"] == 1

    triaged(PatientFactory(clinic=clinic), URGENT)

    assert selectors.activity_last_days_kept(user=desk, now=now).totals["urgent"] == 1  # kept
    cache.clear()  # as when ACTIVITY_KEPT_SECONDS have passed
    assert selectors.activity_last_days_kept(user=desk, now=now).totals["urgent"] == 2


def test_a_kept_activity_is_never_shown_to_another_clinic(desk, triaged, clinic):
    now = timezone.now()
    triaged(PatientFactory(clinic=clinic), URGENT)
    other_desk = UserFactory(role=Role.STAFF, clinic=ClinicFactory())

    assert selectors.activity_last_days_kept(user=desk, now=now).totals["urgent"] == 1
    assert selectors.activity_last_days_kept(user=other_desk, now=now).totals["urgent"] == 0


def test_with_the_cache_down_the_activity_is_computed(desk, triaged, clinic, cache_down):
    triaged(PatientFactory(clinic=clinic), URGENT)

    assert selectors.activity_last_days_kept(user=desk, now=timezone.now()).totals["urgent"] == 1
