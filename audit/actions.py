"""Writes of the audit trail. Only inserts: one row per object, one statement per call or per batch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar

from django.db import connections, models, router
from django.http import HttpRequest

from common.client_ip import client_ip

from .context import current_request, current_source
from .models import Action, AuditEvent
from .registry import patient_id_of

PATH_MAX_LENGTH = AuditEvent._meta.get_field("path").max_length
# From this many rows an insert goes by COPY on PostgreSQL (see `_insert`); below it, COPY's extra
# round trip costs more than the Python it saves.
COPY_FROM_ROWS = 10

_batch: ContextVar[list[AuditEvent] | None] = ContextVar("audit_batch", default=None)


@contextmanager
def audit_writes_batched() -> Iterator[None]:
    """The audit events recorded inside the block go in as one statement when it ends.

    For a transaction that writes many audited objects, on a path where each
    round trip counts: open it inside the transaction, so that the events are
    written in it; an exception discards them, as the transaction discards the
    writes they record. Nested blocks leave the writing to the outermost.
    """
    if _batch.get() is not None:
        yield
        return
    pending: list[AuditEvent] = []
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
    if pending:
        _insert(pending)


def audit_read(
    *, user, objects: Iterable[models.Model], request: HttpRequest | None = None, source: str | None = None
) -> list[AuditEvent]:
    """Record that `user` was shown these objects (a page of a list: one statement, see `_insert`)."""
    return audit_record(action=Action.READ, actor=user, objects=objects, request=request, source=source)


def audit_record(
    *,
    action: str,
    actor,
    objects: Iterable[models.Model],
    request: HttpRequest | None = None,
    source: str | None = None,
    history_id: int | None = None,
) -> list[AuditEvent]:
    return _record(action=action, actor=actor, written=[(obj, history_id) for obj in objects], request=request,
                   source=source)


def audit_history_create_bulk(*, objects: Sequence[models.Model], by) -> list[AuditEvent]:
    """History rows and audit events for objects that one `bulk_create` just inserted: one statement each.

    What django-simple-history's post_save signal and `audit.receivers` do for
    a single save, without their round trips per object (a bulk insert sends
    no signals). The objects are of one audited model and have their keys.
    """
    if not objects:
        return []
    records = type(objects[0]).history.bulk_history_create(objects, default_user=by)
    return _record(action=Action.CREATE, actor=by, written=[(obj, record.pk) for obj, record in zip(objects, records,
                                                                                                       strict=True)])


def _record(*, action: str, actor, written: list[tuple[models.Model, int | None]],
            request: HttpRequest | None = None, source: str | None = None) -> list[AuditEvent]:
    request = request if request is not None else current_request()
    source = source or current_source()
    actor = actor if actor is not None and actor.is_authenticated else None
    where = _where(request)
    events = [
        AuditEvent(
            action=action,
            source=source,
            actor=actor,
            actor_username=actor.get_username() if actor else "",
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            patient_id=patient_id_of(obj),
            history_id=history_id,
            **where,
        )
        for obj, history_id in written
    ]
    batch = _batch.get()
    if batch is not None:
        batch.extend(events)
    elif events:
        _insert(events)
    return events


def _insert(events: list[AuditEvent]) -> None:
    """One statement for all the rows: a page of 50 shown, the 300 cards of the referral board.

    On PostgreSQL a page's rows go by COPY, written by psycopg's compiled
    code, where a bulk INSERT has Django compile the statement and quote
    every value in Python: 50 rows 5.9 -> 3.7 ms, the board's 300 rows
    25.7 -> 16.8 ms (bench/scale's data, A/B in one process). The rows are
    the same, in the caller's transaction.
    """
    connection = connections[router.db_for_write(AuditEvent)]
    if connection.vendor != "postgresql" or len(events) < COPY_FROM_ROWS:
        AuditEvent.objects.bulk_create(events)
        return
    fields = [field for field in AuditEvent._meta.concrete_fields if not field.generated]  # as bulk_create
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    statement = f"COPY {connection.ops.quote_name(AuditEvent._meta.db_table)} ({columns}) FROM STDIN"
    # As Django runs its own statements: refused in a transaction already broken, errors raised as
    # django.db's, and logged where it logs queries (DEBUG, CaptureQueriesContext).
    connection.validate_no_broken_transaction()
    with connection.cursor() as cursor, connection.wrap_database_errors:
        logged = cursor.debug_sql(statement) if connection.queries_logged else nullcontext()
        with logged, cursor.cursor.copy(statement) as copy:
            for event in events:
                copy.write_row([field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields])
    for event in events:  # stored, as bulk_create leaves them: saving one again is refused
        event._state.adding, event._state.db = False, connection.alias


def _where(request: HttpRequest | None) -> dict:
    if request is None:
        return {"ip_address": None, "path": ""}
    return {"ip_address": client_ip(request), "path": request.path[:PATH_MAX_LENGTH]}
