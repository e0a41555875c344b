"""Admin helpers shared by the apps."""

from __future__ import annotations

from django.db.models import QuerySet


class ScopedAdminMixin:
    """The admin lists and opens only the rows the user's selector returns (the API's own scoping).

    Set `visible_to` to a selector taking `user=`; `list_select_related` still applies.
    Permission checks on one object (change form, history, custom views) refuse
    an object outside the scope, so an id typed into a URL does not open it.
    """

    visible_to = None  # e.g. staticmethod(patients_visible_to)

    def get_queryset(self, request) -> QuerySet:
        queryset = type(self).visible_to(user=request.user)
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) and self._in_scope(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self._in_scope(request, obj)

    def _in_scope(self, request, obj) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        seen = request.__dict__.setdefault("_admin_scope_checked", {})
        key = (obj._meta.label, obj.pk)
        if key not in seen:
            seen[key] = type(self).visible_to(user=request.user).filter(pk=obj.pk).exists()
        return seen[key]
