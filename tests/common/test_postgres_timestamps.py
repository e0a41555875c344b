"""Timestamps read through psycopg's compiled loader come back as Django's own loader gives them."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from django.utils import timezone
from psycopg.postgres import types as postgres_types
from psycopg.pq import Format

from common.postgres_timestamps import compiled_timestamptz_loader
from patients.models import Patient

TIMESTAMPTZ_OID = postgres_types["timestamptz"].oid
INSTANTS = [
    datetime.datetime(2026, 12, 7, 19, 30, 15, 123456, tzinfo=datetime.UTC),
    datetime.datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=ZoneInfo("Europe/Madrid")),  # the hour before DST
    datetime.datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Madrid")),  # the repeated hour
    datetime.datetime(1905, 1, 1, 0, 0, 0, 1, tzinfo=ZoneInfo("America/Bogota")),  # a pre-1970 offset
    datetime.datetime(1, 1, 1, tzinfo=datetime.UTC),
    datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
]

pytestmark = pytest.mark.skipif(compiled_timestamptz_loader(datetime.UTC) is None,
                                reason="psycopg without its compiled loaders (psycopg[binary] is in the lock file)")


def read_back(values, *, loader=None):
    with connection.cursor() as cursor:
        if loader is not None:
            cursor.cursor.adapters.register_loader("timestamptz", loader)
        cursor.execute("SELECT unnest(%s::timestamptz[])", [values])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_every_cursor_of_a_connection_reads_timestamps_with_the_compiled_loader():
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)

    assert loader is compiled_timestamptz_loader(connection.timezone)
    assert loader.timezone == connection.timezone  # or Django would register its own loader on each cursor


@pytest.mark.django_db
def test_each_instant_reads_back_equal_and_in_djangos_timezone():
    values = read_back(INSTANTS)

    # As instants: Python never calls an instant of a repeated hour equal to one in another zone (PEP 495).
    assert [value.astimezone(datetime.UTC) for value in values] == [
        instant.astimezone(datetime.UTC) for instant in INSTANTS
    ]
    assert {value.tzinfo for value in values} == {connection.timezone}


@pytest.mark.django_db
def test_the_values_are_those_djangos_python_loader_gives():
    class DjangoLoader(BaseTzLoader):
        timezone = connection.timezone

    assert read_back(INSTANTS) == read_back(INSTANTS, loader=DjangoLoader)
    assert [v.isoformat() for v in read_back(INSTANTS)] == [
        v.isoformat() for v in read_back(INSTANTS, loader=DjangoLoader)
    ]


@pytest.mark.django_db
def test_a_model_field_round_trips_through_the_orm(patient):
    created_at = datetime.datetime(2026, 12, 7, 8, 0, 0, 654321, tzinfo=ZoneInfo("Europe/Madrid"))
    Patient.objects.filter(pk=patient.pk).update(created_at=created_at)

    stored = Patient.objects.get(pk=patient.pk).created_at

    assert stored == created_at
    assert stored.tzinfo == datetime.UTC
    assert timezone.localtime(stored, ZoneInfo("Europe/Madrid")).hour == 8

