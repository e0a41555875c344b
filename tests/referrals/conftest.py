"""Referrals test helpers: triaged referrals, partners with their secrets, signed partner events."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from accounts.models import Role
from referrals import actions
from referrals.models import ChangeSource, Partner, Referral, Specialty
from tests.factories import URGENT, UserFactory
from triage.actions import assessment_submit, assessment_triage

ALL_SPECIALTIES = list(Specialty.values)


@dataclass
class PartnerWithSecret:
    partner: Partner
    secret: str

    @property
    def slug(self) -> str:
        return self.partner.slug


@pytest.fixture
def make_partner(db):
    def make(slug: str | None = None, specialties: list[str] | None = None, webhook_url: str = "",
             active: bool = True) -> PartnerWithSecret:
        partner, secret = actions.partner_create(
            name=f"Hospital {slug or 'x'}", slug=slug or f"hospital-{uuid.uuid4().hex[:8]}",
            specialties=specialties or ALL_SPECIALTIES, webhook_url=webhook_url, active=active,
        )
        return PartnerWithSecret(partner, secret)

    return make


@pytest.fixture
def partner(make_partner) -> PartnerWithSecret:
    return make_partner("ours")


@pytest.fixture
def other_partner(make_partner) -> PartnerWithSecret:
    return make_partner("theirs")


@pytest.fixture
def make_referrals(staff):
    """make_referrals(patient, answers=URGENT) -> the referrals the triage proposed (primary first)."""

    def make(patient, body_answers=URGENT) -> list[Referral]:
        assessment = assessment_submit(submitted_by=staff, patient=patient, answers=body_answers)
        evaluation = assessment_triage(assessment_id=assessment.pk)
        primary = evaluation.recommended_specialties[0]
        referrals = list(Referral.objects.filter(assessment=assessment))
        return sorted(referrals, key=lambda referral: referral.specialty != primary)

    return make


@pytest.fixture
def referral(make_referrals, patient) -> Referral:
    return make_referrals(patient)[0]


@pytest.fixture
def sent_referral(referral, partner, staff) -> Referral:
    return actions.referral_send(referral=referral, partner=partner.partner, by=staff, source=ChangeSource.API)


@pytest.fixture
def partner_user(partner):
    user = UserFactory(role=Role.PARTNER, clinic=None)
    partner.partner.accounts.add(user)
    return user


def event(kind: str, referral_id, **data) -> dict:
    return {"type": kind, "data": {"referral_id": str(referral_id), **data}}


def signed_headers(secret: str, body: str, msg_id: str | None = None, ts: int | None = None) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    ts = int(time.time()) if ts is None else ts
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=UTC), body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def post_event(client, partner: PartnerWithSecret, evt: dict | None = None, *, raw: str | None = None,
               msg_id: str | None = None, ts: int | None = None, secret: str | None = None, headers=None):
    body = raw if raw is not None else json.dumps(evt)
    sent = headers if headers is not None else signed_headers(secret or partner.secret, body, msg_id, ts)
    return client.post(f"/api/v1/webhooks/partners/{partner.slug}/", data=body.encode(),
                       content_type="application/json", headers=sent)


def error_fields(response) -> set[str]:
    return {error["attr"] for error in response.json()["errors"]}
