"""Each rule of policy §3 (red flags) and §4 (urgent), alone and at its boundaries."""
from datetime import date

import pytest

from triage.rules import CURRENT_RULESET, URGENCY_RANK, evaluate

SUBMITTED_ON = date(2026, 11, 21)

# Long-standing, stable, one-sided, no red flag: nothing fires, the case is routine.
QUIET = {"age": 45, "affected_side": "left", "days_since_onset": 120, "onset_speed": "gradual",
         "course": "stable", "foot_lift": "weak", "urinary_retention": False, "incontinence": False,
         "saddle_numbness": False}


def triage(**changes):
    return evaluate({**QUIET, **changes}, submitted_on=SUBMITTED_ON)


def fired(**changes) -> tuple[str, ...]:
    return tuple(rule.id for rule in triage(**changes).rules_fired)


def test_a_long_standing_stable_foot_drop_fires_nothing_and_is_routine():
    result = triage()
    assert result.urgency == "routine"
    assert result.rules_fired == ()
    assert result.red_flags == ()


def test_the_ruleset_declares_exactly_the_policy_rules_in_policy_order():
    assert [(rule.id, rule.level) for rule in CURRENT_RULESET.rules] == [
        ("cauda_equina", "emergency"), ("bilateral_weakness", "emergency"), ("rapid_progression", "emergency"),
        ("acute_onset", "emergency"), ("severe_pain_with_deficit", "emergency"), ("stroke_signs", "emergency"),
        ("post_operative", "emergency"), ("post_traumatic", "emergency"),
        ("serious_spinal_pathology", "emergency"),
        ("new_foot_drop", "urgent"), ("worsening_deficit", "urgent"), ("objective_weakness", "urgent"),
        ("imaging_compression", "urgent"),
    ]


def test_every_rule_has_a_title_and_cites_its_source():
    for rule in CURRENT_RULESET.rules:
        assert rule.title.strip() and rule.source.strip()
        assert rule.source.startswith(("seed", "NICE"))


@pytest.mark.parametrize("answer", ["urinary_retention", "incontinence", "saddle_numbness"])
def test_each_cauda_equina_symptom_alone_is_an_emergency(answer):
    result = triage(**{answer: True})
    assert result.urgency == "emergency"
    assert result.red_flags == ("cauda_equina",)


def test_a_newly_weak_other_leg_is_bilateral_weakness_whatever_the_days():
    assert fired(other_leg_weakness=True, days_since_onset=4000) == ("bilateral_weakness",)


@pytest.mark.parametrize(("days", "course", "expected"), [
    (90, "stable", True), (91, "stable", False), (91, "worsening_slow", False),
    (91, "worsening_fast", True), (5000, "worsening_fast", True), (5000, "improving", False),
])
def test_both_feet_are_a_red_flag_within_90_days_or_when_worsening_fast(days, course, expected):
    assert ("bilateral_weakness" in fired(affected_side="both", days_since_onset=days, course=course)) is expected


def test_long_standing_stable_weakness_of_both_feet_is_not_an_emergency():
    assert triage(affected_side="both", days_since_onset=5000).urgency == "routine"


def test_weakness_worsening_over_hours_to_days_is_rapid_progression():
    assert fired(course="worsening_fast") == ("rapid_progression",)
    assert triage(course="worsening_fast").urgency == "emergency"


@pytest.mark.parametrize(("days", "expected"), [(0, True), (14, True), (15, False)])
def test_sudden_onset_is_acute_up_to_day_14(days, expected):
    assert ("acute_onset" in fired(days_since_onset=days, onset_speed="sudden")) is expected


@pytest.mark.parametrize(("days", "expected"), [(3, True), (14, True), (15, False)])
def test_a_foot_that_cannot_lift_is_acute_up_to_day_14(days, expected):
    assert ("acute_onset" in fired(days_since_onset=days, foot_lift="cannot")) is expected


def test_cannot_lift_after_an_earlier_foot_drop_is_not_acute_onset():
    assert "acute_onset" not in fired(days_since_onset=5, foot_lift="cannot", previous_foot_drop=True)


def test_cannot_lift_with_previous_foot_drop_not_reported_is_acute_onset():
    assert "acute_onset" in fired(days_since_onset=5, foot_lift="cannot", previous_foot_drop=None)


def test_a_sudden_onset_after_an_earlier_foot_drop_is_still_acute_onset():
    # The safer reading of the policy: "without previous_foot_drop" qualifies only "cannot lift".
    assert "acute_onset" in fired(days_since_onset=5, onset_speed="sudden", previous_foot_drop=True)


def test_a_gradual_weak_foot_in_the_first_days_is_not_acute_onset():
    assert "acute_onset" not in fired(days_since_onset=3)


