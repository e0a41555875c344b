"""Advice to the patient (policy §8): what to do and how soon, in plain words.

The advice never names a diagnosis; it names the kind of specialist and the
time frame. Every advice ends with the same safety net, whatever the urgency.
"""
from __future__ import annotations

from triage.rules.model import EMERGENCY, URGENT, TriageResult

DEFAULT_LANGUAGE = "en"

SAFETY_NET = {
    "en": ("Go to an emergency department at once if you lose bladder or bowel control, feel numb around "
           "the genitals or inner thighs, both legs become weak, or the weakness gets quickly worse."),
    "es": ("Acuda de inmediato a un servicio de urgencias si pierde el control de la orina o de las heces, "
           "nota adormecimiento alrededor de los genitales o en la cara interna de los muslos, se le "
           "debilitan las dos piernas o la debilidad empeora rápidamente."),
}

_SPECIALIST = {
    "en": {
        "neurosurgery": "a spine and nerve surgeon (neurosurgery)",
        "neurology": "a nerve specialist (neurology)",
        "orthopedics": "a bone and joint specialist (orthopaedics)",
        "general_surgery": "the surgical team (general surgery)",
        "pain_management": "a pain specialist",
        "physiotherapy": "a physiotherapist",
    },
    "es": {
        "neurosurgery": "un cirujano de columna y nervios (neurocirugía)",
        "neurology": "un especialista en nervios (neurología)",
        "orthopedics": "un especialista en huesos y articulaciones (traumatología)",
        "general_surgery": "un cirujano general (cirugía general)",
        "pain_management": "un especialista en dolor (unidad del dolor)",
        "physiotherapy": "un fisioterapeuta",
    },
}

_TEXT = {
    "en": {
        EMERGENCY: ("Your answers include warning signs that must be checked today. Go to an emergency "
                    "department now; do not wait for an appointment."),
        URGENT: ("A specialist should see you within the next few days. We are arranging an urgent "
                 "appointment with {primary}."),
        "routine": "Book a review with your doctor. We recommend an appointment with {primary}.",
        "referral_after_emergency": "After that, you will also be referred to {primary}.",
        "operating_team": "Also tell the team that operated on you about this weakness at once.",
        "also": "We also recommend {others}.",
        "and": " and ",
    },
    "es": {
        EMERGENCY: ("Sus respuestas incluyen señales de alarma que hay que revisar hoy mismo. Vaya ahora a un "
                    "servicio de urgencias; no espere a una cita."),
        URGENT: ("Un especialista debería verle en los próximos días. Estamos pidiendo una cita urgente con "
                 "{primary}."),
        "routine": "Pida una revisión con su médico. Le recomendamos una cita con {primary}.",
        "referral_after_emergency": "Después, también se le derivará a {primary}.",
        "operating_team": "Avise también enseguida de esta debilidad al equipo que le operó.",
        "also": "También le recomendamos {others}.",
        "and": " y ",
    },
}


def advice_text(result: TriageResult, language: str) -> str:
    """Patient-facing advice for `result` in `language` ("en" or "es"; anything else gets English)."""
    if language not in _TEXT:
        language = DEFAULT_LANGUAGE
    text, specialist = _TEXT[language], _SPECIALIST[language]
    primary, *others = result.recommended_specialties

    sentences = [text[result.urgency].format(primary=specialist[primary])]
    if result.urgency == EMERGENCY:
        sentences.append(text["referral_after_emergency"].format(primary=specialist[primary]))
    if "post_operative" in result.red_flags:
        sentences.append(text["operating_team"])
    if others:
        sentences.append(text["also"].format(others=text["and"].join(specialist[code] for code in others)))
    sentences.append(SAFETY_NET[language])
    return " ".join(sentences)
