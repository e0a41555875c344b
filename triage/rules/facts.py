"""The facts the rules read, derived once per evaluation from validated answers.

Policy §1 decides how answers become facts:

* an optional yes/no that is absent is False; one sent as null stays None
  ("not reported"). The rules read both as no: every predicate tests truth,
  never `is False`.
* an optional number (`pain_score`, `dorsiflexion_mrc`) absent or null is None,
  "not reported", and meets no threshold.
* `recent_surgery`/`recent_injury` default to `none`. An operation or injury
  becomes a fact only when it is *relevant*: within 30 days, and the foot drop
  began on or after it. `relevant_surgery`/`relevant_injury` hold its kind,
  or None; one that is not relevant plays no part in any rule.
* `known_conditions` becomes a frozenset.

Only answers that some rule reads become facts (`tingling`, say, is asked but
read by no rule of ruleset 1): deriving the rest would cost every evaluation
for nothing. A ruleset that needs another answer adds it here.
"""
from __future__ import annotations

from triage.rules.catalogue import NO_INJURY, NO_SURGERY

# An operation or injury more than this many days before the assessment is not relevant (policy §1).
RELEVANT_EVENT_WINDOW_DAYS = 30

_NO_CONDITIONS: frozenset[str] = frozenset()


def relevant_event(kind: str | None, nothing: str, days_since_event: int | None,
                   days_since_onset: int) -> str | None:
    """`kind` when the operation or injury is relevant (policy §1), else None."""
    if kind is None or kind == nothing:
        return None
    if days_since_event is None:
        # ambiguity: validation makes the day count required with an event, so this is
        # reachable only with unvalidated answers; we choose "relevant" because safer.
        return kind
    if days_since_event <= RELEVANT_EVENT_WINDOW_DAYS and days_since_onset <= days_since_event:
        return kind
    return None


class Facts:
    """Plain attributes for the predicates, set once in __init__ and then only read."""

    # Grouped as the catalogue is, not sorted.
    __slots__ = (  # noqa: RUF023
        "affected_side", "days_since_onset", "onset_speed", "course", "foot_lift",
        "urinary_retention", "incontinence", "saddle_numbness",
        "other_leg_weakness", "back_pain", "sciatica", "numbness_top_of_foot", "heel_walk_difficulty",
        "stroke_signs", "vision_problems", "fever", "unexplained_weight_loss", "history_of_cancer",
        "previous_foot_drop", "leg_crossing_or_kneeling", "upper_motor_neuron_signs", "mri_severe_compression",
        "pain_score", "dorsiflexion_mrc", "known_conditions", "relevant_surgery", "relevant_injury",
    )

    def __init__(self, answers: dict) -> None:
        get = answers.get
        self.affected_side = get("affected_side")
        self.days_since_onset = days_since_onset = get("days_since_onset")
        self.onset_speed = get("onset_speed")
        self.course = get("course")
        self.foot_lift = get("foot_lift")

        self.urinary_retention = get("urinary_retention", False)
        self.incontinence = get("incontinence", False)
        self.saddle_numbness = get("saddle_numbness", False)
        self.other_leg_weakness = get("other_leg_weakness", False)
        self.back_pain = get("back_pain", False)
        self.sciatica = get("sciatica", False)
        self.numbness_top_of_foot = get("numbness_top_of_foot", False)
        self.heel_walk_difficulty = get("heel_walk_difficulty", False)
        self.stroke_signs = get("stroke_signs", False)
        self.vision_problems = get("vision_problems", False)
        self.fever = get("fever", False)
        self.unexplained_weight_loss = get("unexplained_weight_loss", False)
        self.history_of_cancer = get("history_of_cancer", False)
        self.previous_foot_drop = get("previous_foot_drop", False)
        self.leg_crossing_or_kneeling = get("leg_crossing_or_kneeling", False)
        self.upper_motor_neuron_signs = get("upper_motor_neuron_signs", False)
        self.mri_severe_compression = get("mri_severe_compression", False)

        self.pain_score = get("pain_score")
        self.dorsiflexion_mrc = get("dorsiflexion_mrc")
        conditions = get("known_conditions")
        self.known_conditions = frozenset(conditions) if conditions else _NO_CONDITIONS

        self.relevant_surgery = relevant_event(
            get("recent_surgery"), NO_SURGERY, get("days_since_surgery"), days_since_onset)
        self.relevant_injury = relevant_event(
            get("recent_injury"), NO_INJURY, get("days_since_injury"), days_since_onset)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Facts({shown})"