@pytest.mark.parametrize(("pain", "course", "expected"), [
    (8, "worsening_slow", True), (10, "worsening_fast", True), (7, "worsening_slow", False),
    (8, "stable", False), (10, "improving", False), (None, "worsening_slow", False),
])
def test_severe_pain_is_a_red_flag_from_8_only_with_worsening_weakness(pain, course, expected):
    assert ("severe_pain_with_deficit" in fired(pain_score=pain, course=course)) is expected


def test_stroke_signs_are_a_red_flag():
    assert fired(stroke_signs=True) == ("stroke_signs",)


@pytest.mark.parametrize(("days_since_surgery", "days_since_onset", "expected"), [
    (30, 25, True), (31, 25, False), (10, 10, True), (8, 9, False), (0, 0, True),
])
def test_an_operation_is_relevant_within_30_days_when_the_foot_drop_began_on_or_after_it(
        days_since_surgery, days_since_onset, expected):
    result = fired(recent_surgery="abdominal", days_since_surgery=days_since_surgery,
                   days_since_onset=days_since_onset)
    assert ("post_operative" in result) is expected


def test_no_operation_means_no_post_operative_flag():
    assert "post_operative" not in fired(recent_surgery="none", days_since_onset=5)


@pytest.mark.parametrize(("days_since_injury", "days_since_onset", "expected"), [
    (30, 27, True), (31, 26, False), (5, 5, True), (20, 21, False),
])
def test_an_injury_is_relevant_within_30_days_when_the_foot_drop_began_on_or_after_it(
        days_since_injury, days_since_onset, expected):
    result = fired(recent_injury="other", days_since_injury=days_since_injury, days_since_onset=days_since_onset)
    assert ("post_traumatic" in result) is expected


@pytest.mark.parametrize("systemic", ["fever", "unexplained_weight_loss", "history_of_cancer"])
@pytest.mark.parametrize("spinal", ["back_pain", "sciatica"])
def test_a_systemic_sign_with_back_pain_or_sciatica_is_serious_spinal_pathology(systemic, spinal):
    assert fired(**{systemic: True, spinal: True}) == ("serious_spinal_pathology",)


@pytest.mark.parametrize("answers", [
    {"fever": True}, {"history_of_cancer": True, "unexplained_weight_loss": True}, {"back_pain": True},
])
def test_a_systemic_sign_or_back_pain_alone_is_not_serious_spinal_pathology(answers):
    assert "serious_spinal_pathology" not in fired(**answers)


@pytest.mark.parametrize(("days", "expected"), [(0, True), (90, True), (91, False)])
def test_foot_drop_within_90_days_is_new_foot_drop(days, expected):
    assert ("new_foot_drop" in fired(days_since_onset=days)) is expected


def test_a_recurrent_episode_within_90_days_is_new_foot_drop():
    result = triage(days_since_onset=40, previous_foot_drop=True)
    assert [rule.id for rule in result.rules_fired] == ["new_foot_drop"]
    assert result.urgency == "urgent"


def test_slow_worsening_is_worsening_deficit():
    assert fired(course="worsening_slow") == ("worsening_deficit",)
    assert triage(course="worsening_slow").urgency == "urgent"


@pytest.mark.parametrize(("mrc", "expected"), [(0, True), (3, True), (4, False), (5, False), (None, False)])
def test_dorsiflexion_mrc_3_or_less_is_objective_weakness(mrc, expected):
    assert ("objective_weakness" in fired(dorsiflexion_mrc=mrc)) is expected


def test_difficulty_walking_on_the_heels_is_objective_weakness():
    assert fired(heel_walk_difficulty=True) == ("objective_weakness",)


def test_severe_compression_on_mri_is_imaging_compression():
    assert fired(mri_severe_compression=True) == ("imaging_compression",)
    assert triage(mri_severe_compression=True).urgency == "urgent"


def test_rules_fired_keep_ruleset_order_and_red_flags_are_the_emergency_ones():
    result = triage(days_since_onset=3, onset_speed="sudden", course="worsening_slow", pain_score=9,
                    urinary_retention=True, dorsiflexion_mrc=2)
    assert [rule.id for rule in result.rules_fired] == [
        "cauda_equina", "acute_onset", "severe_pain_with_deficit", "new_foot_drop", "worsening_deficit",
        "objective_weakness"]
    assert result.red_flags == ("cauda_equina", "acute_onset", "severe_pain_with_deficit")


def test_urgency_is_the_highest_level_of_the_rules_that_fired():
    for changes in ({}, {"course": "worsening_slow"}, {"course": "worsening_fast"},
                    {"days_since_onset": 10, "stroke_signs": True}):
        result = triage(**changes)
        highest = max((URGENCY_RANK[rule.level] for rule in result.rules_fired), default=0)
        assert URGENCY_RANK[result.urgency] == highest


def test_an_urgent_rule_never_lowers_a_red_flag():
    result = triage(urinary_retention=True, days_since_onset=30, course="worsening_slow")
    assert result.urgency == "emergency"
    assert {"new_foot_drop", "worsening_deficit"} <= {rule.id for rule in result.rules_fired}
