"""Properties that hold for every valid assessment, over answers generated from the catalogue."""
import copy
import json
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.rules.floor import triage_by_hand
from triage.rules import FINDINGS, SAFETY_NET, URGENCY_RANK, advice_text, evaluate, validate_answers

SUBMITTED_ON = date(2026, 11, 21)
# No example database: the tests must not write into the repository.
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow])

DAY_COUNTS = ("days_since_onset", "days_since_surgery", "days_since_injury")
DAYS_OF_EVENT = {"recent_surgery": "days_since_surgery", "recent_injury": "days_since_injury"}
RED_FLAG_ANSWERS = [("urinary_retention", True), ("incontinence", True), ("saddle_numbness", True),
                    ("other_leg_weakness", True), ("stroke_signs", True), ("course", "worsening_fast")]


def value_of(finding, age: int) -> st.SearchStrategy:
    if finding.type == "boolean":
        return st.booleans()
    if finding.type == "choice":
        return st.sampled_from(finding.choices)
    if finding.type == "multi_choice":
        return st.lists(st.sampled_from(finding.choices), unique=True)
    if finding.code in DAY_COUNTS:
        # Mostly the days around the policy's boundaries, sometimes anything a life allows.
        return st.one_of(st.integers(0, 100), st.integers(0, (age + 1) * 366))
    return st.integers(finding.minimum, finding.maximum)


@st.composite
def valid_answers(draw) -> dict:
    """Answers the catalogue accepts: every required code, any optional code absent, null or valid."""
    age = draw(st.integers(0, 120))
    answers = {"age": age}
    for finding in FINDINGS:
        if finding.code == "age" or finding.code in DAYS_OF_EVENT.values():
            continue
        if finding.required:
            answers[finding.code] = draw(value_of(finding, age))
            continue
        presence = draw(st.sampled_from(("absent", "null", "value", "value")))
        if presence == "null":
            answers[finding.code] = None
        elif presence == "value":
            answers[finding.code] = draw(value_of(finding, age))
    for event, days in DAYS_OF_EVENT.items():
        if answers.get(event) not in (None, "none"):
            answers[days] = draw(st.one_of(st.integers(0, 45), st.integers(0, (age + 1) * 366)))
        elif draw(st.booleans()):
            answers[days] = None
    return answers


def rank(result) -> int:
    return URGENCY_RANK[result.urgency]


@PROPERTY_SETTINGS
@given(valid_answers())
def test_validation_accepts_every_generated_answer(answers):
    assert validate_answers(answers) == {}


@PROPERTY_SETTINGS
@given(valid_answers())
def test_urgency_is_never_below_routine_and_is_the_highest_rule_level(answers):
    result = evaluate(answers, submitted_on=SUBMITTED_ON)
    assert result.urgency in URGENCY_RANK
    assert rank(result) == max((URGENCY_RANK[rule.level] for rule in result.rules_fired), default=0)


@PROPERTY_SETTINGS
@given(valid_answers())
def test_red_flags_are_exactly_the_emergency_rules_that_fired(answers):
    result = evaluate(answers, submitted_on=SUBMITTED_ON)
    assert result.red_flags == tuple(rule.id for rule in result.rules_fired if rule.level == "emergency")
    assert bool(result.red_flags) == (result.urgency == "emergency")


@PROPERTY_SETTINGS
@given(valid_answers(), st.sampled_from(RED_FLAG_ANSWERS))
def test_adding_a_red_flag_answer_gives_an_emergency_and_never_lowers_urgency(answers, red_flag):
    code, value = red_flag
    before = evaluate(answers, submitted_on=SUBMITTED_ON)
    after = evaluate({**answers, code: value}, submitted_on=SUBMITTED_ON)
    assert after.urgency == "emergency"
    assert rank(after) >= rank(before)


@PROPERTY_SETTINGS
@given(valid_answers())
def test_evaluation_is_deterministic(answers):
    first = evaluate(answers, submitted_on=SUBMITTED_ON)
    again = evaluate(copy.deepcopy(answers), submitted_on=SUBMITTED_ON)
    assert first == again
    assert first.as_dict() == again.as_dict()


@PROPERTY_SETTINGS
@given(valid_answers())
def test_evaluation_leaves_the_answers_unchanged(answers):
    before = copy.deepcopy(answers)
    evaluate(answers, submitted_on=SUBMITTED_ON)
    assert answers == before


@PROPERTY_SETTINGS
@given(valid_answers())
def test_physiotherapy_is_always_recommended_and_no_specialty_twice(answers):
    specialties = evaluate(answers, submitted_on=SUBMITTED_ON).recommended_specialties
    assert "physiotherapy" in specialties
    assert len(set(specialties)) == len(specialties)


@PROPERTY_SETTINGS
@given(valid_answers())
def test_there_is_always_a_likely_origin_and_undetermined_only_alone(answers):
    origins = evaluate(answers, submitted_on=SUBMITTED_ON).likely_origin
    assert origins
    assert "undetermined" not in origins or origins == ("undetermined",)


@PROPERTY_SETTINGS
@given(valid_answers(), st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_the_emg_is_never_booked_before_submission_nor_later_than_14_days(answers, submitted_on):
    tests = evaluate(answers, submitted_on=submitted_on).recommended_tests
    for test in tests:
        if test.code == "emg_ncs":
            assert submitted_on <= test.earliest_date <= submitted_on + timedelta(days=14)
        else:
            assert test.earliest_date is None


@PROPERTY_SETTINGS
@given(valid_answers())
def test_the_result_as_dict_is_json_ready(answers):
    as_dict = evaluate(answers, submitted_on=SUBMITTED_ON).as_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict


@PROPERTY_SETTINGS
@given(valid_answers())
def test_advice_always_ends_with_the_safety_net_in_both_languages(answers):
    result = evaluate(answers, submitted_on=SUBMITTED_ON)
    for language in ("en", "es"):
        assert advice_text(result, language).endswith(SAFETY_NET[language])


@PROPERTY_SETTINGS
@given(valid_answers(), st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_the_engine_agrees_with_the_hand_written_floor(answers, submitted_on):
    # Two independent writings of the policy: the tables and bench/rules/floor.py's if/else.
    assert evaluate(answers, submitted_on=submitted_on) == triage_by_hand(answers, submitted_on)
