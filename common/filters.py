"""django-filter parts that never let a well-formed but unusual value reach the database as a 500."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC.

    PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 (and Python) allow,
    and a date near year 1 or 9999 may not survive the conversion: both are a
    400 naming the filter, not a database error.
    """

    default_error_messages = {"out_of_range": "Enter a date and time between the years 1 and 9999, in UTC."}

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
