"""A referral as a FHIR R4 ServiceRequest, built and validated with fhir.resources.

fhir.resources' package root is R5; its R4B ServiceRequest is the R4 one.
"""

from __future__ import annotations

import json

from django.conf import settings
from fhir.resources.R4B.servicerequest import ServiceRequest

from triage.models import Evaluation

from .models import Referral, ReferralStatus, Specialty

SNOMED = "http://snomed.info/sct"

# Our status -> FHIR request-status.
FHIR_STATUS = {
    ReferralStatus.PROPOSED: "draft",
    ReferralStatus.SENT: "active",
    ReferralStatus.ACCEPTED: "active",
    ReferralStatus.SCHEDULED: "active",
    ReferralStatus.NO_SHOW: "on-hold",  # to be rebooked
    ReferralStatus.COMPLETED: "completed",
    ReferralStatus.DECLINED: "revoked",  # this request ends; a re-send is a new ServiceRequest that `replaces` it
    ReferralStatus.CANCELLED: "revoked",
}
FHIR_PRIORITY = {"emergency": "stat", "urgent": "urgent", "routine": "routine"}

# performerType: SNOMED CT occupations (the R4 "Participant Roles" example binding).
PERFORMER_TYPE = {
    Specialty.NEUROSURGERY: ("45544007", "Neurosurgeon"),
    Specialty.NEUROLOGY: ("56397003", "Neurologist"),
    Specialty.ORTHOPEDICS: ("22731001", "Orthopedic surgeon"),
    Specialty.GENERAL_SURGERY: ("78703002", "General surgeon"),
    Specialty.PHYSIOTHERAPY: ("36682004", "Physiotherapist"),
    Specialty.PAIN_MANAGEMENT: None,  # no occupation code we are sure of: text only
}
PATIENT_REFERRAL = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}


def _system(name: str) -> str:
    return f"{settings.REFERRAL_FHIR_SYSTEM_BASE}/CodeSystem/{name}"


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _performer_type(specialty: str) -> dict:
    concept: dict = {"text": Specialty(specialty).label}
    known = PERFORMER_TYPE.get(specialty)
    if known:
        concept["coding"] = [{"system": SNOMED, "code": known[0], "display": known[1]}]
    return concept


def _reasons(evaluation: Evaluation | None) -> list[dict]:
    if evaluation is None:
        return []
    reasons = [
        {"coding": [{"system": _system("red-flag"), "code": flag}], "text": f"Red flag: {_label(flag)}"}
        for flag in evaluation.red_flags
    ]
    reasons += [
        {"coding": [{"system": _system("likely-origin"), "code": origin}], "text": f"Likely origin: {_label(origin)}"}
        for origin in evaluation.likely_origin
    ]
    return reasons


def _triage_note(evaluation: Evaluation | None) -> list[dict]:
    if evaluation is None:
        return []
    flags = ", ".join(_label(flag) for flag in evaluation.red_flags) or "none"
    origins = ", ".join(_label(origin) for origin in evaluation.likely_origin) or "not determined"
    text = (
        f"Triage urgency: {evaluation.effective_urgency} (ruleset {evaluation.ruleset_version}). "
        f"Red flags: {flags}. Likely origin: {origins}."
    )
    if evaluation.override_urgency:
        text += f" Urgency set by a clinician (computed: {evaluation.urgency}): {evaluation.override_reason}"
    return [{"text": text, "time": evaluation.evaluated_at.isoformat()}]


def referral_service_request(referral: Referral) -> dict:
    """The referral as a validated FHIR R4 ServiceRequest (JSON-ready dict)."""
    evaluation = referral.assessment.current_evaluation
    resource: dict = {
        "resourceType": "ServiceRequest",
        "id": str(referral.id),
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{referral.id}"}],
        "status": FHIR_STATUS[referral.status],
        "intent": "proposal" if referral.status == ReferralStatus.PROPOSED else "order",
        "category": [{"coding": [PATIENT_REFERRAL]}],
        "priority": FHIR_PRIORITY[referral.priority],
        "code": {"text": f"Referral to {Specialty(referral.specialty).label.lower()}"},
        "subject": {"reference": f"Patient/{referral.patient_id}"},
        "authoredOn": referral.created_at.isoformat(),
        "performerType": _performer_type(referral.specialty),
    }
    if referral.appointment_at:
        resource["occurrenceDateTime"] = referral.appointment_at.isoformat()
    if referral.partner_id:
        resource["performer"] = [{
            "identifier": {"system": f"{settings.REFERRAL_FHIR_SYSTEM_BASE}/partner", "value": referral.partner.slug},
            "display": referral.partner.name,
        }]
    if referral.resent_from_id:
        resource["replaces"] = [{"reference": f"ServiceRequest/{referral.resent_from_id}"}]
    if reasons := _reasons(evaluation):
        resource["reasonCode"] = reasons
    if notes := _triage_note(evaluation):
        resource["note"] = notes
    return json.loads(ServiceRequest.model_validate(resource).model_dump_json(exclude_none=True))
