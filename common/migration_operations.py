"""Index operations that leave a big table open to reads and writes while they run, where the database can.

On PostgreSQL, `CREATE INDEX CONCURRENTLY` and `DROP INDEX CONCURRENTLY`:
a deploy that adds an index to a million assessments does not hold up the
intake for the seconds the build takes. Elsewhere (SQLite, for `make run`),
the plain statements, which that database runs at once. A migration using
them sets `atomic = False`, as PostgreSQL requires.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.migrations.operations import AddIndex, RemoveIndex


def _concurrently(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class AddIndexWithoutLocking(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        plain_or_concurrent = AddIndexConcurrently if _concurrently(schema_editor) else AddIndex
        plain_or_concurrent.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        plain_or_concurrent = AddIndexConcurrently if _concurrently(schema_editor) else AddIndex
        plain_or_concurrent.database_backwards(self, app_label, schema_editor, from_state, to_state)


class RemoveIndexWithoutLocking(RemoveIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        plain_or_concurrent = RemoveIndexConcurrently if _concurrently(schema_editor) else RemoveIndex
        plain_or_concurrent.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        plain_or_concurrent = RemoveIndexConcurrently if _concurrently(schema_editor) else RemoveIndex
        plain_or_concurrent.database_backwards(self, app_label, schema_editor, from_state, to_state)
