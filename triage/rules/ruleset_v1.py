"""Ruleset version "1": shared/clinical-policy.md §3-§7, declared as data.

Each table below is one table of the policy, in the policy's order; the
predicates are small functions of the derived `Facts` (see facts.py for how
answers become facts, policy §1). The engine only walks the tables.

Readings of the policy where its words allow more than one (the policy says:
where it is silent, err towards the higher urgency):

1. acute_onset — "`onset_speed` = `sudden`, or `foot_lift` = `cannot` without
   `previous_foot_drop`": "without previous_foot_drop" could qualify the whole
   disjunction or only the cannot-lift clause. We choose the cannot-lift clause
   only (a sudden onset within 14 days fires even after an earlier foot drop)
   because safer.
2. acute_onset — `previous_foot_drop` not reported counts as no (policy §1), so
   "cannot lift" within 14 days fires; this is also the safer reading.
3. Relevant operation/injury — foot drop that began on the very day of the
   operation or injury (`days_since_onset` = `days_since_surgery`) is "on or
   after it": relevant, because safer.
4. Relevant operation/injury — an operation or injury whose day count is
   missing cannot happen after validation (the count is then required); if it
   happens anyway we choose "relevant" because safer (see facts.py).
5. A relevant operation and a relevant injury together: both red flags fire,
   the operation's specialty is primary (§6 takes the first matching row), and
   an x-ray is recommended if either calls for it.
6. peroneal_neuropathy — "when nothing indicates lumbar_radiculopathy" is read
   as qualifying `numbness_top_of_foot` only; leg crossing/kneeling, a relevant
   knee/hip replacement, leg fracture or knee injury indicate the peroneal
   nerve even beside a lumbar cause. Ambiguity: we choose the wider reading
   because safer (it adds the nerve ultrasound rather than missing a
   compressible nerve); it never changes the urgency.
7. A number that is not reported (`pain_score`, `dorsiflexion_mrc` null or
   absent) meets no threshold: severe_pain_with_deficit, objective_weakness's
   MRC clause and pain_management do not fire on it. This is not the higher
   urgency, but it is not an ambiguity either: policy §1 defines "not reported"
   and the public vignettes (e.g. `als-slowly-worsening`, worsening slowly with
   no pain score: urgent, no red flag) pin it down.
8. emg_ncs is left out only when `central` is the *only* likely origin; with
   any other origin beside it, it is recommended.
"""
from __future__ import annotations

from triage.rules.facts import Facts
from triage.rules.model import EMERGENCY, ROUTINE, URGENT, OriginRow, Rule, Ruleset, SpecialtyRow, TestRow

NEW_EPISODE_DAYS = 90
ACUTE_ONSET_DAYS = 14
SEVERE_PAIN_SCORE = 8
PAIN_MANAGEMENT_SCORE = 7
WEAK_MRC_GRADE = 3
EMG_USEFUL_AFTER_ONSET_DAYS = 14

WORSENING = frozenset({"worsening_fast", "worsening_slow"})
LUMBAR_CONDITIONS = frozenset({"herniated_disc", "spinal_stenosis"})
CENTRAL_CONDITIONS = frozenset({"multiple_sclerosis", "stroke", "cerebral_palsy"})
NEUROMUSCULAR_CONDITIONS = frozenset({"als", "polio", "spinal_muscular_atrophy", "muscular_dystrophy",
                                      "charcot_marie_tooth"})
NEUROPATHY_CONDITIONS = frozenset({"diabetes"})
# §6 row 4: a routine case with one of these long-term conditions starts with physiotherapy.
PHYSIOTHERAPY_FIRST_CONDITIONS = CENTRAL_CONDITIONS | NEUROMUSCULAR_CONDITIONS | NEUROPATHY_CONDITIONS

# §6 rows 1 and 2: who sees a patient after a relevant operation or injury.
OPERATING_TEAM = {"knee_replacement": ("orthopedics",), "hip_replacement": ("orthopedics",),
                  "spine": ("neurosurgery",), "abdominal": ("general_surgery",), "other": ("neurology",)}
INJURY_TEAM = {"leg_fracture": ("orthopedics",), "knee_injury": ("orthopedics",), "other": ("orthopedics",),
               "back_injury": ("neurosurgery",)}
JOINT_REPLACEMENTS = frozenset({"knee_replacement", "hip_replacement"})
LEG_INJURIES = frozenset({"leg_fracture", "knee_injury"})


# --- §3 red flags and §4 urgent rules -------------------------------------------------

def has_cauda_equina_signs(f: Facts) -> bool:
    return f.urinary_retention or f.incontinence or f.saddle_numbness


def has_bilateral_weakness(f: Facts) -> bool:
    # Long-standing stable weakness of both feet (as in Charcot-Marie-Tooth) is not paged.
    return f.other_leg_weakness or (
        f.affected_side == "both" and (f.days_since_onset <= NEW_EPISODE_DAYS or f.course == "worsening_fast"))


