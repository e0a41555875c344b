"""Pages of lists, for the API and the admin: exact counts for lists of ordinary size, briefly kept ones for huge lists.

Counting a clinic's 400,000 assessments costs PostgreSQL 150-250 ms on every
page, however few rows the page shows; the rows themselves cost a few
milliseconds. So the count of a list of at least `LARGE_LIST_ROWS` rows is
kept for `COUNT_KEPT_SECONDS` in the cache, under the SQL of its query with
its parameters (its scope and filters): every page of that list, for anyone
whose scope and filters are the same, reuses it. The rows are always read
fresh; only `count` of a huge list may lag a few seconds behind. A list
smaller than that is always counted exactly, so a new or filtered-down list
is never stale.

Every page after the first is read in two steps: the keys of its rows,
skipping the rows before it along the list's index without joining anything,
then those rows whole, with their related objects. Read in one step,
PostgreSQL joined every skipped row to its patient, result and author before
dropping it (page 50 of a clinic's assessments: 115 ms of joins for 100 rows
kept). The first page, which has nothing to skip, stays one read. A page's
number of queries depends on whether it is the first, never on its length.
"""

from __future__ import annotations

import hashlib

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

from .kept import kept

LARGE_LIST_ROWS = 10_000
COUNT_KEPT_SECONDS = 30


class KeptCountPaginator(Paginator):
    def __init__(self, object_list, *args, **kwargs):
        super().__init__(_in_total_order(object_list), *args, **kwargs)

    def page(self, number):
        page = super().page(number)
        if page.number == 1 or not _keys_first(self.object_list):
            return page
        keys = list(page.object_list.values_list("pk", flat=True))
        # Still a queryset in the list's order (the admin's list_editable builds its formset on it); a row
        # deleted between the two reads is left out, as it would be from a page read a moment later.
        page.object_list = self.object_list.filter(pk__in=keys)
        return page

    @cached_property
    def count(self) -> int:
        key = self._count_key()
        if key is None:
            return super().count
        return kept(key, seconds=COUNT_KEPT_SECONDS, compute=lambda: super(KeptCountPaginator, self).count,
                    worth_keeping=lambda counted: counted >= LARGE_LIST_ROWS)

    def _count_key(self) -> str | None:
        rows = self.object_list
        if getattr(rows, "query", None) is None:  # a list, not a queryset: counting it is free
            return None
        if not rows.query.combinator:
            # Which rows, not how they are shown: the order and the related rows read with them change no
            # count, and compiling a wide list's whole SELECT for the key took up to 0.9 ms a page.
            rows = rows.order_by().values_list("pk")
        try:
            sql, params = rows.query.sql_with_params()
        except EmptyResultSet:  # an empty result (`.none()`, `__in=[]`) has no SQL; Django counts it for free
            return None
        digest = hashlib.sha256(f"{self.object_list.db}\0{sql}\0{params!r}".encode()).hexdigest()
        return f"list-count:{digest}"


def _keys_first(rows) -> bool:
    return isinstance(rows, QuerySet) and not rows.query.distinct and not rows.query.combinator


def _in_total_order(rows):
    """The list's order, then the primary key, so that rows tied on the order keep their places.

    Page 1 is one read and later pages two, each free to choose its plan: rows
    tied on the list's order (two assessments of the same second, two
    patients of the same name) must come in one order in all of them, or a
    row could show on two pages and another on none. The admin's changelist
    does the same.
    """
    if not _keys_first(rows) or not rows.ordered:
        return rows
    ordering = list(rows.query.order_by) or list(rows.query.get_meta().ordering)
    pk_names = {"pk", rows.model._meta.pk.name, rows.model._meta.pk.attname}
    if any(isinstance(field, str) and field.lstrip("-") in pk_names for field in ordering):
        return rows
    return rows.order_by(*ordering, "-pk")


class DefaultPagination(PageNumberPagination):
    django_paginator_class = KeptCountPaginator
    page_size_query_param = "page_size"
    max_page_size = 200
