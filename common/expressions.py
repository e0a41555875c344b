"""Query expressions shared by the apps' selectors."""

from django.db.models import BooleanField, Func, Subquery


class InSubquery(Func):
    """`value IN (subquery)`, written on PostgreSQL as `value = ANY(ARRAY(subquery))`.

    PostgreSQL plans the `ANY(ARRAY(...))` form as an index condition even as one
    arm of an OR (the subquery runs once, then a bitmap scan on `value`'s index),
    where `IN (subquery)` makes it hash or scan the whole outer table. Other
    databases (SQLite for `make run`) get the plain `IN`.
    """

    output_field = BooleanField()
    arg_joiner = " IN "
    template = "(%(expressions)s)"

    def __init__(self, value, queryset, **extra):
        super().__init__(value, Subquery(queryset), **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        # Subquery renders as `(SELECT ...)`: `(value = ANY(ARRAY(SELECT ...)))`.
        return self.as_sql(compiler, connection, arg_joiner=" = ANY(ARRAY", template="(%(expressions)s))",
                           **extra_context)
