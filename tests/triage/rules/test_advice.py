"""Advice to the patient (policy §8)."""
from datetime import date

import pytest

from triage.rules import SAFETY_NET, advice_text, evaluate

SUBMITTED_ON = date(2026, 11, 21)

QUIET = {"age": 45, "affected_side": "left", "days_since_onset": 120, "onset_speed": "gradual",
         "course": "stable", "foot_lift": "weak", "urinary_retention": False, "incontinence": False,
         "saddle_numbness": False}
EMERGENCY = {**QUIET, "days_since_onset": 2, "urinary_retention": True, "back_pain": True}
URGENT = {**QUIET, "days_since_onset": 30}
ROUTINE = QUIET
POST_OPERATIVE = {**QUIET, "days_since_onset": 3, "recent_surgery": "other", "days_since_surgery": 4}
ROUTINE_WITH_DIABETES = {**QUIET, "known_conditions": ["diabetes"]}

ALL = [EMERGENCY, URGENT, ROUTINE, POST_OPERATIVE, ROUTINE_WITH_DIABETES]


def advice(answers: dict, language: str) -> str:
    return advice_text(evaluate(answers, submitted_on=SUBMITTED_ON), language)


def test_the_safety_net_is_the_policy_sentence():
    assert SAFETY_NET["en"] == (
        "Go to an emergency department at once if you lose bladder or bowel control, feel numb around the "
        "genitals or inner thighs, both legs become weak, or the weakness gets quickly worse.")


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("answers", ALL)
def test_every_advice_ends_with_the_safety_net(answers, language):
    assert advice(answers, language).endswith(SAFETY_NET[language])


def test_the_spanish_safety_net_names_the_same_four_warnings():
    spanish = SAFETY_NET["es"]
    for warning in ("urgencias", "orina o de las heces", "genitales", "muslos", "dos piernas", "empeora"):
        assert warning in spanish


def test_an_emergency_says_go_to_an_emergency_department_now():
    assert "Go to an emergency department now" in advice(EMERGENCY, "en")
    assert "Vaya ahora a un servicio de urgencias" in advice(EMERGENCY, "es")


def test_an_urgent_case_says_a_specialist_within_days():
    english = advice(URGENT, "en")
    assert "within the next few days" in english
    assert "nerve specialist (neurology)" in english
    assert "en los próximos días" in advice(URGENT, "es")


def test_a_routine_case_says_book_a_review():
    assert advice(ROUTINE, "en").startswith("Book a review with your doctor.")
    assert advice(ROUTINE, "es").startswith("Pida una revisión con su médico.")


def test_a_routine_case_with_a_long_term_condition_recommends_physiotherapy_first():
    english = advice(ROUTINE_WITH_DIABETES, "en")
    assert "appointment with a physiotherapist" in english
    assert "We also recommend a nerve specialist (neurology)." in english


@pytest.mark.parametrize(("language", "sentence"), [
    ("en", "tell the team that operated on you about this weakness at once"),
    ("es", "Avise también enseguida de esta debilidad al equipo que le operó"),
])
def test_after_a_relevant_operation_the_patient_informs_the_operating_team(language, sentence):
    assert sentence in advice(POST_OPERATIVE, language)
    assert sentence not in advice(EMERGENCY, language)


@pytest.mark.parametrize("language", ["fr", "", "EN", None])
def test_an_unknown_language_gets_english(language):
    assert advice(URGENT, language) == advice(URGENT, "en")


@pytest.mark.parametrize("answers", ALL)
def test_advice_never_names_a_diagnosis(answers):
    for language in ("en", "es"):
        text = advice(answers, language).lower()
        for diagnosis in ("cauda equina", "radiculopathy", "neuropathy", "stroke", "ictus", "diagnos",
                          "you have a", "usted tiene"):
            assert diagnosis not in text