def is_progressing_rapidly(f: Facts) -> bool:
    return f.course == "worsening_fast"


def has_acute_onset(f: Facts) -> bool:
    # ambiguity: "without previous_foot_drop" qualifies only the cannot-lift clause;
    # we choose that reading (a recent sudden onset always fires) because safer.
    return f.days_since_onset <= ACUTE_ONSET_DAYS and (
        f.onset_speed == "sudden" or (f.foot_lift == "cannot" and not f.previous_foot_drop))


def has_severe_pain_with_deficit(f: Facts) -> bool:
    # A pain score that was not reported meets no threshold (ruleset docstring, reading 7).
    return f.pain_score is not None and f.pain_score >= SEVERE_PAIN_SCORE and f.course in WORSENING


def has_stroke_signs(f: Facts) -> bool:
    return f.stroke_signs


def follows_relevant_operation(f: Facts) -> bool:
    return f.relevant_surgery is not None


def follows_relevant_injury(f: Facts) -> bool:
    return f.relevant_injury is not None


def suggests_serious_spinal_pathology(f: Facts) -> bool:
    return (f.fever or f.unexplained_weight_loss or f.history_of_cancer) and (f.back_pain or f.sciatica)


def is_new_episode(f: Facts) -> bool:
    # First or recurrent: an earlier foot drop does not make this episode old.
    return f.days_since_onset <= NEW_EPISODE_DAYS


def is_worsening_slowly(f: Facts) -> bool:
    return f.course == "worsening_slow"


def has_objective_weakness(f: Facts) -> bool:
    return f.heel_walk_difficulty or (f.dorsiflexion_mrc is not None and f.dorsiflexion_mrc <= WEAK_MRC_GRADE)


def has_imaging_compression(f: Facts) -> bool:
    return f.mri_severe_compression


RULES = (
    Rule("cauda_equina", "Bladder, bowel or saddle symptoms (cauda equina warning signs)", EMERGENCY,
         "seed 003, NICE CKS red flags", has_cauda_equina_signs),
    Rule("bilateral_weakness", "New or fast-worsening weakness in both legs", EMERGENCY,
         "seed 003", has_bilateral_weakness),
    Rule("rapid_progression", "Weakness worsening over hours to a few days", EMERGENCY,
         "seed 003", is_progressing_rapidly),
    Rule("acute_onset", "New sudden foot drop, or a foot that can no longer lift", EMERGENCY,
         "seeds 000, 003", has_acute_onset),
    Rule("severe_pain_with_deficit", "Severe pain with worsening weakness", EMERGENCY,
         "seed 003", has_severe_pain_with_deficit),
    Rule("stroke_signs", "Signs of a stroke", EMERGENCY,
         "seeds 001, 002", has_stroke_signs),
    Rule("post_operative", "Foot drop after a recent operation", EMERGENCY,
         "seed 000", follows_relevant_operation),
    Rule("post_traumatic", "Foot drop after a recent injury", EMERGENCY,
         "seeds 000, 001", follows_relevant_injury),
    Rule("serious_spinal_pathology", "Back pain or sciatica with fever, weight loss or a history of cancer",
         EMERGENCY, "NICE CKS red flags, cited by seed 003", suggests_serious_spinal_pathology),
    Rule("new_foot_drop", "Foot drop that began within the last 90 days", URGENT,
         "seed 003", is_new_episode),
    Rule("worsening_deficit", "Weakness that is slowly getting worse", URGENT,
         "seed 003", is_worsening_slowly),
    Rule("objective_weakness", "Weakness found on examination", URGENT,
         "seed 003", has_objective_weakness),
    Rule("imaging_compression", "Severe nerve root compression on MRI", URGENT,
         "seed 003", has_imaging_compression),
)


# --- §5 likely origin ----------------------------------------------------------------

def indicates_lumbar_radiculopathy(f: Facts) -> bool:
    return (has_cauda_equina_signs(f) or f.back_pain or f.sciatica
            or not f.known_conditions.isdisjoint(LUMBAR_CONDITIONS)
            or f.relevant_surgery == "spine" or f.relevant_injury == "back_injury"
            or f.mri_severe_compression)


def indicates_peroneal_neuropathy(f: Facts) -> bool:
    # ambiguity: only the numbness clause waits for "nothing indicates lumbar
    # radiculopathy"; we choose that (wider) reading because safer (ruleset docstring, reading 6).
    return (f.leg_crossing_or_kneeling
            or f.relevant_surgery in JOINT_REPLACEMENTS
            or f.relevant_injury in LEG_INJURIES
            or (f.numbness_top_of_foot and not indicates_lumbar_radiculopathy(f)))


