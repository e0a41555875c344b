"""Dashboard test helpers: clinic users made through accounts.actions, triaged cases made through the real actions."""

from __future__ import annotations

import pytest

from accounts.actions import user_set_role
from accounts.models import Role
from notifications.actions import escalation_advance
from notifications.models import Escalation, OnCallContact
from referrals import actions as referral_actions
from referrals.models import ChangeSource, Partner, Referral
from tests.factories import EMERGENCY, URGENT, ClinicFactory, PatientFactory, UserFactory
from triage.actions import assessment_submit, assessment_triage
from triage.models import Assessment


def clinic_user(role: str, clinic, **fields):
    """A clinician or clinic staff member as the admin makes them: in their group, allowed into the admin."""
    return user_set_role(user=UserFactory(role=Role.PATIENT, clinic=clinic, **fields), role=role)


@pytest.fixture
def desk(clinic):
    """A member of the clinic staff (role staff, group "Clinic staff")."""
    return clinic_user(Role.STAFF, clinic, first_name="Dana", last_name="Desk")


@pytest.fixture
def doctor(clinic):
    return clinic_user(Role.CLINICIAN, clinic)


@pytest.fixture
def elsewhere(db):
    """Another clinic, with its own patient."""
    other = ClinicFactory(slug="elsewhere", name="Elsewhere clinic")
    return PatientFactory(clinic=other, first_name="Otto", last_name="Elsewhere")


@pytest.fixture
def oncall(db):
    return OnCallContact.objects.create(name="Dr Tier One", phone="+34600000001", email="tier1@example.org", tier=1)


@pytest.fixture
def triaged(desk):
    """triaged(patient, answers) -> the assessment, triaged under the current ruleset by the real actions."""

    def make(patient, answers=URGENT) -> Assessment:
        assessment = assessment_submit(submitted_by=desk, patient=patient, answers=answers)
        assessment_triage(assessment_id=assessment.pk)
        assessment.refresh_from_db()
        return assessment

    return make


@pytest.fixture
def emergency(triaged, oncall):
    """emergency(patient) -> its open escalation (tier 1 paged)."""

    def make(patient) -> Escalation:
        return Escalation.objects.get(assessment=triaged(patient, EMERGENCY))

    return make


def exhaust(escalation: Escalation) -> Escalation:
    """Nobody answered tier 1 and there is no tier 2."""
    escalation_advance(escalation=escalation, from_tier=escalation.tier)
    escalation.refresh_from_db()
    return escalation


@pytest.fixture
def partner(db) -> Partner:
    partner, _secret = referral_actions.partner_create(
        name="Hospital Norte", slug="norte",
        specialties=["neurosurgery", "neurology", "orthopedics", "physiotherapy", "pain_management",
                     "general_surgery"],
    )
    return partner


def send(referral: Referral, partner: Partner, by) -> Referral:
    return referral_actions.referral_send(referral=referral, partner=partner, by=by, source=ChangeSource.API)


# --------------------------------------------------------------------------- the browser (tests marked `browser`)

@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium through Playwright, once per session; skipped loudly when either is missing."""
    from .browser import launched_chromium

    with launched_chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """For pytest-playwright's own fixtures (`page`, `browser`), should a test use them: the same Chromium."""
    from .browser import LAUNCH_ARGS

    return dict(LAUNCH_ARGS)
