"""Reads of the triage domain, always scoped to what the user may see."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Prefetch, QuerySet

from accounts.models import Role, User
from patients.selectors import patients_visible_to
from referrals.models import Referral

from .models import Assessment, Evaluation


def assessments_visible_to(*, user: User) -> QuerySet[Assessment]:
    """Patients see their own; clinicians and staff their clinic's; a superuser all."""
    assessments = Assessment.objects.all()
    if not user.is_authenticated:
        return assessments.none()
    if user.is_superuser:
        return assessments
    if user.role == Role.PATIENT:
        return assessments.filter(patient__in=patients_visible_to(user=user))
    if user.is_clinical and user.clinic_id:
        # The clinic copied from the patient when the assessment was stored: one indexed column, no join.
        return assessments.filter(clinic_id=user.clinic_id)
    return assessments.none()


def assessments_for_api(*, user: User) -> QuerySet[Assessment]:
    """Everything an assessment's representation needs, in a fixed number of queries."""
    return assessments_visible_to(user=user).select_related(
        "current_evaluation__overridden_by", "escalation"
    ).prefetch_related(
        # Into plain lists (`to_attr`): a related manager's queryset per row would cost more than reading the rows.
        Prefetch("referrals", queryset=Referral.objects.select_related("partner").order_by("created_at"),
                 to_attr="referrals_in_order"),
        # Each earlier result is listed by its summary: its findings (JSON) are neither read nor decoded.
        Prefetch("evaluations", to_attr="evaluations_in_order", queryset=Evaluation.objects.order_by(
            "evaluated_at"
        ).only("id", "assessment_id", "ruleset_version", "urgency", "override_urgency", "evaluated_at")),
    )


def assessment_submitted_for_api(*, assessment: Assessment) -> Assessment:
    """A just-submitted assessment, ready for its representation without reading it back.

    The worker writes the result, referrals and escalation only once the
    submission has committed, so the answer to a submission shows them empty
    (status pending), set as `assessments_for_api` would leave them.
    """
    assessment.referrals_in_order = []
    assessment.evaluations_in_order = []
    Assessment.escalation.related.set_cached_value(assessment, None)
    return assessment


def overrides_by_rule(*, user: User) -> list[dict]:
    """Per rule: how often it fired in a current result and how often clinicians overrode that result.

    Shows the clinical team where the rules and the clinicians disagree.
    """
    evaluations = Evaluation.objects.filter(assessment__in=assessments_visible_to(user=user)).values_list(
        "rules_fired", "urgency", "override_urgency"
    )
    rank = {"routine": 0, "urgent": 1, "emergency": 2}
    tally: dict[str, dict] = defaultdict(lambda: {"fired": 0, "overridden": 0, "raised": 0, "lowered": 0})
    titles: dict[str, str] = {}
    for rules_fired, computed, override in evaluations.iterator():
        for rule in rules_fired or [{"id": "no_rule_fired", "title": "No rule fired (routine)"}]:
            row = tally[rule["id"]]
            titles[rule["id"]] = rule.get("title", "")
            row["fired"] += 1
            if override and override != computed:
                row["overridden"] += 1
                row["raised" if rank[override] > rank[computed] else "lowered"] += 1
    return [
        {"rule": rule_id, "title": titles[rule_id], **row,
         "override_rate": round(row["overridden"] / row["fired"], 4) if row["fired"] else 0.0}
        for rule_id, row in sorted(tally.items(), key=lambda item: (-item[1]["overridden"], item[0]))
    ]
