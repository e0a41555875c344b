"""Likely origin (§5), where to refer (§6) and recommended tests (§7), row by row."""
import json
from dataclasses import FrozenInstanceError
from datetime import date, timedelta

import pytest

from triage.rules import CURRENT_RULESET, RULESETS, RecommendedTest, Rule, evaluate, get_ruleset

SUBMITTED_ON = date(2026, 11, 21)

QUIET = {"age": 45, "affected_side": "left", "days_since_onset": 120, "onset_speed": "gradual",
         "course": "stable", "foot_lift": "weak", "urinary_retention": False, "incontinence": False,
         "saddle_numbness": False}


def triage(**changes):
    return evaluate({**QUIET, **changes}, submitted_on=SUBMITTED_ON)


def codes_of_tests(result) -> list[str]:
    return [test.code for test in result.recommended_tests]


# --- §5 likely origin ----------------------------------------------------------------

def test_nothing_indicative_gives_an_undetermined_origin():
    assert triage().likely_origin == ("undetermined",)


def test_the_cauda_equina_flag_indicates_cauda_equina_and_lumbar_radiculopathy():
    assert triage(saddle_numbness=True).likely_origin == ("cauda_equina", "lumbar_radiculopathy")


@pytest.mark.parametrize("changes", [
    {"back_pain": True}, {"sciatica": True}, {"known_conditions": ["herniated_disc"]},
    {"known_conditions": ["spinal_stenosis"]}, {"mri_severe_compression": True},
    {"recent_surgery": "spine", "days_since_surgery": 20, "days_since_onset": 10},
    {"recent_injury": "back_injury", "days_since_injury": 20, "days_since_onset": 10},
])
def test_each_lumbar_indicator_alone_gives_lumbar_radiculopathy(changes):
    assert triage(**changes).likely_origin == ("lumbar_radiculopathy",)


@pytest.mark.parametrize("changes", [
    {"recent_surgery": "spine", "days_since_surgery": 31, "days_since_onset": 10},
    {"recent_injury": "back_injury", "days_since_injury": 45, "days_since_onset": 40},
])
def test_an_operation_or_injury_that_is_not_relevant_indicates_nothing(changes):
    assert triage(**changes).likely_origin == ("undetermined",)


@pytest.mark.parametrize("changes", [
    {"leg_crossing_or_kneeling": True}, {"numbness_top_of_foot": True},
    {"recent_surgery": "knee_replacement", "days_since_surgery": 10, "days_since_onset": 9},
    {"recent_surgery": "hip_replacement", "days_since_surgery": 30, "days_since_onset": 25},
    {"recent_injury": "leg_fracture", "days_since_injury": 20, "days_since_onset": 18},
    {"recent_injury": "knee_injury", "days_since_injury": 5, "days_since_onset": 5},
])
def test_each_peroneal_indicator_alone_gives_peroneal_neuropathy(changes):
    assert triage(**changes).likely_origin == ("peroneal_neuropathy",)


def test_numbness_on_top_of_the_foot_does_not_point_to_the_peroneal_nerve_beside_a_lumbar_cause():
    assert triage(numbness_top_of_foot=True, back_pain=True).likely_origin == ("lumbar_radiculopathy",)


def test_leg_crossing_points_to_the_peroneal_nerve_even_beside_a_lumbar_cause():
    result = triage(leg_crossing_or_kneeling=True, sciatica=True)
    assert result.likely_origin == ("lumbar_radiculopathy", "peroneal_neuropathy")


@pytest.mark.parametrize("changes", [
    {"stroke_signs": True}, {"upper_motor_neuron_signs": True}, {"vision_problems": True},
    {"known_conditions": ["multiple_sclerosis"]}, {"known_conditions": ["stroke"]},
    {"known_conditions": ["cerebral_palsy"]},
])
def test_each_central_indicator_alone_gives_a_central_origin(changes):
    assert triage(**changes).likely_origin == ("central",)


@pytest.mark.parametrize("condition", ["als", "polio", "spinal_muscular_atrophy", "muscular_dystrophy",
                                       "charcot_marie_tooth"])
def test_each_neuromuscular_disease_gives_a_neuromuscular_origin(condition):
    assert triage(known_conditions=[condition]).likely_origin == ("neuromuscular",)


def test_diabetes_gives_peripheral_neuropathy():
    assert triage(known_conditions=["diabetes"]).likely_origin == ("peripheral_neuropathy",)


def test_origins_are_listed_in_policy_table_order():
    result = triage(known_conditions=["diabetes", "als", "stroke"], leg_crossing_or_kneeling=True,
                    urinary_retention=True)
    assert result.likely_origin == ("cauda_equina", "lumbar_radiculopathy", "peroneal_neuropathy", "central",
                                    "neuromuscular", "peripheral_neuropathy")


# --- §6 where to refer -------------------------------------------------------------------

