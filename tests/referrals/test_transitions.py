"""The status machine: every pair of statuses, allowed or refused, through the actions that make the moves."""

from datetime import UTC, datetime, timedelta

import pytest

from common.errors import TransitionNotAllowed
from referrals import actions
from referrals.models import ChangeSource, Referral, ReferralStatus
from referrals.state import FINAL_STATUSES, OPEN_STATUSES, TRANSITIONS, move_allowed

pytestmark = pytest.mark.django_db

S = ReferralStatus
# The contract (§8), written out independently of referrals.state.
CONTRACT_MOVES = {
    (S.PROPOSED, S.SENT), (S.SENT, S.ACCEPTED), (S.ACCEPTED, S.SCHEDULED), (S.SCHEDULED, S.COMPLETED),
    (S.SENT, S.DECLINED), (S.ACCEPTED, S.DECLINED),
    (S.SCHEDULED, S.NO_SHOW), (S.NO_SHOW, S.SCHEDULED),
    (S.SCHEDULED, S.SCHEDULED),  # ours: a new time for the appointment
    *{(status, S.CANCELLED) for status in (S.PROPOSED, S.SENT, S.ACCEPTED, S.SCHEDULED, S.NO_SHOW)},
}
ALL_PAIRS = [(a, b) for a in S.values for b in S.values]
APPOINTMENT = datetime(2030, 3, 4, 9, 30, tzinfo=UTC)


def test_the_table_allows_exactly_the_contracts_moves():
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}

    assert allowed == CONTRACT_MOVES
    assert {S.COMPLETED, S.DECLINED, S.CANCELLED} == FINAL_STATUSES
    assert set(OPEN_STATUSES) == set(S.values) - FINAL_STATUSES


def put_in(referral: Referral, status: str, partner) -> Referral:
    """Test set-up only: place a referral in a status without the machine."""
    Referral.objects.filter(pk=referral.pk).update(
        status=status, partner=None if status == S.PROPOSED else partner, appointment_at=APPOINTMENT
    )
    referral.refresh_from_db()
    return referral


def make_move(referral: Referral, target: str, *, partner, by):
    common = {"referral": referral, "by": by, "source": ChangeSource.ADMIN}
    if target == S.SENT:
        return actions.referral_send(partner=partner, **common)
    if target == S.ACCEPTED:
        return actions.referral_accept(**common)
    if target == S.DECLINED:
        return actions.referral_decline(reason="No capacity", reason_code="no_capacity", **common)
    if target == S.SCHEDULED:
        return actions.referral_schedule(appointment_at=APPOINTMENT + timedelta(days=1), **common)
    if target == S.COMPLETED:
        return actions.referral_complete(outcome="seen", **common)
    if target == S.NO_SHOW:
        return actions.referral_mark_no_show(**common)
    if target == S.CANCELLED:
        return actions.referral_cancel(reason="Patient moved away", **common)
    raise TransitionNotAllowed("Nothing moves a referral back to proposed.")


@pytest.mark.parametrize(("from_status", "to_status"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_move_is_made_and_recorded_or_refused_leaving_the_referral_as_it_was(
    referral, partner, staff, from_status, to_status
):
    referral = put_in(referral, from_status, partner.partner)
    events_before = referral.events.count()

    if (from_status, to_status) in CONTRACT_MOVES:
        assert move_allowed(from_status, to_status)
        moved = make_move(referral, to_status, partner=partner.partner, by=staff)

        assert moved.status == to_status
        event = Referral.objects.get(pk=referral.pk).events.last()
        assert (event.from_status, event.to_status, event.by, event.source) == (from_status, to_status, staff, "admin")
        assert event.note and event.at is not None
        assert referral.events.count() == events_before + 1
    else:
        assert not move_allowed(from_status, to_status)
        with pytest.raises(TransitionNotAllowed):
            make_move(referral, to_status, partner=partner.partner, by=staff)

        unchanged = Referral.objects.get(pk=referral.pk)
        assert unchanged.status == from_status and unchanged.appointment_at == APPOINTMENT
        assert unchanged.events.count() == events_before


def test_a_move_the_machine_refuses_is_a_409_through_the_api(api_as, staff, sent_referral, partner):
    client = api_as(staff)

    response = client.post(f"/api/v1/referrals/{sent_referral.pk}/send/", {"partner": partner.slug}, format="json")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "transition_not_allowed"


def test_a_final_referral_cannot_be_cancelled(api_as, staff, sent_referral):
    actions.referral_decline(referral=sent_referral, reason="Full", by=None, source="webhook")

    response = api_as(staff).post(f"/api/v1/referrals/{sent_referral.pk}/cancel/", {"reason": "x"}, format="json")

    assert response.status_code == 409


def test_rescheduling_to_the_same_time_is_refused_without_a_history_entry(sent_referral, staff):
    actions.referral_accept(referral=sent_referral, by=staff, source="admin")
    actions.referral_schedule(referral=sent_referral, appointment_at=APPOINTMENT, by=staff, source="admin")
    count = sent_referral.events.count()

    with pytest.raises(TransitionNotAllowed):
        actions.referral_schedule(referral=sent_referral, appointment_at=APPOINTMENT, by=staff, source="admin")

    assert sent_referral.events.count() == count
