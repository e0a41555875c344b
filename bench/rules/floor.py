"""The floor: the whole of ruleset 1 as one hand-written function, no tables.

It is what the rules engine would cost if nobody had declared the policy as
data: straight-line if/else over the answers, local variables, one pass. It
returns the same `TriageResult` as the engine (the contract's result type), so
the benchmark can require the two results to be equal and the timing compares
only the logic. It borrows the `Rule` objects by id, solely to put their
titles and sources in `rules_fired`; no logic comes from a table.
"""
from __future__ import annotations

from datetime import date, timedelta

from triage.rules.model import RecommendedTest, TriageResult
from triage.rules.ruleset_v1 import RULES

RULE = {rule.id: rule for rule in RULES}
MRI_LUMBAR_SPINE = RecommendedTest("mri_lumbar_spine")
MRI_BRAIN = RecommendedTest("mri_brain")
XRAY = RecommendedTest("xray")
NERVE_ULTRASOUND = RecommendedTest("nerve_ultrasound")
BLOOD_TESTS = RecommendedTest("blood_tests")

LUMBAR_CONDITIONS = frozenset({"herniated_disc", "spinal_stenosis"})
CENTRAL_CONDITIONS = frozenset({"multiple_sclerosis", "stroke", "cerebral_palsy"})
NEUROMUSCULAR_CONDITIONS = frozenset({"als", "polio", "spinal_muscular_atrophy", "muscular_dystrophy",
                                      "charcot_marie_tooth"})
LONG_TERM_CONDITIONS = CENTRAL_CONDITIONS | NEUROMUSCULAR_CONDITIONS | {"diabetes"}
SURGERY_TEAM = {"knee_replacement": "orthopedics", "hip_replacement": "orthopedics", "spine": "neurosurgery",
                "abdominal": "general_surgery", "other": "neurology"}
INJURY_TEAM = {"leg_fracture": "orthopedics", "knee_injury": "orthopedics", "other": "orthopedics",
               "back_injury": "neurosurgery"}


def triage_by_hand(answers: dict, submitted_on: date) -> TriageResult:
    get = answers.get
    days = get("days_since_onset")
    course = get("course")
    pain = get("pain_score")
    mrc = get("dorsiflexion_mrc")
    conditions = set(get("known_conditions") or ())
    back_pain = get("back_pain") is True
    sciatica = get("sciatica") is True
    mri_compression = get("mri_severe_compression") is True

    surgery = get("recent_surgery") or "none"
    days_since_surgery = get("days_since_surgery")
    if surgery == "none" or (days_since_surgery is not None
                             and (days_since_surgery > 30 or days > days_since_surgery)):
        surgery = None
    injury = get("recent_injury") or "none"
    days_since_injury = get("days_since_injury")
    if injury == "none" or (days_since_injury is not None
                            and (days_since_injury > 30 or days > days_since_injury)):
        injury = None

    fired = []
    cauda_equina = (get("urinary_retention") is True or get("incontinence") is True
                    or get("saddle_numbness") is True)
    if cauda_equina:
        fired.append(RULE["cauda_equina"])
    if get("other_leg_weakness") is True or (
            get("affected_side") == "both" and (days <= 90 or course == "worsening_fast")):
        fired.append(RULE["bilateral_weakness"])
    if course == "worsening_fast":
        fired.append(RULE["rapid_progression"])
    if days <= 14 and (get("onset_speed") == "sudden"
                       or (get("foot_lift") == "cannot" and get("previous_foot_drop") is not True)):
        fired.append(RULE["acute_onset"])
    if pain is not None and pain >= 8 and (course == "worsening_fast" or course == "worsening_slow"):
        fired.append(RULE["severe_pain_with_deficit"])
    stroke_signs = get("stroke_signs") is True
    if stroke_signs:
        fired.append(RULE["stroke_signs"])
    if surgery is not None:
        fired.append(RULE["post_operative"])
    if injury is not None:
        fired.append(RULE["post_traumatic"])
    if (get("fever") is True or get("unexplained_weight_loss") is True or get("history_of_cancer") is True) \
            and (back_pain or sciatica):
        fired.append(RULE["serious_spinal_pathology"])
    red_flags = tuple([rule.id for rule in fired])
    if days <= 90:
        fired.append(RULE["new_foot_drop"])
    if course == "worsening_slow":
        fired.append(RULE["worsening_deficit"])
    if get("heel_walk_difficulty") is True or (mrc is not None and mrc <= 3):
        fired.append(RULE["objective_weakness"])
    if mri_compression:
        fired.append(RULE["imaging_compression"])

    if red_flags:
        urgency = "emergency"
    elif fired:
        urgency = "urgent"
    else:
        urgency = "routine"

    origins = []
    if cauda_equina:
        origins.append("cauda_equina")
    lumbar = (cauda_equina or back_pain or sciatica or bool(conditions & LUMBAR_CONDITIONS)
              or surgery == "spine" or injury == "back_injury" or mri_compression)
    if lumbar:
        origins.append("lumbar_radiculopathy")
    peroneal = (get("leg_crossing_or_kneeling") is True
                or surgery == "knee_replacement" or surgery == "hip_replacement"
                or injury == "leg_fracture" or injury == "knee_injury"
                or (get("numbness_top_of_foot") is True and not lumbar))
    if peroneal:
        origins.append("peroneal_neuropathy")
    central = (stroke_signs or get("upper_motor_neuron_signs") is True or get("vision_problems") is True
               or bool(conditions & CENTRAL_CONDITIONS))
    if central:
        origins.append("central")
    neuromuscular = bool(conditions & NEUROMUSCULAR_CONDITIONS)
    if neuromuscular:
        origins.append("neuromuscular")
    neuropathy = "diabetes" in conditions
    if neuropathy:
        origins.append("peripheral_neuropathy")
    if not origins:
        origins.append("undetermined")

    physiotherapy_first = urgency == "routine" and bool(conditions & LONG_TERM_CONDITIONS)
    if surgery is not None:
        specialties = [SURGERY_TEAM[surgery]]
    elif injury is not None:
        specialties = [INJURY_TEAM[injury]]
    elif lumbar:
        specialties = ["neurosurgery"]
    elif physiotherapy_first:
        specialties = ["physiotherapy", "neurology"]
    else:
        specialties = ["neurology"]
    if lumbar and pain is not None and pain >= 7:
        specialties.append("pain_management")
    if "physiotherapy" not in specialties:
        specialties.append("physiotherapy")

    tests = []
    if lumbar:
        tests.append(MRI_LUMBAR_SPINE)
    if central:
        tests.append(MRI_BRAIN)
    if len(origins) > 1 or not central:
        earliest = submitted_on if days >= 14 else submitted_on + timedelta(days=14 - days)
        tests.append(RecommendedTest("emg_ncs", earliest))
    if injury is not None or surgery == "knee_replacement" or surgery == "hip_replacement":
        tests.append(XRAY)
    if peroneal:
        tests.append(NERVE_ULTRASOUND)
    if neuropathy or neuromuscular or not (lumbar or peroneal or central or cauda_equina):
        tests.append(BLOOD_TESTS)

    return TriageResult(urgency, red_flags, tuple(origins), tuple(specialties), tuple(tests), tuple(fired), "1")
