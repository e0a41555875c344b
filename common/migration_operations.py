"""Index operations that leave a big table open to reads and writes while they run, where the database can.

On PostgreSQL, `CREATE INDEX CONCURRENTLY` and `DROP INDEX CONCURRENTLY`:
a deploy that adds an index to a million assessments does not hold up the
intake for the seconds the build takes. Elsewhere (SQLite, for `make run`),
the plain statements, which that database runs at once. A migration using
them sets `atomic = False`, as PostgreSQL requires.

And the copy of a row's clinic onto the rows that hang off it (`clinic_copier`):
once in bulk while the table stays open, then the rest under a lock in the
transaction that makes the column required.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.migrations.operations import AddIndex, RemoveIndex
from django.db.models import OuterRef, Subquery


class _ConcurrentlyWherePossible:
    """The concurrent operation on PostgreSQL, the plain one elsewhere."""

    concurrent: type
    plain: type

    def _operation(self, schema_editor) -> type:
        return self.concurrent if schema_editor.connection.vendor == "postgresql" else self.plain

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._operation(schema_editor).database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._operation(schema_editor).database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexWithoutLocking(_ConcurrentlyWherePossible, AddIndexConcurrently):
    concurrent, plain = AddIndexConcurrently, AddIndex


class RemoveIndexWithoutLocking(_ConcurrentlyWherePossible, RemoveIndexConcurrently):
    concurrent, plain = RemoveIndexConcurrently, RemoveIndex


def clinic_copier(model: str, *, via: str, source: str, lock: bool = False):
    """A RunPython function filling the empty `clinic` of `model` ("app.Model") from `source`'s row that `via` names.

    `lock`: on PostgreSQL, first hold the table against writes until the migration's transaction ends,
    so that a row an older release inserts meanwhile, with no clinic, cannot slip in before the column
    is made required. Reads go on.
    """

    def copy(apps, schema_editor) -> None:
        rows, sources = apps.get_model(model), apps.get_model(source)
        if lock and schema_editor.connection.vendor == "postgresql":
            table = schema_editor.quote_name(rows._meta.db_table)
            schema_editor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        rows.objects.filter(clinic__isnull=True).update(
            clinic_id=Subquery(sources.objects.filter(pk=OuterRef(via)).values("clinic_id")[:1])
        )

    return copy
