"""Evaluate validated answers against a ruleset.

The engine knows nothing clinical: it derives the facts once, walks the
ruleset's tables in order and assembles the result. Everything it returns is
ordered by the tables, so the same answers and ruleset give an equal result.
"""
from __future__ import annotations

from datetime import date, timedelta

from triage.rules.facts import Facts
from triage.rules.model import URGENCY_BY_RANK, RecommendedTest, Ruleset, TriageResult
from triage.rules.ruleset_v1 import RULESET_V1

RULESETS: dict[str, Ruleset] = {RULESET_V1.version: RULESET_V1}
CURRENT_RULESET: Ruleset = RULESET_V1


def get_ruleset(version: str) -> Ruleset:
    """The ruleset published as `version`; KeyError when there is none."""
    return RULESETS[version]


def evaluate(answers: dict, *, submitted_on: date, ruleset: Ruleset = CURRENT_RULESET) -> TriageResult:
    """Triage answers that `validate_answers` accepted, as of the day they were submitted.

    `submitted_on` is the submission date in the service's time zone; the onset
    date is that day minus `days_since_onset`.
    """
    facts = Facts(answers)

    rules_fired, red_flags, rank = [], [], 0
    for rule in ruleset.rules:
        if rule.predicate(facts):
            rules_fired.append(rule)
            if rule.rank > rank:
                rank = rule.rank
            if rule.is_red_flag:
                red_flags.append(rule.id)
    urgency = URGENCY_BY_RANK[rank]

    origins = tuple([row.code for row in ruleset.origins if row.predicate(facts)]) or (ruleset.fallback_origin,)

    specialties = []
    for row in ruleset.primary_specialties:
        leading = row.refer(facts, origins, urgency)
        if leading:
            specialties = list(leading)
            break
    for row in ruleset.further_specialties:
        for code in row.refer(facts, origins, urgency):
            if code not in specialties:
                specialties.append(code)

    tests = []
    for row in ruleset.tests:
        if row.predicate(facts, origins) if row.origins is None else not row.origins.isdisjoint(origins):
            tests.append(row.undated or RecommendedTest(
                row.code, _earliest_date(row.days_after_onset, facts.days_since_onset, submitted_on)))

    return TriageResult(urgency, tuple(red_flags), origins, tuple(specialties), tuple(tests),
                        tuple(rules_fired), ruleset.version)


def _earliest_date(days_after_onset: int, days_since_onset: int, submitted_on: date) -> date:
    """onset date + `days_after_onset`, or the submission date if that is later."""
    if days_since_onset >= days_after_onset:
        return submitted_on
    return submitted_on + timedelta(days=days_after_onset - days_since_onset)
