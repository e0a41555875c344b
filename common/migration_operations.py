"""Index operations that leave a big table open to reads and writes while they run, where the database can.

On PostgreSQL, `CREATE INDEX CONCURRENTLY` and `DROP INDEX CONCURRENTLY`:
a deploy that adds an index to a million assessments does not hold up the
intake for the seconds the build takes. Elsewhere (SQLite, for `make run`),
the plain statements, which that database runs at once. A migration using
them sets `atomic = False`, as PostgreSQL requires.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.migrations.operations import AddIndex, RemoveIndex


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
