"""SLA clocks per priority, working days over a weekend, and the overdue sweep on frozen time."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import override_settings

from accounts.models import Role
from referrals import actions
from referrals.models import ChangeSource, Referral
from referrals.selectors import referrals_newly_overdue
from referrals.sla import add_working_time, parse_duration
from tests.factories import EMERGENCY, ROUTINE, URGENT, ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db

FRIDAY_10 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(("text", "length", "working"), [
    ("1h", timedelta(hours=1), False), ("24h", timedelta(hours=24), False), ("5d", timedelta(days=5), False),
    ("6w", timedelta(weeks=6), False), ("1wd", timedelta(days=1), True), ("1.5h", timedelta(minutes=90), False),
])
def test_sla_durations_are_read_from_their_short_form(text, length, working):
    duration = parse_duration(text)

    assert (duration.length, duration.working_days_only) == (length, working)


@pytest.mark.parametrize("text", ["", "1", "h", "1 day", "-1h", "1y", None])
def test_a_malformed_sla_duration_is_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_malformed_sla_setting_fails_the_system_check():
    from referrals.apps import check_referral_settings

    with override_settings(REFERRAL_SLA={"urgent": {"accept": "soon", "seen": "7d"}}):
        problems = [message.msg for message in check_referral_settings()]

    assert any("emergency" in problem for problem in problems)
    assert any("'urgent'" in problem and "soon" in problem for problem in problems)
    assert not check_referral_settings()


@pytest.mark.parametrize(("start", "due"), [
    (datetime(2026, 11, 19, 15, 0, tzinfo=UTC), datetime(2026, 11, 20, 15, 0, tzinfo=UTC)),  # Thu -> Fri
    (datetime(2026, 11, 20, 15, 0, tzinfo=UTC), datetime(2026, 11, 23, 15, 0, tzinfo=UTC)),  # Fri -> Mon
    (datetime(2026, 11, 21, 10, 0, tzinfo=UTC), datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),  # Sat -> end of Mon
    (datetime(2026, 11, 22, 23, 0, tzinfo=UTC), datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),  # Sun -> end of Mon
    (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),  # Mon 00:00 -> Tue
])
def test_one_working_day_skips_the_weekend(start, due):
    assert add_working_time(start, timedelta(days=1)) == due


@override_settings(TIME_ZONE="Europe/Madrid")
def test_working_days_follow_the_local_calendar():
    friday_late = datetime(2026, 11, 20, 23, 30, tzinfo=ZoneInfo("Europe/Madrid"))  # Friday 22:30 UTC

    assert add_working_time(friday_late, timedelta(days=1)) == datetime(2026, 11, 23, 23, 30,
                                                                         tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.mark.parametrize(("answers", "priority", "accept_due", "seen_due"), [
    (EMERGENCY, "emergency", FRIDAY_10 + timedelta(hours=1), FRIDAY_10 + timedelta(hours=24)),
    (URGENT, "urgent", FRIDAY_10 + timedelta(days=3), FRIDAY_10 + timedelta(days=7)),  # 1 working day: Monday
    (ROUTINE, "routine", FRIDAY_10 + timedelta(days=5), FRIDAY_10 + timedelta(weeks=6)),
])
def test_due_by_is_the_acceptance_clock_then_the_seen_clock_per_priority(
    make_referrals, patient, partner, staff, answers, priority, accept_due, seen_due
):
    with time_machine.travel(FRIDAY_10, tick=False):
        referral = make_referrals(patient, answers)[0]
        assert (referral.priority, referral.sla_clock, referral.due_by) == (priority, "acceptance", accept_due)

        sent = actions.referral_send(referral=referral, partner=partner.partner, by=staff, source="api")
        assert sent.due_by == accept_due

    with time_machine.travel(FRIDAY_10 + timedelta(minutes=30), tick=False):
        accepted = actions.referral_accept(referral=referral, by=None, source="webhook")

    assert (accepted.sla_clock, accepted.due_by) == ("seen", seen_due)


def test_the_sweep_marks_an_overdue_referral_and_tells_the_clinics_staff_once_per_breach(
    make_referrals, patient, partner, staff, clinician, api_as
):
    elsewhere = UserFactory(role=Role.STAFF, clinic=ClinicFactory())
    with time_machine.travel(FRIDAY_10, tick=False):
        referral, physiotherapy = make_referrals(patient, URGENT)
        actions.referral_send(referral=referral, partner=partner.partner, by=staff, source="api")
        actions.referral_cancel(referral=physiotherapy, reason="Already under a physiotherapist", by=staff,
                                source="api")

    with time_machine.travel(datetime(2026, 11, 23, 9, 59, tzinfo=UTC), tick=False):  # Monday, in time
        assert actions.referrals_mark_overdue() == 0
    assert mail.outbox == []

    with time_machine.travel(datetime(2026, 11, 23, 10, 1, tzinfo=UTC), tick=False):  # Monday, late
        assert actions.referrals_mark_overdue() == 1
        assert actions.referrals_mark_overdue() == 0
        listed = api_as(staff).get("/api/v1/referrals/?overdue=true").json()
        assert [item["id"] for item in listed["results"]] == [str(referral.pk)]
        assert listed["results"][0]["overdue"] is True
        not_overdue = api_as(staff).get("/api/v1/referrals/?overdue=false").json()["results"]
        assert [item["id"] for item in not_overdue] == [str(physiotherapy.pk)]

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [staff.email]  # not the clinician, not another clinic's staff
    assert elsewhere.email not in mail.outbox[0].to and clinician.email not in mail.outbox[0].to
    assert str(referral.pk) in mail.outbox[0].body and patient.last_name not in mail.outbox[0].body
    referral.refresh_from_db()
    assert referral.overdue_since == datetime(2026, 11, 23, 10, 1, tzinfo=UTC)
    assert referral.overdue_notified_at == referral.overdue_since

    with time_machine.travel(datetime(2026, 11, 23, 11, 0, tzinfo=UTC), tick=False):
        actions.referral_accept(referral=referral, by=None, source=ChangeSource.WEBHOOK)
        assert actions.referrals_mark_overdue() == 0  # another clock runs: seen by Friday 27th 10:00
    referral.refresh_from_db()
    assert referral.overdue_since is None

    with time_machine.travel(datetime(2026, 11, 27, 10, 1, tzinfo=UTC), tick=False):
        assert actions.referrals_mark_overdue() == 1  # a second breach, told again
    assert len(mail.outbox) == 2


class FailingEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP is down")


def test_an_overdue_email_that_fails_is_tried_again_by_the_next_sweep(make_referrals, patient, staff):
    with time_machine.travel(FRIDAY_10, tick=False):
        referral = make_referrals(patient, EMERGENCY)[0]

    with time_machine.travel(FRIDAY_10 + timedelta(hours=2), tick=False):
        with override_settings(EMAIL_BACKEND="tests.referrals.test_sla.FailingEmailBackend"):
            assert actions.referrals_mark_overdue() >= 1
        referral.refresh_from_db()
        assert referral.overdue_since is not None and referral.overdue_notified_at is None

        actions.referrals_mark_overdue()

    referral.refresh_from_db()
    assert referral.overdue_notified_at is not None
    assert len(mail.outbox) == 1


def test_a_changed_priority_restarts_the_clock_of_a_proposed_referral(make_referrals, patient):
    with time_machine.travel(FRIDAY_10, tick=False):
        referral = make_referrals(patient, ROUTINE)[0]
    later = FRIDAY_10 + timedelta(hours=5)

    with time_machine.travel(later, tick=False):
        actions.referrals_reprioritise(assessment=referral.assessment, priority="emergency")

    referral.refresh_from_db()
    assert (referral.priority, referral.clock_started_at, referral.due_by) == (
        "emergency", later, later + timedelta(hours=1))


def test_the_sweep_reads_a_partial_index_on_due_by_over_open_referrals():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'referral_open_due_idx'")
        (definition,) = cursor.fetchone()
    assert "(due_by)" in definition and "WHERE" in definition
    for status in ("proposed", "sent", "accepted", "scheduled", "no_show"):
        assert status in definition
    assert "completed" not in definition and "cancelled" not in definition

    query = referrals_newly_overdue(now=datetime.now(UTC)).values("pk")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "referral_open_due_idx" in plan, plan
    assert "due_by <" in plan


def test_a_referral_that_is_final_is_never_overdue(sent_referral, api_as, staff):
    actions.referral_cancel(referral=sent_referral, reason="Not needed", by=staff, source="api")

    with time_machine.travel(datetime.now(UTC) + timedelta(days=365), tick=False):
        actions.referrals_mark_overdue()
        overdue = api_as(staff).get("/api/v1/referrals/?overdue=true").json()["results"]

    assert overdue  # the other referral of the triage, still proposed
    assert str(sent_referral.pk) not in [item["id"] for item in overdue]
    assert Referral.objects.get(pk=sent_referral.pk).overdue_since is None
