from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from audit.mixins import AuditedAdminMixin
from common.admin import PlainActionCheckboxMixin, ScopedAdminMixin

from .models import Patient
from .selectors import patients_visible_to


@admin.register(Patient)
class PatientAdmin(AuditedAdminMixin, ScopedAdminMixin, PlainActionCheckboxMixin, SimpleHistoryAdmin):
    """The clinic's patients; each one's page ends with their timeline (dashboard.selectors.patient_timeline)."""

    visible_to = staticmethod(patients_visible_to)
    list_display = ["last_name", "first_name", "date_of_birth", "external_id", "clinic", "language"]
    list_filter = [("clinic", admin.RelatedOnlyFieldListFilter), "language"]
    search_fields = ["last_name", "first_name", "external_id", "email"]
    search_help_text = "A first or last name, an external id or an email address."
    list_select_related = ["clinic"]
    readonly_fields = ["created_at", "updated_at", "created_by", "user"]

    def get_readonly_fields(self, request, obj=None):
        # A patient's assessments, referrals and escalations carry the clinic they were stored under, and each
        # clinic's lists are scoped by it: moving the patient would leave those rows with the old clinic.
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is None else [*fields, "clinic"]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            from dashboard.selectors import patient_timeline  # the dashboard reads across apps

            context["timeline"] = patient_timeline(patient=obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)
