"""A page of rows is recorded by COPY on PostgreSQL: the same events a bulk INSERT writes, in the same transaction."""

import pytest
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from audit.actions import COPY_FROM_ROWS, audit_read
from audit.models import AuditEvent, AuditTrailImmutable
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

EVENT_FIELDS = ["id", "at", "action", "source", "actor_id", "actor_username", "object_type", "object_id",
                "patient_id", "history_id", "ip_address", "path"]


def stored(events) -> list[dict]:
    rows = AuditEvent.objects.filter(pk__in=[event.pk for event in events]).values(*EVENT_FIELDS)
    return sorted(rows, key=lambda row: row["object_id"])


def as_written(events) -> list[dict]:
    return sorted(({name: getattr(event, name) for name in EVENT_FIELDS} for event in events),
                  key=lambda row: row["object_id"])


def page_request(address: str):
    return RequestFactory().get("/api/v1/patients/?page=2", REMOTE_ADDR=address)


def test_a_page_of_rows_goes_in_by_copy_not_by_insert(staff, clinic):
    patients = PatientFactory.create_batch(COPY_FROM_ROWS, clinic=clinic)

    with CaptureQueriesContext(connection) as queries:
        events = audit_read(user=staff, objects=patients, request=page_request("192.0.2.7"))

    audit_statements = [q["sql"] for q in queries.captured_queries if "audit_auditevent" in q["sql"]]
    assert len(audit_statements) == 1 and audit_statements[0].startswith('COPY "audit_auditevent"')
    assert stored(events) == as_written(events)
    assert {row["ip_address"] for row in stored(events)} == {"192.0.2.7"}
    assert {row["patient_id"] for row in stored(events)} == {patient.id for patient in patients}


def test_every_value_reads_back_as_a_bulk_insert_writes_it(staff, clinic):
    patients = PatientFactory.create_batch(COPY_FROM_ROWS + 2, clinic=clinic)

    by_copy = audit_read(user=staff, objects=patients, request=page_request("2001:db8::1"))
    by_insert = audit_read(user=staff, objects=patients[:COPY_FROM_ROWS - 1], request=page_request("2001:db8::1"))

    assert stored(by_copy) == as_written(by_copy)
    assert stored(by_insert) == as_written(by_insert)
    own = {"id", "at"}  # each row's own key and time; every other value is the same for the same patient
    copied = {row["object_id"]: {k: v for k, v in row.items() if k not in own} for row in stored(by_copy)}
    inserted = {row["object_id"]: {k: v for k, v in row.items() if k not in own} for row in stored(by_insert)}
    assert inserted == {key: copied[key] for key in inserted}
    assert {row["ip_address"] for row in copied.values()} == {"2001:db8::1"}


def test_rows_without_a_request_or_a_user_keep_their_nulls(clinic):
    patients = PatientFactory.create_batch(COPY_FROM_ROWS, clinic=clinic)

    events = audit_read(user=None, objects=patients)

    assert {(row["actor_id"], row["ip_address"], row["path"], row["history_id"]) for row in stored(events)} == {
        (None, None, "", None)
    }


def test_copied_rows_roll_back_with_the_transaction_that_wrote_them(staff, clinic):
    patients = PatientFactory.create_batch(COPY_FROM_ROWS, clinic=clinic)

    with pytest.raises(RuntimeError), transaction.atomic():
        audit_read(user=staff, objects=patients)
        assert AuditEvent.objects.filter(action="read").count() == COPY_FROM_ROWS
        raise RuntimeError("rolled back")

    assert not AuditEvent.objects.filter(action="read").exists()


def test_text_with_tabs_newlines_and_backslashes_is_stored_as_it_was(staff, clinic):
    staff.username = "ana\\tab\there\nand a newline"
    patients = PatientFactory.create_batch(COPY_FROM_ROWS, clinic=clinic)
    request = RequestFactory().get("/api/v1/patients/a\\b%09c/")  # a backslash, and a tab once unquoted
    assert "\\" in request.path and "\t" in request.path

    events = audit_read(user=staff, objects=patients, request=request)

    assert {(row["actor_username"], row["path"]) for row in stored(events)} == {
        ("ana\\tab\there\nand a newline", request.path)
    }


def test_a_copied_event_is_stored_and_cannot_be_saved_again(staff, clinic):
    [event, *_] = audit_read(user=staff, objects=PatientFactory.create_batch(COPY_FROM_ROWS, clinic=clinic))

    with pytest.raises(AuditTrailImmutable):
        event.save()
