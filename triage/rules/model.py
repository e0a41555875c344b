"""The values the rules engine works with: rules, rulesets and triage results.

Everything here is immutable, so a result computed once can be stored, compared
and replayed: the same answers and the same ruleset version give an equal result.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from triage.rules.facts import Facts

EMERGENCY = "emergency"
URGENT = "urgent"
ROUTINE = "routine"

URGENCY_RANK = {ROUTINE: 0, URGENT: 1, EMERGENCY: 2}
URGENCY_BY_RANK = {rank: urgency for urgency, rank in URGENCY_RANK.items()}

FactsPredicate = Callable[["Facts"], bool]
# Origins are a tuple of §5 codes in table order; referrals also depend on the final urgency.
TestPredicate = Callable[["Facts", tuple], bool]
Referral = Callable[["Facts", tuple, str], tuple]


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the clinical policy's §3 (red flags) or §4 (urgent) tables."""

    id: str
    title: str
    level: str
    source: str
    predicate: FactsPredicate = field(compare=False, repr=False)
    # Derived from `level` once, because the engine reads them on every evaluation.
    rank: int = field(init=False, compare=False, repr=False)
    is_red_flag: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.level not in URGENCY_RANK or self.level == ROUTINE:
            raise ValueError(f"rule {self.id!r}: level must be emergency or urgent, not {self.level!r}")
        object.__setattr__(self, "rank", URGENCY_RANK[self.level])
        object.__setattr__(self, "is_red_flag", self.level == EMERGENCY)

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "level": self.level, "source": self.source}


@dataclass(frozen=True, slots=True)
class OriginRow:
    """A §5 row: the origin is likely when the predicate holds."""

    code: str
    predicate: FactsPredicate = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SpecialtyRow:
    """A §6 row: `when` quotes the policy; `refer` gives the specialties the row
    adds, in order, or () when the row does not apply."""

    when: str
    refer: Referral = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RecommendedTest:
    code: str
    earliest_date: date | None = None

    __test__ = False  # not a pytest test class, despite the name

    def as_dict(self) -> dict:
        if self.earliest_date is None:
            return {"code": self.code}
        return {"code": self.code, "earliest_date": self.earliest_date.isoformat()}


@dataclass(frozen=True, slots=True)
class TestRow:
    """A §7 row: recommended when one of `origins` is likely, or else when `predicate` holds.

    `days_after_onset` is set for a test that shows nothing until then.
    """

    code: str
    origins: frozenset[str] | None = None
    predicate: TestPredicate | None = field(default=None, compare=False, repr=False)
    days_after_onset: int | None = None
    # An undated recommendation is the same value every time: built once and shared.
    undated: RecommendedTest | None = field(init=False, compare=False, repr=False)

    __test__ = False  # not a pytest test class, despite the name

    def __post_init__(self) -> None:
        if (self.origins is None) == (self.predicate is None):
            raise ValueError(f"test {self.code!r}: give either origins or a predicate")
        object.__setattr__(self, "undated", RecommendedTest(self.code) if self.days_after_onset is None else None)


@dataclass(frozen=True, slots=True)
class Ruleset:
    """One published version of the triage policy, declared as data.

    The first of `primary_specialties` that refers to anyone gives the leading
    specialties (the first is the primary referral); each of
    `further_specialties` then adds its own, skipping any already listed.
    """

    version: str
    rules: tuple[Rule, ...]
    origins: tuple[OriginRow, ...]
    fallback_origin: str
    primary_specialties: tuple[SpecialtyRow, ...]
    further_specialties: tuple[SpecialtyRow, ...]
    tests: tuple[TestRow, ...]

    def __post_init__(self) -> None:
        ids = [rule.id for rule in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError(f"ruleset {self.version}: duplicate rule ids in {ids}")

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


@dataclass(frozen=True, slots=True)
class TriageResult:
    urgency: str
    red_flags: tuple[str, ...]
    likely_origin: tuple[str, ...]
    recommended_specialties: tuple[str, ...]
    recommended_tests: tuple[RecommendedTest, ...]
    rules_fired: tuple[Rule, ...]
    ruleset_version: str

    @property
    def primary_specialty(self) -> str:
        return self.recommended_specialties[0]

    def as_dict(self) -> dict:
        return {
            "urgency": self.urgency,
            "red_flags": list(self.red_flags),
            "likely_origin": list(self.likely_origin),
            "recommended_specialties": list(self.recommended_specialties),
            "recommended_tests": [test.as_dict() for test in self.recommended_tests],
            "rules_fired": [rule.as_dict() for rule in self.rules_fired],
            "ruleset_version": self.ruleset_version,
        }
