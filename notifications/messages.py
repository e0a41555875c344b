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


# What the acknowledgement page and the SMS replies say, per language.
ACK_PAGE_TEXT = {
    "en": {
        "title": "Acknowledge case {code}",
        "confirm": "{who} needs the on-call clinician now (EMERGENCY). Acknowledge that you own case {code}?",
        "button": "I acknowledge case {code}",
        "done": "Thank you: you own case {code} now. Nobody else will be paged for it.",
        "already": "Case {code} was already acknowledged{when}. Nothing changed.",
        "invalid": "This acknowledgement link is not valid. Reply ACK with the case code to the SMS instead.",
        "expired": "This acknowledgement link has expired. Reply ACK with the case code to the SMS instead.",
    },
    "es": {
        "title": "Confirmar el caso {code}",
        "confirm": "{who} necesita al médico de guardia ya (URGENCIA). ¿Confirma que se hace cargo del caso {code}?",
        "button": "Me hago cargo del caso {code}",
        "done": "Gracias: el caso {code} es suyo. No se avisará a nadie más.",
        "already": "El caso {code} ya estaba confirmado{when}. No ha cambiado nada.",
        "invalid": "Este enlace no es válido. Responda al SMS con ACK y el código del caso.",
        "expired": "Este enlace ha caducado. Responda al SMS con ACK y el código del caso.",
    },
}

SMS_REPLY_TEXT = {
    "en": {
        "acknowledged": "Acknowledged: case {code} is yours. Nobody else will be paged for it.",
        "already_acknowledged": "Case {code} was already acknowledged. Nothing changed.",
        "unknown_case": "No open case {code} was paged to this number. Check the code and reply ACK <code>.",
        "not_understood": "To acknowledge a case, reply ACK followed by its code, e.g. ACK 4821.",
    },
    "es": {
        "acknowledged": "Confirmado: el caso {code} es suyo. No se avisará a nadie más.",
        "already_acknowledged": "El caso {code} ya estaba confirmado. No ha cambiado nada.",
        "unknown_case": "No se avisó a este número de ningún caso {code} abierto. Responda ACK <código>.",
        "not_understood": "Para confirmar un caso, responda ACK y su código, por ejemplo ACK 4821.",
    },
}


def ack_page_text(language: str) -> dict[str, str]:
    return ACK_PAGE_TEXT[_language(language)]


def sms_reply_text(*, outcome: str, case_code: str, language: str) -> str:
    return SMS_REPLY_TEXT[_language(language)][outcome].format(code=case_code)
