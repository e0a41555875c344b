from django.contrib import admin, messages
from django.db import transaction
from simple_history.admin import SimpleHistoryAdmin

from audit.mixins import AuditedAdminMixin
from common.errors import ApplicationError

from .actions import assessment_retriage
from .models import Assessment, Evaluation
from .rules import CURRENT_RULESET


class EvaluationInline(admin.StackedInline):
    model = Evaluation
    extra = 0
    can_delete = False
    fields = [
        "ruleset_version", "evaluated_at", "urgency", "red_flags", "likely_origin", "recommended_specialties",
        "recommended_tests", "rules_fired", "advice", "override_urgency", "override_reason", "overridden_by",
        "overridden_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Assessment)
class AssessmentAdmin(AuditedAdminMixin, SimpleHistoryAdmin):
    list_display = ["submitted_at", "patient", "urgency", "status", "triaged_at"]
    list_filter = ["urgency", "status", "submitted_at"]
    search_fields = ["patient__last_name", "patient__first_name", "patient__external_id"]
    list_select_related = ["patient"]
    date_hierarchy = "submitted_at"
    readonly_fields = [
        "patient", "submitted_by", "submitted_at", "answers", "status", "triaged_at", "urgency",
        "current_evaluation", "enqueue_attempts", "last_enqueued_at",
    ]
    inlines = [EvaluationInline]
    actions = ["retriage_under_current_ruleset"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=f"Re-triage under the current ruleset (version {CURRENT_RULESET.version})")
    def retriage_under_current_ruleset(self, request, queryset):
        done = skipped = 0
        for assessment in queryset:
            try:
                with transaction.atomic():
                    assessment_retriage(assessment=assessment, ruleset_version=CURRENT_RULESET.version,
                                        by=request.user)
                done += 1
            except ApplicationError:
                skipped += 1
        self.message_user(request, f"Re-triaged {done}; {skipped} already had a result under this ruleset.",
                          messages.SUCCESS if done else messages.WARNING)