@pytest.mark.parametrize(("surgery", "team"), [
    ("knee_replacement", "orthopedics"), ("hip_replacement", "orthopedics"), ("spine", "neurosurgery"),
    ("abdominal", "general_surgery"), ("other", "neurology"),
])
def test_a_relevant_operation_is_referred_to_the_operating_team(surgery, team):
    result = triage(recent_surgery=surgery, days_since_surgery=12, days_since_onset=7)
    assert result.recommended_specialties == (team, "physiotherapy")


@pytest.mark.parametrize(("injury", "team"), [
    ("leg_fracture", "orthopedics"), ("knee_injury", "orthopedics"), ("other", "orthopedics"),
    ("back_injury", "neurosurgery"),
])
def test_a_relevant_injury_is_referred_to_its_team(injury, team):
    result = triage(recent_injury=injury, days_since_injury=12, days_since_onset=7)
    assert result.recommended_specialties == (team, "physiotherapy")


def test_an_operation_comes_before_an_injury_and_before_a_spinal_origin():
    result = triage(recent_surgery="abdominal", days_since_surgery=6, recent_injury="back_injury",
                    days_since_injury=6, days_since_onset=5, sciatica=True)
    assert result.recommended_specialties[0] == "general_surgery"


def test_an_injury_comes_before_a_spinal_origin():
    result = triage(recent_injury="knee_injury", days_since_injury=6, days_since_onset=5, back_pain=True)
    assert result.recommended_specialties[0] == "orthopedics"


def test_an_operation_that_is_not_relevant_does_not_choose_the_specialty():
    result = triage(recent_surgery="knee_replacement", days_since_surgery=45, days_since_onset=38)
    assert result.recommended_specialties == ("neurology", "physiotherapy")


@pytest.mark.parametrize("changes", [{"sciatica": True}, {"incontinence": True}])
def test_a_spinal_origin_is_referred_to_neurosurgery(changes):
    assert triage(**changes).recommended_specialties == ("neurosurgery", "physiotherapy")


def test_anything_else_is_referred_to_neurology():
    assert triage(leg_crossing_or_kneeling=True).recommended_specialties == ("neurology", "physiotherapy")


@pytest.mark.parametrize("condition", ["multiple_sclerosis", "stroke", "cerebral_palsy", "als", "polio",
                                       "spinal_muscular_atrophy", "muscular_dystrophy", "charcot_marie_tooth",
                                       "diabetes"])
def test_a_routine_case_with_a_long_term_condition_starts_with_physiotherapy_then_neurology(condition):
    result = triage(known_conditions=[condition])
    assert result.urgency == "routine"
    assert result.recommended_specialties == ("physiotherapy", "neurology")


def test_an_urgent_case_with_a_long_term_condition_goes_to_neurology_first():
    result = triage(known_conditions=["als"], course="worsening_slow")
    assert result.recommended_specialties == ("neurology", "physiotherapy")


def test_a_routine_lumbar_case_with_a_long_term_condition_still_goes_to_neurosurgery_without_neurology():
    result = triage(known_conditions=["herniated_disc", "charcot_marie_tooth"])
    assert result.recommended_specialties == ("neurosurgery", "physiotherapy")


@pytest.mark.parametrize(("pain", "expected"), [(6, False), (7, True), (10, True), (None, False)])
def test_pain_of_7_or_more_with_a_lumbar_origin_adds_pain_management(pain, expected):
    result = triage(sciatica=True, pain_score=pain)
    assert ("pain_management" in result.recommended_specialties) is expected


def test_pain_without_a_lumbar_origin_adds_no_pain_management():
    assert "pain_management" not in triage(pain_score=10).recommended_specialties


def test_pain_management_comes_after_the_primary_and_before_physiotherapy():
    result = triage(recent_surgery="hip_replacement", days_since_surgery=10, days_since_onset=9, back_pain=True,
                    pain_score=8)
    assert result.recommended_specialties == ("orthopedics", "pain_management", "physiotherapy")


# --- §7 recommended tests ----------------------------------------------------------------

def test_a_lumbar_origin_gets_a_lumbar_mri():
    assert codes_of_tests(triage(sciatica=True)) == ["mri_lumbar_spine", "emg_ncs"]


def test_a_central_origin_alone_gets_a_brain_mri_and_no_emg():
    assert codes_of_tests(triage(stroke_signs=True)) == ["mri_brain"]


def test_a_central_origin_beside_another_still_gets_an_emg():
    assert codes_of_tests(triage(upper_motor_neuron_signs=True, back_pain=True)) == [
        "mri_lumbar_spine", "mri_brain", "emg_ncs"]


