"""Admin helpers shared by the apps."""

from __future__ import annotations

import functools
from datetime import datetime

from django.contrib.admin import helpers
from django.db import connections
from django.db.models import Max, Min, QuerySet
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from common.pagination import KeptCountPaginator


class PlainActionCheckboxMixin:
    """The changelist's row checkbox, as Django renders it, without a widget template per row.

    Django renders each row's checkbox through the form widget templates: about 0.5 ms a row
    here, a sixth of a 100-row changelist. The markup is the same (`tests/common/test_admin_checkbox.py`).
    """

    def action_checkbox(self, obj):
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, str(obj.pk), label)


class ScopedAdminMixin:
    """The admin lists and opens only the rows the user's selector returns (the API's own scoping).

    Set `visible_to` to a selector taking `user=`; `list_select_related` still applies.
    Permission checks on one object (change form, history, custom views) refuse
    an object outside the scope, so an id typed into a URL does not open it.
    """

    visible_to = None  # e.g. staticmethod(patients_visible_to)
    paginator = KeptCountPaginator  # a huge list's count is kept a few seconds, as in the API

    def get_queryset(self, request) -> QuerySet:
        queryset = with_indexed_date_hierarchy(type(self).visible_to(user=request.user))
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


class IndexedDateHierarchyMixin:
    """The two reads of the changelist's `date_hierarchy`, along the date field's index, for a scoped queryset.

    With no date picked, Django's `date_hierarchy` tag reads MIN and MAX of
    the field, then the distinct years (or, in a year, months) that hold rows.
    On a scoped queryset PostgreSQL computes both over every row in scope (a
    clinic's million assessments: half a second each). Here MIN and MAX are the first row each way along the
    field's index, and the years (months) that hold rows are the first row in
    each one's range: each read one query of `LIMIT 1` subqueries, as before
    two queries in all, whatever the number of rows.
    """

    def aggregate(self, *args, **kwargs):
        first, last = kwargs.get("first"), kwargs.get("last")
        if (
            not args
            and set(kwargs) == {"first", "last"}
            and type(first) is Min
            and type(last) is Max
            and first.filter is None
            and last.filter is None
            and first.source_expressions == last.source_expressions
            and isinstance(name := getattr(first.source_expressions[0], "name", None), str)
        ):
            return self._bounds(name)
        return super().aggregate(*args, **kwargs)

    def _bounds(self, name: str) -> dict:
        cache = self.__dict__.setdefault("_date_bounds", {})  # the tag asks, then `datetimes` below
        if name not in cache:
            present = self.filter(**{f"{name}__isnull": False})
            edges = [
                *present.order_by(name)
                .values_list(name, flat=True)[:1]
                .union(present.order_by(f"-{name}").values_list(name, flat=True)[:1], all=True)
            ]
            cache[name] = {"first": min(edges, default=None), "last": max(edges, default=None)}
        return cache[name]

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        if kind not in ("year", "month"):
            return super().datetimes(field_name, kind, order, tzinfo)
        bounds = self._bounds(field_name)
        if bounds["first"] is None:
            return []
        zone = tzinfo or timezone.get_current_timezone()
        start, end = (bound.astimezone(zone) for bound in (bounds["first"], bounds["last"]))
        periods = []
        year, month = start.year, start.month if kind == "month" else 1
        while (year, month) <= (end.year, end.month if kind == "month" else 1):
            following = (year + 1, 1) if kind == "year" or month == 12 else (year, month + 1)
            periods.append((datetime(year, month, 1, tzinfo=zone), datetime(*following, 1, tzinfo=zone)))
            year, month = following
        firsts = [
            self.filter(**{f"{field_name}__gte": begin, f"{field_name}__lt": until})
            .order_by(field_name)
            .values_list(field_name, flat=True)[:1]
            for begin, until in periods
        ]
        held = {
            (moment.astimezone(zone).year, moment.astimezone(zone).month if kind == "month" else 1)
            for moment in firsts[0].union(*firsts[1:], all=True)
        }
        found = [begin for begin, _ in periods if (begin.year, begin.month) in held]
        return found if order == "ASC" else found[::-1]


@functools.cache
def _indexed_date_hierarchy_class(queryset_class: type[QuerySet]) -> type[QuerySet]:
    return type(f"IndexedDateHierarchy{queryset_class.__name__}", (IndexedDateHierarchyMixin, queryset_class), {})


def with_indexed_date_hierarchy(queryset: QuerySet) -> QuerySet:
    queryset = queryset.all()
    if isinstance(queryset, IndexedDateHierarchyMixin):
        return queryset
    if not connections[queryset.db].features.supports_slicing_ordering_in_compound:
        return queryset  # SQLite (`make run`) cannot UNION the `LIMIT 1` reads: Django's own reads serve it
    queryset.__class__ = _indexed_date_hierarchy_class(type(queryset))
    return queryset
