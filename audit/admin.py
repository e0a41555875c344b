from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the trail is append-only."""

    list_display = ["at", "actor_username", "action", "object_type", "object_id", "patient_id", "source", "ip_address"]
    list_filter = ["action", "source", "object_type", "at"]
    search_fields = ["=patient_id", "=object_id", "=actor_username", "=ip_address"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
