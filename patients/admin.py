from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from audit.mixins import AuditedAdminMixin

from .models import Patient


@admin.register(Patient)
class PatientAdmin(AuditedAdminMixin, SimpleHistoryAdmin):
    list_display = ["last_name", "first_name", "date_of_birth", "external_id", "clinic", "language"]
    list_filter = ["clinic", "language"]
    search_fields = ["last_name", "first_name", "external_id", "email"]
    list_select_related = ["clinic"]
    readonly_fields = ["created_at", "updated_at", "created_by", "user"]
