"""Assessments in the clinic's admin: urgency at a glance, the answers as the questions asked, why the rules decided.

Writes go through triage.actions, as from the API: re-triage (an action on the
list) and override (a small form on the assessment's page).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from audit.mixins import AuditedAdminMixin
from common.admin import PlainActionCheckboxMixin, ScopedAdminMixin
from common.errors import ApplicationError
from dashboard.selectors import answers_as_questions, code_label, red_flags_of

from .actions import NotTriagedYet, assessment_retriage, evaluation_override
from .models import Assessment, Evaluation, Urgency
from .rules import CURRENT_RULESET
from .selectors import assessments_visible_to

RED_FLAG_RULES = [rule for rule in CURRENT_RULESET.rules if rule.is_red_flag]


def urgency_badge(urgency: str, label: str | None = None) -> str:
    if not urgency:
        return format_html('<span class="badge badge-pending">{}</span>', "Not triaged yet")
    return format_html('<span class="badge badge-{}">{}</span>', urgency, label or Urgency(urgency).label)


class RedFlagFilter(admin.SimpleListFilter):
    """On the current result's red flags (the rule ids of the emergency rules that fired)."""

    title = "red flag"
    parameter_name = "red_flag"
    ANY, NONE = "any", "none"

    def lookups(self, request, model_admin):
        return [(self.ANY, "Any red flag"), (self.NONE, "No red flag"),
                *[(rule.id, code_label(rule.id)) for rule in RED_FLAG_RULES]]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value == self.ANY:
            return queryset.filter(current_evaluation__isnull=False).exclude(current_evaluation__red_flags=[])
        if value == self.NONE:
            return queryset.filter(current_evaluation__red_flags=[])
        if connection.features.supports_json_field_contains:
            return queryset.filter(current_evaluation__red_flags__contains=[value])
        return queryset.filter(current_evaluation__red_flags__icontains=f'"{value}"')