def indicates_central_cause(f: Facts) -> bool:
    return (f.stroke_signs or f.upper_motor_neuron_signs or f.vision_problems
            or not f.known_conditions.isdisjoint(CENTRAL_CONDITIONS))


def indicates_neuromuscular_disease(f: Facts) -> bool:
    return not f.known_conditions.isdisjoint(NEUROMUSCULAR_CONDITIONS)


def indicates_peripheral_neuropathy(f: Facts) -> bool:
    return not f.known_conditions.isdisjoint(NEUROPATHY_CONDITIONS)


ORIGINS = (
    OriginRow("cauda_equina", has_cauda_equina_signs),
    OriginRow("lumbar_radiculopathy", indicates_lumbar_radiculopathy),
    OriginRow("peroneal_neuropathy", indicates_peroneal_neuropathy),
    OriginRow("central", indicates_central_cause),
    OriginRow("neuromuscular", indicates_neuromuscular_disease),
    OriginRow("peripheral_neuropathy", indicates_peripheral_neuropathy),
)
FALLBACK_ORIGIN = "undetermined"  # §5: none of the above


# --- §6 where to refer -----------------------------------------------------------------

def refer_to_operating_team(f: Facts, origins: tuple, urgency: str) -> tuple:
    # The advice also tells the patient to inform the operating team at once.
    return OPERATING_TEAM.get(f.relevant_surgery, ())


def refer_to_injury_team(f: Facts, origins: tuple, urgency: str) -> tuple:
    return INJURY_TEAM.get(f.relevant_injury, ())


def refer_spinal_origin(f: Facts, origins: tuple, urgency: str) -> tuple:
    if "cauda_equina" in origins or "lumbar_radiculopathy" in origins:
        return ("neurosurgery",)
    return ()


def refer_long_term_condition(f: Facts, origins: tuple, urgency: str) -> tuple:
    if urgency == ROUTINE and not f.known_conditions.isdisjoint(PHYSIOTHERAPY_FIRST_CONDITIONS):
        return ("physiotherapy", "neurology")
    return ()


def refer_to_neurology(f: Facts, origins: tuple, urgency: str) -> tuple:
    return ("neurology",)


def refer_to_pain_management(f: Facts, origins: tuple, urgency: str) -> tuple:
    # A pain score that was not reported meets no threshold (ruleset docstring, reading 7).
    if f.pain_score is not None and f.pain_score >= PAIN_MANAGEMENT_SCORE and "lumbar_radiculopathy" in origins:
        return ("pain_management",)
    return ()


def refer_to_physiotherapy(f: Facts, origins: tuple, urgency: str) -> tuple:
    return ("physiotherapy",)


PRIMARY_SPECIALTIES = (
    SpecialtyRow("1. a relevant operation: the operating team's specialty", refer_to_operating_team),
    SpecialtyRow("2. a relevant injury", refer_to_injury_team),
    SpecialtyRow("3. origin cauda_equina or lumbar_radiculopathy: neurosurgery", refer_spinal_origin),
    SpecialtyRow("4. routine with a known central, neuromuscular or peripheral_neuropathy condition: "
                 "physiotherapy, then neurology", refer_long_term_condition),
    SpecialtyRow("4. otherwise: neurology", refer_to_neurology),
)
FURTHER_SPECIALTIES = (
    SpecialtyRow("pain_score >= 7 and origin lumbar_radiculopathy: pain_management", refer_to_pain_management),
    SpecialtyRow("always: physiotherapy (rehabilitation in every case, seed 002)", refer_to_physiotherapy),
)


# --- §7 recommended tests --------------------------------------------------------------

def has_an_origin_besides_central(f: Facts, origins: tuple) -> bool:
    return origins != ("central",)


def has_injury_or_joint_replacement(f: Facts, origins: tuple) -> bool:
    return f.relevant_injury is not None or f.relevant_surgery in JOINT_REPLACEMENTS


TESTS = (
    TestRow("mri_lumbar_spine", origins=frozenset({"lumbar_radiculopathy"})),
    TestRow("mri_brain", origins=frozenset({"central"})),
    # Electrodiagnostics often show nothing for one to two weeks after onset.
    TestRow("emg_ncs", predicate=has_an_origin_besides_central, days_after_onset=EMG_USEFUL_AFTER_ONSET_DAYS),
    TestRow("xray", predicate=has_injury_or_joint_replacement),
    TestRow("nerve_ultrasound", origins=frozenset({"peroneal_neuropathy"})),
    TestRow("blood_tests", origins=frozenset({"peripheral_neuropathy", "neuromuscular", FALLBACK_ORIGIN})),
)


RULESET_V1 = Ruleset(
    version="1",
    rules=RULES,
    origins=ORIGINS,
    fallback_origin=FALLBACK_ORIGIN,
    primary_specialties=PRIMARY_SPECIALTIES,
    further_specialties=FURTHER_SPECIALTIES,
    tests=TESTS,
)
