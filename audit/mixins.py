"""Record reads of patient data: a DRF view mixin and an admin mixin.

Both write one statement per request (INSERT, or COPY for a page of rows), whatever the number of rows shown.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS

from .actions import audit_read


class AuditedReadMixin:
    """For DRF generic views: what `get_object` returns to a GET, and every row of a list page, is recorded as read.

    The view's queryset must hold models registered with `audit.registry.audited`.
    """

    def get_object(self):
        obj = super().get_object()
        if self.request.method in SAFE_METHODS:
            audit_read(user=self.request.user, objects=[obj], request=self.request)
        return obj

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        audit_read(user=self.request.user, objects=page if page is not None else queryset, request=self.request)
        return page


class AuditedAdminMixin:
    """For a ModelAdmin: the change form, the history pages and each changelist page are recorded as read."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and request.method in SAFE_METHODS:
            audit_read(user=request.user, objects=[obj], request=request)
        return obj

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        audit_read(user=request.user, objects=changelist.result_list, request=request)
        return changelist

    def render_history_view(self, request, template, context, **kwargs):
        """django-simple-history's history list and past versions show the record's earlier values."""
        obj = context.get("object") or context.get("original")
        if obj is not None and request.method in SAFE_METHODS:
            audit_read(user=request.user, objects=[obj], request=request)
        return super().render_history_view(request, template, context, **kwargs)
