"""The foot-drop triage rules engine: pure Python, no Django.

    from triage.rules import evaluate, advice_text, validate_answers
    errors = validate_answers(answers)        # {} when valid
    result = evaluate(answers, submitted_on=date.today())
    advice = advice_text(result, "es")
"""
from triage.rules.advice import SAFETY_NET, advice_text
from triage.rules.catalogue import FINDINGS, FINDINGS_BY_CODE, Finding, validate_answers
from triage.rules.engine import CURRENT_RULESET, RULESETS, evaluate, get_ruleset
from triage.rules.model import URGENCY_RANK, RecommendedTest, Rule, Ruleset, TriageResult

__all__ = [
    "CURRENT_RULESET",
    "FINDINGS",
    "FINDINGS_BY_CODE",
    "RULESETS",
    "SAFETY_NET",
    "URGENCY_RANK",
    "Finding",
    "RecommendedTest",
    "Rule",
    "Ruleset",
    "TriageResult",
    "advice_text",
    "evaluate",
    "get_ruleset",
    "validate_answers",
]
