"""The public vignettes, judged the way shared/tools/acceptance.py judges a running service.

`diff_expect` is acceptance.py's own function; the invariants are those of its
`invariant_problems` that concern the triage itself (escalations and referrals
are the service's, not the engine's).
"""
import importlib.util
import json
import sys
from datetime import date
from pathlib import Path

import pytest

from triage.rules import URGENCY_RANK, advice_text, evaluate, validate_answers

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
VIGNETTES = SHARED / "vignettes" / "public.json"
ACCEPTANCE = SHARED / "tools" / "acceptance.py"
SUBMITTED_ON = date(2026, 11, 21)

pytestmark = pytest.mark.skipif(not VIGNETTES.exists(), reason=f"public vignettes not found at {VIGNETTES}")


def load_vignettes() -> dict:
    if not VIGNETTES.exists():
        return {"cases": [], "invalid": []}
    return json.loads(VIGNETTES.read_text(encoding="utf-8"))


def load_acceptance():
    if not ACCEPTANCE.exists():
        return None
    spec = importlib.util.spec_from_file_location("shared_acceptance", ACCEPTANCE)
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up in sys.modules while it loads.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


VIGNETTE_SET = load_vignettes()
CASES = VIGNETTE_SET.get("cases", [])
INVALID = VIGNETTE_SET.get("invalid", [])


def triage_problems(tri: dict) -> list[str]:
    """acceptance.invariant_problems, less the checks on escalations and referrals."""
    out = []
    urgency = tri["urgency"]
    rules = tri["rules_fired"]
    specs = tri["recommended_specialties"]
    if urgency not in URGENCY_RANK:
        out.append(f"urgency {urgency!r} is not emergency/urgent/routine")
    if urgency != "routine" and not rules:
        out.append(f"rules_fired is empty for a {urgency} result")
    flags = sorted(set(tri["red_flags"]))
    if bool(flags) != (urgency == "emergency"):
        out.append(f"red_flags {flags} but urgency {urgency}")
    if len({rule["id"] for rule in rules if rule["level"] == "emergency"}) < len(flags):
        out.append(f"rules_fired has fewer emergency entries than red_flags {flags}")
    for rule in rules:
        lacking = [key for key in ("id", "title", "level", "source") if not rule.get(key)]
        if lacking:
            out.append(f"rules_fired entry {rule.get('id')!r} lacks {', '.join(lacking)}")
    levels = [URGENCY_RANK[rule["level"]] for rule in rules]
    if levels and max(levels) != URGENCY_RANK.get(urgency):
        out.append(f"highest rules_fired level differs from urgency {urgency}")
    if not tri["ruleset_version"]:
        out.append("ruleset_version is empty")
    if not (isinstance(tri.get("advice"), str) and tri["advice"].strip()):
        out.append("advice is not a non-empty string")
    if "physiotherapy" not in specs:
        out.append(f"physiotherapy missing from recommended_specialties {specs}")
    if len(set(specs)) != len(specs):
        out.append(f"recommended_specialties has duplicates: {specs}")
    return out


@pytest.fixture(scope="module")
def acceptance():
    module = load_acceptance()
    if module is None:
        pytest.skip(f"acceptance tool not found at {ACCEPTANCE}")
    return module


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_a_public_vignette_triages_as_the_acceptance_suite_expects(case, acceptance):
    assert validate_answers(case["answers"]) == {}
    result = evaluate(case["answers"], submitted_on=SUBMITTED_ON)
    tri = {**result.as_dict(), "advice": advice_text(result, case.get("language") or "en")}
    tri = json.loads(json.dumps(tri))  # judged as the API would serve it
    problems = acceptance.diff_expect(case["expect"], tri, f"{SUBMITTED_ON.isoformat()}T10:00:00+00:00")
    assert problems + triage_problems(tri) == []


@pytest.mark.parametrize("case", INVALID, ids=[case["id"] for case in INVALID])
def test_a_public_invalid_vignette_is_rejected_naming_its_field(case):
    expected = case["expect_field"]
    expected = [expected] if isinstance(expected, str) else expected
    problems = validate_answers(case["answers"])
    assert set(expected) <= set(problems)