@pytest.mark.parametrize("changes", [
    {"recent_injury": "other", "days_since_injury": 30, "days_since_onset": 27},
    {"recent_injury": "back_injury", "days_since_injury": 12, "days_since_onset": 10},
    {"recent_surgery": "knee_replacement", "days_since_surgery": 10, "days_since_onset": 9},
    {"recent_surgery": "hip_replacement", "days_since_surgery": 30, "days_since_onset": 25},
])
def test_a_relevant_injury_or_joint_replacement_gets_an_xray(changes):
    assert "xray" in codes_of_tests(triage(**changes))


@pytest.mark.parametrize("changes", [
    {"recent_surgery": "spine", "days_since_surgery": 12, "days_since_onset": 7},
    {"recent_surgery": "knee_replacement", "days_since_surgery": 31, "days_since_onset": 28},
    {"recent_injury": "leg_fracture", "days_since_injury": 31, "days_since_onset": 26},
])
def test_no_xray_for_other_operations_or_for_events_that_are_not_relevant(changes):
    assert "xray" not in codes_of_tests(triage(**changes))


def test_a_peroneal_origin_gets_a_nerve_ultrasound():
    assert codes_of_tests(triage(leg_crossing_or_kneeling=True)) == ["emg_ncs", "nerve_ultrasound"]


@pytest.mark.parametrize("changes", [{"known_conditions": ["diabetes"]}, {"known_conditions": ["polio"]}, {}])
def test_a_neuropathy_neuromuscular_or_undetermined_origin_gets_blood_tests(changes):
    assert codes_of_tests(triage(**changes)) == ["emg_ncs", "blood_tests"]


@pytest.mark.parametrize(("days_since_onset", "days_to_wait"), [(0, 14), (3, 11), (13, 1), (14, 0), (15, 0),
                                                                 (200, 0)])
def test_the_emg_is_booked_14_days_after_onset_or_today_if_later(days_since_onset, days_to_wait):
    emg = next(test for test in triage(days_since_onset=days_since_onset).recommended_tests
               if test.code == "emg_ncs")
    assert emg.earliest_date == SUBMITTED_ON + timedelta(days=days_to_wait)


def test_the_emg_date_crosses_a_year_end():
    result = evaluate({**QUIET, "days_since_onset": 2}, submitted_on=date(2026, 12, 25))
    assert result.recommended_tests[0] == RecommendedTest("emg_ncs", date(2027, 1, 6))


def test_only_the_emg_carries_a_date():
    result = triage(days_since_onset=2, sciatica=True, leg_crossing_or_kneeling=True)
    assert [(test.code, test.earliest_date) for test in result.recommended_tests] == [
        ("mri_lumbar_spine", None), ("emg_ncs", SUBMITTED_ON + timedelta(days=12)), ("nerve_ultrasound", None)]


# --- the result as data -------------------------------------------------------------------

def test_as_dict_is_the_contract_shape_and_json_ready():
    result = triage(days_since_onset=3, urinary_retention=True, back_pain=True, pain_score=9)
    as_dict = result.as_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict == {
        "urgency": "emergency",
        "red_flags": ["cauda_equina"],
        "likely_origin": ["cauda_equina", "lumbar_radiculopathy"],
        "recommended_specialties": ["neurosurgery", "pain_management", "physiotherapy"],
        "recommended_tests": [{"code": "mri_lumbar_spine"}, {"code": "emg_ncs", "earliest_date": "2026-12-02"}],
        "rules_fired": [
            {"id": "cauda_equina", "title": CURRENT_RULESET.rule("cauda_equina").title, "level": "emergency",
             "source": "seed 003, NICE CKS red flags"},
            {"id": "new_foot_drop", "title": CURRENT_RULESET.rule("new_foot_drop").title, "level": "urgent",
             "source": "seed 003"},
        ],
        "ruleset_version": "1",
    }


def test_the_same_answers_give_an_equal_result():
    answers = {**QUIET, "days_since_onset": 9, "leg_crossing_or_kneeling": True, "known_conditions": ["diabetes"]}
    assert evaluate(answers, submitted_on=SUBMITTED_ON) == evaluate(dict(answers), submitted_on=SUBMITTED_ON)


def test_a_result_cannot_be_changed():
    result = triage()
    with pytest.raises(FrozenInstanceError):
        result.urgency = "emergency"


def test_rules_compare_by_their_data_not_their_predicate():
    rule = CURRENT_RULESET.rule("stroke_signs")
    assert rule == Rule(rule.id, rule.title, rule.level, rule.source, predicate=lambda facts: False)


def test_ruleset_1_is_current_and_registered_by_version():
    assert CURRENT_RULESET.version == "1"
    assert get_ruleset("1") is CURRENT_RULESET
    assert RULESETS == {"1": CURRENT_RULESET}
    assert triage().ruleset_version == "1"


def test_an_unknown_ruleset_version_is_a_key_error():
    with pytest.raises(KeyError):
        get_ruleset("0")


def test_evaluation_uses_the_ruleset_it_is_given():
    result = evaluate(QUIET, submitted_on=SUBMITTED_ON, ruleset=get_ruleset("1"))
    assert result == triage()
