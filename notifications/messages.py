"""What a page says: the minimum an on-call clinician needs to act, and nothing clinical.

Who (first name and last initial), how urgent, the case code, and how to
acknowledge. No diagnosis, no answers, no red-flag names, no contact details:
an SMS lands on a lock screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from patients.models import Language, Patient


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def patient_label(patient: Patient) -> str:
    """'Ana G.': enough for the clinician to recognise the case in the dashboard, not to identify the patient."""
    first = patient.first_name.strip().split(" ")[0] if patient.first_name.strip() else "?"
    initial = patient.last_name.strip()[:1].upper()
    return f"{first} {initial}." if initial else first


def _language(language: str) -> str:
    return language if language in Language.values else Language.ENGLISH


def _render(name: str, context: dict, language: str) -> str:
    with translation.override(language):
        return render_to_string(f"notifications/{name}.{language}.txt", context).strip()


def page_message(*, channel: str, language: str, patient: Patient, case_code: str, ack_url: str) -> Message:
    language = _language(language)
    context = {"who": patient_label(patient), "case_code": case_code, "ack_url": ack_url}
    if channel == "sms":
        return Message(subject="", body=_render("sms/page", context, language))
    return Message(
        subject=_render("email/page_subject", context, language), body=_render("email/page_body", context, language)
    )


def staff_alert_message(*, kind: str, patient: Patient, case_code: str, tier: int, escalation_id) -> Message:
    context = {
        "who": patient_label(patient), "case_code": case_code, "tier": tier,
        "dashboard_url": f"{settings.PUBLIC_BASE_URL}/admin/notifications/escalation/{escalation_id}/change/",
        "list_url": f"{settings.PUBLIC_BASE_URL}/api/v1/escalations/?status=exhausted",
    }
    language = _language(settings.LANGUAGE_CODE)
    return Message(
        subject=_render(f"email/{kind}_subject", context, language),
        body=_render(f"email/{kind}_body", context, language),
    )
