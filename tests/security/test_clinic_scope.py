"""A clinic's lists are scoped by the clinic each row carries, copied from the patient when the row is written."""

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from notifications.models import OnCallContact
from notifications.selectors import escalations_visible_to
from referrals.models import Referral
from referrals.selectors import referrals_needing_attention, referrals_visible_to
from tests.factories import EMERGENCY, ClinicFactory, PatientFactory, UserFactory
from triage.actions import assessment_submit, assessment_triage
from triage.selectors import assessments_visible_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_call():
    return OnCallContact.objects.create(name="Dr On Call", phone="+34660000001", email="oncall@example.org", tier=1)


def triaged_emergency(*, clinic):
    patient = PatientFactory(clinic=clinic)
    submitter = UserFactory(role=Role.CLINICIAN, clinic=clinic)
    assessment = assessment_submit(submitted_by=submitter, patient=patient, answers=EMERGENCY)
    assessment_triage(assessment_id=assessment.id)
    assessment.refresh_from_db()
    return assessment


def test_an_assessment_its_referrals_and_its_escalation_carry_the_patients_clinic(on_call):
    clinic = ClinicFactory()

    assessment = triaged_emergency(clinic=clinic)

    assert assessment.clinic_id == clinic.id
    assert {referral.clinic_id for referral in assessment.referrals.all()} == {clinic.id}
    assert assessment.escalation.clinic_id == clinic.id


def test_staff_see_the_rows_of_their_clinic_and_none_of_another(on_call):
    ours, theirs = ClinicFactory(), ClinicFactory()
    mine, other = triaged_emergency(clinic=ours), triaged_emergency(clinic=theirs)
    staff = UserFactory(role=Role.STAFF, clinic=ours)

    assert list(assessments_visible_to(user=staff)) == [mine]
    assert set(referrals_visible_to(user=staff)) == set(mine.referrals.all())
    assert list(escalations_visible_to(user=staff)) == [mine.escalation]
    assert not referrals_visible_to(user=staff).filter(assessment=other).exists()


@pytest.mark.parametrize("visible_to", [assessments_visible_to, referrals_visible_to, escalations_visible_to])
@pytest.mark.parametrize("role", [Role.STAFF, Role.CLINICIAN])
def test_a_clinics_scope_reads_one_column_and_joins_no_patient(visible_to, role, clinic):
    user = UserFactory(role=role, clinic=clinic)

    sql = str(visible_to(user=user).query)

    assert f'."clinic_id" = {clinic.id.hex}' in sql.replace("-", "")
    assert "patients_patient" not in sql and "triage_assessment\" ON" not in sql


@pytest.mark.parametrize("visible_to", [assessments_visible_to, referrals_visible_to, escalations_visible_to])
def test_a_clinics_count_reads_its_own_part_of_an_index(visible_to, on_call):
    """The clinic leads an index of each list: counting a small clinic does not read every clinic's rows."""
    ours, theirs = ClinicFactory(), ClinicFactory()
    triaged_emergency(clinic=ours)
    for _ in range(3):
        triaged_emergency(clinic=theirs)
    staff = UserFactory(role=Role.STAFF, clinic=ours)
    sql, params = visible_to(user=staff).order_by().values("pk").query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM ({sql}) AS listed", params)  # noqa: S608 (compiled by Django)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Cond: (clinic_id = " in plan, plan


def test_a_clinics_worklist_count_reads_its_own_part_of_the_worklist_indexes(on_call):
    """Declined or overdue, for one clinic: each arm of the worklist's bitmap scans keeps only that clinic's rows."""
    ours, theirs = ClinicFactory(), ClinicFactory()
    for clinic in (ours, theirs):
        referral = triaged_emergency(clinic=clinic).referrals.first()
        # Many closed referrals, a few open and overdue, a few declined: what a clinic's table holds after a while.
        Referral.objects.bulk_create(
            Referral(assessment_id=referral.assessment_id, patient_id=referral.patient_id, clinic=clinic,
                     specialty=referral.specialty, priority=referral.priority,
                     clock_started_at=referral.clock_started_at, due_by=timezone.now() - timezone.timedelta(days=1),
                     needs_resend=n % 100 == 1,
                     status="completed" if n % 50 else "sent")
            for n in range(400)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE referrals_referral")
    staff = UserFactory(role=Role.STAFF, clinic=ours)
    worklist = referrals_needing_attention(referrals_visible_to(user=staff), now=timezone.now())
    sql, params = worklist.order_by().values("pk").query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a few hundred rows: reading them all is cheaper yet
        cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM ({sql}) AS listed", params)  # noqa: S608 (compiled by Django)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "referral_clinic_open_due_idx" in plan and "referral_clinic_resend_idx" in plan, plan