class EvaluationInline(admin.StackedInline):
    model = Evaluation
    extra = 0
    can_delete = False
    classes = ["collapse"]
    verbose_name_plural = "Every result, under each ruleset (raw)"
    fields = [
        "ruleset_version", "evaluated_at", "urgency", "red_flags", "likely_origin", "recommended_specialties",
        "recommended_tests", "rules_fired", "advice", "override_urgency", "override_reason", "overridden_by",
        "overridden_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OverrideForm(forms.Form):
    urgency = forms.ChoiceField(choices=Urgency.choices, widget=forms.RadioSelect)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Why: kept beside the computed result and shown to the clinical team.")


@admin.register(Assessment)
class AssessmentAdmin(AuditedAdminMixin, ScopedAdminMixin, PlainActionCheckboxMixin, SimpleHistoryAdmin):
    visible_to = staticmethod(assessments_visible_to)
    list_display = ["submitted_at", "patient", "urgency_column", "red_flags_column", "status", "triaged_at"]
    list_filter = ["urgency", RedFlagFilter, "status", "submitted_at"]
    search_fields = ["patient__last_name", "patient__first_name", "patient__external_id"]
    search_help_text = "A patient's first or last name, or their external id."
    list_select_related = ["patient", "current_evaluation"]
    date_hierarchy = "submitted_at"
    show_full_result_count = False  # a filtered page counts its rows once, not the whole table again
    fieldsets = [
        (None, {"fields": ["patient_link", ("urgency_column", "status"),
                           ("submitted_at", "triaged_at", "submitted_by")]}),
        ("Why: the current result", {"fields": ["red_flags_column", "rules_fired_table", "override_summary",
                                                 "recommendations", "advice"]}),
        ("The answers, as asked", {"fields": ["answers_table"]}),
        ("Processing", {"classes": ["collapse"], "fields": ["current_evaluation", "queued_with_red_flags",
                                                          "enqueue_attempts", "last_enqueued_at"]}),
    ]
    readonly_fields = [
        "patient_link", "urgency_column", "status", "submitted_at", "triaged_at", "submitted_by",
        "red_flags_column", "rules_fired_table", "override_summary", "recommendations", "advice", "answers_table",
        "current_evaluation", "queued_with_red_flags", "enqueue_attempts", "last_enqueued_at",
    ]
    inlines = [EvaluationInline]
    actions = ["retriage_under_current_ruleset"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("patient", "current_evaluation__overridden_by",
                                                            "submitted_by")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retriage_permission(self, request) -> bool:
        return request.user.has_perm("triage.change_evaluation")

    # ---------------------------------------------------------------- columns and readable fields

    @admin.display(description="Urgency", ordering="urgency")
    def urgency_column(self, assessment: Assessment) -> str:
        evaluation = assessment.current_evaluation
        badge = urgency_badge(assessment.urgency)
        if evaluation is not None and evaluation.override_urgency:
            return format_html('{} <span class="quiet">(overridden; computed {})</span>', badge,
                               evaluation.get_urgency_display().lower())
        return badge

    @admin.display(description="Red flags")
    def red_flags_column(self, assessment: Assessment) -> str:
        flags = red_flags_of(assessment.current_evaluation)
        if not flags:
            return format_html('<span class="quiet">{}</span>', "—")
        return format_html_join(" ", '<span class="flag" title="{}">{}</span>',
                                ((flag.title, flag.label) for flag in flags))

    @admin.display(description="Patient")
    def patient_link(self, assessment: Assessment) -> str:
        patient = assessment.patient
        return format_html('<a href="{}">{}</a> <span class="quiet">born {}{}</span>',
                           reverse("admin:patients_patient_change", args=[patient.pk]), patient.full_name,
                           patient.date_of_birth.isoformat(),
                           f", external id {patient.external_id}" if patient.external_id else "")

    @admin.display(description="Rules that fired")
    def rules_fired_table(self, assessment: Assessment) -> str:
        evaluation = assessment.current_evaluation
        if evaluation is None:
            return "Not triaged yet."
        if not evaluation.rules_fired:
            return format_html("No rule fired: routine (ruleset {}).", evaluation.ruleset_version)
        rows = format_html_join(
            "", '<tr><td><strong>{}</strong><br><span class="quiet">{}</span></td>'
                '<td><span class="badge badge-{}">{}</span></td><td>{}</td></tr>',
            ((rule.get("title", ""), rule.get("id", ""), rule.get("level", ""), code_label(rule.get("level", "")),
              rule.get("source", "")) for rule in evaluation.rules_fired),
        )
        return format_html('<table class="rules"><thead><tr><th>Rule</th><th>Level</th><th>Source</th></tr>'
                           '</thead><tbody>{}</tbody></table><p class="quiet">Ruleset {}, evaluated {}.</p>',
                           rows, evaluation.ruleset_version, evaluation.evaluated_at.strftime("%Y-%m-%d %H:%M"))

    @admin.display(description="Override")
    def override_summary(self, assessment: Assessment) -> str:
        evaluation = assessment.current_evaluation
        if evaluation is None or not evaluation.override_urgency:
            return "None: the computed urgency applies."
        who = evaluation.overridden_by.get_username() if evaluation.overridden_by else "someone"
        return format_html("{} by {} on {}, computed {}: “{}”", urgency_badge(evaluation.override_urgency), who,
                           evaluation.overridden_at.strftime("%Y-%m-%d %H:%M"), evaluation.get_urgency_display(),
                           evaluation.override_reason)

    @admin.display(description="Recommended")
    def recommendations(self, assessment: Assessment) -> str:
        evaluation = assessment.current_evaluation
        if evaluation is None:
            return "—"
        tests = ", ".join(
            code_label(test["code"]) + (f" (from {test['earliest_date']})" if test.get("earliest_date") else "")
            for test in evaluation.recommended_tests
        )
        return format_html(
            "<strong>Specialties:</strong> {}<br><strong>Tests:</strong> {}<br><strong>Likely origin:</strong> {}",
            ", ".join(code_label(s) for s in evaluation.recommended_specialties) or "—", tests or "—",
            ", ".join(code_label(o) for o in evaluation.likely_origin) or "—",
        )

    @admin.display(description="Advice sent to the patient")
    def advice(self, assessment: Assessment) -> str:
        evaluation = assessment.current_evaluation
        return evaluation.advice if evaluation is not None else "—"

    @admin.display(description="Answers")
    def answers_table(self, assessment: Assessment) -> str:
        rows = format_html_join(
            "", '<tr class="{}"><td>{}</td><td class="value">{}</td></tr>',
            (("positive" if answer.value == "Yes" else "" if answer.reported else "not-reported",
              answer.question, answer.value) for answer in answers_as_questions(assessment.answers)),
        )
        return format_html('<table class="answers"><thead><tr><th>Question</th><th>Answer</th></tr></thead>'
                           "<tbody>{}</tbody></table>", rows)

    # ---------------------------------------------------------------- writes

    @admin.action(description=f"Re-triage under the current ruleset (version {CURRENT_RULESET.version})",
                  permissions=["retriage"])
    def retriage_under_current_ruleset(self, request, queryset):
        done = pending = already = 0
        for assessment in queryset:
            try:
                with transaction.atomic():
                    assessment_retriage(assessment=assessment, ruleset_version=CURRENT_RULESET.version,
                                        by=request.user)
                done += 1
            except NotTriagedYet:
                pending += 1
            except ApplicationError:
                already += 1
        self.message_user(request, f"Re-triaged {done}; {already} already had a result under this ruleset; "
                                   f"{pending} not triaged yet.", messages.SUCCESS if done else messages.WARNING)

    def get_urls(self):
        override = self.admin_site.admin_view(self.override_view)
        return [path("<path:object_id>/override/", override, name="triage_assessment_override"),
                *super().get_urls()]

    def override_view(self, request, object_id):
        """Set the urgency that drives referrals and paging; the computed one stays beside it."""
        if not request.user.has_perm("triage.change_evaluation"):
            raise PermissionDenied
        assessment = self.get_queryset(request).filter(pk=object_id).first()
        if assessment is None:
            raise Http404("No such assessment.")
        evaluation = assessment.current_evaluation
        form = OverrideForm(request.POST or None, initial={
            "urgency": evaluation.effective_urgency if evaluation else None})
        if evaluation is None:
            form = None
            self.message_user(request, "This assessment has no result yet: nothing to override.", messages.WARNING)
        elif request.method == "POST" and form.is_valid():
            try:
                evaluation_override(evaluation=evaluation, urgency=form.cleaned_data["urgency"],
                                    reason=form.cleaned_data["reason"], by=request.user)
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                self.log_change(request, assessment, f"Urgency overridden to {form.cleaned_data['urgency']}.")
                self.message_user(request, f"The urgency is now {form.cleaned_data['urgency']}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:triage_assessment_change", args=[assessment.pk]))
        return TemplateResponse(request, "admin/triage/assessment/override.html", {
            **self.admin_site.each_context(request), "title": f"Override the urgency of {assessment}",
            "form": form, "assessment": assessment, "evaluation": evaluation, "opts": Assessment._meta,
            "computed": urgency_badge(evaluation.urgency) if evaluation else "",
        })
