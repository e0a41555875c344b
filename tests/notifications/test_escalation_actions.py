"""The escalation clock and its tiers, acknowledgement by every path: actions, no worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from notifications.actions import (
    SmsReply,
    escalation_acknowledge,
    escalation_acknowledge_by_link,
    escalation_acknowledge_by_override,
    escalation_acknowledge_by_sms,
    escalation_advance,
    escalation_open,
    escalations_advance_due,
)
from notifications.links import InvalidLink, ack_token
from notifications.models import Escalation, EscalationEvent, Notification, NotificationKind
from tests.factories import PatientFactory, UserFactory

from .conftest import ACK_TIMEOUT_SECONDS, contact, emergency_assessment

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_escalation(patient, staff):
    def make():
        return escalation_open(assessment=emergency_assessment(patient, staff))

    return make


def pages(escalation, tier=None):
    rows = Notification.objects.filter(escalation=escalation, kind=NotificationKind.PAGE)
    return rows.filter(tier=tier) if tier is not None else rows


def test_opening_pages_every_active_tier_1_contact_by_sms_and_email_in_the_same_transaction(
    open_escalation, django_capture_on_commit_callbacks
):
    first, second = contact(1), contact(1)
    contact(1, active=False)
    contact(2)

    with django_capture_on_commit_callbacks() as callbacks:
        escalation = open_escalation()

    escalation.refresh_from_db()
    assert (escalation.status, escalation.tier) == ("open", 1)
    assert escalation.next_tier_due_at == escalation.opened_at + timedelta(seconds=ACK_TIMEOUT_SECONDS)
    assert sorted((n.channel, n.recipient) for n in pages(escalation)) == sorted([
        ("sms", first.phone.as_e164), ("sms", second.phone.as_e164), ("email", first.email), ("email", second.email),
    ])
    assert all(n.status == "queued" and n.attempts == 0 for n in pages(escalation))
    assert len(callbacks) == 1, "the pages are handed to workers once the transaction commits, not before"
    assert list(escalation.events.values_list("kind", "tier")) == [("opened", 0), ("tier_paged", 1)]


def test_opening_twice_opens_one_escalation_and_pages_once(open_escalation, patient, staff):
    contact(1)
    assessment = emergency_assessment(patient, staff)

    first = escalation_open(assessment=assessment)
    again = escalation_open(assessment=assessment)

    assert again.pk == first.pk
    assert pages(first).count() == 2


def test_a_tier_without_active_contacts_is_skipped(open_escalation):
    third = contact(3)

    escalation = open_escalation()

    escalation.refresh_from_db()
    assert escalation.tier == 3
    assert {n.recipient for n in pages(escalation)} == {third.phone.as_e164, third.email}


def test_the_next_tier_is_paged_when_the_clock_runs_out_and_not_before(open_escalation):
    contact(1)
    second = contact(2)
    escalation = open_escalation()
    escalation.refresh_from_db()

    assert escalations_advance_due(now=escalation.next_tier_due_at - timedelta(milliseconds=1)) == 0
    assert escalations_advance_due(now=escalation.next_tier_due_at) == 1

    escalation.refresh_from_db()
    assert escalation.tier == 2
    assert {n.recipient for n in pages(escalation, tier=2)} == {second.phone.as_e164, second.email}


def test_advancing_is_a_compare_and_swap_so_two_sweeps_page_a_tier_once(open_escalation):
    contact(1)
    contact(2)
    escalation = open_escalation()
    stale_copy = Escalation.objects.get(pk=escalation.pk)
    later = timezone.now() + timedelta(seconds=ACK_TIMEOUT_SECONDS + 1)

    assert escalation_advance(escalation=escalation, from_tier=1, now=later) is True
    assert escalation_advance(escalation=stale_copy, from_tier=1, now=later) is False

    assert pages(escalation, tier=2).count() == 2
    assert EscalationEvent.objects.filter(escalation=escalation, kind="tier_paged").count() == 2  # tiers 1 and 2


def test_with_no_tier_left_the_escalation_is_exhausted_and_staff_are_alerted(open_escalation, clinic, staff, settings):
    settings.ESCALATION_ALERT_EMAILS = ["duty-manager@example.org"]
    staff_member = UserFactory(role=Role.STAFF, clinic=clinic, email="staff@example.org")
    UserFactory(role=Role.STAFF, clinic=UserFactory().clinic, email="other-clinic@example.org")
    UserFactory(role=Role.CLINICIAN, clinic=clinic, email="clinician@example.org")
    contact(1)
    escalation = open_escalation()

    assert escalations_advance_due(now=timezone.now() + timedelta(seconds=ACK_TIMEOUT_SECONDS + 1)) == 1

    escalation.refresh_from_db()
    assert (escalation.status, escalation.tier, escalation.next_tier_due_at) == ("exhausted", 1, None)
    assert escalation.exhausted_at is not None
    alerts = Notification.objects.filter(escalation=escalation, kind=NotificationKind.EXHAUSTED_ALERT)
    assert sorted(alerts.values_list("recipient", flat=True)) == sorted(
        [staff.email, staff_member.email, "duty-manager@example.org"]
    )
    assert escalations_advance_due(now=timezone.now() + timedelta(hours=1)) == 0


def test_an_escalation_without_any_contact_is_exhausted_by_the_next_sweep(open_escalation, staff):
    escalation = open_escalation()
    escalation.refresh_from_db()
    assert (escalation.status, escalation.tier) == ("open", 0)
    assert escalation.next_tier_due_at <= timezone.now()

    assert escalations_advance_due() == 1

    escalation.refresh_from_db()
    assert escalation.status == "exhausted"
    assert not pages(escalation).exists()
    alert = Notification.objects.get(escalation=escalation, kind=NotificationKind.EXHAUSTED_ALERT)
    assert alert.recipient == staff.email


def test_acknowledging_stops_the_clock_and_twice_changes_nothing(open_escalation, clinician):
    contact(1)
    contact(2)
    escalation = open_escalation()

    first = escalation_acknowledge(escalation=escalation, by=clinician, via="api")
    acknowledged_at = first.acknowledged_at
    second = escalation_acknowledge(escalation=escalation, by=UserFactory(role=Role.STAFF), via="admin")

    assert (second.status, second.acknowledged_at, second.acknowledged_by, second.acknowledged_via) == (
        "acknowledged", acknowledged_at, clinician, "api"
    )
    assert second.next_tier_due_at is None
    assert escalation.events.filter(kind="acknowledged").count() == 1
    assert escalations_advance_due(now=timezone.now() + timedelta(hours=1)) == 0
    assert not pages(escalation, tier=2).exists()


def test_an_exhausted_escalation_can_still_be_acknowledged(open_escalation, staff):
    escalation = open_escalation()
    escalations_advance_due()

    assert escalation_acknowledge(escalation=escalation, by=staff, via="api").status == "acknowledged"


def test_a_clinician_lowering_the_urgency_acknowledges_by_override(open_escalation, clinician):
    contact(1)
    escalation = open_escalation()

    escalation_acknowledge_by_override(assessment=escalation.assessment, by=clinician)

    escalation.refresh_from_db()
    assert (escalation.status, escalation.acknowledged_via) == ("acknowledged", "override")


def test_a_signed_link_acknowledges_once_for_the_contact_it_was_sent_to(open_escalation):
    paged = contact(1)
    escalation = open_escalation()
    sms = pages(escalation).get(channel="sms")

    first = escalation_acknowledge_by_link(token=ack_token(sms.pk))
    second = escalation_acknowledge_by_link(token=ack_token(sms.pk))

    assert (first.acknowledged_now, second.acknowledged_now) == (True, False)
    escalation.refresh_from_db()
    assert (escalation.acknowledged_via, escalation.acknowledged_by_contact) == ("link", paged)
    assert escalation.acknowledged_by is None


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + "xx", lambda t: "0" * 32 + t[32:], lambda t: "nonsense"])
def test_a_forged_or_mangled_link_is_refused(open_escalation, mangle):
    contact(1)
    escalation = open_escalation()
    token = ack_token(pages(escalation).first().pk)

    with pytest.raises(InvalidLink):
        escalation_acknowledge_by_link(token=mangle(token))
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_an_expired_link_is_refused(open_escalation, settings, time_machine):
    contact(1)
    escalation = open_escalation()
    token = ack_token(pages(escalation).first().pk)
    time_machine.move_to(timezone.now() + timedelta(seconds=settings.ESCALATION_ACK_LINK_MAX_AGE_SECONDS + 5))

    with pytest.raises(InvalidLink, match="expired"):
        escalation_acknowledge_by_link(token=token)


@pytest.mark.parametrize("reply", ["ACK {code}", "ack {code}", "  Ack #{code} thanks", "ACK{code}"])
def test_an_sms_reply_naming_the_case_acknowledges_it(open_escalation, reply):
    paged = contact(1, language="es")
    escalation = open_escalation()

    body = reply.format(code=escalation.case_code)
    result = escalation_acknowledge_by_sms(from_number=paged.phone.as_e164, body=body)

    assert (result.outcome, result.case_code, result.language) == (SmsReply.ACKNOWLEDGED, escalation.case_code, "es")
    escalation.refresh_from_db()
    assert (escalation.status, escalation.acknowledged_via, escalation.acknowledged_by_contact) == (
        "acknowledged", "sms", paged
    )


def test_an_sms_reply_acknowledges_only_a_case_paged_to_that_number(open_escalation):
    contact(1)
    stranger = contact(2)
    escalation = open_escalation()

    wrong_number = escalation_acknowledge_by_sms(from_number=stranger.phone.as_e164,
                                                 body=f"ACK {escalation.case_code}")
    wrong_code = escalation_acknowledge_by_sms(from_number=pages(escalation).get(channel="sms").recipient,
                                               body="ACK 99999")
    gibberish = escalation_acknowledge_by_sms(from_number=stranger.phone.as_e164, body="yes")

    assert [r.outcome for r in (wrong_number, wrong_code, gibberish)] == [
        SmsReply.UNKNOWN_CASE, SmsReply.UNKNOWN_CASE, SmsReply.NOT_UNDERSTOOD
    ]
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_a_second_sms_reply_changes_nothing(open_escalation):
    paged = contact(1)
    escalation = open_escalation()
    body = f"ACK {escalation.case_code}"

    escalation_acknowledge_by_sms(from_number=paged.phone.as_e164, body=body)
    acknowledged_at = Escalation.objects.get(pk=escalation.pk).acknowledged_at
    again = escalation_acknowledge_by_sms(from_number=paged.phone.as_e164, body=body)

    assert again.outcome == SmsReply.ALREADY
    assert Escalation.objects.get(pk=escalation.pk).acknowledged_at == acknowledged_at


def test_pages_carry_the_minimum_and_no_clinical_detail(open_escalation, clinic, staff):
    contact(1, language="en")
    contact(1, language="es")
    patient = PatientFactory(clinic=clinic, first_name="Lucía María", last_name="Fernández Ruiz")
    escalation = escalation_open(assessment=emergency_assessment(patient, staff))

    for page in pages(escalation):
        text = f"{page.subject}\n{page.body}"
        assert "Lucía F." in text
        assert escalation.case_code in text
        assert f"ACK {escalation.case_code}" in text
        assert "http://testserver/api/v1/escalations/ack/" in text
        for clinical in ("cauda", "retention", "saddle", "urinary", "incontinence", "Fernández", "1970", "+34"):
            assert clinical.lower() not in text.lower()
    spanish = pages(escalation).get(channel="sms", language="es").body
    assert spanish.startswith("URGENCIA")
    assert pages(escalation).get(channel="sms", language="en").body.startswith("EMERGENCY")
